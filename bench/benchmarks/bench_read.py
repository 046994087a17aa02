"""Read benchmarks: whole array, a window, single elements, oindex and vindex (asv)."""
import numpy as np

from . import common

SHAPE = (4096, 4096)


def window(shape):
    """The issue-3 W3 window ([500:9500, 700:9700] of 10000) scaled to ``shape``."""
    return tuple(slice(n * margin // 10000, n - n * margin // 10000) for n, margin in zip(shape, (500, 700)))


class ReadRegion:
    params = (list(common.IMPLS), [(1024, 1024), (64, 64)], ["blosc-lz4", "none"])
    param_names = ["impl", "chunks", "codec"]

    def setup(self, impl, chunks, codec):
        self.arr = common.make_array(impl, SHAPE, chunks, codec)
        self.window = window(SHAPE)

    def time_read_whole(self, impl, chunks, codec):
        self.arr[...]

    def time_read_window(self, impl, chunks, codec):
        self.arr[self.window]

    def peakmem_read_whole(self, impl, chunks, codec):
        self.arr[...]


class ReadPoints:
    params = (list(common.IMPLS), ["blosc-lz4"])
    param_names = ["impl", "codec"]

    def setup(self, impl, codec):
        self.arr = common.make_array(impl, SHAPE, (1024, 1024), codec)
        rng = np.random.default_rng(1)
        self.points = list(zip(rng.integers(0, SHAPE[0], 200).tolist(),
                               rng.integers(0, SHAPE[1], 200).tolist()))
        self.orth = (np.sort(rng.choice(SHAPE[0], min(2000, SHAPE[0]), replace=False)),
                     np.sort(rng.choice(SHAPE[1], min(2000, SHAPE[1]), replace=False)))
        self.coords = (rng.integers(0, SHAPE[0], 1_000_000), rng.integers(0, SHAPE[1], 1_000_000))

    def time_single_elements_200(self, impl, codec):
        arr = self.arr
        for i, j in self.points:
            arr[i, j]

    def time_oindex_2000x2000(self, impl, codec):
        self.arr.oindex[self.orth]

    def time_vindex_1m_points(self, impl, codec):
        self.arr.vindex[self.coords]
