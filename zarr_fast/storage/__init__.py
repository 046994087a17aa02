"""Zarr v2 stores and the storage functions that work over any store.

Everything ``zarr.storage`` offered in zarr 2.18 for local and in-memory data, under the
same names: ``from zarr_fast.storage import DirectoryStore, init_array`` works as
``from zarr.storage import ...`` did. URL (fsspec) and zip stores are not available yet;
``normalize_store_arg`` says so with ``NotImplementedError``.
"""
from zarr_fast.storage.base import (
    BaseStore,
    Store,
    array_meta_key,
    attrs_key,
    group_meta_key,
)
from zarr_fast.storage.consolidated import ConsolidatedMetadataStore
from zarr_fast.storage.directory import (
    DirectoryStore,
    InvalidKeyError,
    NestedDirectoryStore,
    TempStore,
)
from zarr_fast.storage.hierarchy import (
    contains_array,
    contains_group,
    default_compressor,
    getsize,
    init_array,
    init_group,
    init_store,
    listdir,
    normalize_store_arg,
    rename,
    rmdir,
)
from zarr_fast.storage.memory import DictStore, KVStore, MemoryStore

__all__ = [
    "BaseStore",
    "Store",
    "KVStore",
    "MemoryStore",
    "DictStore",
    "DirectoryStore",
    "NestedDirectoryStore",
    "TempStore",
    "ConsolidatedMetadataStore",
    "InvalidKeyError",
    "array_meta_key",
    "group_meta_key",
    "attrs_key",
    "default_compressor",
    "contains_array",
    "contains_group",
    "listdir",
    "rmdir",
    "rename",
    "getsize",
    "normalize_store_arg",
    "init_array",
    "init_group",
    "init_store",
]

# Report the public classes as living in ``zarr_fast.storage``, as zarr 2.x's do in
# ``zarr.storage``: ``Array.info`` prints the store type, and pickles stay valid however
# the submodules are reorganised.
for _cls in (BaseStore, Store, KVStore, MemoryStore, DictStore, DirectoryStore,
             NestedDirectoryStore, TempStore, InvalidKeyError, ConsolidatedMetadataStore):
    _cls.__module__ = __name__
del _cls
