"""Exact Jaccard and containment of candidate pairs, with boilerplate discounted.

Text that recurs in three or more documents that are not copies of each other
(site templates, disclaimers, newsletter prompts) is boilerplate: its
shingles are left out of every pair's measures, so two different articles
reposted by one site under the same header and footer share nothing.

Whether documents are copies depends on what is boilerplate and vice versa,
so verification runs twice: a first pass on all shingles groups documents
when one is almost entirely inside the other (an original and its wrapped or
cut copies, near-duplicates); shingles found in documents of three or more of
those groups are boilerplate; the second pass measures every pair again
without them. A site template never makes up almost all of an article, which
is what separates it from a syndicated story that recurs just as often.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl
import xxhash

from .cluster import components
from .normalise import Tokens
from .shingle import Shingles

RELATIONS = ("exact", "near-duplicate", "contains", "partial")
CLUSTERING = ("exact", "near-duplicate", "contains")


@dataclass(frozen=True)
class VerifyParams:
    """Thresholds on the non-boilerplate shingle sets A and B of a pair.

    near-duplicate: |A∩B| / |A| and |A∩B| / |B| both at least ``near_duplicate``;
    contains: the smaller containment below that, the larger at least ``contains``;
    partial: neither, but at least ``partial_min_shared`` shingles in common (about
    that many words of shared passages: more than a common phrase or one quotation).

    Before boilerplate is known, documents count as copies of each other (for
    deciding what is boilerplate) only when one holds at least ``copy_group`` of
    the other: two reposts that share nothing but a large site template do not.
    """

    near_duplicate: float = 0.8
    contains: float = 0.5
    partial_min_shared: int = 50
    min_shared: int = 8
    boilerplate_min_docs: int = 3
    copy_group: float = 0.8


@dataclass
class ShingleSets:
    """Each document's distinct shingles as sorted dense ids (CSR), and document frequencies.

    ``dense`` maps every shingle of the batch (in ``Shingles`` order) to its dense id.
    """

    offsets: np.ndarray
    ids: np.ndarray
    df: np.ndarray
    dense: np.ndarray

    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def doc(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]


def shingle_sets(sh: Shingles) -> ShingleSets:
    """Dense ids for shingle hashes, deduplicated within each document."""
    n_docs = len(sh.offsets) - 1
    # dense id = rank among the distinct hashes (as np.unique's inverse; polars ranks on all cores)
    dense = pl.Series(sh.hashes, dtype=pl.UInt64).rank("dense").to_numpy().astype(np.int64)
    dense -= 1
    keys = np.repeat(np.arange(n_docs, dtype=np.uint64) << np.uint64(32), np.diff(sh.offsets))
    keys |= dense.view(np.uint64)
    keys.sort()  # np.unique without its hash-table path, which is several times slower here
    if len(keys) > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    offsets = np.searchsorted(keys, np.arange(n_docs + 1, dtype=np.uint64) << np.uint64(32)).astype(np.int64)
    keys &= np.uint64(0xFFFFFFFF)
    ids = keys.view(np.int64)
    df = np.bincount(ids, minlength=int(dense.max()) + 1 if len(dense) else 0)
    return ShingleSets(offsets=offsets, ids=ids, df=df, dense=dense)


def content_hashes(tokens: Tokens) -> np.ndarray:
    """Hash of each document's normalised token sequence; equal hashes mean the same text."""
    data = memoryview(np.ascontiguousarray(tokens.hashes, dtype="<u8")).cast("B")
    bounds = (np.asarray(tokens.offsets, dtype=np.int64) * 8).tolist()
    digest = xxhash.xxh3_64_intdigest
    return np.array([digest(data[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])], dtype=np.uint64)


@dataclass
class _Pruned:
    """The rows of a ``ShingleSets`` whose id is held by ``min_df`` documents or more (CSR).
    Rows of an id held by one document are never shared."""

    offsets: np.ndarray
    ids: np.ndarray

    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)


def _pruned(sets: ShingleSets, min_df: int = 2) -> _Pruned:
    pos = np.flatnonzero(sets.df[sets.ids] >= min_df)
    return _Pruned(offsets=np.searchsorted(pos, sets.offsets), ids=sets.ids[pos])


def _rows(offsets: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of ``docs`` in a CSR layout, concatenated, and their length per doc."""
    lo = offsets[docs]
    lengths = offsets[docs + 1] - lo
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    idx = np.repeat(lo - starts, lengths)
    idx += np.arange(total)
    return idx, lengths


def _shared_batch(p: _Pruned, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shared rows of the pairs in ``chunk``: (pair in chunk, row of a, row of b), rows in ``p``.

    Each side, keyed (pair << 32 | id), is one sorted run, as both are concatenations of sorted
    lists in pair order; a stable sort of the two runs is a merge (timsort), keeps a's copy of a
    shared key right before b's, and the low bit tells the sides apart to locate them.
    """
    idx_a, len_a = _rows(p.offsets, chunk[:, 0])
    idx_b, len_b = _rows(p.offsets, chunk[:, 1])
    pair_bits = np.arange(len(chunk), dtype=np.uint64) << np.uint64(33)
    keys = np.empty(len(idx_a) + len(idx_b), dtype=np.uint64)
    ka, kb = keys[: len(idx_a)], keys[len(idx_a) :]
    ka[:] = p.ids[idx_a]
    ka <<= np.uint64(1)
    ka |= np.repeat(pair_bits, len_a)
    kb[:] = p.ids[idx_b]
    kb <<= np.uint64(1)
    kb |= np.repeat(pair_bits | np.uint64(1), len_b)
    keys.sort(kind="stable")
    b_upto = np.cumsum(keys & np.uint64(1))
    keys >>= np.uint64(1)
    at = np.flatnonzero(keys[1:] == keys[:-1])  # each set is duplicate-free, so a repeat is shared
    pair = (keys[at] >> np.uint64(32)).astype(np.int64)
    del keys
    before = b_upto[at].astype(np.int64)  # rows of b before a's copy of the key; the rest are a's
    return pair, idx_a[at - before], idx_b[before]


def _shared_rows(p: _Pruned, pairs: np.ndarray, batch: int = 1 << 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every pair, the ids both documents hold: (pair index, row of a, row of b), rows in ``p``."""
    sizes = p.sizes()
    cost = np.cumsum(sizes[pairs[:, 0]] + sizes[pairs[:, 1]])
    total = int(cost[-1]) if len(cost) else 0
    edges = np.unique(np.concatenate([[0], np.searchsorted(cost, np.arange(batch, total, batch)), [len(pairs)]]))
    spans = [(lo, hi) for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist()) if hi > lo]
    if not spans:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty

    def run(span: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pair, row_a, row_b = _shared_batch(p, pairs[span[0] : span[1]])
        pair += span[0]
        return pair, row_a, row_b

    if len(spans) == 1:
        parts = [run(spans[0])]
    else:  # numpy releases the GIL in the sorts and gathers: batches side by side
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            parts = list(pool.map(run, spans))
    return tuple(np.concatenate([part[j] for part in parts]) for j in range(3))


def _boilerplate(p: _Pruned, df: np.ndarray, groups: np.ndarray, min_docs: int) -> np.ndarray:
    """``boilerplate_mask`` on the rows of ``p`` (which must hold every row of df >= min_docs)."""
    mask = np.zeros(len(df), dtype=bool)
    frequent = df >= min_docs
    if not frequent.any():
        return mask
    n_docs = len(p.offsets) - 1
    group_size = np.bincount(groups, minlength=n_docs)
    alone = group_size[groups] == 1
    # A document alone in its group adds one group to each of its ids; the others are counted
    # once per (id, group), from their rows in group order, each document's a sorted run.
    rows, _ = _rows(p.offsets, np.flatnonzero(alone))
    ids = p.ids[rows]
    n_groups = np.bincount(ids[frequent[ids]], minlength=len(mask))
    shared_docs = np.flatnonzero(~alone)
    shared_docs = shared_docs[np.argsort(groups[shared_docs], kind="stable")]
    rows, lengths = _rows(p.offsets, shared_docs)
    ids = p.ids[rows]
    keep = frequent[ids]
    keys = np.repeat(groups[shared_docs].astype(np.uint64) << np.uint64(32), lengths)[keep]
    keys |= ids[keep].astype(np.uint64)
    keys.sort(kind="stable")
    if len(keys) > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    n_groups += np.bincount((keys & np.uint64(0xFFFFFFFF)).astype(np.int64), minlength=len(mask))
    mask[n_groups >= min_docs] = True
    return mask


def classify(shared: np.ndarray, size_a: np.ndarray, size_b: np.ndarray, params: VerifyParams) -> dict[str, np.ndarray]:
    """Jaccard, both containments and the relation code (index into RELATIONS, -1 for none)."""
    a = np.maximum(size_a, 1).astype(np.float64)
    b = np.maximum(size_b, 1).astype(np.float64)
    a_in_b, b_in_a = shared / a, shared / b
    union = np.maximum(size_a + size_b - shared, 1)
    jaccard = shared / union
    lo, hi = np.minimum(a_in_b, b_in_a), np.maximum(a_in_b, b_in_a)
    enough = shared >= params.min_shared
    relation = np.full(len(shared), -1, dtype=np.int8)
    relation[enough & (shared >= params.partial_min_shared)] = 3
    relation[enough & (hi >= params.contains)] = 2
    relation[enough & (lo >= params.near_duplicate)] = 1
    return {"jaccard": jaccard, "a_in_b": a_in_b, "b_in_a": b_in_a, "relation": relation}


@dataclass
class Verified:
    """Confirmed pairs (a DataFrame of document indices and measures), the boilerplate ids, and
    per document the number of its (non-boilerplate) shingles it shares with any copy of it."""

    pairs: pl.DataFrame
    boilerplate: np.ndarray
    syndicated: np.ndarray


def verify(
    sets: ShingleSets,
    candidates: np.ndarray,
    content: np.ndarray,
    has_text: np.ndarray,
    params: VerifyParams = VerifyParams(),
    excerpts: dict[int, np.ndarray] | None = None,
) -> Verified:
    """Measure every candidate pair and keep those with a relation.

    ``content`` holds each document's normalised-text hash (equal means an exact
    copy); ``has_text`` marks documents with at least one word; ``excerpts`` maps
    each document cut short ("…", "Continue reading") to the dense ids of the last
    shingles before its cut. An excerpt that shares a partial-sized passage with
    another document, or whose last words before the cut are in it, is taken as
    cut from it (``contains``), even where its text recurs so often it reads as
    boilerplate: a story excerpted by several wrapped pages does.
    """
    n_docs = len(sets.offsets) - 1
    exact = _exact_pairs(content, has_text)
    pairs = np.unique(np.concatenate([candidates.reshape(-1, 2), exact]), axis=0) if len(exact) else candidates
    pairs = pairs.reshape(-1, 2).astype(np.int64)
    min_docs = params.boilerplate_min_docs
    p = _pruned(sets, min(max(min_docs, 1), 2))
    pair_of, row_a, row_b = _shared_rows(p, pairs)
    sizes = sets.sizes()
    is_exact = content[pairs[:, 0]] == content[pairs[:, 1]]
    is_exact &= has_text[pairs[:, 0]] & has_text[pairs[:, 1]]

    # Pass 1: every shingle counts; group documents that are copies of each other.
    shared_all = np.bincount(pair_of, minlength=len(pairs))
    first = classify(shared_all, sizes[pairs[:, 0]], sizes[pairs[:, 1]], params)
    held = np.maximum(first["a_in_b"], first["b_in_a"])
    linking = is_exact | ((shared_all >= params.min_shared) & (held >= params.copy_group))
    groups = components(n_docs, pairs[linking])
    boiler = _boilerplate(p, sets.df, groups, min_docs)

    # Pass 2: boilerplate shingles count for nobody.
    boiler_row = boiler[p.ids]  # a boilerplate id has df >= min_docs: all its rows are in p
    content_sizes = sizes - _per_doc(p.offsets, boiler_row)
    content_row = ~boiler_row[row_a]
    shared = np.bincount(pair_of[content_row], minlength=len(pairs))
    m = classify(shared, content_sizes[pairs[:, 0]], content_sizes[pairs[:, 1]], params)
    relation = np.where(is_exact, 0, m["relation"])
    rescued = _cut_from(sets, pairs, relation, shared_all, excerpts or {}, params)
    relation[rescued] = 2
    shared = np.where(rescued, shared_all, shared)
    for key in ("jaccard", "a_in_b", "b_in_a"):  # measured on everything they share
        m[key] = np.where(rescued, first[key], m[key])
    keep = relation >= 0
    # What each document shares with its copies, boilerplate aside even for rescued excerpts: it
    # ranks the candidates for source, and generic phrases two pages share say nothing about that.
    take = ((relation >= 0) & (relation <= 2))[pair_of] & content_row
    syndicated = _syndicated(p, row_a[take], row_b[take])
    a, b = pairs[keep, 0], pairs[keep, 1]
    a_in_b, b_in_a = m["a_in_b"][keep], m["b_in_a"][keep]
    page_a, page_b = first["a_in_b"][keep], first["b_in_a"][keep]
    jaccard = np.where(is_exact[keep], 1.0, m["jaccard"][keep])
    # Orient so that ``a`` is the larger side: for "contains", a wraps b.
    swap = a_in_b > b_in_a
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    a_in_b, b_in_a = np.where(swap, b_in_a, a_in_b), np.where(swap, a_in_b, b_in_a)
    page_a, page_b = np.where(swap, page_b, page_a), np.where(swap, page_a, page_b)
    frame = pl.DataFrame(
        {
            "a": a.astype(np.int64),
            "b": b.astype(np.int64),
            "relation": pl.Series([RELATIONS[r] for r in relation[keep]], dtype=pl.Utf8),
            "jaccard": jaccard,
            "a_in_b": a_in_b,
            "b_in_a": b_in_a,
            "shared": shared[keep].astype(np.int64),
            # Containment of the whole page, boilerplate included, for choosing the source.
            "page_a_in_b": page_a,
            "page_b_in_a": page_b,
        }
    )
    return Verified(pairs=frame, boilerplate=boiler, syndicated=syndicated)


def _cut_from(
    sets: ShingleSets,
    pairs: np.ndarray,
    relation: np.ndarray,
    shared_all: np.ndarray,
    excerpts: dict[int, np.ndarray],
    params: VerifyParams,
) -> np.ndarray:
    """Pairs of an excerpt and the document it was cut from (see ``verify``)."""
    out = np.zeros(len(pairs), dtype=bool)
    if not excerpts:
        return out
    is_ex = np.zeros(len(sets.offsets) - 1, dtype=bool)
    is_ex[list(excerpts)] = True
    one = is_ex[pairs[:, 0]] ^ is_ex[pairs[:, 1]]
    out[one & (relation == 3)] = True
    for k in np.flatnonzero(one & (relation < 0) & (shared_all >= params.partial_min_shared)).tolist():
        e, o = (pairs[k, 0], pairs[k, 1]) if is_ex[pairs[k, 0]] else (pairs[k, 1], pairs[k, 0])
        last = excerpts[int(e)]
        out[k] = len(last) > 0 and np.isin(last, sets.doc(int(o)), assume_unique=False).sum() * 2 > len(last)
    return out


def _per_doc(offsets: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Per document of a CSR layout, how many of its rows are flagged."""
    total = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(flags, out=total[1:])
    return np.diff(total[offsets])


def _syndicated(p: _Pruned, row_a: np.ndarray, row_b: np.ndarray) -> np.ndarray:
    """Distinct rows (document, shingle) among the given shared rows, per document."""
    marked = np.zeros(len(p.ids), dtype=bool)
    marked[row_a] = True
    marked[row_b] = True
    return _per_doc(p.offsets, marked)


def _exact_pairs(content: np.ndarray, has_text: np.ndarray) -> np.ndarray:
    """Star pairs linking each group of identical normalised texts to its first member."""
    docs = np.flatnonzero(has_text)
    if len(docs) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    order = docs[np.argsort(content[docs], kind="stable")]
    c = content[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = c[1:] != c[:-1]
    head = order[np.flatnonzero(new)][np.cumsum(new) - 1]
    dup = ~new
    return np.sort(np.stack([head[dup], order[dup]], axis=1), axis=1)
