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

import numpy as np

from .hashing import mix64, seeded

EMPTY = np.uint32(0xFFFFFFFF)
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1
_S32 = np.uint64(32)


def signatures(
    hashes: np.ndarray, offsets: np.ndarray, num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED
) -> np.ndarray:
    """Signatures of the sets ``hashes[offsets[i]:offsets[i+1]]``, shape (n_sets, num_perm).

    An empty set gets a row of ``EMPTY``; it estimates Jaccard 1 only with another empty set.
    """
    n_sets = len(offsets) - 1
    sizes = np.diff(offsets)
    y = seeded(hashes, seed)
    bins = ((y >> _S32) * np.uint64(num_perm)) >> _S32
    values = np.minimum(y & np.uint64(0xFFFFFFFF), np.uint64(0xFFFFFFFE)).astype(np.uint32)
    owner = np.repeat(np.arange(n_sets, dtype=np.int64), sizes)
    sig = np.full(n_sets * num_perm, EMPTY, dtype=np.uint32)
    np.minimum.at(sig, owner * num_perm + bins.astype(np.int64), values)
    sig = sig.reshape(n_sets, num_perm)
    _densify(sig, sizes > 0, seed)
    return sig


def _densify(sig: np.ndarray, nonempty: np.ndarray, seed: int) -> None:
    """Fill empty bins in place from the first non-empty bin of a set-independent probe sequence."""
    num_perm = sig.shape[1]
    rows, cols = np.nonzero((sig == EMPTY) & nonempty[:, None])
    if rows.size == 0:
        return
    original = sig.copy()
    salt = np.uint64((seed * 0x100000001B3 + 0x632BE59BD9B4E019) % (1 << 64))
    attempt = 0
    while rows.size:
        attempt += 1
        key = (cols.astype(np.uint64) << _S32) | np.uint64(attempt)
        probe = ((mix64(key ^ salt) >> _S32) * np.uint64(num_perm)) >> _S32
        borrowed = original[rows, probe.astype(np.int64)]
        found = borrowed != EMPTY
        sig[rows[found], cols[found]] = borrowed[found]
        rows, cols = rows[~found], cols[~found]


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard estimate from two signatures: the fraction of positions that agree."""
    return float(np.mean(a == b))


def to_lean_minhash(signature: np.ndarray, seed: int = DEFAULT_SEED):
    """A ``datasketch.LeanMinHash`` holding this signature, for use with ``MinHashLSH``.

    Only signatures of the same seed and ``num_perm`` are comparable, ours with ours:
    datasketch's own ``MinHash`` hashes elements differently.
    """
    from datasketch import LeanMinHash

    return LeanMinHash(seed=seed, hashvalues=np.asarray(signature, dtype=np.uint64))
