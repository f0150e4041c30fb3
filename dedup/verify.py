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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from .cluster import components
from .evidence import Evidence, Lists
from .options import VerifyParams

RELATIONS = ("exact", "near-duplicate", "contains", "partial")
CLUSTERING = ("exact", "near-duplicate", "contains")


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
    relation[(shared >= max(params.derived_min_shared, params.min_shared)) & (hi >= params.derived)] = 2
    relation[enough & (lo >= params.near_duplicate)] = 1
    return {"jaccard": jaccard, "a_in_b": a_in_b, "b_in_a": b_in_a, "relation": relation}


@dataclass
class Verified:
    """Confirmed pairs (a DataFrame of document indices and measures), which lists are
    boilerplate, and per document the number of its (non-boilerplate) shingles it shares with
    any copy of it."""

    pairs: pl.DataFrame
    boilerplate: np.ndarray  # bool per list
    syndicated: np.ndarray


@dataclass
class DocInfo:
    """What verification needs of each document: distinct shingles, normalised-text hash,
    whether it has a word, and for excerpts (cut short) the fingerprints before the cut."""

    sizes: np.ndarray
    content: np.ndarray
    has_text: np.ndarray
    excerpt: np.ndarray  # bool
    tail_in: Callable[[int, int], bool]  # (excerpt, other): its last words before the cut are in other
    site: np.ndarray | None = None  # int code of each document's site (0 where none is known)


def exact_pairs(content: np.ndarray, has_text: np.ndarray) -> np.ndarray:
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


def _distinct_per_list(owner: np.ndarray, values: np.ndarray, n_lists: int) -> tuple[np.ndarray, np.ndarray]:
    """Per list, how many distinct values its members have, and how many members share the most common."""
    keys = np.sort((owner.astype(np.uint64) << np.uint64(32)) | values.astype(np.uint64))
    new = np.ones(len(keys), dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    run = np.diff(np.append(starts, len(keys)))
    lst = (keys[starts] >> np.uint64(32)).astype(np.int64)
    distinct = np.bincount(lst, minlength=n_lists)
    top = np.zeros(n_lists, dtype=np.int64)
    np.maximum.at(top, lst, run)
    return distinct, top


def _boilerplate_lists(lists: Lists, groups: np.ndarray, site: np.ndarray, params: VerifyParams) -> np.ndarray:
    """Lists whose members belong to ``boilerplate_min_docs`` or more groups of copies and that
    recur like a template (see ``VerifyParams``): O(members) per list, never pairwise."""
    out = np.zeros(len(lists), dtype=bool)
    if not len(lists):
        return out
    sizes = lists.sizes()
    owner = lists.member_list()
    n_groups, _ = _distinct_per_list(owner, groups[lists.members], len(lists))
    _, top_site = _distinct_per_list(owner, site[lists.members], len(lists))
    recurring = (sizes >= params.boilerplate_min_docs) & (n_groups >= params.boilerplate_min_docs)
    one_site = top_site >= params.template_site_share * sizes
    stock = n_groups >= params.boilerplate_min_groups_any_site
    out[recurring & (one_site | stock)] = True
    return out


def verify(lists: Lists, ev: Evidence, docs: DocInfo, params: VerifyParams | None = None) -> Verified:
    """Measure every candidate pair from the lists it shares, and keep those with a relation.

    Pass 1 counts every shared shingle and groups documents that are copies of each other;
    lists whose members fall in ``boilerplate_min_docs`` groups or more and recur like a template
    are boilerplate; pass 2 counts only the other lists, and lists whose members pass 2 finds to be
    mostly one story are given back to it. An excerpt that shares a partial-sized passage with another
    document and whose last words before the cut are in it is taken as cut from it
    (``contains``), even where its text recurs so often it reads as boilerplate: a story
    excerpted by several wrapped pages does.
    """
    params = params or VerifyParams()
    n_docs = len(docs.sizes)
    pairs = ev.pairs
    weight = lists.weight[ev.entry_list]
    sizes = docs.sizes
    is_exact = docs.content[pairs[:, 0]] == docs.content[pairs[:, 1]]
    is_exact &= docs.has_text[pairs[:, 0]] & docs.has_text[pairs[:, 1]]

    # Pass 1: every shingle counts; group documents that are copies of each other.
    shared_all = np.bincount(ev.entry_pair, weights=weight, minlength=len(pairs)).astype(np.int64)
    first = classify(shared_all, sizes[pairs[:, 0]], sizes[pairs[:, 1]], params)
    held = np.maximum(first["a_in_b"], first["b_in_a"])
    linking = is_exact | ((shared_all >= params.min_shared) & (held >= params.copy_group))
    groups = components(n_docs, pairs[linking])
    site = docs.site if docs.site is not None else np.zeros(n_docs, dtype=np.int64)
    boiler = _boilerplate_lists(lists, groups, site, params)

    # Pass 2: boilerplate lists count for nobody.
    owner = lists.member_list()

    def measure(boiler: np.ndarray):
        in_boiler = boiler[owner]
        boiler_weight = np.bincount(lists.members[in_boiler], weights=lists.weight[owner[in_boiler]], minlength=n_docs)
        content_sizes = sizes - boiler_weight.astype(np.int64)
        content_entry = ~boiler[ev.entry_list]
        shared = np.bincount(ev.entry_pair[content_entry], weights=weight[content_entry], minlength=len(pairs))
        m = classify(shared.astype(np.int64), content_sizes[pairs[:, 0]], content_sizes[pairs[:, 1]], params)
        return m, np.where(is_exact, 0, m["relation"]), shared.astype(np.int64), content_entry

    m, relation, shared, content_entry = measure(boiler)
    # A site's text that recurs only within one story (an agency's versions of it) is that story, not
    # the site's template: the template recurs around different stories.
    linked = (relation >= 0) & (relation <= 2)
    story = components(n_docs, pairs[linked])
    _, top_story = _distinct_per_list(owner, story[lists.members], len(lists))
    one_story = boiler & (top_story >= 2) & (top_story >= params.template_site_share * lists.sizes())
    if one_story.any():
        boiler &= ~one_story
        m, relation, shared, content_entry = measure(boiler)
    rescued = _cut_from(docs, pairs, relation, shared_all, params)
    relation[rescued] = 2
    shared = np.where(rescued, shared_all, shared)
    for key in ("jaccard", "a_in_b", "b_in_a"):  # measured on everything they share
        m[key] = np.where(rescued, first[key], m[key])
    keep = relation >= 0
    # What each document shares with its copies, boilerplate aside even for rescued excerpts: it
    # ranks the candidates for source, and generic phrases two pages share say nothing about that.
    take = ((relation >= 0) & (relation <= 2))[ev.entry_pair] & content_entry
    syndicated = _syndicated(lists, pairs, ev.entry_pair[take], ev.entry_list[take], n_docs)
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
            # An excerpt taken as cut from the other: related by all they share, boilerplate included.
            "cut_from": rescued[keep],
        }
    )
    return Verified(pairs=frame, boilerplate=boiler, syndicated=syndicated)


def _cut_from(
    docs: DocInfo, pairs: np.ndarray, relation: np.ndarray, shared_all: np.ndarray, params: VerifyParams
) -> np.ndarray:
    """Pairs of an excerpt and the document it was cut from (see ``verify``)."""
    out = np.zeros(len(pairs), dtype=bool)
    is_ex = docs.excerpt
    if not is_ex.any():
        return out
    one = is_ex[pairs[:, 0]] ^ is_ex[pairs[:, 1]]
    # Sharing a partial-sized passage is not enough on its own: stock sentences do that too.
    maybe = one & ((relation == 3) | ((relation < 0) & (shared_all >= params.partial_min_shared)))
    for k in np.flatnonzero(maybe).tolist():
        e, o = (pairs[k, 0], pairs[k, 1]) if is_ex[pairs[k, 0]] else (pairs[k, 1], pairs[k, 0])
        out[k] = docs.tail_in(int(e), int(o))
    return out


def _syndicated(lists: Lists, pairs: np.ndarray, entry_pair: np.ndarray, entry_list: np.ndarray, n: int) -> np.ndarray:
    """Per document, the shingles of the distinct lists it shares with a copy of it."""
    doc = np.concatenate([pairs[entry_pair, 0], pairs[entry_pair, 1]])
    lst = np.concatenate([entry_list, entry_list])
    if len(doc) == 0:
        return np.zeros(n, dtype=np.int64)
    keys = np.unique((doc.astype(np.uint64) << np.uint64(32)) | lst.astype(np.uint64))
    d = (keys >> np.uint64(32)).astype(np.int64)
    w = lists.weight[(keys & np.uint64(0xFFFFFFFF)).astype(np.int64)]
    return np.bincount(d, weights=w, minlength=n).astype(np.int64)
