"""The chunk codec pipeline: filters + compressor, decode (into a buffer) and encode.

``CodecPipeline`` is built once per array from the numcodecs configs in ``ArrayMeta``. It
checks every decoded chunk's size before trusting it: a chunk whose bytes do not decode to
exactly the chunk's ``nbytes`` raises ``ChunkDecodeError`` naming the chunk key, so a corrupt
or truncated chunk is never returned as data. An unknown codec id raises ``ValueError`` naming
the codec when the array is opened.

Object arrays (``dtype=object``, or structured dtypes holding objects) have no byte image:
their first filter is the object codec (VLenUTF8, VLenBytes, VLenArray, JSON, MsgPack,
Pickle, ...) that turns the chunk's objects into bytes and back. Callers guarantee that
``meta`` passed ``meta.v2``'s checks, so such a filter is present. What it refuses, as zarr
2.18 does: a filter chain that leaves objects undecoded or unencoded raises ``RuntimeError``
("cannot read/write object array without object codec"); a decoded object chunk with the
wrong number of items, or an object codec that fails (corrupt data, a refused
``Pickle.decode``), raises ``ChunkDecodeError`` naming the chunk key, never fill values.
Encoding errors of the object codec (an int given to VLenUTF8, say) propagate unchanged,
before anything is stored.
"""
from __future__ import annotations

import math

import numpy as np
from numcodecs.abc import Codec
from numcodecs.registry import get_codec

from .. import _blosc, _bloscpack
from ..errors import ChunkDecodeError

BLOSC_HEADER_NBYTES = 16
_NOT_YET = object()   # a lazily computed attribute not computed yet


def _codec_from_config(config, field):
    try:
        return get_codec(dict(config))
    except (ValueError, KeyError, TypeError) as e:
        codec_id = config.get("id") if isinstance(config, dict) else config
        raise ValueError(f"cannot load {field} codec {codec_id!r}: {e}") from e


def _as_bytes_view(buf):
    """A flat uint8 view of any buffer-protocol object (no copy)."""
    if isinstance(buf, np.ndarray):
        return buf.reshape(-1, order="A").view(np.uint8) if buf.flags.contiguous else np.frombuffer(
            buf.tobytes(order="A"), dtype=np.uint8
        )
    return np.frombuffer(buf, dtype=np.uint8)


class CodecPipeline:
    """Decode and encode one array's chunks.

    Parameters
    ----------
    meta : ArrayMeta
        The array's metadata; ``chunks``, ``dtype``, ``order``, ``compressor`` and
        ``filters`` are used.
    """

    def __init__(self, meta):
        self.dtype = meta.dtype
        self.chunks = tuple(meta.chunks)
        self.order = meta.order
        self.compressor = _codec_from_config(meta.compressor, "compressor") if meta.compressor else None
        self.filters = [_codec_from_config(f, "filter") for f in meta.filters] if meta.filters else []
        self.chunk_nitems = math.prod(self.chunks)
        self.chunk_nbytes = self.chunk_nitems * self.dtype.itemsize
        # object dtypes, and structured dtypes with object fields, go through an object codec
        self.is_object = self.dtype.hasobject
        # decoding straight into a caller's buffer needs a byte-for-byte chunk image
        self.can_decode_into = not self.filters and not self.is_object
        self._is_blosc = self.compressor is not None and self.compressor.codec_id == "blosc"
        # blosc through its C API: GIL-free on any thread, and single-threaded encodes give
        # the same bytes as numcodecs on a worker thread (deterministic block order)
        self._blosc_args = None
        if self._is_blosc and _blosc.is_ready():
            config = meta.compressor
            self._blosc_args = (
                str(config["cname"]), int(config["clevel"]), int(config["shuffle"]), int(config.get("blocksize", 0))
            )
        self._region_layout = _NOT_YET

    # ---------------------------------------------------------------------------------- decode

    def _check_blosc_frame(self, cdata, chunk_key):
        view = memoryview(cdata).cast("B") if not isinstance(cdata, np.ndarray) else _as_bytes_view(cdata)
        if len(view) < BLOSC_HEADER_NBYTES:
            raise ChunkDecodeError(chunk_key, f"blosc frame of {len(view)} bytes is shorter than its header")
        header = bytes(view[:BLOSC_HEADER_NBYTES])
        nbytes = int.from_bytes(header[4:8], "little")
        cbytes = int.from_bytes(header[12:16], "little")
        if cbytes != len(view):
            raise ChunkDecodeError(chunk_key, f"blosc frame declares {cbytes} bytes but {len(view)} are stored")
        return nbytes

    def decode_into(self, cdata, dest, chunk_key, nthreads=1):
        """Decode ``cdata`` into ``dest``, a writeable contiguous array of exactly one chunk.

        Only valid when ``can_decode_into``; ``dest`` must be contiguous in the array's order.
        """
        if self.compressor is None:
            raw = _as_bytes_view(cdata)
            if raw.nbytes != self.chunk_nbytes:
                raise ChunkDecodeError(
                    chunk_key, f"expected {self.chunk_nbytes} bytes, found {raw.nbytes}"
                )
            dest_bytes = dest.reshape(-1, order="A").view(np.uint8)
            dest_bytes[...] = raw
            return
        if self._is_blosc:
            nbytes = self._check_blosc_frame(cdata, chunk_key)
            if nbytes != self.chunk_nbytes:
                raise ChunkDecodeError(chunk_key, f"expected {self.chunk_nbytes} bytes, blosc frame holds {nbytes}")
            try:
                if self._blosc_args is not None:
                    _blosc.decode_into(cdata, dest, nthreads)
                else:
                    self.compressor.decode(cdata, out=dest)
            except Exception as e:
                raise ChunkDecodeError(chunk_key, str(e)) from e
            return
        decoded = self._decode_raw(cdata, chunk_key)
        dest.reshape(-1, order="A").view(np.uint8)[...] = decoded

    def _decode_raw(self, cdata, chunk_key):
        """Undo compressor and filters; return a flat array of the chunk's bytes (or objects)."""
        if self._is_blosc:
            # numcodecs trusts the frame's own size fields: check them before it reads
            self._check_blosc_frame(cdata, chunk_key)
        try:
            chunk = self.compressor.decode(cdata) if self.compressor is not None else cdata
            for codec in reversed(self.filters):
                chunk = codec.decode(chunk)
        except ChunkDecodeError:
            raise
        except Exception as e:
            raise ChunkDecodeError(chunk_key, f"{type(e).__name__}: {e}") from e
        if self.is_object:
            chunk = np.asarray(chunk)
            if not chunk.dtype.hasobject:
                raise RuntimeError("cannot read object array without object codec")
            if chunk.size != self.chunk_nitems:
                raise ChunkDecodeError(chunk_key, f"expected {self.chunk_nitems} items, found {chunk.size}")
            return chunk.reshape(-1, order="A")
        raw = _as_bytes_view(np.asarray(chunk) if not isinstance(chunk, (bytes, bytearray, memoryview)) else chunk)
        if raw.nbytes != self.chunk_nbytes:
            raise ChunkDecodeError(chunk_key, f"expected {self.chunk_nbytes} bytes, found {raw.nbytes}")
        return raw

    def decode(self, cdata, chunk_key):
        """Decode ``cdata`` into a new array of the chunk's shape, dtype and order."""
        if self.can_decode_into:
            chunk = np.empty(self.chunks, dtype=self.dtype, order=self.order)
            self.decode_into(cdata, chunk, chunk_key)
            return chunk
        flat = self._decode_raw(cdata, chunk_key)
        if not self.is_object:
            flat = flat.view(self.dtype)
        return flat.reshape(self.chunks, order=self.order)

    # ---------------------------------------------------------------------------------- encode

    def encode(self, chunk, frame=None):
        """Encode a chunk array (the chunk's shape, the array's order) to bytes for the store.

        With ``frame`` (a uint8 scratch array of at least ``chunk_nbytes + 16`` bytes), a
        chunk encoded by the compiled path (blosc, or no codec at all) comes back as a view
        of ``frame`` or of ``chunk`` instead of new bytes: the caller stores it before it
        reuses either. ``chunk`` may be a strided view where ``can_encode_region`` says so.
        """
        data = chunk
        for codec in self.filters:
            data = codec.encode(data)
        if isinstance(data, np.ndarray) and data.dtype.hasobject:
            raise RuntimeError("cannot write object array without object codec")
        is_contiguous = isinstance(data, np.ndarray) and (data.flags.c_contiguous or data.flags.f_contiguous)
        if self._blosc_args is not None and is_contiguous:
            return _blosc.encode(data, *self._blosc_args, nthreads=1, out=frame)
        if data is chunk and not is_contiguous and self.can_encode_region(chunk):
            return _bloscpack.encode_region(self._frame_layout(), chunk, self.order, out=frame)
        if self.compressor is not None:
            data = self.compressor.encode(data)
        if isinstance(data, np.ndarray):
            if frame is not None and data is chunk and is_contiguous:
                return data.reshape(-1, order="A").view(np.uint8)
            return data.tobytes(order="A")
        return bytes(data) if not isinstance(data, bytes) else data

    def _frame_layout(self):
        # checked against c-blosc on sample chunks once per parameter set (see _bloscpack)
        if self._region_layout is _NOT_YET:
            layout = None
            if self._blosc_args is not None and not self.filters and not self.is_object:
                cname, clevel, shuffle, blocksize = self._blosc_args
                layout = _bloscpack.frame_layout(self.chunk_nbytes, self.dtype.itemsize, cname, clevel, shuffle, blocksize)
            self._region_layout = layout
        return self._region_layout

    def can_encode_region(self, region):
        """True when ``encode`` takes ``region`` (a chunk-shaped view of a caller's array,
        not contiguous) as it is, shuffling it into blosc blocks with no gathered copy."""
        return self._frame_layout() is not None and _bloscpack.is_walkable(region, self.order)

    def describe(self):
        return {"compressor": self.compressor, "filters": self.filters}


def is_codec(obj):
    return isinstance(obj, Codec)
