"""Data types and fill values: user arguments to NumPy values, and NumPy values to JSON and back.

What it does
    ``normalize_dtype`` and ``normalize_fill_value`` turn what a user passes to ``zarr.create``
    into a NumPy dtype (plus an object codec) and a NumPy fill value, as zarr-python 2.18 does.
    ``encode_dtype``/``decode_dtype`` and ``encode_fill_value``/``decode_fill_value`` convert
    between those values and the JSON-ready values of a v2 ``.zarray`` document, so documents
    written here are byte-identical to zarr-python 2.18.7's.

What callers guarantee
    ``encode_*`` receive values already normalised (a ``np.dtype``; a fill value that went
    through ``normalize_fill_value`` for that dtype). ``decode_*`` receive values straight from
    JSON (str, int, float, list, None).

    ``object_chunk_is_fill`` is zarr 2.18's rule for "this object chunk holds only the fill
    value" (``write_empty_chunks=False``), so the same chunks are left unwritten.

What it refuses
    Generic ``M8``/``m8`` dtypes without a unit (``ValueError``, as zarr 2.18). A JSON dtype or
    fill value that cannot be read raises :class:`~zarr_fast.errors.MetadataError` whose message
    names the field ('dtype' or 'fill_value'). No I/O happens here.
"""
from __future__ import annotations

import base64
import binascii
import inspect

import numcodecs
import numpy as np

from zarr_fast.errors import MetadataError

__all__ = [
    "normalize_dtype",
    "normalize_fill_value",
    "encode_dtype",
    "decode_dtype",
    "encode_fill_value",
    "decode_fill_value",
    "object_chunk_is_fill",
]

# ``dtype=str`` etc. is zarr 2.x shorthand for an object array with a variable-length codec;
# the text after an optional ':' is passed to the codec's constructor ("array:i4").
_OBJECT_CODEC_CLASSES = {
    "str": numcodecs.VLenUTF8,
    "bytes": numcodecs.VLenBytes,
    "array": numcodecs.VLenArray,
}


def _field_error(field, detail):
    return MetadataError(f"error decoding metadata: field {field!r}: {detail}")


class _FillValueError(MetadataError, ValueError):
    # zarr 2.18's decode_fill_value raises ValueError; zarr_fast names the field as well.
    pass


def normalize_dtype(dtype, object_codec=None):
    """Normalise a user-supplied dtype, as ``zarr.create(dtype=...)`` does in zarr 2.18.

    Parameters
    ----------
    dtype : str, type, np.dtype or None
        None means float64. ``str``/``'str'``, ``bytes``/``'bytes'`` and ``'array:<dtype>'``
        mean an object array encoded with ``VLenUTF8``, ``VLenBytes`` or ``VLenArray``.
    object_codec : numcodecs.abc.Codec, optional
        Codec for object arrays; when given it wins over the shorthand's default codec.

    Returns
    -------
    (np.dtype, codec or None)
        The dtype and the object codec (None unless one was given or implied). A plain
        ``object`` dtype without a codec is returned as is; array creation refuses it later.

    Raises
    ------
    ValueError
        For ``M8``/``m8`` without a unit.
    TypeError
        For anything NumPy cannot read as a dtype.

    Examples
    --------
    >>> normalize_dtype(None)
    (dtype('float64'), None)
    >>> normalize_dtype(str)
    (dtype('O'), VLenUTF8())
    """
    if inspect.isclass(dtype) and dtype in (str, bytes):
        dtype = dtype.__name__
    if isinstance(dtype, str):
        key, has_args, arg_text = dtype.partition(":")
        codec_class = _OBJECT_CODEC_CLASSES.get(key)
        if codec_class is not None:
            if object_codec is None:
                args = arg_text.split(",") if has_args else []
                object_codec = codec_class(*args)
            return np.dtype(object), object_codec

    dtype = np.dtype(dtype)
    # A generic datetime has no unit to store in the metadata, so it cannot round-trip.
    if dtype == np.dtype("M8") or dtype == np.dtype("m8"):
        raise ValueError(
            "datetime64 and timedelta64 dtypes with generic units "
            'are not supported, please specify units (e.g., "M8[ns]")'
        )
    return dtype, object_codec


def normalize_fill_value(fill_value, dtype):
    """Normalise a user-supplied fill value for ``dtype``, as zarr 2.18 does.

    Parameters
    ----------
    fill_value : object
        None (no fill value), 0 (zeros of any dtype, structured included), a unicode string
        for ``U`` dtypes, bytes for ``S``/``V``, or anything ``np.array(fill_value, dtype)``
        accepts (e.g. ``'NaN'`` for floats).
    dtype : np.dtype

    Returns
    -------
    object
        None, the value unchanged for object dtypes and ``U`` dtypes, else a NumPy scalar
        (a 0-d ``np.void`` for structured dtypes).

    Raises
    ------
    ValueError
        When the value cannot be converted to ``dtype``.

    Examples
    --------
    >>> normalize_fill_value(0, np.dtype("f4"))
    np.float32(0.0)
    >>> normalize_fill_value("NaN", np.dtype("f8"))
    np.float64(nan)
    """
    if fill_value is None or dtype.hasobject:
        # Object fill values are stored by the object codec or as plain JSON; leave them alone.
        return fill_value
    # np.void is excluded because comparing a structured scalar with 0 is not a boolean.
    if not isinstance(fill_value, np.void) and fill_value == 0:
        # np.zeros is the one spelling of "zero" that works for every dtype, structured too.
        return np.zeros((), dtype=dtype)[()]
    if dtype.kind == "U":
        # Unicode stays a Python str: routing it through NumPy would truncate or re-encode it.
        if not isinstance(fill_value, str):
            raise ValueError(
                f"fill_value {fill_value!r} is not valid for dtype {dtype}; "
                f"must be a  unicode string"
            )
        return fill_value
    try:
        if isinstance(fill_value, bytes) and dtype.kind == "V":
            # Raw bytes for a structured/void dtype are the record's memory, not a field value.
            return np.array(fill_value, dtype=dtype.str).view(dtype)[()]
        return np.array(fill_value, dtype=dtype)[()]
    except Exception as e:
        raise ValueError(
            f"fill_value {fill_value!r} is not valid for dtype {dtype}; nested exception: {e}"
        ) from e


def encode_dtype(dtype):
    """Return the JSON form of ``dtype``: ``dtype.str``, or ``dtype.descr`` if structured.

    Examples
    --------
    >>> encode_dtype(np.dtype("<i4"))
    '<i4'
    >>> encode_dtype(np.dtype([("a", "<f8"), ("b", "u1", (2,))]))
    [('a', '<f8'), ('b', '|u1', (2,))]
    """
    if dtype.fields is None:
        return dtype.str
    return dtype.descr


def _descr_from_json(obj):
    # JSON turns descr tuples into lists; NumPy needs (name, type[, shape]) tuples, nested.
    if isinstance(obj, list):
        fields = []
        for field in obj:
            if not isinstance(field, (list, tuple)) or len(field) not in (2, 3):
                raise TypeError(f"expected [name, type] or [name, type, shape], found {field!r}")
            name, field_type = field[0], _descr_from_json(field[1])
            if len(field) == 3:
                fields.append((name, field_type, tuple(field[2])))
            else:
                fields.append((name, field_type))
        return fields
    return obj


def decode_dtype(obj):
    """Read the JSON form of a dtype (a string, or a list of ``[name, type(, shape)]``).

    Raises
    ------
    MetadataError
        Naming the field 'dtype' when ``obj`` is not a dtype NumPy understands.

    Examples
    --------
    >>> decode_dtype("<u2")
    dtype('uint16')
    >>> decode_dtype([["x", "<i4"], ["y", "<f8", [2]]])
    dtype([('x', '<i4'), ('y', '<f8', (2,))])
    """
    if not isinstance(obj, (str, list)):
        raise _field_error("dtype", f"expected a string or a list of fields, found {obj!r}")
    try:
        return np.dtype(_descr_from_json(obj))
    except Exception as e:
        raise _field_error("dtype", f"{obj!r} is not a valid dtype ({e})") from e


def encode_fill_value(value, dtype, object_codec=None):
    """Return the JSON-ready form of a normalised fill value, as zarr 2.18 writes it.

    Floats become ``'NaN'``, ``'Infinity'``, ``'-Infinity'`` or a float; complex values
    a ``[real, imag]`` pair; ``S``/``V``/structured values base64 text of their bytes;
    datetimes and timedeltas their int64 count; ``U`` stays a str; None stays None.
    Structured dtypes holding objects are encoded with ``object_codec`` and then base64.

    Examples
    --------
    >>> encode_fill_value(np.float64("nan"), np.dtype("f8"))
    'NaN'
    >>> encode_fill_value(np.bytes_(b"ab"), np.dtype("S2"))
    'YWI='
    >>> encode_fill_value(np.complex64(1 - 2j), np.dtype("c8"))
    [1.0, -2.0]
    """
    if value is None:
        return None
    kind = dtype.kind
    if kind == "V" and dtype.hasobject:
        if object_codec is None:
            raise ValueError("missing object_codec for object array")
        return base64.standard_b64encode(object_codec.encode(value)).decode("ascii")
    if kind == "f":
        return _encode_float(value)
    if kind in "ui":
        return int(value)
    if kind == "b":
        return bool(value)
    if kind == "c":
        # Both parts go through float64, as zarr 2.18 does, so c8 parts print at full precision.
        return [_encode_float(value.real), _encode_float(value.imag)]
    if kind in "SV":
        return base64.standard_b64encode(value).decode("ascii")
    if kind in "mM":
        return int(value.view("i8"))
    # "U" and object dtypes: already JSON-ready (or the JSON encoder will say why not).
    return value


def _encode_float(value):
    if np.isnan(value):
        return "NaN"
    if np.isposinf(value):
        return "Infinity"
    if np.isneginf(value):
        return "-Infinity"
    return float(value)


def _decode_float(value, dtype):
    if value == "NaN":
        return np.nan
    if value == "Infinity":
        return np.inf
    if value == "-Infinity":
        return -np.inf
    return np.array(value, dtype=dtype)[()]


def decode_fill_value(value, dtype, object_codec=None):
    """Read a fill value from its JSON form, for ``dtype`` (the inverse of ``encode_fill_value``).

    Returns None, a NumPy scalar, a Python float for the special float values (as zarr 2.18),
    a str for ``U`` dtypes, or a 0-d ``np.void`` for structured dtypes. Plain object dtypes
    return the JSON value unchanged. ``S`` values that are not base64 are read leniently
    (zarr 2.x did, for stores written before fill values were base64 encoded).

    Raises
    ------
    MetadataError
        Naming the field 'fill_value' when ``value`` cannot be read for ``dtype``; it is also
        a ``ValueError``, as zarr 2.18's is.

    Examples
    --------
    >>> decode_fill_value("-Infinity", np.dtype("f4"))
    -inf
    >>> decode_fill_value([1.0, 2.0], np.dtype("c16"))
    np.complex128(1+2j)
    >>> decode_fill_value(-1, np.dtype("i2"))
    np.int16(-1)
    """
    if value is None:
        return None
    try:
        return _decode_fill_value(value, dtype, object_codec)
    except MetadataError:
        raise
    except Exception as e:
        raise _FillValueError(
            f"error decoding metadata: field 'fill_value': "
            f"{value!r} is not a valid fill value for dtype {dtype} ({e})"
        ) from e


def _decode_fill_value(value, dtype, object_codec):
    decoded = _decode_fill_value_by_kind(value, dtype, object_codec)
    if isinstance(decoded, np.ndarray):
        # A JSON list for a scalar dtype: NumPy happily builds an array, but a fill is one value.
        raise ValueError(f"expected a single value, found {value!r}")
    return decoded


def _decode_fill_value_by_kind(value, dtype, object_codec):
    kind = dtype.kind
    if kind == "V" and dtype.hasobject:
        if object_codec is None:
            raise ValueError("missing object_codec for object array")
        decoded = object_codec.decode(base64.standard_b64decode(value))
        return np.array(decoded, dtype=dtype)[()]
    if kind == "f":
        return _decode_float(value, dtype)
    if kind == "c":
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError("expected a [real, imag] pair")
        part_dtype = np.empty((), dtype=dtype).real.dtype
        real = _decode_float(value[0], part_dtype)
        imag = _decode_float(value[1], part_dtype)
        # Built from parts rather than as real + 1j*imag, which would smear a NaN imaginary
        # part into the real part.
        out = np.empty((), dtype=dtype)
        out.real = real
        out.imag = imag
        return out[()]
    if kind == "S":
        if isinstance(value, str):
            try:
                value = base64.standard_b64decode(value.encode("ascii"))
            except (binascii.Error, UnicodeEncodeError):
                pass  # lenient: a pre-base64 store may hold the fill value as plain text
        return np.array(value, dtype=dtype)[()]
    if kind == "V":
        raw = base64.b64decode(value, validate=True)
        if len(raw) != dtype.itemsize:
            raise ValueError(f"expected {dtype.itemsize} bytes, found {len(raw)}")
        return np.array(raw, dtype=dtype.str).view(dtype)[()]
    if kind in "UO":
        # Text, and plain object fills (any JSON value, lists included), are used as they are.
        return value
    return np.array(value, dtype=dtype)[()]


def _iter_leaves(values):
    # Comparing a fill value with an element that is itself an array (VLenArray) gives an
    # array of booleans; every one of them must hold, so nested iterables are walked.
    for value in values:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            yield value
        else:
            yield from _iter_leaves(value)


def object_chunk_is_fill(chunk, fill_value):
    """True when every element of the object ``chunk`` counts as ``fill_value`` (zarr 2.18's rule).

    A falsy fill value (``0``, ``''``, ``b''``, ...) matches a chunk with no truthy element, so
    a chunk of empty strings is "empty" under a fill of 0, exactly as zarr 2.18 decides it.
    Otherwise each element must compare equal to the fill value; an element that is an
    array compares element-wise, and all of those comparisons must hold. A fill value of None
    never matches (such chunks are always written).

    Parameters
    ----------
    chunk : np.ndarray
        An object array (one decoded chunk).
    fill_value : object
        The array's fill value.

    Returns
    -------
    bool

    Examples
    --------
    >>> chunk = np.array(["", ""], dtype=object)
    >>> object_chunk_is_fill(chunk, 0), object_chunk_is_fill(chunk, ""), object_chunk_is_fill(chunk, None)
    (True, True, False)
    >>> object_chunk_is_fill(np.array(["a", "a"], dtype=object), "a")
    True
    """
    if fill_value is None:
        return False
    if not fill_value:
        try:
            return not np.any(chunk)
        except (TypeError, ValueError):
            # elements whose truth is ambiguous (arrays): fall back to comparing them
            pass
    equal = np.equal(fill_value, chunk, dtype=object)
    return all(_iter_leaves(np.asarray(equal, dtype=object).reshape(-1)))
