"""Exceptions raised by zarr_fast.

Every class subclasses what zarr-python 2.18 callers already catch (``ValueError``,
``IndexError``, ``PermissionError``, ``KeyError``), with the same names, so
``except zarr.errors.ContainsArrayError`` keeps working under ``import zarr_fast as zarr``.
"""


class MetadataError(Exception):
    """A metadata document is missing, malformed, or names something unsupported."""


class CopyError(RuntimeError):
    """A copy between stores or hierarchies could not be carried out."""


class _FormattedError(ValueError):
    _template = "{0!r}"

    def __init__(self, *args):
        super().__init__(self._template.format(*args))


class _FormattedIndexError(IndexError):
    _template = "{0!r}"

    def __init__(self, *args):
        super().__init__(self._template.format(*args))


class ArrayIndexError(IndexError):
    pass


class ContainsGroupError(_FormattedError):
    _template = "path {0!r} contains a group"


class ContainsArrayError(_FormattedError):
    _template = "path {0!r} contains an array"


class ArrayNotFoundError(_FormattedError):
    _template = "array not found at path {0!r}"


class GroupNotFoundError(_FormattedError):
    _template = "group not found at path {0!r}"


class PathNotFoundError(_FormattedError):
    _template = "nothing found at path {0!r}"


class BadCompressorError(_FormattedError):
    _template = "bad compressor; expected Codec object, found {0!r}"


class FSPathExistNotDir(GroupNotFoundError):
    _template = "path exists but is not a directory: {0!r}"


class ReadOnlyError(PermissionError):
    def __init__(self, *args):
        super().__init__(*(args or ("object is read-only",)))


class BoundsCheckError(_FormattedIndexError):
    _template = "index out of bounds for dimension with length {0}"


class NegativeStepError(IndexError):
    def __init__(self):
        super().__init__("only slices with step >= 1 are supported")


class VindexInvalidSelectionError(_FormattedIndexError):
    _template = (
        "unsupported selection type for vectorized indexing; only "
        "coordinate selection (tuple of integer arrays) and mask selection "
        "(single Boolean array) are supported; got {0!r}"
    )


class ChunkDecodeError(ValueError):
    """A stored chunk could not be decoded into the chunk's shape and dtype."""

    def __init__(self, chunk_key, reason):
        self.chunk_key = chunk_key
        super().__init__(f"chunk {chunk_key!r} could not be decoded: {reason}")


def err_too_many_indices(selection, shape):
    raise IndexError(f"too many indices for array; expected {len(shape)}, got {len(selection)}")
