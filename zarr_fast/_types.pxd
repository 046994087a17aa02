# Shared C-level types for the compiled core (declarations only).
#
# Offsets, strides and lengths are in bytes and typed ``offset_t`` (int64), matching the
# int64 NumPy arrays that the Python side builds; index arrays may be int32 or int64.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

ctypedef int64_t offset_t

ctypedef fused index_t:
    int32_t
    int64_t

# Unsigned words of a float's width: NaN and signed-zero tests are done on bits so they
# work for either byte order.
ctypedef fused float_bits_t:
    uint16_t
    uint32_t
    uint64_t
