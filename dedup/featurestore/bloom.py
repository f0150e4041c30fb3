"""A Bloom filter over a shard's distinct fingerprints: most of a query's look-ups skip the shard.

At a million articles a query's fingerprint is in a given shard about one time in fifteen, yet each
look-up reads the shard's postings (a page of a memory map, faulted in the first time). The filter
answers "certainly not here" from memory for all but a few per cent of the absent ones. ``BITS``
bits per posting and ``PROBES`` probes by double hashing (the fingerprint's own bits and one mix);
the size is a power of two, so a probe is a mask, and the whole look-up is vectorised.
"""

from __future__ import annotations

import numpy as np

from ..hashing import mix64

BITS = 4  # bits per posting (distinct fingerprints are fewer: text recurs), rounded down to a power of two
PROBES = 3


def size_bits(n_postings: int) -> int:
    """log2 of the filter's size in bits for a shard of ``n_postings`` postings (at least 2**10)."""
    return max(10, int(max(n_postings, 1) * BITS).bit_length() - 1)


def _probes(fps: np.ndarray, log_m: int) -> list[np.ndarray]:
    mask = np.uint64((1 << log_m) - 1)
    h1 = (fps >> np.uint64(16)) & mask  # a fingerprint is already a hash: its bits are the first probe
    h2 = mix64(fps) | np.uint64(1)
    with np.errstate(over="ignore"):
        return [(h1 + np.uint64(i) * h2) & mask for i in range(PROBES)]


def build(bits: np.ndarray, fps: np.ndarray) -> None:
    """Set the probes of ``fps`` in ``bits`` (a bool array of 2**log_m, unpacked while building)."""
    log_m = len(bits).bit_length() - 1
    for p in _probes(np.asarray(fps, dtype=np.uint64), log_m):
        bits[p] = True


def pack(bits: np.ndarray) -> np.ndarray:
    """The filter as stored and queried: one bit each, little-endian within a byte."""
    return np.packbits(bits, bitorder="little")


def from_postings(postings: np.ndarray) -> np.ndarray:
    """The packed filter of sorted postings."""
    fps = np.asarray(postings, dtype=np.uint64)
    if len(fps) > 1:
        fps = fps[np.concatenate(([True], fps[1:] != fps[:-1]))]
    bits = np.zeros(1 << size_bits(len(postings)), dtype=bool)
    build(bits, fps)
    return pack(bits)


def may_hold(packed: np.ndarray, fps: np.ndarray) -> np.ndarray:
    """Bool per fingerprint: possibly in the shard (False is certain)."""
    log_m = (len(packed) * 8).bit_length() - 1
    out = np.ones(len(fps), dtype=bool)
    for p in _probes(np.asarray(fps, dtype=np.uint64), log_m):
        out &= ((packed[(p >> np.uint64(3)).astype(np.int64)] >> (p & np.uint64(7)).astype(np.uint8)) & 1).astype(bool)
    return out
