"""Word k-gram shingles of a tokenised batch, hashed from the token hashes.

A document with fewer than k tokens yields one shingle of all its tokens, so
short texts still have a fingerprint. Banal shingles (only numbers and calendar
words: ``banal``) are left out: they are evidence of nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hashing import GOLDEN, combine, mix64, mix64_inplace
from ..kernels import native
from ..options import DEFAULT_K
from .banal import banal_tokens
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
    """All word k-grams of every document, vectorised over the batch.

    The full k-grams are the windows of the batch's token array that lie inside one document: each window's
    hash and whether it holds a word that is not banal are computed with slices of the whole array (no
    gathers by index), and the windows that cross into the next document or hold only banal words are
    dropped with one mask. A document shorter than k (rare) adds its one shingle of all its tokens.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    h = tokens.hashes
    toff = np.asarray(tokens.offsets, dtype=np.int64)
    kernel = native("align")
    if kernel is not None and len(toff) and toff[0] == 0 and toff[-1] == len(h):  # the same rows, one pass
        h = np.ascontiguousarray(h, dtype=np.uint64)
        hashes, first, last, offsets = kernel.shingle_rows(h, toff, banal_tokens(h).view(np.uint8), k)
        return Shingles(offsets=offsets, hashes=hashes, first=first, last=last, k=k)
    n = len(h)
    n_tok = np.diff(toff)
    count = np.int32 if n < 1 << 31 else np.int64
    content = np.zeros(n + 1, dtype=count)  # content[i]: the words before token i that are not banal
    np.cumsum(~banal_tokens(h), out=content[1:])
    if n >= k:
        keep = content[k:] != content[:-k]  # window i (tokens i..i+k-1) holds a word that is not banal
        # A window starting less than k tokens before a document's first token crosses into that document.
        later = toff[1:-1][n_tok[1:] > 0]
        cross = (later[:, None] - np.arange(1, k, dtype=np.int64)).ravel()
        keep[cross[(cross >= 0) & (cross < len(keep))]] = False
        first = np.flatnonzero(keep)
        hashes = _window_hashes(h, k)[keep]
    else:
        first, hashes = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    last = first + (k - 1)
    short = np.flatnonzero((n_tok > 0) & (n_tok < k))
    if short.size:  # one shingle of all the tokens of each short document that holds a word not banal
        lo, size = toff[short], n_tok[short]
        informative = content[lo + size] != content[lo]
        lo, size = lo[informative], size[informative]
        at = np.searchsorted(first, lo)
        first = np.insert(first, at, lo)
        last = np.insert(last, at, lo + size - 1)
        hashes = np.insert(hashes, at, _kgram_hashes(h, lo, size, k))
    offsets = np.searchsorted(first, toff).astype(np.int64)  # document d's shingles start in its tokens
    return Shingles(offsets=offsets, hashes=hashes, first=first, last=last, k=k)


_CHUNK = 1 << 15  # elements per cache-sized block of the k-gram loop


def _window_hashes(h: np.ndarray, k: int) -> np.ndarray:
    """The full k-gram hash (``_kgram_hashes``' with span k) of every window start of ``h`` (n - k + 1 of
    them), with slices, block by block so the arrays stay in cache."""
    n = len(h)
    starts = np.empty(n - k + 1, dtype=np.uint64)
    kernel = native("read")
    if kernel is not None:  # the same bits by the compiled loop
        kernel.window_hashes(np.ascontiguousarray(h, dtype=np.uint64), k, starts)
        return starts
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
    return starts


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
        starts = _window_hashes(h, k)
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
