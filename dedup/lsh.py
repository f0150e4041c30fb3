"""Candidate pairs from MinHash-LSH over passage windows: an approximate candidate search.

The scan counts shared shingles exactly from the feature store's postings (``evidence``), which finds
rewrites LSH misses at bounded cost; this is the approximate search over signatures, for corpora too
large for exact postings, and the throughput benchmark's LSH comparison with datasketch and rensa.

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
from functools import lru_cache

import numpy as np

from .hashing import combine, mix64, seeded
from .shingle import Shingles
from .sign import EMPTY, _probe_table, signatures
from .sign import _densify as _sign_densify


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
    """Content-defined windows, each two consecutive chunks, covering every shingle.

    With ``window_signatures`` this is the plain, window-by-window definition of what
    ``candidate_pairs`` computes chunk by chunk (the tests hold the two equal); use it to
    inspect the windows of a corpus.
    """
    return _chunks(sh, params, seeded(sh.hashes, params.seed)).windows()


@dataclass
class _Chunks:
    """Chunks (``start``/``end`` global shingle indices, ``doc``) and the windows built on them:
    window w is chunk ``first[w]``, plus chunk ``first[w] + 1`` where ``pair[w]``."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    first: np.ndarray
    pair: np.ndarray

    def windows(self) -> Windows:
        idx = self.first
        nxt = np.minimum(idx + 1, len(self.end) - 1)
        return Windows(doc=self.doc[idx], start=self.start[idx], end=np.where(self.pair, self.end[nxt], self.end[idx]))


def _chunks(sh: Shingles, params: IndexParams, y: np.ndarray) -> _Chunks:
    """Chunks and windows of ``sh``; ``y`` is ``seeded(sh.hashes, params.seed)``."""
    n = len(sh.hashes)
    sizes = np.diff(sh.offsets)
    is_first = np.zeros(n, dtype=bool)
    is_first[sh.offsets[:-1][sizes > 0]] = True
    anchor = (y >> np.uint64(64 - params.chunk_bits)) == 0
    # A chunk starts at a document's first shingle or right after an anchor shingle.
    natural = is_first.copy()
    natural[1:] |= anchor[:-1] & ~is_first[1:]
    del anchor
    cstart = np.flatnonzero(natural)
    del natural
    cend = np.append(cstart[1:], n)
    # Split chunks longer than max_chunk into equal-length pieces from their start.
    pieces = -(-(cend - cstart) // params.max_chunk)
    if bool(np.all(pieces == 1)):
        rep = np.arange(len(cstart))
    else:
        rep = np.repeat(np.arange(len(cstart)), pieces)
        within = np.arange(len(rep)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        cstart = cstart[rep] + within * params.max_chunk
        cend = np.minimum(cstart + params.max_chunk, cend[rep])
    # document of each chunk: the last document starting at or before the chunk
    cdoc = np.searchsorted(sh.offsets, cstart, side="right") - 1
    # Window i = chunk i and chunk i+1 of the same document; a one-chunk document is one window.
    change = cdoc[1:] != cdoc[:-1]
    last_of_doc = np.append(change, True)
    first_of_doc = np.insert(change, 0, True)
    idx = np.flatnonzero(~last_of_doc | first_of_doc)
    return _Chunks(doc=cdoc, start=cstart, end=cend, first=idx, pair=~last_of_doc[idx])


_S32 = np.uint64(32)
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
    width = keys.shape[1] if keys.ndim == 2 else 1  # one row of band keys per owner entry
    keys = keys.ravel()
    owner = np.asarray(owner)
    if len(owner) > 1 and bool(np.all(owner[1:] >= owner[:-1])):
        k, o = _shared_keys(keys, owner, width)
    else:
        owner = np.repeat(owner, width)
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


def _shared_keys(keys: np.ndarray, owner: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The entries whose key occurs more than once, ordered by (key, owner), with their owners.

    ``owner`` is in ascending order (entry e belongs to ``owner[e // width]``). Only keys held twice
    or more can pair owners, and they are usually a small part: a sort of the key's high bits packed
    with the entry index (one uint64, no argsort) finds them, and keeps equal keys in entry order,
    which is owner order.
    """
    n = len(keys)
    bits = max(1, n.bit_length())
    if bits >= 64:
        order = np.lexsort((np.repeat(owner, width), keys))
        return keys[order], owner[order // width]
    low = np.uint64((1 << bits) - 1)
    packed = keys & ~low
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    high = packed & ~low
    same = high[1:] == high[:-1]
    del high
    multi = np.zeros(n, dtype=bool)
    multi[1:] = same
    multi[:-1] |= same
    del same
    entry = (packed[multi] & low).astype(np.int64)
    del packed, multi
    k = keys[entry]
    # Runs of equal high bits hold equal keys unless the low bits differ (rare): then sort exactly.
    run_start = np.ones(len(k), dtype=bool)
    if len(k) > 1:
        run_start[1:] = (k[1:] & ~low) != (k[:-1] & ~low)
        mixed = ~run_start[1:] & (k[1:] != k[:-1])
        if bool(mixed.any()):  # sort those runs only, in place
            run = np.cumsum(run_start) - 1
            sel = np.flatnonzero(np.isin(run, run[1:][mixed]))
            order = np.lexsort((entry[sel], k[sel], run[sel]))
            entry[sel], k[sel] = entry[sel][order], k[sel][order]
    return k, owner[entry // width]


def candidate_pairs(sh: Shingles, params: IndexParams = IndexParams()) -> np.ndarray:
    """Document pairs (i < j) sharing at least one LSH band of one passage window."""
    y = seeded(sh.hashes, params.seed)  # the anchor hash and the signing hash are the same
    ch = _chunks(sh, params, y)
    if len(ch.first) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    # A window's MinHash bins are the element-wise minimum of its two chunks' bins (before
    # densification), so each shingle is binned once, in its chunk, instead of once per window.
    raw = _chunk_bins(y, ch, params.num_perm)
    del y
    keys = np.empty((len(ch.first), params.bands), dtype=np.uint64)
    for lo in range(0, len(ch.first), _WINDOW_CHUNK):
        first, pair = ch.first[lo : lo + _WINDOW_CHUNK], ch.pair[lo : lo + _WINDOW_CHUNK]
        sig = raw[first]
        two = np.flatnonzero(pair)
        sig[two] = np.minimum(sig[two], raw[first[two] + 1])
        _densify(sig, params.seed)
        keys[lo : lo + _WINDOW_CHUNK] = band_keys(sig, params.bands, params.rows)
    del raw
    return bucket_pairs(keys, ch.doc[ch.first], params.max_bucket)


def _chunk_bins(y: np.ndarray, ch: _Chunks, num_perm: int) -> np.ndarray:
    """Per chunk and bin, the least value of its shingles (``EMPTY`` for none), as in ``sign``."""
    raw = np.full(len(ch.start) * num_perm, EMPTY, dtype=np.uint32)
    lengths = ch.end - ch.start
    for lo in range(0, len(ch.start), _WINDOW_CHUNK):
        hi = min(lo + _WINDOW_CHUNK, len(ch.start))
        a, b = int(ch.start[lo]), int(ch.end[hi - 1])
        v = y[a:b]
        if num_perm & (num_perm - 1) == 0:
            cells = (v >> np.uint64(64 - (num_perm.bit_length() - 1))).astype(np.int64)
        else:
            cells = (((v >> _S32) * np.uint64(num_perm)) >> _S32).astype(np.int64)
        cells += np.repeat(np.arange(lo * num_perm, hi * num_perm, num_perm, dtype=np.int64), lengths[lo:hi])
        values = v.astype(np.uint32)
        np.minimum(values, np.uint32(0xFFFFFFFE), out=values)
        np.minimum.at(raw, cells, values)
    return raw.reshape(len(ch.start), num_perm)


@lru_cache(maxsize=16)
def _densify_tables(seed: int, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """For each column, the distinct bins of its probe sequence in first-probe order (``order``,
    padded), and per byte of a row's non-empty-bin mask the best rank it holds (``best``; 255: none).

    A row's empty bin borrows from the first bin of its probe sequence that is non-empty: the
    non-empty bin of least rank, i.e. the least of the four byte look-ups.
    """
    table = _probe_table(seed, num_perm)
    n_bytes = -(-num_perm // 8)
    order = np.zeros((num_perm, 256), dtype=np.int64)
    best = np.full((num_perm, n_bytes, 256), 255, dtype=np.uint8)
    values = np.arange(256)
    for col in range(num_perm):
        seq = list(dict.fromkeys(table[col].tolist()))
        order[col, : len(seq)] = seq
        for rank, b in reversed(list(enumerate(seq))):
            has = ((values >> (b % 8)) & 1).astype(bool)
            best[col, b // 8, has] = rank
    return order, best


def _densify(sig: np.ndarray, seed: int) -> None:
    """``sign._densify`` for rows that are all non-empty sets, in place, by table look-ups."""
    n, num_perm = sig.shape
    empty = sig == EMPTY
    if not empty.any():
        return
    order, best = _densify_tables(seed, num_perm)
    packed = np.packbits(~empty, axis=1, bitorder="little")
    masks = [np.ascontiguousarray(packed[:, q]) for q in range(packed.shape[1])]
    flat = sig.ravel()
    fill_rows, fill_cols, fill_vals, hard = [], [], [], []
    for col in range(num_perm):
        rows = np.flatnonzero(empty[:, col])
        if rows.size == 0:
            continue
        rank = best[col, 0][masks[0][rows]]
        for q in range(1, len(masks)):
            np.minimum(rank, best[col, q][masks[q][rows]], out=rank)
        ok = rank != 255
        if not ok.all():  # no non-empty bin among the tabled probes: the general search
            hard.append(rows[~ok])
            rows, rank = rows[ok], rank[ok]
        fill_rows.append(rows)
        fill_cols.append(col)
        fill_vals.append(flat[rows * num_perm + order[col][rank]])
    if hard:
        hard_rows = np.unique(np.concatenate(hard))
        sub = sig[hard_rows].copy()
        _sign_densify(sub, np.ones(len(hard_rows), dtype=bool), seed)
    for rows, col, vals in zip(fill_rows, fill_cols, fill_vals):
        sig[rows, col] = vals
    if hard:
        sig[hard_rows] = sub
