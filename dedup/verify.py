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
    dense = pl.Series(sh.hashes, dtype=pl.UInt64).rank("dense").to_numpy().astype(np.int64) - 1
    doc = np.repeat(np.arange(n_docs, dtype=np.uint64), np.diff(sh.offsets))
    keys = (doc << np.uint64(32)) | dense.astype(np.uint64)
    keys.sort()  # np.unique without its hash-table path, which is several times slower here
    if len(keys) > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    ids = (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
    owner = (keys >> np.uint64(32)).astype(np.int64)
    offsets = np.searchsorted(owner, np.arange(n_docs + 1)).astype(np.int64)
    df = np.bincount(ids, minlength=int(dense.max()) + 1 if len(dense) else 0)
    return ShingleSets(offsets=offsets, ids=ids, df=df, dense=dense.astype(np.int64))


def content_hashes(tokens: Tokens) -> np.ndarray:
    """Hash of each document's normalised token sequence; equal hashes mean the same text."""
    out = np.zeros(len(tokens), dtype=np.uint64)
    for i in range(len(tokens)):
        out[i] = xxhash.xxh3_64_intdigest(tokens.hashes[tokens.doc(i)].astype("<u8").tobytes())
    return out


def _gather(sets: ShingleSets, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ids of ``docs`` and the position in ``docs`` each id came from."""
    lo, hi = sets.offsets[docs], sets.offsets[docs + 1]
    lengths = hi - lo
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    idx = np.repeat(lo - starts, lengths) + np.arange(total)
    return sets.ids[idx], np.repeat(np.arange(len(docs)), lengths)


def shared_ids(sets: ShingleSets, pairs: np.ndarray, batch: int = 1 << 24) -> tuple[np.ndarray, np.ndarray]:
    """For every pair, the dense ids both documents hold: (pair index, id) arrays."""
    sizes = sets.sizes()
    cost = np.cumsum(sizes[pairs[:, 0]] + sizes[pairs[:, 1]])
    total = int(cost[-1]) if len(cost) else 0
    edges = np.unique(np.concatenate([[0], np.searchsorted(cost, np.arange(batch, total, batch)), [len(pairs)]]))
    out_pair, out_id = [], []
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist()):
        chunk = pairs[lo:hi]
        ids_a, pa = _gather(sets, chunk[:, 0])
        ids_b, pb = _gather(sets, chunk[:, 1])
        keys = np.concatenate(
            [
                (pa.astype(np.uint64) << np.uint64(32)) | ids_a.astype(np.uint64),
                (pb.astype(np.uint64) << np.uint64(32)) | ids_b.astype(np.uint64),
            ]
        )
        keys.sort()
        dup = keys[1:][keys[1:] == keys[:-1]]  # each set is duplicate-free, so a repeat is shared
        out_pair.append((dup >> np.uint64(32)).astype(np.int64) + lo)
        out_id.append((dup & np.uint64(0xFFFFFFFF)).astype(np.int64))
    if not out_pair:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_pair), np.concatenate(out_id)


def boilerplate_mask(sets: ShingleSets, groups: np.ndarray, min_docs: int = 3) -> np.ndarray:
    """Dense ids found in documents of at least ``min_docs`` different copy groups."""
    mask = np.zeros(len(sets.df), dtype=bool)
    frequent = sets.df >= min_docs
    if not frequent.any():
        return mask
    owner = np.repeat(np.arange(len(sets.offsets) - 1), sets.sizes())
    keep = frequent[sets.ids]
    ids, grp = sets.ids[keep], groups[owner[keep]]
    pairs = np.unique((ids.astype(np.uint64) << np.uint64(32)) | grp.astype(np.uint64))
    n_groups = np.bincount((pairs >> np.uint64(32)).astype(np.int64), minlength=len(mask))
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
    excerpt: np.ndarray | None = None,
) -> Verified:
    """Measure every candidate pair and keep those with a relation.

    ``content`` holds each document's normalised-text hash (equal means an exact
    copy); ``has_text`` marks documents with at least one word; ``excerpt`` marks
    documents cut short ("Continue reading…"): one that shares a partial-sized
    passage with another document is taken as an excerpt of it (``contains``).
    """
    n_docs = len(sets.offsets) - 1
    exact = _exact_pairs(content, has_text)
    pairs = np.unique(np.concatenate([candidates.reshape(-1, 2), exact]), axis=0) if len(exact) else candidates
    pairs = pairs.reshape(-1, 2).astype(np.int64)
    pair_of, ids = shared_ids(sets, pairs)
    sizes = sets.sizes()
    is_exact = content[pairs[:, 0]] == content[pairs[:, 1]]
    is_exact &= has_text[pairs[:, 0]] & has_text[pairs[:, 1]]

    # Pass 1: every shingle counts; group documents that are copies of each other.
    shared_all = np.bincount(pair_of, minlength=len(pairs))
    first = classify(shared_all, sizes[pairs[:, 0]], sizes[pairs[:, 1]], params)
    held = np.maximum(first["a_in_b"], first["b_in_a"])
    linking = is_exact | ((shared_all >= params.min_shared) & (held >= params.copy_group))
    groups = components(n_docs, pairs[linking])
    boiler = boilerplate_mask(sets, groups, params.boilerplate_min_docs)

    # Pass 2: boilerplate shingles count for nobody.
    owner = np.repeat(np.arange(n_docs), sizes)
    content_sizes = np.bincount(owner[~boiler[sets.ids]], minlength=n_docs)
    shared = np.bincount(pair_of[~boiler[ids]], minlength=len(pairs))
    m = classify(shared, content_sizes[pairs[:, 0]], content_sizes[pairs[:, 1]], params)
    relation = np.where(is_exact, 0, m["relation"])
    if excerpt is not None:
        cut = excerpt[pairs[:, 0]] ^ excerpt[pairs[:, 1]]
        relation = np.where(cut & (relation == 3), 2, relation)
    keep = relation >= 0
    syndicated = _syndicated(n_docs, pairs, pair_of, ids, (relation >= 0) & (relation <= 2), boiler)
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


def _syndicated(
    n_docs: int, pairs: np.ndarray, pair_of: np.ndarray, ids: np.ndarray, linking: np.ndarray, boiler: np.ndarray
) -> np.ndarray:
    """Distinct non-boilerplate shingles each document shares with at least one of its copies."""
    take = linking[pair_of] & ~boiler[ids]
    p, i = pair_of[take], ids[take].astype(np.uint64)
    docs = np.concatenate([pairs[p, 0], pairs[p, 1]]).astype(np.uint64)
    keys = np.unique((docs << np.uint64(32)) | np.concatenate([i, i]))
    return np.bincount((keys >> np.uint64(32)).astype(np.int64), minlength=n_docs)


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
