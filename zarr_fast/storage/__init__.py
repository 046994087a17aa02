"""Zarr v2 stores and the storage functions that work over any store.

Everything ``zarr.storage`` offered in zarr 2.18 for local and in-memory data, under the
same names: ``from zarr_fast.storage import DirectoryStore, init_array`` works as
``from zarr.storage import ...`` did. Every store imports without its optional package
(fsspec/s3fs for ``FSStore``, lmdb for ``LMDBStore``); constructing one whose package is
missing raises ImportError naming the package and the extra that installs it.
"""
from zarr_fast.storage.base import (
    BaseStore,
    Store,
    array_meta_key,
    attrs_key,
    group_meta_key,
)
from zarr_fast.storage.consolidated import ConsolidatedMetadataStore
from zarr_fast.storage.dbm import DBMStore
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
from zarr_fast.storage.fsstore import FSStore
from zarr_fast.storage.lmdb import LMDBStore
from zarr_fast.storage.lru import LRUStoreCache
from zarr_fast.storage.memory import DictStore, KVStore, MemoryStore
from zarr_fast.storage.sqlite import SQLiteStore
from zarr_fast.storage.zip import ZipStore

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
    "ZipStore",
    "FSStore",
    "LRUStoreCache",
    "DBMStore",
    "SQLiteStore",
    "LMDBStore",
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
             NestedDirectoryStore, TempStore, InvalidKeyError, ConsolidatedMetadataStore,
             ZipStore, FSStore, LRUStoreCache, DBMStore, SQLiteStore, LMDBStore):
    _cls.__module__ = __name__
del _cls
