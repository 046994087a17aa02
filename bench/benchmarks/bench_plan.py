"""Indexing-only benchmarks: turning a selection into per-chunk work, no I/O and no decoding (asv).

zarr_fast plans with ``zarr_fast.indexing.*_selection(selection, shape, chunks)``; zarr 2.18
with its indexer classes, iterated to the end (that is the per-call cost it pays). tensorstore
has no separable planning step and is not measured here.
"""
import types

import numpy as np

from . import common

SHAPE = (16384, 16384)
CHUNKS = (1024, 1024)


class Plan:
    params = (["zarr_fast", "zarr"], ["slab", "window", "oindex", "vindex"])
    param_names = ["impl", "selection"]

    def setup(self, impl, selection):
        module = common.import_impl(impl)
        rng = np.random.default_rng(2)
        selections = {
            "slab": (slice(None), slice(100, 101)),
            "window": (slice(500, 15500), slice(700, 15700)),
            "oindex": (np.sort(rng.choice(SHAPE[0], 2000, replace=False)),
                       np.sort(rng.choice(SHAPE[1], 2000, replace=False))),
            "vindex": (rng.integers(0, SHAPE[0], 1_000_000), rng.integers(0, SHAPE[1], 1_000_000)),
        }
        self.selection = selections[selection]
        kind = "points" if selection == "vindex" else ("orthogonal" if selection == "oindex" else "basic")
        if impl == "zarr_fast":
            indexing = getattr(module, "indexing", None)
            if indexing is None:
                import zarr_fast.indexing as indexing
            name = {"basic": "basic_selection", "orthogonal": "orthogonal_selection",
                    "points": "coordinate_selection"}[kind]
            planner = getattr(indexing, name, None)
            if planner is None:
                raise NotImplementedError(f"zarr_fast.indexing.{name} is missing")
            self.plan = lambda: planner(self.selection, SHAPE, CHUNKS)
        else:
            from zarr import indexing

            # The indexers only read the shape, chunk shape and chunk grid of the array.
            cdata_shape = tuple(-(-n // c) for n, c in zip(SHAPE, CHUNKS))
            fake = types.SimpleNamespace(_shape=SHAPE, _chunks=CHUNKS, shape=SHAPE, chunks=CHUNKS,
                                         _cdata_shape=cdata_shape)
            cls = {"basic": indexing.BasicIndexer, "orthogonal": indexing.OrthogonalIndexer,
                   "points": indexing.CoordinateIndexer}[kind]
            self.plan = lambda: list(cls(self.selection, fake))

    def time_plan(self, impl, selection):
        self.plan()
