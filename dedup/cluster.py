"""Group confirmed copies into clusters and pick each cluster's source.

Source rule, in order:
0. not an excerpt: a member cut short ("…" then "Continue reading" or a link
   to the rest) is never the source while a member that is not cut is there;
1. the member whose text the others hold most of: the largest amount of its
   (non-boilerplate) text that some other member shares (its own exact duplicates aside:
   copies of one text never outvote the others), counting members within
   2% of the best as equal (a copy that dropped a paragraph holds less of the
   story than the original, which shares that paragraph with the other copies);
2. among those, the member whose whole page, site template included, is most
   contained in the others (its own duplicates aside), within 0.02 (a wrapped copy holds all of the
   original plus its wrapper and its site's chrome, so the original is the more
   contained; an excerpt would be more contained still, hence rule 0);
3. the earliest publication date, where dates are known;
4. the most of its text shared, exactly (an edited word makes a near-duplicate copy share a
   little less of the story than its original);
5. the smallest document id, so the choice is stable.

Then, where sites are known, the other full texts of the source's site in the cluster are
versions of one text (an agency's first take, fuller lead, correction): the earliest-dated of
them is the source, the text the others derive from. Everyone else in the cluster is derived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import polars as pl

from .output.kept import Groups


class Members(Protocol):
    """What clustering needs of the articles: their ids and dates (a ``read.Corpus`` or phase 2's table)."""

    ids: Sequence[str]
    dates: Sequence[str | None]

    def __len__(self) -> int: ...


SHARED_TOLERANCE = 0.98
FEW_PAIRS = 256  # pairs up to which ``cluster`` works in numpy and Python (a query's) rather than polars
HELD_TOLERANCE = 0.02


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component label of each node: the smallest node index in its component."""
    labels = np.arange(n, dtype=np.int64)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if len(edges) == 0:
        return labels
    a, b = edges[:, 0], edges[:, 1]
    while True:
        low = np.minimum(labels[a], labels[b])
        before = labels.copy()
        np.minimum.at(labels, a, low)
        np.minimum.at(labels, b, low)
        while True:  # pointer jumping: follow labels to their root
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(before, labels):
            return labels


@dataclass
class Clusters:
    """Cluster of each document (-1 for none), its role, and the clusters in id order."""

    cluster: np.ndarray
    role: list[str | None]
    sources: list[int]
    members: Sequence[list[int]]  # per cluster, ascending (``cluster``'s: CSR arrays, ``Groups``)
    versions: Sequence[list[int]] = field(default_factory=list)  # per cluster: other versions of the source's text
    ranked: list[list[int]] = field(default_factory=list)  # per cluster: its members, best-ranked first
    known: list[bool] = field(default_factory=list)  # per cluster: whether the pairs' directions decide its source
    same_text: np.ndarray | None = None  # per document: a label shared by copies of one text
    held: np.ndarray | None = None  # per document, when the ranking is left to be done (``rank``): see ``cluster``


def cluster(
    corpus: Members,
    pairs: pl.DataFrame,
    linking: Sequence[str],
    syndicated: np.ndarray,
    excerpt: np.ndarray,
    site: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> Clusters:
    """Connected components of the pairs whose relation is in ``linking``, with sources.

    ``syndicated[i]``: how much of document i's text (distinct shingles, boilerplate
    aside) it shares with at least one other member of its cluster; ``excerpt[i]``:
    whether document i is cut short (``excerpt_cut``); ``site[i]``: an integer per known site
    (0: unknown), which finds the versions of the source's text (see the module docstring); ``labels``: those
    components when already found (``components``' labels, by a cluster's tasks), else found here.
    """
    n_docs = len(corpus)
    few = pairs.height <= FEW_PAIRS  # a query's few pairs: numpy and Python, where each polars call costs 50-150 us
    if few:
        relation, wanted = pairs["relation"].to_list(), set(linking)
        rows = np.asarray([i for i, r in enumerate(relation) if r in wanted], dtype=np.int64)
        links = {c: pairs[c].to_numpy()[rows] for c in ("a", "b", "page_a_in_b", "page_b_in_a")}
        links["relation"] = np.asarray([relation[i] for i in rows.tolist()], dtype=object)
    else:
        frame = pairs.filter(pl.col("relation").is_in(list(linking)))
        links = {c: frame[c].to_numpy() for c in ("a", "b", "relation")}
    a, b = links["a"], links["b"]
    if labels is None:
        labels = components(n_docs, np.stack([a, b], axis=1))
    size = np.bincount(labels, minlength=n_docs)
    roots = np.flatnonzero((size >= 2) & (labels == np.arange(n_docs)))  # ascending: ordered by first member
    cluster_of = np.full(n_docs, -1, dtype=np.int64)
    cluster_of[np.isin(labels, roots)] = np.searchsorted(roots, labels[np.isin(labels, roots)])
    # Per member: mean containment of its whole page in the other members. Copies of one text count
    # as one: a member's own exact duplicates never vote for it, unless it has no other partner.
    dup = links["relation"] == "exact"
    same_text = components(n_docs, np.stack([a[dup], b[dup]], axis=1))
    other = same_text[a] != same_text[b]
    shared = np.asarray(syndicated, dtype=np.float64)
    held = np.zeros(n_docs)
    if few:
        held_by(held, np.concatenate([a, b]), np.concatenate([links["page_a_in_b"], links["page_b_in_a"]]), other)
    else:
        sides = pl.concat(
            [
                frame.select(doc=pl.col("a"), held=pl.col("page_a_in_b"), other=pl.Series(other)),
                frame.select(doc=pl.col("b"), held=pl.col("page_b_in_a"), other=pl.Series(other)),
            ]
        )
        per_doc = (
            sides.with_columns(pl.col("other").any().over("doc").alias("any_other"))
            .filter(pl.col("other") | ~pl.col("any_other"))
            .group_by("doc")
            .agg(pl.col("held").mean())
        )
        held[per_doc["doc"].to_numpy()] = per_doc["held"].to_numpy()
    # Each cluster's members, ascending, as CSR arrays (``Groups``): 16 bytes a member, not a Python list each.
    inside = np.flatnonzero(cluster_of >= 0)
    order = np.argsort(cluster_of[inside], kind="stable")
    offsets = np.zeros(len(roots) + 1, dtype=np.int64)
    np.cumsum(np.bincount(cluster_of[inside], minlength=len(roots)), out=offsets[1:])
    members = Groups(inside[order], offsets)
    if getattr(corpus, "ids", None) is None:  # the ranking left to the clusters' own tasks (``rank``)
        return Clusters(cluster=cluster_of, role=[], sources=[], members=members, same_text=same_text, held=held)
    ids, dates = corpus.ids, corpus.dates
    ranked = [rank(group, shared, held, excerpt, dates, ids) for group in members]
    sources, versions = with_versions([r[0] for r in ranked], members, excerpt, dates, ids, site)
    role = roles(n_docs, sources, members)
    return Clusters(
        cluster=cluster_of,
        role=role,
        sources=sources,
        members=members,
        versions=versions,
        ranked=ranked,
        known=[False] * len(sources),
        same_text=same_text,
    )


def rank(
    group: list[int],
    shared: Sequence[float] | np.ndarray,
    held: Sequence[float] | np.ndarray,
    excerpt: Sequence[bool] | np.ndarray,
    dates: Sequence[str | None] | dict[int, str | None],
    ids: Sequence[str] | dict[int, str],
) -> list[int]:
    """The members of one cluster, best first by the source rule (module docstring, rules 0-5): ``shared``,
    ``held``, ``excerpt``, ``dates`` and ``ids`` indexed by member (anything indexable by them)."""
    best = max(shared[m] for m in group)
    top = [m for m in group if shared[m] >= SHARED_TOLERANCE * best]
    best_held = max(held[m] for m in top)
    return sorted(
        group,
        key=lambda m: (
            bool(excerpt[m]),
            shared[m] < SHARED_TOLERANCE * best,
            held[m] < best_held - HELD_TOLERANCE,
            dates[m] is None,
            dates[m] or "",
            -shared[m],
            ids[m],
        ),
    )


def held_by(held: np.ndarray, doc: np.ndarray, value: np.ndarray, other: np.ndarray) -> None:
    """``held[d]``: the mean of the ``value`` of the sides of document d (pairs' both sides, a's then b's) with
    ``other`` true (its own exact duplicates aside: ``other`` is per pair), or of all its sides when none is.
    Summed in that order with Kahan's compensation, as polars' ``mean`` sums: the same floats (a property test
    holds them to it; plain or exact sums differ in the last bit)."""
    other = np.concatenate([other, other])
    has_other = np.zeros(len(held), dtype=bool)
    has_other[doc[other]] = True
    keep = other | ~has_other[doc]
    groups: dict[int, list[float]] = {}
    for d, v in zip(doc[keep].tolist(), value[keep].tolist()):
        groups.setdefault(d, []).append(v)
    for d, vs in groups.items():
        total = carry = 0.0
        for v in vs:
            y = v - carry
            t = total + y
            carry = (t - total) - y
            total = t
        held[d] = total / len(vs)


def with_versions(
    sources: list[int],
    members: list[list[int]],
    excerpt: np.ndarray,
    dates: Sequence[str | None],
    ids: Sequence[str],
    site: np.ndarray | None,
    later: Sequence[set[int]] | None = None,
) -> tuple[list[int], list[list[int]]]:
    """The sources after the versions rule (module docstring), and each cluster's other versions of the
    source's text. ``later``: per cluster, the members dated after another member, never made the source."""
    sources, versions = list(sources), []
    for k, (src, group) in enumerate(zip(sources, members)):
        # Versions of the source's text: other full texts of the same (known) site. An agency sends
        # a story through the day; the first of its versions is the one the others derive from.
        same = [] if site is None or site[src] == 0 else [m for m in group if site[m] == site[src] and not excerpt[m]]
        dated = [m for m in same if dates[m] is not None and (later is None or m not in later[k])]
        if dated:
            sources[k] = src = min(dated, key=lambda m: (dates[m], ids[m]))
        versions.append([m for m in same if m != src])
    return sources, versions


def roles(n_docs: int, sources: list[int], members: list[list[int]]) -> list[str | None]:
    """Each document's role: "source", "copy" (another member of its cluster) or None (in no cluster)."""
    role: list[str | None] = [None] * n_docs
    for src, group in zip(sources, members):
        for m in group:
            role[m] = "source" if m == src else "copy"
    return role
