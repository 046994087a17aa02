"""zarr_fast: a drop-in, compiled-core implementation of zarr-python 2.18.

Use it as ``import zarr_fast as zarr``: the public names, signatures, exceptions and on-disk
bytes are zarr-python 2.18's. Hot paths (selection planning, chunk copies) are Cython.
"""
from numcodecs import *  # noqa: F401,F403  (zarr re-exports the codecs at top level)

from .convenience import (
    LazyLoader,
    consolidate_metadata,
    copy,
    copy_all,
    copy_store,
    load,
    open,
    open_consolidated,
    save,
    save_array,
    save_group,
    tree,
)
from .core import Array
from .creation import (
    array,
    create,
    empty,
    empty_like,
    full,
    full_like,
    ones,
    ones_like,
    open_array,
    open_like,
    zeros,
    zeros_like,
)
from .errors import CopyError, MetadataError
from .hierarchy import Group, group, open_group
from .storage import (
    DBMStore,
    DictStore,
    DirectoryStore,
    FSStore,
    KVStore,
    LMDBStore,
    LRUStoreCache,
    MemoryStore,
    NestedDirectoryStore,
    SQLiteStore,
    TempStore,
    ZipStore,
)
from .sync import ProcessSynchronizer, ThreadSynchronizer

__version__ = "0.1.0"
