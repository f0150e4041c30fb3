"""MinHash signatures for a whole batch of sets at once.

Scheme: one-permutation hashing (Li, Owen & Zhang, 2012) with optimal
densification (Shrivastava, 2017). Each element is hashed once, its hash picks
one of ``num_perm`` bins and the bin keeps its minimum; empty bins borrow the
value of the first non-empty bin along a fixed pseudo-random probe sequence
that is the same for every set. For two sets, every position of their
signatures agrees with probability equal to their Jaccard similarity, so the
fraction of equal positions is an unbiased Jaccard estimate, as with classic
k-permutation MinHash, at the cost of one hash per element instead of
``num_perm``.

Signatures are uint32 and depend only on the element hashes and the seed:
identical across runs, processes, machines and library versions.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..hashing import GOLDEN, mix64, seeded
from ..kernels import native
from ..options import DEFAULT_NUM_PERM, DEFAULT_SEED

EMPTY = np.uint32(0xFFFFFFFF)
_S32 = np.uint64(32)


def signatures(
    hashes: np.ndarray, offsets: np.ndarray, num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED
) -> np.ndarray:
    """Signatures of the sets ``hashes[offsets[i]:offsets[i+1]]``, shape (n_sets, num_perm).

    An empty set gets a row of ``EMPTY``; it estimates Jaccard 1 only with another empty set.
    """
    n_sets = len(offsets) - 1
    if len(hashes) > _BLOCK and n_sets > 1:  # sets are independent: sign them in blocks to bound memory
        out = np.empty((n_sets, num_perm), dtype=np.uint32)
        bounds = np.searchsorted(offsets, np.arange(0, int(offsets[-1]), _BLOCK), side="right") - 1
        edges = np.unique(np.concatenate([bounds, [n_sets]]))
        for a, b in zip(edges[:-1].tolist(), edges[1:].tolist()):
            lo, hi = int(offsets[a]), int(offsets[b])
            out[a:b] = _signatures(hashes[lo:hi], offsets[a : b + 1] - lo, num_perm, seed)
        return out
    return _signatures(hashes, offsets, num_perm, seed)


_BLOCK = 1 << 22  # elements per block of ``signatures``


def raw_bins(hashes: np.ndarray, num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED) -> np.ndarray:
    """One set's bins before densification (``EMPTY`` where no element fell): mergeable by element-wise
    minimum, so a set too large to hash at once is signed part by part (``densified``)."""
    offsets = np.array([0, len(hashes)], dtype=np.int64)
    return _signatures(hashes, offsets, num_perm, seed, densify=False)[0]


def densified(raw: np.ndarray, seed: int = DEFAULT_SEED) -> np.ndarray:
    """The signature of a set from its merged ``raw_bins``."""
    sig = np.array(raw, dtype=np.uint32).reshape(1, -1)
    _densify(sig, np.array([bool((sig != EMPTY).any())]), seed)
    return sig[0]


def _signatures(hashes: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int, densify: bool = True) -> np.ndarray:
    n_sets = len(offsets) - 1
    sizes = np.diff(offsets)
    kernel = native("read")
    if kernel is not None:  # the same bins by the compiled loop (no per-hash temporaries, no ``minimum.at``)
        sig = np.full(n_sets * num_perm, EMPTY, dtype=np.uint32)
        salt = mix64(np.array([seed], dtype=np.uint64) + GOLDEN)[0]  # ``seeded``'s
        shift = 64 - (num_perm.bit_length() - 1) if num_perm & (num_perm - 1) == 0 else 0
        hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        kernel.raw_signatures(hashes, np.ascontiguousarray(offsets, dtype=np.int64), num_perm, int(salt), shift, sig)
        sig = sig.reshape(n_sets, num_perm)
        if densify:
            _densify(sig, sizes > 0, seed)
        return sig
    y = seeded(hashes, seed)
    if num_perm & (num_perm - 1) == 0:  # a power of two: ((y >> 32) * num_perm) >> 32 is a shift
        bins = (y >> np.uint64(64 - (num_perm.bit_length() - 1))).astype(np.int64)
    else:
        bins = (((y >> _S32) * np.uint64(num_perm)) >> _S32).astype(np.int64)
    values = y.astype(np.uint32)  # the low 32 bits
    del y
    np.minimum(values, np.uint32(0xFFFFFFFE), out=values)
    bins += np.repeat(np.arange(0, n_sets * num_perm, num_perm, dtype=np.int64), sizes)  # cell of (set, bin)
    sig = np.full(n_sets * num_perm, EMPTY, dtype=np.uint32)
    np.minimum.at(sig, bins, values)
    sig = sig.reshape(n_sets, num_perm)
    if densify:
        _densify(sig, sizes > 0, seed)
    return sig


_PROBES = 64  # probe steps precomputed per (seed, num_perm); the rare longer searches compute theirs


@lru_cache(maxsize=16)
def _probe_table(seed: int, num_perm: int, attempts: int = _PROBES) -> np.ndarray:
    """``table[col, attempt - 1]``: the bin that empty bin ``col`` borrows from at that attempt."""
    cols = np.arange(num_perm, dtype=np.uint64)[:, None]
    return _probe(cols, np.arange(1, attempts + 1, dtype=np.uint64)[None, :], seed, num_perm).astype(np.int64)


def _probe(cols: np.ndarray, attempt: np.ndarray, seed: int, num_perm: int) -> np.ndarray:
    salt = np.uint64((seed * 0x100000001B3 + 0x632BE59BD9B4E019) % (1 << 64))
    key = (cols.astype(np.uint64) << _S32) | attempt.astype(np.uint64)
    return ((mix64(key ^ salt) >> _S32) * np.uint64(num_perm)) >> _S32


def _densify(sig: np.ndarray, nonempty: np.ndarray, seed: int) -> None:
    """Fill empty bins in place from the first non-empty bin of a set-independent probe sequence."""
    num_perm = sig.shape[1]
    flat = np.flatnonzero((sig == EMPTY) & nonempty[:, None])
    if flat.size == 0:
        return
    original = sig.ravel()
    rows, cols = np.divmod(flat, num_perm)
    table = _probe_table(seed, num_perm)
    base = rows * num_perm
    fill = np.empty(flat.size, dtype=np.uint32)
    pending = np.arange(flat.size)
    attempt = 0
    while pending.size:
        attempt += 1
        if attempt <= table.shape[1]:
            probe = table[cols[pending], attempt - 1]
        else:
            probe = _probe(cols[pending], np.full(pending.size, attempt, dtype=np.uint64), seed, num_perm)
            probe = probe.astype(np.int64)
        borrowed = original[base[pending] + probe]
        found = borrowed != EMPTY
        fill[pending[found]] = borrowed[found]
        pending = pending[~found]
    sig.ravel()[flat] = fill


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard estimate from two signatures: the fraction of positions that agree."""
    return float(np.mean(a == b))


def to_lean_minhash(signature: np.ndarray, seed: int = DEFAULT_SEED, scheme: str = "affine32"):
    """A ``datasketch.LeanMinHash`` holding this signature, for use with ``MinHashLSH``.

    Only signatures of the same seed and ``num_perm`` are comparable, ours with ours:
    datasketch's own ``MinHash`` hashes elements differently. datasketch 2.x wants a
    scheme label for bare hash values; ours are 32-bit, so the default is "affine32".
    """
    from datasketch import LeanMinHash

    return LeanMinHash(seed=seed, hashvalues=np.asarray(signature, dtype=np.uint64), scheme=scheme)
