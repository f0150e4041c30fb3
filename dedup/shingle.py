"""Word k-gram shingles of a tokenised batch, hashed from the token hashes.

A document with fewer than k tokens yields one shingle of all its tokens, so
short texts still have a fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hashing import combine, mix64
from .normalise import Tokens

DEFAULT_K = 5


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
    doc = np.repeat(np.arange(len(n_tok)), n_sh)
    first = tokens.offsets[doc] + (np.arange(offsets[-1]) - offsets[doc])
    span = np.minimum(n_tok[doc], k)
    last = first + span - 1
    acc = np.zeros(len(first), dtype=np.uint64)
    for j in range(k):
        # Positions past a short document's end repeat its last token; the span length,
        # mixed in below, keeps "a b" distinct from "a b b".
        acc = combine(acc, h[np.minimum(first + j, last)]) if len(h) else acc
    hashes = mix64(acc ^ span.astype(np.uint64))
    return Shingles(offsets=offsets, hashes=hashes, first=first, last=last, k=k)
