"""Caller threads (asv): N threads reading disjoint bands of one array, against the same N reads in a loop.

``time_parallel / time_loop`` is the benefit of releasing the GIL: close to 1/N when decode and
copy run without the GIL, close to 1 when they hold it. Each read is pinned to one thread inside
the library (zarr_fast's budget set to 1; numcodecs' Blosc kept off its global thread pool for
zarr 2.18.7), so the only parallelism is the callers'. tensorstore is left out: it schedules
reads on its own pools, so caller threads say nothing about its GIL handling.

Callers (asv) guarantee ``nthreads`` divides the array's rows into chunk-aligned bands.
"""
from concurrent.futures import ThreadPoolExecutor

from . import common

SHAPE = (4096, 4096)


class ReadThreads:
    params = (["zarr_fast", "zarr"], [2, 4], [(256, 256), (64, 64)])
    param_names = ["impl", "nthreads", "chunks"]

    def setup(self, impl, nthreads, chunks):
        self.arr = common.make_array(impl, SHAPE, chunks, "blosc-lz4")
        band = SHAPE[0] // nthreads
        self.bands = [(slice(i * band, (i + 1) * band), slice(None)) for i in range(nthreads)]
        self.pool = ThreadPoolExecutor(nthreads)
        self._restore = self._pin_single_thread(impl)
        # start the workers now, not inside the first timed call
        list(self.pool.map(lambda _: None, range(nthreads)))

    def teardown(self, impl, nthreads, chunks):
        self.pool.shutdown()
        self._restore()

    @staticmethod
    def _pin_single_thread(impl):
        """Pin the library to one thread per call; returns a function that undoes it."""
        if impl == "zarr_fast":
            import zarr_fast.config

            previous = zarr_fast.config.get_threads()
            zarr_fast.config.set_threads(1)
            return lambda: zarr_fast.config.set_threads(previous)
        from numcodecs import blosc

        previous = getattr(blosc, "use_threads", None)
        blosc.use_threads = False

        def restore():
            blosc.use_threads = previous
        return restore

    def time_parallel(self, impl, nthreads, chunks):
        arr = self.arr
        list(self.pool.map(lambda band: arr[band], self.bands))

    def time_loop(self, impl, nthreads, chunks):
        arr = self.arr
        for band in self.bands:
            arr[band]
