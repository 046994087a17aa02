"""Write benchmarks: whole array and a partial window (read-modify-write of edge chunks) (asv)."""
from . import common

SHAPE = (4096, 4096)


class WriteRegion:
    params = (list(common.IMPLS), [(1024, 1024), (64, 64)], ["blosc-lz4", "none"])
    param_names = ["impl", "chunks", "codec"]

    def setup(self, impl, chunks, codec):
        self.arr = common.make_array(impl, SHAPE, chunks, codec, populate=False)
        self.data = common.make_data(SHAPE)
        # Offsets not on chunk boundaries, so edge chunks take the read-modify-write path.
        self.window = (slice(SHAPE[0] // 40, SHAPE[0] - SHAPE[0] // 40), slice(SHAPE[1] // 13, SHAPE[1] * 3 // 4))

    def time_write_whole(self, impl, chunks, codec):
        self.arr[...] = self.data

    def time_write_window(self, impl, chunks, codec):
        self.arr[self.window] = self.data[self.window]

    def peakmem_write_whole(self, impl, chunks, codec):
        self.arr[...] = self.data
