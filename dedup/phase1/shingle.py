"""Word k-gram shingles of a tokenised batch, hashed from the token hashes.

A document with fewer than k tokens yields one shingle of all its tokens, so
short texts still have a fingerprint. Banal shingles (only numbers and calendar
words: ``banal``) are left out: they are evidence of nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hashing import GOLDEN, combine, mix64, mix64_inplace
from ..options import DEFAULT_K
from .banal import informative
from .normalise import Tokens


@dataclass
class Shingles:
    """Shingle hashes in CSR layout, each with the index of its first and last token.

    ``first``/``last`` index into the batch's token arrays, so character spans
    are ``tokens.starts[first]`` to ``tokens.ends[last]``.
    """

    offsets: np.ndarray
    hashes: np.ndarray
    first: np.ndarray
    last: np.ndarray
    k: int

    def doc(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))


def shingle(tokens: Tokens, k: int = DEFAULT_K) -> Shingles:
    """All word k-grams of every document, vectorised over the batch."""
    if k < 1:
        raise ValueError("k must be at least 1")
    h = tokens.hashes
    n_tok = np.diff(tokens.offsets)
    # Number of shingles per document: n-k+1, or 1 for a short non-empty document.
    n_sh = np.where(n_tok >= k, n_tok - k + 1, np.minimum(n_tok, 1))
    offsets = np.zeros(len(n_tok) + 1, dtype=np.int64)
    np.cumsum(n_sh, out=offsets[1:])
    # Shingle j of document d starts at token offsets[d] + j: one arange plus a per-document shift.
    first = np.arange(offsets[-1], dtype=np.int64)
    first += np.repeat(tokens.offsets[:-1] - offsets[:-1], n_sh)
    span = np.repeat(np.minimum(n_tok, k), n_sh)
    last = first + span - 1
    hashes = _kgram_hashes(h, first, span, k)
    keep = informative(h, first, last)
    if not keep.all():
        doc = np.repeat(np.arange(len(n_tok), dtype=np.int64), n_sh)
        offsets = np.zeros(len(n_tok) + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc[keep], minlength=len(n_tok)), out=offsets[1:])
        hashes, first, last = hashes[keep], first[keep], last[keep]
    return Shingles(offsets=offsets, hashes=hashes, first=first, last=last, k=k)


_CHUNK = 1 << 15  # elements per cache-sized block of the k-gram loop


def _kgram_hashes(h: np.ndarray, first: np.ndarray, span: np.ndarray, k: int) -> np.ndarray:
    """``mix64(combine(...combine(0, h[first]), ... h[min(first + j, last)]) ^ span)`` per shingle.

    Full shingles (span == k) read k consecutive tokens, so they are computed for every
    window start of the batch's token array with slices (no gathers), block by block so
    the arrays stay in cache, and then picked out; short documents take the general path.
    """
    out = np.empty(len(first), dtype=np.uint64)
    n = len(h)
    full = span == k
    if n >= k and full.any():
        starts = np.empty(n - k + 1, dtype=np.uint64)
        span_k = np.uint64(k)
        tmp = np.empty(min(_CHUNK, n - k + 1), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for lo in range(0, n - k + 1, _CHUNK):
                hi = min(lo + _CHUNK, n - k + 1)
                acc, t = starts[lo:hi], tmp[: hi - lo]  # computed in place in the output
                acc[:] = h[lo:hi]
                mix64_inplace(acc, t)  # combine(0, x) == mix64(0 * GOLDEN + x)
                for j in range(1, k):
                    acc *= GOLDEN
                    acc += h[lo + j : hi + j]
                    mix64_inplace(acc, t)
                acc ^= span_k
                mix64_inplace(acc, t)
        if full.all():
            return starts[first]
        out[full] = starts[first[full]]
    rest = np.flatnonzero(~full)
    if rest.size:
        f, s = first[rest], span[rest]
        last = f + s - 1
        acc = np.zeros(len(rest), dtype=np.uint64)
        for j in range(k):
            acc = combine(acc, h[np.minimum(f + j, last)])
        out[rest] = mix64(acc ^ s.astype(np.uint64))
    return out
