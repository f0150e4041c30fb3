"""Exact Jaccard and containment of candidate pairs, with boilerplate discounted.

Text that recurs in three or more documents that are not copies of each other
(site templates, disclaimers, newsletter prompts) is boilerplate: its
shingles are left out of every pair's measures, so two different articles
reposted by one site under the same header and footer share nothing.

Whether documents are copies depends on what is boilerplate and vice versa,
so verification runs twice: a first pass on all shingles groups documents
when one is almost entirely inside the other (an original and its wrapped or
cut copies, near-duplicates); shingles found in documents of three or more of
those groups are boilerplate, unless they belong to one story (a source and
the documents that derive from it, found from what each document shares with
whom, no site metadata needed: see ``VerifyParams``); the second pass measures
every pair again without them. A site template never makes up almost all of an
article and is shared alike by every page of its site, which is what separates
it from a syndicated story that recurs just as often.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

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
    # (excerpts, others): per pair, whether the excerpt's last words before its cut are in the other
    tail_in: Callable[[np.ndarray, np.ndarray], np.ndarray]
    site: np.ndarray | None = None  # int code of each document's site (0 where none is known)
    # (items, others): per pair, the lengths of the runs of consecutive shingles of the item found in the other,
    # and the item's shingles
    runs_in: Callable[[np.ndarray, np.ndarray], list[tuple[np.ndarray, int]]] | None = None
    # (pairs (n, 2), boilerplate lists) -> (n, 2): the share of each side that chains of scattered shared
    # shingles, boilerplate aside, run through (``align.spread_cover``): a copy through OCR noise or light edits
    spread: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None


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


def _boilerplate_lists(lists: Lists, groups: np.ndarray, site: np.ndarray, params: VerifyParams) -> np.ndarray:
    """Lists whose members belong to ``boilerplate_min_docs`` or more groups of copies and that
    recur like a template (see ``VerifyParams``): O(members) per list, never pairwise. Lists kept in partitions
    elsewhere (``distributed.partitioned.PartitionedLists``) answer it themselves, partition by partition,
    with this function."""
    if hasattr(lists, "boilerplate"):
        return lists.boilerplate(groups, site, params)
    out = np.zeros(len(lists), dtype=bool)
    if not len(lists):
        return out
    sizes = lists.sizes()
    n_groups, _ = lists.distinct_per_list(groups, groups)
    _, top_site = lists.distinct_per_list(site)
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

    Every step that looks at pairs runs on the pairs' partitions (``PairParts``): here the evidence is one
    partition in memory; evidence kept in partitions elsewhere (``distributed.partitioned.PartitionedEvidence``)
    runs the same steps in tasks, one a partition, so that what this function holds is a few numbers an article
    or a list, never a vector over every candidate pair.
    """
    params = params or VerifyParams()
    parts: PairParts = ev.parts() if hasattr(ev, "parts") else InMemoryPairs(ev)
    n_docs = len(docs.sizes)
    sizes = docs.sizes

    # Pass 1: every shingle counts; group documents that are copies of each other.
    given = {"sizes": sizes, "content": docs.content, "has_text": docs.has_text, "weight": lists.weight}
    groups = parts.connect(n_docs, _pass_one, {**given, "params": params})
    site = docs.site if docs.site is not None else np.zeros(n_docs, dtype=np.int64)
    known = lists.known if lists.known is not None else np.zeros(len(lists), dtype=bool)
    boiler = _boilerplate_lists(lists, groups, site, params) | known
    # Pairs that share text taken for boilerplate may be a story and its noisy copies: their chains say.
    if docs.spread is not None and sum(parts.run(_copies_todo, {"boiler": boiler, "params": params})):
        more = sum(parts.each(_copies_read, {"docs": docs, "n_lists": len(lists), "params": params}))
        if more:
            groups = parts.connect(n_docs, _linking_edges, None)
            boiler = _boilerplate_lists(lists, groups, site, params) | known
    if boiler.any():
        boiler = _story_lists(lists, parts, groups, boiler, sizes, params) | known

    # Pass 2: boilerplate lists count for nobody.

    def measure(boiler: np.ndarray, connect: bool) -> np.ndarray | None:
        content_sizes = sizes - lists.weight_per_doc(n_docs, boiler).astype(np.int64)
        given = {"weight": lists.weight, "chosen": ~boiler, "content_sizes": content_sizes, "params": params}
        if connect:
            return parts.connect(n_docs, _measure, given)
        parts.run(_measure, given)
        return None

    # A site's text that recurs only within one story (an agency's versions of it) is that story, not
    # the site's template: the template recurs around different stories.
    story = measure(boiler, True)
    one_story = boiler & ~known & _one_story(lists, _story_top(lists, story), params)
    if one_story.any():
        boiler &= ~one_story
        measure(boiler, False)
    # The reads (chains, excerpts' tails, short items' runs) and the kept pairs, partition by partition here.
    frames = parts.each(_finish, {"docs": docs, "boiler": boiler, "params": params})
    # What each document shares with its copies, boilerplate aside even for rescued excerpts: it
    # ranks the candidates for source, and generic phrases two pages share say nothing about that.
    # Copies of one text (identical once normalised) count as one member: what a document shares
    # with its own duplicates says nothing about whether it is the source.
    same_text = parts.connect(n_docs, _same_text_edges, None)
    syndicated = parts.syndicated(lists.weight, _syndicated_mask, {"same_text": same_text}, ~boiler, n_docs)
    # The per-pair columns are let go where they are (stored partitions: their files deleted by the tasks, side by
    # side, rather than by this process when the partitions go).
    parts.run(_drop_all, COLUMNS)
    frame = frames[0] if len(frames) == 1 else pl.concat(frames, rechunk=True)
    return Verified(pairs=frame, boilerplate=boiler, syndicated=syndicated)


class PairPart(Protocol):
    """One partition of the candidate pairs, as verification's per-pair steps see it: its pairs (global article
    numbers), its evidence (``ev``: its pairs' entries, pairs numbered within the partition, lists global) and named
    per-pair columns the steps leave for each other."""

    pairs: np.ndarray
    ev: Evidence

    def col(self, name: str) -> np.ndarray: ...

    def set(self, name: str, values: np.ndarray) -> None: ...

    def drop(self, name: str) -> None: ...


class PairParts(Protocol):
    """The candidate pairs in partitions, and how verification's steps run over them: ``run`` a step on every
    partition (where the partitions are: tasks for a cluster's), ``each`` a step on every partition in this
    process (the steps that read articles, which send their own tasks), ``connect`` the components of the edges a
    step gives on every partition, ``derived`` ``_derived_from`` over a per-pair column, ``syndicated``
    ``_syndicated`` of the entries of the pairs a step picks. Results of ``run`` and ``each`` in partition order
    (the pairs' order)."""

    def run(self, step: Callable[[PairPart, Any], Any], given: Any) -> list: ...

    def each(self, step: Callable[[PairPart, Any], Any], given: Any) -> list: ...

    def connect(self, n: int, step: Callable[[PairPart, Any], np.ndarray], given: Any) -> np.ndarray: ...

    def derived(
        self, column: str, groups: np.ndarray, sizes: np.ndarray, own: np.ndarray, params: VerifyParams
    ) -> np.ndarray: ...

    def syndicated(
        self,
        weight: np.ndarray,
        mask: Callable[[PairPart, Any], np.ndarray],
        given: Any,
        chosen: np.ndarray,
        n: int,
    ) -> np.ndarray: ...


class _MemoryPart:
    """The whole evidence as one ``PairPart``, its columns in memory."""

    def __init__(self, ev: Evidence) -> None:
        self.ev, self.pairs, self._cols = ev, ev.pairs, {}

    def col(self, name: str) -> np.ndarray:
        return self._cols[name]

    def set(self, name: str, values: np.ndarray) -> None:
        self._cols[name] = values

    def drop(self, name: str) -> None:
        self._cols.pop(name, None)


class InMemoryPairs:
    """``PairParts`` of evidence held here: one partition, every step run on it in this process."""

    def __init__(self, ev: Evidence) -> None:
        self.part = _MemoryPart(ev)

    def run(self, step: Callable[[PairPart, Any], Any], given: Any) -> list:
        return [step(self.part, given)]

    each = run

    def connect(self, n: int, step: Callable[[PairPart, Any], np.ndarray], given: Any) -> np.ndarray:
        return components(n, step(self.part, given))

    def derived(
        self, column: str, groups: np.ndarray, sizes: np.ndarray, own: np.ndarray, params: VerifyParams
    ) -> np.ndarray:
        return _derived_from(self.part.pairs, self.part.col(column), groups, sizes, own, params)

    def syndicated(
        self,
        weight: np.ndarray,
        mask: Callable[[PairPart, Any], np.ndarray],
        given: Any,
        chosen: np.ndarray,
        n: int,
    ) -> np.ndarray:
        ev = self.part.ev
        take = mask(self.part, given)[ev.entry_pair] & chosen[ev.entry_list]
        return _syndicated(weight, ev.pairs, ev.entry_pair[take], ev.entry_list[take], n)


# Verification's per-pair steps: each a function of one partition and what the step is given (a few numbers an
# article or a list), run by ``PairParts``; the columns each leaves are named in its docstring.


def _pass_one(part: PairPart, g: dict) -> np.ndarray:
    """Pass 1 of one partition: ``is_exact``, ``shared_all`` (every shared shingle), ``first_jaccard``,
    ``first_a_in_b``, ``first_b_in_a`` (its measures) and ``linking`` (copies of each other); returns the linking
    pairs."""
    p, pairs, sizes = g["params"], part.pairs, g["sizes"]
    content, has_text = g["content"], g["has_text"]
    is_exact = content[pairs[:, 0]] == content[pairs[:, 1]]
    is_exact &= has_text[pairs[:, 0]] & has_text[pairs[:, 1]]
    shared_all = _pair_sums(part.ev, g["weight"]).astype(np.int64)
    first = classify(shared_all, sizes[pairs[:, 0]], sizes[pairs[:, 1]], p)
    held = np.maximum(first["a_in_b"], first["b_in_a"])
    linking = is_exact | ((shared_all >= p.min_shared) & (held >= p.copy_group))
    for name, values in (
        ("is_exact", is_exact),
        ("shared_all", shared_all),
        ("first_jaccard", first["jaccard"]),
        ("first_a_in_b", first["a_in_b"]),
        ("first_b_in_a", first["b_in_a"]),
        ("linking", linking),
    ):
        part.set(name, values)
    return pairs[linking]


def _linking_edges(part: PairPart, _: Any) -> np.ndarray:
    return part.pairs[part.col("linking")]


def _copies_todo(part: PairPart, g: dict) -> int:
    """The pairs (``copies_todo``, a flag a pair) whose chains may make them copies (``_copies_read``): not
    linking, sharing text taken for boilerplate, held ``derived`` by the counts."""
    p = g["params"]
    at_stake = _pair_sums(part.ev, None, g["boiler"]) > 0
    held = np.maximum(part.col("first_a_in_b"), part.col("first_b_in_a"))
    shared = part.col("shared_all")
    todo = ~part.col("linking") & at_stake & (shared >= p.min_shared) & (held >= p.derived)
    part.set("copies_todo", todo)
    return int(todo.sum())


def _copies_read(part: PairPart, g: dict) -> int:
    """Of ``copies_todo``, the pairs whose chains (``DocInfo.spread``, nothing yet known as boilerplate) run through
    ``copy_group`` of one side become ``linking``: a short story and its noisy copies are copies of each other, so
    the story is not taken for a template. Returns how many."""
    todo = np.flatnonzero(part.col("copies_todo"))
    part.drop("copies_todo")
    if not len(todo):
        return 0
    cover = g["docs"].spread(part.pairs[todo], np.zeros(g["n_lists"], dtype=bool))
    more = todo[cover.max(axis=1) >= g["params"].copy_group]
    if len(more):
        linking = part.col("linking").copy()
        linking[more] = True
        part.set("linking", linking)
    return len(more)


def _story_shared(part: PairPart, g: dict) -> None:
    """``story_shared``: what each pair shares but the lists ``g["chrome"]``."""
    chrome = _pair_sums(part.ev, g["weight"], g["chrome"]).astype(np.int64)
    part.set("story_shared", part.col("shared_all") - chrome)


def _measure(part: PairPart, g: dict) -> np.ndarray:
    """Pass 2 of one partition, the lists ``g["chosen"]`` alone: ``shared``, ``jaccard``, ``a_in_b``, ``b_in_a``
    and ``relation`` (exact copies: 0); returns the pairs it links (exact, near-duplicate, contains)."""
    pairs, sizes = part.pairs, g["content_sizes"]
    shared = _pair_sums(part.ev, g["weight"], g["chosen"]).astype(np.int64)
    m = classify(shared, sizes[pairs[:, 0]], sizes[pairs[:, 1]], g["params"])
    relation = np.where(part.col("is_exact"), 0, m["relation"]).astype(np.int8)
    for name in ("jaccard", "a_in_b", "b_in_a"):
        part.set(name, m[name])
    part.set("shared", shared)
    part.set("relation", relation)
    return pairs[(relation >= 0) & (relation <= 2)]


def _finish(part: PairPart, g: dict) -> pl.DataFrame:
    """The last of one partition: the relations chains make (``_spread``), excerpts cut from a document
    (``_cut_from``) and short items derived from one (``_short_derived``), read from the articles; leaves the final
    ``relation``; returns the kept pairs' frame (``Verified.pairs``)."""
    docs, boiler, params = g["docs"], g["boiler"], g["params"]
    pairs, sizes = part.pairs, docs.sizes
    is_exact, shared, shared_all = part.col("is_exact"), part.col("shared"), part.col("shared_all")
    # Changed in place: no later step reads these columns but ``relation``, set again below.
    relation = part.col("relation")
    m = {key: part.col(key) for key in ("jaccard", "a_in_b", "b_in_a")}
    # Scattered evidence on one diagonal (a noisy copy), boilerplate aside, makes a relation the counts miss.
    spread, cover = _spread(docs, pairs, shared, relation, is_exact, boiler, params)
    better = (spread >= 0) & ((relation < 0) | (relation == 3) | (spread < relation)) & ~is_exact
    if better.any():
        relation[better] = spread[better]
        _spread_measures(m, better, cover, sizes[pairs[:, 0]], sizes[pairs[:, 1]])
    rescued = _cut_from(docs, pairs, relation, shared_all, params)
    relation[rescued] = 2
    relation[_short_derived(docs, pairs, relation, shared, m, params)] = 2
    part.set("relation", relation)
    shared = np.where(rescued, shared_all, shared)
    first = {key: part.col(f"first_{key}") for key in ("jaccard", "a_in_b", "b_in_a")}
    for key in ("jaccard", "a_in_b", "b_in_a"):  # measured on everything they share
        m[key] = np.where(rescued, first[key], m[key])
    keep = relation >= 0
    a, b = pairs[keep, 0], pairs[keep, 1]
    a_in_b, b_in_a = m["a_in_b"][keep], m["b_in_a"][keep]
    page_a, page_b = first["a_in_b"][keep], first["b_in_a"][keep]
    jaccard = np.where(is_exact[keep], 1.0, m["jaccard"][keep])
    # Orient so that ``a`` is the larger side: for "contains", a wraps b.
    swap = a_in_b > b_in_a
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    a_in_b, b_in_a = np.where(swap, b_in_a, a_in_b), np.where(swap, a_in_b, b_in_a)
    page_a, page_b = np.where(swap, page_b, page_a), np.where(swap, page_a, page_b)
    return pl.DataFrame(
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


def _same_text_edges(part: PairPart, _: Any) -> np.ndarray:
    return part.pairs[part.col("relation") == 0]


def _syndicated_mask(part: PairPart, g: dict) -> np.ndarray:
    """The pairs whose shared lists count for ``Verified.syndicated``: related (exact, near-duplicate, contains),
    not two copies of one text (``g["same_text"]``)."""
    relation, same_text, pairs = part.col("relation"), g["same_text"], part.pairs
    return (relation >= 0) & (relation <= 2) & (same_text[pairs[:, 0]] != same_text[pairs[:, 1]])


def _story_top(lists: Lists, story: np.ndarray) -> np.ndarray:
    """Per list, how many of its holders are in its most common story (partitioned lists answer it themselves,
    as for ``_boilerplate_lists``)."""
    if hasattr(lists, "story_top"):
        return lists.story_top(story)
    return lists.distinct_per_list(story, story)[1]


def _one_story(lists: Lists, top: np.ndarray, params: VerifyParams) -> np.ndarray:
    """Lists whose holders are mostly (``template_site_share``, two at least) in one story (``top``:
    ``_story_top``)."""
    return (top >= 2) & (top >= params.template_site_share * lists.sizes())


def _story_lists(
    lists: Lists,
    parts: PairParts,
    groups: np.ndarray,
    boiler: np.ndarray,
    sizes: np.ndarray,
    params: VerifyParams,
    rounds: int = 4,
) -> np.ndarray:
    """``boiler`` without the lists that recur within one story: a source and what derives from it
    (``_derived_from``), from the groups of copies (``groups``) on. In rounds: once part of a story is known, its
    members count as one partner, so a document's runner-ups within that story (other rewrites that took some of
    the same sentences) no longer hide that it derives from it."""
    n_docs = len(sizes)
    # Per document, its shingles in no list: text of its own, shared with nobody.
    own = sizes - lists.weight_per_doc(n_docs).astype(np.int64)
    # The copies' components as stars (each document to the first of its group): the same components as the
    # linking pairs', a number a document.
    stars = np.flatnonzero(groups != np.arange(n_docs))
    edges, story, out, shared = [np.stack([groups[stars], stars], axis=1)], groups, boiler, "shared_all"
    for _ in range(rounds):
        edges.append(parts.derived(shared, story, sizes, own, params))
        new_story = components(n_docs, np.concatenate(edges))
        top = _story_top(lists, new_story)
        out = boiler & ~_one_story(lists, top, params)
        if np.array_equal(new_story, story):
            break
        story = new_story
        # Text that recurs like a template and is held by no one story for the most part (a site's
        # chrome) no longer counts in the next round: a page that is mostly template then derives
        # from what its own text was taken from.
        chrome = boiler & (2 * top < lists.sizes())
        parts.run(_story_shared, {"weight": lists.weight, "chrome": chrome})
        shared = "story_shared"
    if shared != "shared_all":
        parts.run(_drop, "story_shared")
    return out


def _drop(part: PairPart, name: str) -> None:
    part.drop(name)


# Every per-pair column verification's steps leave (``PairPart.set``).
COLUMNS = (
    "is_exact",
    "shared_all",
    "first_jaccard",
    "first_a_in_b",
    "first_b_in_a",
    "linking",
    "copies_todo",
    "story_shared",
    "jaccard",
    "a_in_b",
    "b_in_a",
    "shared",
    "relation",
)


def _drop_all(part: PairPart, names: tuple[str, ...]) -> None:
    for name in names:
        part.drop(name)


def _derived_from(
    pairs: np.ndarray,
    shared: np.ndarray,
    groups: np.ndarray,
    sizes: np.ndarray,
    own: np.ndarray,
    params: VerifyParams,
) -> np.ndarray:
    """Edges (document, a document it derives from): per document, its partners by shared text, each
    group (``groups``: copies of one text, or one story once known) once, best first; the document
    derives from those above the first clear gap within the top ``derived_top`` (see
    ``VerifyParams``): a source, or a story's versions. A template shared by every page of a site is
    shared about equally with all of them: no gap, and no page derives from another.

    In three parts, so that pairs kept in partitions answer it as well (``distributed.partitioned``): the
    (document, partner, shared) rows of each pair (``derived_rows``), ranked per document (``derived_rank``,
    which needs every row of its documents and nothing else), and the edges taken (``derived_take``) once the
    ranked rows that ask it know what their document's top partner shares with them (``_lookup``)."""
    d, o, s = derived_rows(pairs, shared, groups)
    ranked = derived_rank(d, o, s, groups, sizes, params)
    looked = _lookup(pairs, shared, ranked.top[ranked.need], ranked.o[ranked.need])
    return derived_take(ranked, looked, groups, sizes, own, params)


def derived_rows(pairs: np.ndarray, shared: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each pair as two (document, partner, shared) rows, but partners in one group and pairs that share nothing."""
    d = np.concatenate([pairs[:, 0], pairs[:, 1]])
    o = np.concatenate([pairs[:, 1], pairs[:, 0]])
    s = np.concatenate([shared, shared]).astype(np.int64)
    keep = (groups[d] != groups[o]) & (s > 0)
    return d[keep], o[keep], s[keep]


@dataclass
class Ranked:
    """``derived_rank``: the best partner of each (document, partner's group), per document best first; each row's
    rank, its document's top partner, and which rows need what that top partner shares with them (``need``)."""

    d: np.ndarray
    o: np.ndarray
    s: np.ndarray
    head: np.ndarray
    starts: np.ndarray
    doc_row: np.ndarray
    rank: np.ndarray
    top: np.ndarray
    need: np.ndarray


def derived_rank(
    d: np.ndarray, o: np.ndarray, s: np.ndarray, groups: np.ndarray, sizes: np.ndarray, params: VerifyParams
) -> Ranked:
    """The rows of ``derived_rows`` ranked per document (every row of a document must be there: the ranking of
    one document needs its rows alone)."""
    # Per document: its partners by shared text, most first; then per (document, partner's group) the best.
    order = np.lexsort((o, -s, groups[o], d))
    d, o, s = d[order], o[order], s[order]
    g = groups[o]
    first = np.ones(len(d), dtype=bool)
    first[1:] = (d[1:] != d[:-1]) | (g[1:] != g[:-1])
    d, o, s = d[first], o[first], s[first]
    order = np.lexsort((o, -s, d))
    d, o, s = d[order], o[order], s[order]
    head = np.ones(len(d), dtype=bool)
    head[1:] = d[1:] != d[:-1]
    starts = np.flatnonzero(head)
    doc_row = np.cumsum(head) - 1
    rank = np.arange(len(d)) - starts[doc_row]
    top = o[starts][doc_row]
    # What the top partner shares with a partner matters only below the top, for partners that hold ``derived``
    # of the document (``derived_take``).
    need = (rank > 0) & (s >= params.derived * sizes[d])
    return Ranked(d, o, s, head, starts, doc_row, rank, top, need)


def derived_take(
    r: Ranked, looked: np.ndarray, groups: np.ndarray, sizes: np.ndarray, own: np.ndarray, params: VerifyParams
) -> np.ndarray:
    """The edges of ``_derived_from`` from ranked rows, ``looked``: what each row that needs it (``Ranked.need``)
    shares with its document's top partner."""
    d, o, s, head, starts, doc_row, rank = r.d, r.o, r.s, r.head, r.starts, r.doc_row, r.rank
    if not len(d):
        return np.zeros((0, 2), dtype=np.int64)
    following = np.zeros(len(d), dtype=np.int64)  # what the next partner down shares (0 after the last)
    following[:-1] = np.where(head[1:], 0, s[1:])
    margin = np.maximum(params.min_shared, params.derived_margin * s)
    # Below the top partner, only partners that each hold ``derived`` of the document, and either share
    # clearly more with the top partner than with the document (a story's versions hold most of each
    # other, beyond the part a rewrite took) or are copies of one text with it (it is what both are
    # about: at least the document's own text, and ``derived_copy_share`` of the partner's).
    # Pages that share only a site's template share it with each other exactly as much as with the
    # document, and the site's articles are their own text.
    versions = np.zeros(len(d), dtype=bool)
    versions[r.need] = looked - s[r.need] >= margin[r.need]
    # A copy of one text is a document of its own, mostly that text: one already in a group of copies or
    # a story has the rest of its text from there, and what it shares beside that is its wrapper.
    alone = np.bincount(groups, minlength=len(sizes))[groups] == 1
    most = params.derived_copy_share / (1 - params.derived_copy_share)
    about = (s >= own[d]) & (s >= most * own[o]) & alone[o]
    above = (rank == 0) | ((s >= params.derived * sizes[d]) & (versions | about))
    gap = (rank < params.derived_top) & (s >= params.derived_min_shared) & (s - following >= margin)
    bad = np.cumsum(~above)
    gap &= bad - (bad[starts] - ~above[starts])[doc_row] == 0  # every partner down to this one holds enough
    # The first clear gap from the top: the document derives from every partner above it.
    none = np.iinfo(np.int64).max
    cut = np.full(len(starts), none)
    np.minimum.at(cut, doc_row, np.where(gap, rank, none))
    take = (cut[doc_row] != none) & (rank <= cut[doc_row])
    # A document that already has copies (or a story) of its own joins another only through a partner
    # that holds ``derived`` of it: a stray shared passage (an issuer's "About" paragraph beside a
    # site's template) never chains two stories into one.
    take &= alone[d] | (s >= params.derived * sizes[d])
    return np.stack([d[take], o[take]], axis=1)


def _lookup(pairs: np.ndarray, values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``values`` of the pairs (a[k], b[k]) (either order), 0 where (a[k], b[k]) is not a pair."""
    if not len(pairs):
        return np.zeros(len(a), dtype=values.dtype)
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    codes = (lo.astype(np.uint64) << np.uint64(32)) | hi.astype(np.uint64)
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    want = (np.minimum(a, b).astype(np.uint64) << np.uint64(32)) | np.maximum(a, b).astype(np.uint64)
    at = np.minimum(np.searchsorted(codes, want), len(codes) - 1)
    return np.where(codes[at] == want, values[order][at], 0)


def _spread(
    docs: DocInfo,
    pairs: np.ndarray,
    shared: np.ndarray,
    relation: np.ndarray,
    is_exact: np.ndarray,
    boiler: np.ndarray,
    params: VerifyParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Relation code (-1: none) and cover (n, 2) of each pair from scattered shared shingles on one diagonal
    (``DocInfo.spread``), for the pairs the counts leave unrelated or partial that share at least
    ``min_shared`` shingles and ``spread_min_share`` of the smaller side's: near-duplicate when the chains run
    through ``near_duplicate`` of both, contains when through ``contains`` of one (or ``derived`` of one,
    ``derived_min_shared`` shingles of it, as the counts take a short derived text). A quotation two articles
    share is one dense run, not a chain, and counts for nothing here."""
    out = np.full(len(pairs), -1, dtype=np.int8)
    cover = np.zeros((len(pairs), 2))
    if docs.spread is None or not len(pairs):
        return out, cover
    small = np.minimum(docs.sizes[pairs[:, 0]], docs.sizes[pairs[:, 1]])
    maybe = ((relation < 0) | (relation == 3)) & ~is_exact & (shared >= params.min_shared)
    maybe &= shared >= params.spread_min_share * small
    todo = np.flatnonzero(maybe)
    if not len(todo):
        return out, cover
    cover[todo] = docs.spread(pairs[todo], boiler)
    lo, hi = cover[todo].min(axis=1), cover[todo].max(axis=1)
    code = np.full(len(todo), -1, dtype=np.int8)
    size = np.stack([docs.sizes[pairs[todo, 0]], docs.sizes[pairs[todo, 1]]], axis=1)
    through = (cover[todo] * size).max(axis=1)  # shingles of the side the chains hold most of
    code[(hi >= params.contains) | ((hi >= params.derived) & (through >= params.derived_min_shared))] = 2
    code[lo >= params.near_duplicate] = 1
    out[todo] = code
    return out, cover


def _spread_measures(m: dict, rows: np.ndarray, cover: np.ndarray, size_a: np.ndarray, size_b: np.ndarray) -> None:
    """A pair related by ``_spread``: its containments are the covers, its Jaccard the shared stretch over
    the union of the two."""
    m["a_in_b"][rows] = np.maximum(m["a_in_b"][rows], cover[rows, 0])
    m["b_in_a"][rows] = np.maximum(m["b_in_a"][rows], cover[rows, 1])
    a, b = size_a[rows].astype(np.float64), size_b[rows].astype(np.float64)
    both = (cover[rows, 0] * a + cover[rows, 1] * b) / 2
    m["jaccard"][rows] = np.maximum(m["jaccard"][rows], both / np.maximum(a + b - both, 1))


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
    maybe = np.flatnonzero(one & ((relation == 3) | ((relation < 0) & (shared_all >= params.partial_min_shared))))
    if len(maybe):  # the excerpts' tails looked up all at once (in batches of articles, side by side)
        first = is_ex[pairs[maybe, 0]]
        e = np.where(first, pairs[maybe, 0], pairs[maybe, 1])
        o = np.where(first, pairs[maybe, 1], pairs[maybe, 0])
        out[maybe] = docs.tail_in(e, o)
    return out


def _short_derived(
    docs: DocInfo, pairs: np.ndarray, relation: np.ndarray, shared: np.ndarray, m: dict, params: VerifyParams
) -> np.ndarray:
    """Pairs of a short item and the text it was written from (see ``VerifyParams``): too few shingles in
    common for ``derived_min_shared``, but ``derived`` of the item, in verbatim runs."""
    out = np.zeros(len(pairs), dtype=bool)
    if docs.runs_in is None:
        return out
    a_in_b, b_in_a = m["a_in_b"], m["b_in_a"]
    maybe = (relation < 0) & (shared >= params.short_min_shared) & (shared < params.derived_min_shared)
    maybe &= np.maximum(a_in_b, b_in_a) >= params.derived
    todo = np.flatnonzero(maybe)
    if not len(todo):
        return out
    first = a_in_b[todo] >= b_in_a[todo]
    items = np.where(first, pairs[todo, 0], pairs[todo, 1])
    others = np.where(first, pairs[todo, 1], pairs[todo, 0])
    for k, (runs, size) in zip(todo.tolist(), docs.runs_in(items, others)):
        long = runs[runs >= params.short_run]
        out[k] = len(long) >= params.short_runs and long.sum() >= params.derived * max(size, 1)
    return out


def _pair_sums(ev: Evidence, values: np.ndarray | None, chosen: np.ndarray | None = None) -> np.ndarray:
    """Per pair, the sum over its entries whose list is ``chosen`` (a bool per list; None: every list) of the
    list's ``values`` (None: 1 an entry), as ``np.bincount`` gives it (float64 with values). Evidence kept in
    partitions elsewhere (``distributed.partitioned.PartitionedEvidence``) answers it itself, partition by
    partition, with this function."""
    if hasattr(ev, "pair_sums"):
        return ev.pair_sums(values, chosen)
    entry_pair, entry_list = ev.entry_pair, ev.entry_list
    if chosen is not None:
        keep = chosen[entry_list]
        entry_pair, entry_list = entry_pair[keep], entry_list[keep]
    weights = None if values is None else values[entry_list]
    return np.bincount(entry_pair, weights=weights, minlength=len(ev.pairs))


def _syndicated_of(lists: Lists, ev: Evidence, pair_mask: np.ndarray, chosen: np.ndarray, n: int) -> np.ndarray:
    """``_syndicated`` of the entries of the pairs in ``pair_mask`` whose list is ``chosen`` (partitioned evidence
    answers it itself, as for ``_pair_sums``)."""
    if hasattr(ev, "syndicated"):
        return ev.syndicated(lists.weight, pair_mask, chosen, n)
    take = pair_mask[ev.entry_pair] & chosen[ev.entry_list]
    return _syndicated(lists.weight, ev.pairs, ev.entry_pair[take], ev.entry_list[take], n)


def _syndicated(
    weight: np.ndarray, pairs: np.ndarray, entry_pair: np.ndarray, entry_list: np.ndarray, n: int
) -> np.ndarray:
    """Per document, the shingles of the distinct lists it shares with a copy of it."""
    doc = np.concatenate([pairs[entry_pair, 0], pairs[entry_pair, 1]])
    lst = np.concatenate([entry_list, entry_list])
    if len(doc) == 0:
        return np.zeros(n, dtype=np.int64)
    keys = np.unique((doc.astype(np.uint64) << np.uint64(32)) | lst.astype(np.uint64))
    d = (keys >> np.uint64(32)).astype(np.int64)
    w = weight[(keys & np.uint64(0xFFFFFFFF)).astype(np.int64)]
    return np.bincount(d, weights=w, minlength=n).astype(np.int64)
