"""Stored response bodies, compressed with zstd.

The JSON of a simulation is mostly decimal numbers: zstd's fastest level stores it in under half
of its size, in well under a millisecond for the spec's example (its level 3 gains nothing on it).
"""

import zstandard

_LEVEL = 1


def pack(body: bytes) -> bytes:
    # A compressor per call: zstd contexts must not be shared between threads.
    return zstandard.ZstdCompressor(level=_LEVEL).compress(body)


def unpack(blob: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(blob)
