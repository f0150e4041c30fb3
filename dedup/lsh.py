"""MinHash-LSH over whole-article signatures: band keys, and the pairs a band's buckets make.

A signature of ``bands * rows`` values is cut into ``bands`` bands; two articles whose signatures agree
on every value of one band share that band's bucket and become a candidate pair. With Jaccard similarity
s they do with probability 1 - (1 - s**rows)**bands (``options.CandidateParams`` chooses bands and rows
for a threshold as datasketch's ``MinHashLSH`` does). A bucket of more than ``max_bucket`` articles (a
template page's many near-copies) is linked as a star and a chain, so pairs stay linear in its size.

``signature_pairs`` bands a signature matrix in memory; ``candidates.lsh_pairs`` does the same band by
band over a store (the scan's ``--candidates lsh``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .hashing import combine, mix64


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
    pairs = grouped_pairs(k, o, max_bucket)
    if len(pairs) and pairs.min() >= 0 and pairs.max() < (1 << 32):
        # one uint64 per pair: sorting it is sorting the rows, far faster than unique(axis=0)
        code = sorted_distinct((pairs[:, 0].astype(np.uint64) << np.uint64(32)) | pairs[:, 1].astype(np.uint64))
        out = np.empty((len(code), 2), dtype=pairs.dtype)
        out[:, 0] = code >> np.uint64(32)
        out[:, 1] = code & np.uint64(0xFFFFFFFF)
        return out
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def grouped_pairs(k: np.ndarray, o: np.ndarray, max_bucket: int = 32) -> np.ndarray:
    """Rows (a < b) of owners sharing a key, one row for each key they share (not deduplicated across keys).

    ``k`` and ``o`` are ordered by (key, owner). A key held by more than ``max_bucket`` owners links them as a
    star from its first owner plus a chain, so its rows stay linear in its holders."""
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
    return np.sort(pairs, axis=1)


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


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending: a sort and a compare (numpy 2.4's ``unique`` hashes integers, and is
    some 40 times slower on millions of them)."""
    out = np.sort(values)
    if len(out) > 1:
        out = out[np.concatenate(([True], out[1:] != out[:-1]))]
    return out


def union_pairs(per_band: Iterable[np.ndarray], owner: np.ndarray, max_bucket: int = 32) -> np.ndarray:
    """Pairs (a < b, sorted, distinct) of ``owner``s sharing a bucket in any band: ``per_band`` yields each
    band's keys (one per owner), one band at a time, so only one band's keys need be held."""
    codes = np.zeros(0, dtype=np.uint64)
    for keys in per_band:
        found = bucket_pairs(keys, owner, max_bucket)
        new = (found[:, 0].astype(np.uint64) << np.uint64(32)) | found[:, 1].astype(np.uint64)
        codes = sorted_distinct(np.concatenate([codes, new]))
    out = np.empty((len(codes), 2), dtype=np.int64)
    out[:, 0] = (codes >> np.uint64(32)).astype(np.int64)
    out[:, 1] = (codes & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return out


def signature_pairs(sig: np.ndarray, bands: int, rows: int, max_bucket: int = 32) -> np.ndarray:
    """Article pairs (i < j, sorted) whose signatures (rows of ``sig``) agree on at least one whole band."""
    keys = band_keys(sig, bands, rows)
    per_band = (np.ascontiguousarray(keys[:, b]) for b in range(bands))
    return union_pairs(per_band, np.arange(len(sig), dtype=np.int64), max_bucket)
