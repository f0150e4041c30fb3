"""Candidate pairs from MinHash-LSH over passage windows.

Whole-document signatures miss a short article wrapped in a long page: the
Jaccard similarity of the two documents is low even though one contains the
other. So each document is cut into passage windows and the windows are
banded. Window boundaries are content-defined (a boundary falls after a
shingle whose hash has a fixed property, as in content-defined chunking), so
two copies of a text are cut at the same places whatever surrounds them and
their windows match exactly, not merely overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hashing import combine, mix64, seeded
from .shingle import Shingles
from .sign import signatures


@dataclass(frozen=True)
class IndexParams:
    """Window and banding parameters.

    A window pair of Jaccard similarity s becomes a candidate with probability
    1 - (1 - s**rows)**bands: with 8 bands of 4 rows, 0.99 at s=0.8, 0.4 at 0.5.
    """

    chunk_bits: int = 4  # a boundary after 1 shingle in 2**chunk_bits: chunks of ~16 shingles
    max_chunk: int = 48  # longest chunk, in shingles
    bands: int = 8
    rows: int = 4
    seed: int = 7
    max_bucket: int = 32  # larger buckets are linked as a star and a chain, not all pairs

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows


@dataclass
class Windows:
    """Passage windows: ``doc[w]`` owns shingles ``start[w]:end[w]`` (global shingle indices)."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray


def windows(sh: Shingles, params: IndexParams = IndexParams()) -> Windows:
    """Content-defined windows, each two consecutive chunks, covering every shingle."""
    n = len(sh.hashes)
    sizes = np.diff(sh.offsets)
    doc_of = np.repeat(np.arange(len(sizes)), sizes)
    is_first = np.zeros(n, dtype=bool)
    is_first[sh.offsets[:-1][sizes > 0]] = True
    anchor = (seeded(sh.hashes, params.seed) >> np.uint64(64 - params.chunk_bits)) == 0
    # A chunk starts at a document's first shingle or right after an anchor shingle.
    natural = is_first.copy()
    natural[1:] |= anchor[:-1] & ~is_first[1:]
    cstart = np.flatnonzero(natural)
    cend = np.append(cstart[1:], n)
    # Split chunks longer than max_chunk into equal-length pieces from their start.
    pieces = -(-(cend - cstart) // params.max_chunk)
    rep = np.repeat(np.arange(len(cstart)), pieces)
    within = np.arange(len(rep)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    cstart = cstart[rep] + within * params.max_chunk
    cend = np.minimum(cstart + params.max_chunk, cend[rep])
    cdoc = doc_of[cstart] if n else np.zeros(0, dtype=np.int64)
    # Window i = chunk i and chunk i+1 of the same document; a one-chunk document is one window.
    last_of_doc = np.append(cdoc[1:] != cdoc[:-1], True)
    first_of_doc = np.insert(cdoc[1:] != cdoc[:-1], 0, True)
    keep = ~last_of_doc | first_of_doc
    idx = np.flatnonzero(keep)
    wend = np.where(last_of_doc[idx], cend[idx], cend[np.minimum(idx + 1, len(cend) - 1)])
    return Windows(doc=cdoc[idx], start=cstart[idx], end=wend)


_WINDOW_CHUNK = 1 << 18  # windows per block: bounds the temporaries of signing whatever the corpus size


def window_signatures(sh: Shingles, win: Windows, params: IndexParams = IndexParams()) -> np.ndarray:
    """MinHash signature of every window, shape (n_windows, bands * rows)."""
    out = np.empty((len(win.doc), params.num_perm), dtype=np.uint32)
    for lo in range(0, len(win.doc), _WINDOW_CHUNK):
        out[lo : lo + _WINDOW_CHUNK] = _window_block(sh, win, params, lo, lo + _WINDOW_CHUNK)
    return out


def _window_block(sh: Shingles, win: Windows, params: IndexParams, lo: int, hi: int) -> np.ndarray:
    start, end = win.start[lo:hi], win.end[lo:hi]
    lengths = end - start
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    members = np.repeat(start - offsets[:-1], lengths) + np.arange(offsets[-1])
    return signatures(sh.hashes[members], offsets, params.num_perm, params.seed)


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One uint64 key per (row, band): the band's values hashed together with its index."""
    n = sig.shape[0]
    view = sig[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    acc = np.broadcast_to(mix64(np.arange(bands, dtype=np.uint64)), (n, bands)).copy()
    for r in range(rows):
        acc = combine(acc, view[:, :, r])
    return acc


def bucket_pairs(keys: np.ndarray, owner: np.ndarray, max_bucket: int = 32) -> np.ndarray:
    """Pairs of distinct owners that share a key, as sorted (a < b) rows, deduplicated.

    Buckets with more than ``max_bucket`` owners (often a site template) are linked
    as a star from their first owner plus a chain, which keeps the pair count linear
    while leaving every member connected for verification.
    """
    if keys.ndim == 2:  # one row of band keys per owner entry
        owner = np.repeat(owner, keys.shape[1])
        keys = keys.ravel()
    if len(owner) < 2 or bool(np.all(owner[1:] >= owner[:-1])):
        order = np.argsort(keys, kind="stable")  # already in owner order: same as lexsort((owner, keys))
    else:
        order = np.lexsort((owner, keys))
    k, o = keys[order], owner[order]
    distinct = np.ones(len(k), dtype=bool)
    distinct[1:] = (k[1:] != k[:-1]) | (o[1:] != o[:-1])
    k, o = k[distinct], o[distinct]
    if len(k) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    new = np.ones(len(k), dtype=bool)
    new[1:] = k[1:] != k[:-1]
    group = np.cumsum(new) - 1
    gstart = np.flatnonzero(new)
    gsize = np.diff(np.append(gstart, len(k)))[group]
    out = []
    small = gsize <= max_bucket
    for d in range(1, max_bucket):
        i = np.flatnonzero(small[:-d] & (group[d:] == group[:-d]))
        if i.size == 0:
            break
        out.append(np.stack([o[i], o[i + d]], axis=1))
    big = np.flatnonzero(~small)
    if big.size:
        hub = o[gstart[group[big]]]
        out.append(np.stack([hub, o[big]], axis=1))
        nxt = big[:-1][group[big[1:]] == group[big[:-1]]]
        out.append(np.stack([o[nxt], o[nxt + 1]], axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs = np.sort(pairs, axis=1)
    if len(pairs) and pairs.min() >= 0 and pairs.max() < (1 << 32):
        # one uint64 per pair: sorting it is sorting the rows, far faster than unique(axis=0)
        code = np.unique((pairs[:, 0].astype(np.uint64) << np.uint64(32)) | pairs[:, 1].astype(np.uint64))
        out = np.empty((len(code), 2), dtype=pairs.dtype)
        out[:, 0] = code >> np.uint64(32)
        out[:, 1] = code & np.uint64(0xFFFFFFFF)
        return out
    return np.unique(pairs, axis=0)


def candidate_pairs(sh: Shingles, params: IndexParams = IndexParams()) -> np.ndarray:
    """Document pairs (i < j) sharing at least one LSH band of one passage window."""
    win = windows(sh, params)
    if len(win.doc) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    # Signatures block by block, keeping only their band keys (the signatures are not needed after).
    keys = np.empty((len(win.doc), params.bands), dtype=np.uint64)
    for lo in range(0, len(win.doc), _WINDOW_CHUNK):
        sig = _window_block(sh, win, params, lo, lo + _WINDOW_CHUNK)
        keys[lo : lo + _WINDOW_CHUNK] = band_keys(sig, params.bands, params.rows)
    return bucket_pairs(keys, win.doc, params.max_bucket)
