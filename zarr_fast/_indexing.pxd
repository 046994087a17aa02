# Kernels of zarr_fast._indexing that other compiled modules may cimport.
from zarr_fast._types cimport offset_t

# Stable counting sort of positions 0..n-1 by keys[i] in [0, ncounts - 1). counts must be
# zeroed, of length ncounts (= number of keys + 1); on return counts[k] is the start of key
# k in order and counts[ncounts - 1] == n. With payload (else NULL), sorted_payload[j] =
# payload[order[j]]. O(n + ncounts), no GIL, never raises.
cdef void counting_sort_keys(const offset_t* keys, Py_ssize_t n, offset_t* counts,
                             Py_ssize_t ncounts, offset_t* order, const offset_t* payload,
                             offset_t* sorted_payload) noexcept nogil
