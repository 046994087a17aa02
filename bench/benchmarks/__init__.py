"""asv benchmarks of zarr_fast against zarr-python 2.18.7 and tensorstore (see bench/README.md)."""
