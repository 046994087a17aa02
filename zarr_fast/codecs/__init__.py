"""Codecs: numcodecs' registry re-exported (as ``zarr.codecs`` does) plus our chunk pipeline."""
from numcodecs import *  # noqa: F401,F403
from numcodecs import get_codec, Blosc  # noqa: F401

from .pipeline import CodecPipeline  # noqa: F401
