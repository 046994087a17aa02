"""A read-only view of a hierarchy's metadata, served from one consolidated key.

``consolidate_metadata`` (in ``zarr_fast.convenience``) gathers every ``.zarray``,
``.zgroup`` and ``.zattrs`` document of a store into a single JSON document (by default
under ``.zmetadata``), as zarr 2.18 does. ``ConsolidatedMetadataStore`` reads that one key
once and answers every metadata lookup from memory, so opening a large hierarchy over a
slow store costs one read.

Callers guarantee that the consolidated document is current: if the underlying store's
metadata changed after consolidation, this view still reports the old documents (as in
zarr 2.18; call ``consolidate_metadata`` again).

Refused: any write or delete (``ReadOnlyError``), and a document whose
``zarr_consolidated_format`` is not 1 (``MetadataError``). Chunk data is not served from
here: ``open_consolidated`` passes the underlying store as the chunk store.
"""
from __future__ import annotations

from zarr_fast.errors import MetadataError, ReadOnlyError
from zarr_fast.meta.v2 import json_dumps, json_loads
from zarr_fast.storage.base import Store, _getsize_from_keys, _listdir_from_keys

__all__ = ["ConsolidatedMetadataStore"]


class ConsolidatedMetadataStore(Store):
    """A layer over a store whose metadata has been consolidated into a single key.

    Parameters
    ----------
    store : MutableMapping
        The store holding the consolidated document (and the chunks).
    metadata_key : str, optional
        Key of the consolidated document.

    Raises
    ------
    KeyError
        If ``metadata_key`` is not in ``store``.
    MetadataError
        If the document is not zarr consolidated format 1.

    Examples
    --------
    >>> import zarr_fast as zarr
    >>> from zarr_fast.storage import MemoryStore
    >>> store = MemoryStore()
    >>> root = zarr.group(store=store)
    >>> _ = root.zeros("a", shape=(4,), chunks=(2,))
    >>> _ = zarr.consolidate_metadata(store)
    >>> sorted(ConsolidatedMetadataStore(store))
    ['.zgroup', 'a/.zarray', 'a/.zattrs']
    """

    def __init__(self, store, metadata_key=".zmetadata"):
        self.store = Store._ensure_store(store)
        document = json_loads(self.store[metadata_key])
        consolidated_format = document.get("zarr_consolidated_format", None)
        if consolidated_format != 1:
            raise MetadataError(
                f"unsupported zarr consolidated metadata format: {consolidated_format}"
            )
        # Documents are kept and returned parsed, as zarr 2.18 does; every metadata reader
        # (json_loads, the .zarray decoder) accepts a parsed document as well as bytes.
        self.meta_store = dict(document["metadata"])

    def __getitem__(self, key):
        return self.meta_store[key]

    def __contains__(self, key):
        return key in self.meta_store

    def __iter__(self):
        return iter(self.meta_store)

    def __len__(self):
        return len(self.meta_store)

    def __delitem__(self, key):
        raise ReadOnlyError()

    def __setitem__(self, key, value):
        raise ReadOnlyError()

    def getsize(self, path=None):
        return _getsize_from_keys(self, path)

    def listdir(self, path=None):
        return _listdir_from_keys(self.meta_store, path)

    def rmdir(self, path=None):
        raise ReadOnlyError()

    def rename(self, src_path, dst_path):
        raise ReadOnlyError()
