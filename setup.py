"""Build the compiled core of zarr_fast.

One extension table and one directives dict. A missing compiler or a failed cythonize
fails the build loudly: there is no pure-Python fallback for the kernels.

``ZARR_FAST_CYTHON_DEBUG=1`` turns bounds checks on and adds line tracing (for coverage).
"""
import os

from setuptools import Extension, setup

try:
    import numpy as np
    from Cython.Build import cythonize
except ImportError as error:  # pragma: no cover - build environment problem
    raise SystemExit(
        f"zarr_fast needs Cython>=3 and numpy>=2 to build its compiled core ({error}); "
        "there is no pure-Python fallback"
    ) from error

IS_DEBUG = os.environ.get("ZARR_FAST_CYTHON_DEBUG", "") not in ("", "0")

# (module name, sources) -- the single table of compiled modules.
EXTENSIONS = [
    ("zarr_fast._chunkcopy", ["zarr_fast/_chunkcopy.pyx"]),
    ("zarr_fast._indexing", ["zarr_fast/_indexing.pyx"]),
    ("zarr_fast._blosc", ["zarr_fast/_blosc.pyx"]),
    ("zarr_fast._bloscitems", ["zarr_fast/_bloscitems.pyx"]),
    ("zarr_fast._bloscpack", ["zarr_fast/_bloscpack.pyx"]),
    ("zarr_fast._chunkfiles", ["zarr_fast/_chunkfiles.pyx"]),
    ("zarr_fast._chunkio", ["zarr_fast/_chunkio.pyx"]),
    ("zarr_fast._resultpool", ["zarr_fast/_resultpool.pyx"]),
]

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": IS_DEBUG,
    "wraparound": False,
    "initializedcheck": IS_DEBUG,
    "cdivision": True,
    "embedsignature": True,
}
if IS_DEBUG:
    DIRECTIVES["linetrace"] = True

DEFINE_MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if IS_DEBUG:
    # Line tracing is compiled in only when these are defined; nogil tracing keeps
    # the kernels' nogil sections traceable too.
    DEFINE_MACROS += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]

COMPILE_ARGS = ["-O0", "-g"] if IS_DEBUG else ["-O3"]


def _extensions():
    return [
        Extension(
            name,
            sources,
            include_dirs=[np.get_include(), "csrc"],
            define_macros=DEFINE_MACROS,
            extra_compile_args=COMPILE_ARGS,
        )
        for name, sources in EXTENSIONS
    ]


setup(
    ext_modules=cythonize(
        _extensions(),
        compiler_directives=DIRECTIVES,
        # Directives are not part of cythonize's staleness check, so a debug build would
        # otherwise leave its C behind for the next normal build (and vice versa).
        force=True,
    ),
)
