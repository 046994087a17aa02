"""Chunk coordinates to store keys (v2: ``"i.j.k"`` or ``"i/j/k"``; a 0-d array's key is ``"0"``)."""


def chunk_key(chunk_coords, separator=".", prefix=""):
    """Return the store key of the chunk at ``chunk_coords`` under ``prefix`` ('' or 'path/')."""
    if not chunk_coords:
        return prefix + "0"
    return prefix + separator.join(map(str, chunk_coords))
