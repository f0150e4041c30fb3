"""The persistent index's service: add articles to an archive, and ask of new ones what they copy.

``add``: phase 1 of the scan (``pipeline.ingest``, in worker processes) writes shards to a staging
folder; each shard is then appended to the index under its write lock, rows whose id is already
live with the same content hash left out (re-adding is a no-op) and live rows with the id of a
changed article replaced in the same atomic step.

``query``: phase 1 on the query articles in memory; then per article, the scan's own phase 2
(``phase2.analyse_lists``), once, on a corpus of one: the query and its neighbourhood, focused on the query's
pairs. Its fingerprints are looked up in the index (``holders``); from their posting lists the scan's
evidence rule (``pair_evidence``) gives the candidates, the indexed articles a scan would measure with
it; their own fingerprints and those fingerprints' holders are added, so that whether two candidates
are copies of each other (and so whether what they share with the query is a story or a template), and
a candidate's own template, are judged from their whole text as in a scan. From there evidence,
verification, boilerplate, clusters, alignment and labels are the scan's code with the scan's rules.
What one query costs is bounded whatever recurs (``QueryParams``): a fingerprint held by more than
``max_holders`` indexed articles (removed ones count until compacted), or by more than ``spread`` unless
it belongs to a passage many copies carry (``_holders``: what the scan's big lists would link), has its
holders counted, not listed: it is a list of the holders the query looks at (itself, its candidates),
known to be boilerplate (``Lists.known``), as the scan's list of all its holders would be; a phrase
common to news in general makes no candidates. Only what the query shares is looked at, so the cost
follows the evidence, not the size of the archive.

Where a query's answer can differ from a ``scan`` of the query plus the archive: articles beyond the
neighbourhood (the holders' own other text) can change whether a neighbour's text is boilerplate or
one story; a fingerprint past the ``QueryParams`` bounds is boilerplate outright. benchmarks/query_vs_scan.py
measures how often.
"""

from __future__ import annotations

import bisect
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .. import phase2
from ..deadline import check
from ..escape import name as shown
from ..escape import stored_name
from ..evidence import Lists, pair_evidence
from ..featurestore import DOC_SCHEMA, FeatureStore, Shard, StoreError
from ..hashing import GOLDEN, mix64
from ..ingest.model import Article, Skipped
from ..kernels import native
from ..options import INDEX_BATCH_DOCS, Progress, QueryParams, ScanOptions, VerifyParams, flatten, store_params
from ..phase1.features import LONG_CHARS, extract_with, fingerprints
from ..phase2 import Boilerplate, DocTable, Found, Subset, analyse_lists
from ..pipeline import ingest, scan
from ..result import ScanResult
from ..verify import exact_pairs
from ..workers import Executor
from .backend import IndexBackend
from .shards import by_position, mapped_on_use

ADD_BATCH = INDEX_BATCH_DOCS  # articles per phase-1 batch of ``dedup index add``: eight make one merged shard


def check_params(index: IndexBackend, options: ScanOptions) -> None:
    """Refuse an index built with other shingling parameters, or by a dedup whose phase 1 kept other features
    (its answers would not be the scan's), each with what to do."""
    want = store_params(options)
    have = index.params
    shingling = {k: v for k, v in want.items() if k != "features"}
    if {k: have.get(k) for k in shingling} != shingling:
        raise StoreError(f"{index.location}: index built with {have}, not {want}; use the same --k/--num-perm/--seed")
    if have.get("features", 1) != want["features"]:
        raise StoreError(
            f"{index.location}: index built by a dedup that read articles differently (features "
            f"{have.get('features', 1)}, this one {want['features']}); add its articles again to a new index"
        )


# ---------------------------------------------------------------------------------------------- add


@dataclass
class AddReport:
    """What an add did."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)


def _row_status(shard: Shard, live: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: added (new or changed, last of a repeated id), replacing a live article (of those added),
    unchanged (the last of its id, live with the same content)."""
    ids = shard.docs["id"].to_list()
    hashes = shard.docs["content_hash"].to_list()
    keep = np.ones(len(ids), dtype=bool)
    replacing = np.zeros(len(ids), dtype=bool)
    unchanged = np.zeros(len(ids), dtype=bool)
    last = {d: r for r, d in enumerate(ids)}
    for r, (d, h) in enumerate(zip(ids, hashes)):
        if last[d] != r:
            keep[r] = False
        elif d in live:
            if live[d] == h:
                keep[r] = False
                unchanged[r] = True
            else:
                replacing[r] = True
    return keep, replacing, unchanged


def add(
    index: IndexBackend,
    sources: Sequence[str | os.PathLike[str]],
    options: ScanOptions,
    report: Progress | None = None,
    executor: Executor | None = None,
) -> AddReport:
    """Index every article under ``sources`` (folders or files any reader takes); see the module docstring.

    Each phase-1 shard is committed as soon as it is written, while phase 1 goes on with the next: a
    process killed midway keeps the shards committed. ``executor``: where phase 1's tasks run (default:
    worker processes here; a cluster: ``dedup.distributed``)."""
    check_params(index, options)
    report = report or (lambda phase, done, total: None)
    out = AddReport()
    staging = Path(index.staging())
    try:
        for k, src in enumerate(sources):
            fs = FeatureStore(staging / f"{k:04d}", params=store_params(options), create=True)

            def commit(name: str, fs: FeatureStore = fs) -> None:
                _commit_shard(index, Shard(fs.root / "shards" / name), [out])

            _, skipped = ingest(fs, src, options, report, on_shard=commit, executor=executor)
            out.skipped.extend(skipped)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _commit_shard(
    index: IndexBackend, shard: Shard, outs: Sequence[AddReport], owner: np.ndarray | None = None
) -> None:
    """Append a phase-1 shard under the write lock: new and changed rows only (see ``add``). Each row is
    counted in the report of its group, ``outs[owner[row]]`` (all in ``outs[0]`` when no owner is given)."""
    with index.writing():
        ids = shard.docs["id"].to_list()
        keep, replacing, unchanged = _row_status(shard, index.live_hashes(ids))
        owner = np.zeros(len(ids), dtype=np.int64) if owner is None else owner
        for g, out in enumerate(outs):
            mine = owner == g
            out.added += int((keep & ~replacing & mine).sum())
            out.replaced += int((replacing & mine).sum())
            out.unchanged += int((unchanged & mine).sum())
        if keep.any():
            index.append(shard, keep, [ids[r] for r in np.flatnonzero(replacing).tolist()])


def add_articles(index: IndexBackend, articles: Sequence[Article], options: ScanOptions) -> AddReport:
    """Index in-memory articles (``dedup serve``'s adds): phase 1 in this process, one shard committed as
    ``add`` commits one; an article whose id is live with other content replaces it."""
    return add_groups(index, [articles], options)[0]


def add_groups(index: IndexBackend, groups: Sequence[Sequence[Article]], options: ScanOptions) -> list[AddReport]:
    """Several adds at once, each group's report as ``add_articles`` would give it: one phase 1, one shard,
    one commit for all (``dedup serve``'s writer groups the adds waiting for it, so a commit's fixed cost,
    the shard's files made durable one by one, is paid once a group, not once an add). No id may be in two
    groups (the caller's to see to): each group is then answered as if committed alone, one after another."""
    from ..featurestore import write_shard

    check_params(index, options)
    outs = [AddReport() for _ in groups]
    articles = [a for group in groups for a in group]
    if not articles:
        return outs
    owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    staging = Path(index.staging())
    try:
        data = extract_with(articles, options)
        write_shard(staging, "000000-0000", data)
        _commit_shard(index, _written(staging / "shards" / "000000-0000", data), outs, owner)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return outs


def _written(path: Path, data: Any) -> Shard:
    """The shard this process has just written from ``data`` into its own fresh staging folder, taken as
    checked (articles, postings and lengths are ``data``'s, its arrays mapped when first read) instead of read
    back and checked (``validate.check_shard``: ~5 ms, most of a served add's CPU after its phase 1)."""
    chars = np.asarray(data.docs["chars"], dtype=np.int64)
    keys = sorted(p.name[: -len(".npy")] for p in path.glob("*.npy"))
    return mapped_on_use(path, str(path), None, len(chars), len(data.postings), chars, keys)


# ---------------------------------------------------------------------------------------------- query


def read_sources(
    sources: Sequence[str | os.PathLike[str]], options: ScanOptions
) -> tuple[list[Article], list[Skipped]]:
    """The articles under ``sources`` (ids as ``scan`` gives them: relative to a folder, a file's name)."""
    from ..ingest import read_entry, walk

    articles: list[Article] = []
    skipped: list[Skipped] = []
    for src in sources:
        for entry in walk(src, options.ingest):
            items = [entry] if isinstance(entry, Skipped) else read_entry(entry, options.ingest)
            for item in items:
                (skipped if isinstance(item, Skipped) else articles).append(item)
    return articles, skipped


def _holders(
    index: IndexBackend,
    fps: np.ndarray,
    vp: VerifyParams,
    qp: QueryParams,
    raw: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(position, ref) of the holders of the query's fingerprints worth looking at, and a bool per
    fingerprint: skipped as boilerplate (see the module docstring).

    A fingerprint held by more than ``qp.spread`` articles is looked at only when the query's fingerprints
    held by exactly as many articles (the same copies, most likely) could link them as the scan's big
    lists do: ``partial_min_shared`` of them, or, sampled on one of them, two holders of which they
    make ``link_share`` (a short item carried by many sites). ``raw``: ``index.holders(fps, skip)`` when already
    known (``_partner_holders``)."""
    pos, refs, skipped, counts = raw if raw is not None else index.holders(fps, _spread_skip(qp))
    spread = np.flatnonzero(skipped & (counts <= qp.max_holders))
    if not len(spread):
        return pos, refs, skipped
    values, inv, same = np.unique(counts[spread], return_inverse=True, return_counts=True)
    linking = same >= vp.partial_min_shared
    probe = np.flatnonzero(~linking & (same >= 2))
    if len(probe):
        first = np.zeros(len(values), dtype=np.int64)
        first[inv[::-1]] = spread[::-1]  # the first fingerprint of each group
        some_pos, some_refs, _, _ = index.holders(fps[first[probe]])
        keep = np.zeros(len(some_refs), dtype=bool)
        for g in np.unique(some_pos).tolist():  # at most qp.sample holders per group
            keep[np.flatnonzero(some_pos == g)[: qp.sample]] = True
        mostly = same[probe][some_pos[keep]] >= vp.link_share * np.maximum(index.sizes(some_refs[keep]), 1)
        linking[probe] = np.bincount(some_pos[keep][mostly], minlength=len(probe)) >= 2
    take = spread[linking[inv]]
    if not len(take):
        return pos, refs, skipped
    more_pos, more_refs, _, _ = index.holders(fps[take])
    pos, refs = np.concatenate([pos, take[more_pos]]), np.concatenate([refs, more_refs])
    pos, refs = by_position(pos, refs, _n_refs(index, refs))
    skipped = skipped.copy()
    skipped[take] = False
    return pos, refs, skipped


def _spread_skip(qp: QueryParams) -> Callable[[np.ndarray], np.ndarray]:
    """Which fingerprints' holders a query skips, from their counts (``_holders``)."""
    return lambda counts: counts > qp.spread


def _partner_holders(
    index: IndexBackend, extra: np.ndarray, partners: np.ndarray, own: list[np.ndarray], qp: QueryParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``index.holders(extra, skip)`` (``_holders``' look-up) of the partners' fingerprints ``extra`` (those of
    ``own`` not the query's), in pieces: each long partner's (``LONG_PARTNER`` fingerprints or more) own
    fingerprints looked up whole with what the big shards found for them kept across queries (``holders``'
    ``kept``: an indexed article's fingerprints never change, nor does a shard), the rest at once, then put
    together as one look-up of ``extra`` gives it. What a recurring long article costs a query is then its
    recent shards' look-ups, not its hundred thousand fingerprints gathered again from the big shards."""
    skip = _spread_skip(qp)
    long = [j for j, f in enumerate(own) if len(f) >= LONG_PARTNER]
    if not long or not len(extra):
        return index.holders(extra, skip)
    kept = _cache(index, "holders", HOLDER_LIMIT)
    keys = _shard_rows(index, partners[long])
    parts = []
    for j, key in zip(long, keys):
        parts.append((own[j], index.holders(own[j], skip, None if key is None else (kept, key))))
    rest = _not_in(extra, _union([own[j] for j in long]))
    if len(rest):
        parts.append((rest, index.holders(rest, skip)))
    n = len(extra)
    counts, frequent = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    taken = np.zeros(n, dtype=bool)
    all_pos, all_refs = [], []
    for fps, (pos, refs, skipped, count) in parts:
        at = np.minimum(np.searchsorted(extra, fps), n - 1)
        mine = (extra[at] == fps) & ~taken[at]  # extra's fingerprints this piece is the first to hold
        taken[at[mine]] = True
        counts[at[mine]], frequent[at[mine]] = count[mine], skipped[mine]
        keep = mine[pos]
        all_pos.append(at[pos[keep]])
        all_refs.append(refs[keep])
    pos, refs = np.concatenate(all_pos), np.concatenate(all_refs)
    pos, refs = by_position(pos, refs, _n_refs(index, refs))
    return pos, refs, frequent, counts


def _n_refs(index: IndexBackend, refs: np.ndarray) -> int:
    """A bound on the index's refs (one more than the largest), for sort keys and look-up tables."""
    bases = getattr(index, "bases", None)
    return int(bases[-1]) if bases is not None and len(bases) else int(refs.max(initial=-1)) + 1


def _distinct(refs: np.ndarray, n_refs: int) -> np.ndarray:
    """``np.unique(refs)`` for refs below ``n_refs``, by marking (linear, where unique sorts them)."""
    seen = np.zeros(n_refs, dtype=bool)
    seen[refs] = True
    return np.flatnonzero(seen)


def _lists(fp: np.ndarray, member: np.ndarray, n_fps: int, apart: np.ndarray | None = None) -> tuple[Lists, np.ndarray]:
    """Posting lists from (fingerprint, member) pairs, each pair once: fingerprints held by the same two or
    more members are one list, members ascending as in the scan's lists. Also returns the list of each
    fingerprint (-1: held by one member only).

    ``apart`` (a bool per fingerprint): fingerprints held by more indexed articles than were looked at, so
    only some of their holders are members. They make lists of their own (``Lists.known``), never merged
    with the others, one member or more: the scan has them in lists of their many holders.

    Compiled (``kernels/_query.pyx``'s ``posting_lists``: one counting pass by fingerprint, the lists' hashes
    and their distinct values in C) where built, else ``_lists_numpy``: the same arrays either way."""
    apart = np.zeros(n_fps, dtype=bool) if apart is None else apart
    kernel = native("query")
    if (
        kernel is not None
        and fp.dtype == np.int64
        and member.dtype == np.int64
        and apart.dtype == bool
        and len(apart) == n_fps
        and (not len(fp) or (int(fp.min()) >= 0 and int(fp.max()) < n_fps and int(member.min()) >= 0))
    ):
        got = kernel.posting_lists(
            np.ascontiguousarray(fp), np.ascontiguousarray(member), n_fps, np.ascontiguousarray(apart).view(np.uint8)
        )
        if got is None:
            return _no_lists(), np.full(n_fps, -1, dtype=np.int64)
        hashes, offsets, members, weight, known, list_of = got
        return Lists(hashes, offsets, members, weight, known), list_of
    return _lists_numpy(fp, member, n_fps, apart)


def _no_lists() -> Lists:
    """No posting list (a fresh object: a ``Lists`` keeps what it derives on itself)."""
    return Lists(np.zeros(0, np.uint64), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))


def _lists_numpy(fp: np.ndarray, member: np.ndarray, n_fps: int, apart: np.ndarray) -> tuple[Lists, np.ndarray]:
    """``_lists`` in numpy (and the compiled one's fallback): one stable sort of the pairs, the lists' hashes
    summed by ``reduceat``, the distinct lists by ``np.unique``."""
    list_of = np.full(n_fps, -1, dtype=np.int64)
    held = np.bincount(fp, minlength=n_fps)
    listed = held >= np.where(apart, 1, 2)
    keep = listed[fp]
    if not keep.any():
        return _no_lists(), list_of
    n_members = int(member.max()) + 1
    # One key, stably sorted (the pairs come as a few runs in fingerprint order: near-linear), not lexsort.
    order = np.argsort(fp[keep].astype(np.int64) * n_members + member[keep], kind="stable")
    members = member[keep][order]
    fp_ids = np.flatnonzero(listed)
    sizes = held[fp_ids]
    starts = np.zeros(len(fp_ids) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    # ``list_hash``, its per-member mix taken from a table of the few members instead of computed per entry.
    mixed = mix64(np.arange(n_members, dtype=np.uint64) + np.uint64(1))
    summed = np.add.reduceat(mixed[members], starts[:-1])
    with np.errstate(over="ignore"):
        h = mix64(summed ^ (sizes.astype(np.uint64) * GOLDEN))
    with np.errstate(over="ignore"):
        h = np.where(apart[fp_ids], mix64(h ^ GOLDEN), h)  # apart: never the same list as listed holders
    uniq, first, inv, weight = np.unique(h, return_index=True, return_inverse=True, return_counts=True)
    m = sizes[first]
    offsets = np.zeros(len(uniq) + 1, dtype=np.int64)
    np.cumsum(m, out=offsets[1:])
    idx = np.repeat(starts[first] - offsets[:-1], m) + np.arange(int(offsets[-1]))
    list_of[fp_ids] = inv
    return Lists(uniq, offsets, members[idx], weight.astype(np.int64), apart[fp_ids][first]), list_of


class _QueryArticles:
    """The query article (row ``at``) and the candidates (the index's ``refs`` of the other rows) as phase 2
    reads them: texts and paragraphs fetched from the index once, when first needed; word tokens (``tokens``,
    which phase 2 takes where it would tokenise) from ``_tokens_of``, once a query."""

    def __init__(
        self,
        article: Article,
        index: IndexBackend,
        refs: np.ndarray,
        at: int,
        body_starts: np.ndarray,
        tokens: Tokens3 | None = None,
    ) -> None:
        self._index, self._refs, self._body_starts = index, refs, body_starts
        self._cache: dict[int, tuple[str, np.ndarray]] = {
            at: (article.text, np.asarray(article.paragraphs, np.int64).reshape(-1, 2))
        }
        self._tokens: dict[int, Tokens3] = {} if tokens is None else {at: tokens}

    def _get(self, i: int) -> tuple[str, np.ndarray]:
        if i not in self._cache:
            ref = int(self._refs[i])
            kept = _cache(self._index, "texts", TEXT_LIMIT)
            key = _shard_rows(self._index, np.asarray([ref], dtype=np.int64))[0]
            got = kept.get(key)
            if got is None:
                got = (self._index.texts([ref])[0], self._index.paragraphs([ref])[0])
                kept.put(key, got, len(got[0]))
            self._cache[i] = got
        return self._cache[i]

    def text(self, i: int) -> str:
        return self._get(i)[0]

    def paragraphs(self, i: int) -> np.ndarray:
        return self._get(i)[1]

    def tokens(self, docs: Sequence[int]) -> list[Tokens3]:
        """The word tokens (hashes, starts, ends) of rows ``docs``, as tokenising their text gives them."""
        todo = [d for d in dict.fromkeys(docs) if d not in self._tokens]
        if todo:
            rows = np.asarray(todo, dtype=np.int64)
            found = _tokens_of(self._index, self._refs[rows], lambda j: self.text(todo[j]), self._body_starts[rows])
            self._tokens.update(zip(todo, found))
        return [self._tokens[d] for d in docs]


@dataclass
class Answer:
    """One query article's answer: the scan's result over it and the indexed articles it shares text with
    (row 0 is the query), or None when it shares nothing."""

    article: Article
    row: dict  # the query's own row (the feature store's columns)
    result: ScanResult | None
    at: int = 0  # the query's row in ``result`` (articles are in id order, as a scan has them)


def _answer(
    index: IndexBackend,
    art: Article,
    fps: np.ndarray,
    row: dict,
    options: ScanOptions,
    qp: QueryParams,
    exclude: np.ndarray | None = None,
    tokens: Tokens3 | None = None,
) -> Answer:
    """The query article against the index: the scan's phase 2, once, on it and its neighbourhood: the
    indexed articles the scan would measure it with (``_candidates``), their own text and its holders, so
    that whether two candidates are copies of each other, and a candidate's site template, are judged as
    in a scan. ``tokens``: the query's word tokens as its phase 1 found them (None: tokenised again)."""
    pos, refs, frequent = _without(*_holders(index, fps, options.verify, qp), exclude)
    if not len(refs) and not frequent.any():
        return Answer(art, row, None)
    check()  # a server's time limit stops the work between the steps (``dedup.deadline``)
    # Not the pairs verified on the query's text alone: whether two candidates are copies of each other
    # (and so whether what the three share is a story or a template) is known only from their own text.
    partners = _candidates(index, row, options, fps, pos, refs, frequent) if len(refs) else refs
    if not len(partners):
        # No partner: still its paragraphs' labels as a scan gives them (a site template it shares with many
        # pages is boilerplate), from phase 2 on it and the holders of its fingerprints.
        return _answer_of(
            art, row, options, *_answer_step(index, art, row, options, fps, len(fps), pos, refs, frequent, tokens)
        )
    check()
    own = _partner_fingerprints(index, partners, options)
    extra = _not_in(_union(own), fps)
    raw = _partner_holders(index, extra, partners, own, qp)
    pos2, refs2, frequent2 = _without(*_holders(index, extra, options.verify, qp, raw), exclude)
    check()
    all_fps = np.concatenate([fps, extra])
    frequent_all = np.concatenate([frequent, frequent2])
    # The candidates' share of the fingerprints held too widely to list their holders: members of them,
    # as of the scan's big lists.
    order = np.argsort(all_fps)
    sorted_fps = all_fps[order]
    held_pos, held_refs = [pos, pos2 + len(fps)], [refs, refs2]
    for ref, f in zip(partners.tolist(), own):
        at = order[np.searchsorted(sorted_fps, f)]
        wide = at[frequent_all[at]]
        held_pos.append(wide)
        held_refs.append(np.full(len(wide), ref, dtype=np.int64))
    found, context = _answer_step(
        index,
        art,
        row,
        options,
        all_fps,
        len(fps),
        np.concatenate(held_pos),
        np.concatenate(held_refs),
        frequent_all,
        tokens,
    )
    return _answer_of(art, row, options, found, context)


def _answer_of(art: Article, row: dict, options: ScanOptions, found: Found, context: _Step) -> Answer:
    """The answer phase 2's result (``found``, over ``context``) gives: the query, its pairs and its labels."""
    result = ScanResult.of(found, Subset(context.articles, found.docs), options)
    return Answer(art, row, result, int(np.searchsorted(found.docs, context.at)))


def _without(
    pos: np.ndarray, refs: np.ndarray, frequent: np.ndarray, exclude: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The holders (``pos``, ``refs``) but the indexed articles ``exclude``."""
    if exclude is None or not len(exclude) or not len(refs):
        return pos, refs, frequent
    keep = ~np.isin(refs, exclude)
    return pos[keep], refs[keep], frequent


@dataclass
class _Step:
    at: int  # the query's row in the table
    refs: np.ndarray  # the index's ref of each row (-1: the query)
    articles: _QueryArticles


def _answer_step(
    index: IndexBackend,
    art: Article,
    row: dict,
    options: ScanOptions,
    fps: np.ndarray,
    n_query: int,
    pos: np.ndarray,
    refs: np.ndarray,
    frequent: np.ndarray,
    tokens: Tokens3 | None = None,
) -> tuple[Found, _Step]:
    """Phase 2 over the query and the holders (``pos``, ``refs``) of fingerprints ``fps``, the query holding
    the first ``n_query``; ``frequent`` fingerprints are held by more indexed articles than were looked at:
    lists of the holders given (``_lists``'s ``apart``), boilerplate whatever else is found."""
    n_refs = _n_refs(index, refs)
    cand = _distinct(refs, n_refs)
    rows = index.rows(cand)
    # The query and its candidates in id order, as a scan numbers articles (so pairs are oriented as the
    # scan orients them); the query first among equal ids. Sorted here, not by polars (a sort of a few rows
    # costs it more than Python): stored ids are valid UTF-8, whose byte order is Python's code-point order.
    ids = rows["id"].to_list()
    order = sorted(range(len(ids)), key=ids.__getitem__)
    at = bisect.bisect_left([ids[i] for i in order], row["id"])
    perm = np.asarray([*order[:at], len(ids), *order[at:]], dtype=np.int64)
    if len(ids) <= FEW_ROWS:  # the rows as dicts; a frame only of the rows the answer keeps (``_RowTable``)
        dicts = [*rows.to_dicts(), row]
        table: DocTable = _RowTable([dicts[i] for i in perm.tolist()])
    else:
        both = pl.concat([rows, pl.DataFrame([row], schema=DOC_SCHEMA)], how="vertical_relaxed")
        table = DocTable(both.gather(pl.Series(perm)).select(list(DOC_SCHEMA)))
    row_refs = np.append(cand, -1)[perm]
    position = np.zeros(n_refs, dtype=np.int64)  # the row of each candidate, by ref
    position[row_refs[row_refs >= 0]] = np.flatnonzero(row_refs >= 0)
    query_fps = np.arange(n_query)
    lists, list_of = _lists(
        np.concatenate([pos, query_fps]),
        np.concatenate([position[refs], np.full(len(query_fps), at, dtype=np.int64)]),
        len(fps),
        frequent,
    )
    articles = _QueryArticles(art, index, row_refs, at, table.body_start, tokens)

    def boilerplate_of(mask: np.ndarray) -> Boilerplate:
        """As the scan has it: the flagged lists' fingerprints (with the frequent ones) and their holders."""
        in_boiler = (list_of >= 0) & mask[np.maximum(list_of, 0)]
        found = np.sort(fps[frequent | in_boiler])  # postings hold fingerprints: compared whole (0 bits dropped)
        return Boilerplate(found, 0, lists.holders(mask, len(table)))

    single = ScanOptions(**{**options.__dict__, "workers": 1})  # one article's answer: no worker processes
    return analyse_lists(
        articles,
        table=table,
        lists=lists,
        boilerplate_of=boilerplate_of,
        options=single,
        focus=[at],
        executor=_KeptChains(index, row_refs),
    ), _Step(at, row_refs, articles)


class _RowTable(DocTable):
    """A query's ``DocTable`` made from its rows as dicts (``DOC_SCHEMA``'s columns), the same columns as
    ``DocTable(pl.DataFrame(rows, schema=DOC_SCHEMA))`` gives, without that frame: phase 2 reads the per-article
    columns and, of a query's table, sites only (``site_codes``, from the dicts here); the frame is asked for by
    the answer, of the few rows it keeps (``take``), and made then from those alone. Building the frame of
    every candidate's row was ~1.5 ms of a query's CPU, for rows most of which the answer drops."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows
        self._frame, self._source = None, None
        self.ids = [r["id"] for r in rows]
        self.dates = [r["date"] for r in rows]
        self.sizes = np.asarray([r["n_shingles"] for r in rows], dtype=np.int64)
        self.content = np.asarray([r["content_hash"] for r in rows], dtype=np.uint64)
        self.has_text = np.asarray([r["has_text"] for r in rows], dtype=bool)
        self.cut = np.asarray([r["cut"] for r in rows], dtype=np.int64)
        self.body_start = np.asarray([r["body_start"] for r in rows], dtype=np.int64)
        self.chars = np.asarray([r["chars"] for r in rows], dtype=np.int64)

    @property
    def frame(self) -> pl.DataFrame:
        if self._frame is None:
            columns = {k: [r.get(k) for r in self._rows] for k in DOC_SCHEMA}
            self._frame = pl.DataFrame(columns, schema=DOC_SCHEMA)
        return self._frame

    def take(self, rows: np.ndarray) -> DocTable:
        return _RowTable([self._rows[r] for r in np.asarray(rows, dtype=np.int64).tolist()])

    def site_codes(self) -> np.ndarray:
        """As ``DocTable.site_codes`` gives it for a small table: an integer per distinct site in sorted order."""
        names = [r["site"] for r in self._rows]
        code = {s: k for k, s in enumerate(sorted({s for s in names if s is not None}), start=1)}
        return np.asarray([0 if s is None else code[s] for s in names], dtype=np.int64)


class _KeptChains:
    """Phase 2's steps run here, one after another (``Processes(1)``), but for the chains of two indexed
    articles with nothing yet boilerplate (verification's ``spread`` of a pair, ``phase2.pair_spread``): those
    depend on the two texts and the parameters only, so they are kept on the index handle by the pair's
    (shard, row)s across queries and snapshots. Text that recurs brings the same indexed pairs into query after
    query's neighbourhood (a few hundred articles around a common passage: a third of such a query's CPU)."""

    def __init__(self, index: IndexBackend, refs: np.ndarray) -> None:
        self._index, self._refs = index, refs  # the index's ref of each table row (-1: the query)

    def map(self, fn: Callable[[Any, Any], Any], context: Any, chunks: Sequence, label: Any = None) -> Any:
        if fn is not phase2._read_batch:
            return (fn(context, chunk) for chunk in chunks)
        return (self._read(fn, context, chunk) for chunk in chunks)

    def _read(self, fn: Callable[[Any, Any], Any], context: Any, batch: Any) -> list:
        from dataclasses import replace

        if batch.kind != "spread" or len(context.fingerprints) or not len(batch):
            return fn(context, batch)
        kept = _cache(self._index, "chains", CHAIN_LIMIT)
        ra, rb = self._refs[batch.a], self._refs[batch.b]
        both = (ra >= 0) & (rb >= 0)
        ka = _shard_rows(self._index, np.maximum(ra, 0))
        kb = _shard_rows(self._index, np.maximum(rb, 0))
        params = (context.k, repr(context.options.align))
        keys = [
            (params, x, y) if ok and x is not None and y is not None else None
            for ok, x, y in zip(both.tolist(), ka, kb)
        ]
        out = [kept.get(key) for key in keys]
        todo = [i for i, got in enumerate(out) if got is None]
        if todo:
            t = np.asarray(todo, dtype=np.int64)
            docs = set(batch.a[t].tolist()) | set(batch.b[t].tolist())
            rows = batch.rows
            sub = phase2.Rows(
                ids={d: rows.ids[d] for d in docs},
                dates={d: rows.dates[d] for d in docs},
                body_start={d: rows.body_start[d] for d in docs},
                chars={d: rows.chars[d] for d in docs},
            )
            found = fn(context, replace(batch, a=batch.a[t], b=batch.b[t], cut=batch.cut[t], rows=sub))
            for i, cover in zip(todo, found):
                out[i] = cover
                kept.put(keys[i], tuple(float(x) for x in cover), 1)
        return out


def _candidates(
    index: IndexBackend,
    row: dict,
    options: ScanOptions,
    fps: np.ndarray,
    pos: np.ndarray,
    refs: np.ndarray,
    frequent: np.ndarray,
) -> np.ndarray:
    """The indexed articles (refs) the scan would measure against the query: its candidate pairs from the
    posting lists of the query's fingerprints (``pair_evidence``, the scan's rule: small lists holding
    ``min_shared`` shingles together, big ones that can make a relation by themselves, exact copies)."""
    vp = options.verify
    cand = _distinct(refs, _n_refs(index, refs))  # np.unique's answer by marking, not sorting
    rows = index.rows(cand)
    # Numbered in id order, the query among them, as a scan numbers articles (a big list's star and chain
    # follow that order).
    ids = np.asarray([*rows["id"].to_list(), row["id"]], dtype=object)
    order = np.argsort(ids, kind="stable")
    number = np.empty(len(ids), dtype=np.int64)
    number[order] = np.arange(len(ids))
    at = int(number[-1])
    sizes = np.append(rows["n_shingles"].to_numpy().astype(np.int64), int(row["n_shingles"]))
    content = np.append(rows["content_hash"].to_numpy().astype(np.uint64), np.uint64(row["content_hash"]))
    has_text = np.append(rows["has_text"].to_numpy().astype(bool), bool(row["has_text"]))
    query_fps = np.arange(len(fps))
    lists, _ = _lists(
        np.concatenate([pos, query_fps]),
        np.concatenate([number[np.searchsorted(cand, refs)], np.full(len(query_fps), at, dtype=np.int64)]),
        len(fps),
        frequent,
    )
    sizes, content, has_text = sizes[order], content[order], has_text[order]
    ev = pair_evidence(
        lists,
        sizes,
        extra=exact_pairs(content, has_text),
        partial_min_shared=vp.partial_min_shared,
        link_share=vp.link_share,
        max_enumerate=vp.max_enumerate,
        workers=1,
        min_shared=vp.min_shared,
    )
    mine = ev.pairs[(ev.pairs == at).any(axis=1)]
    return np.sort(np.append(cand, -1)[order][np.unique(mine[mine != at])])


def _partner_fingerprints(index: IndexBackend, refs: np.ndarray, options: ScanOptions) -> list[np.ndarray]:
    """Each indexed article's distinct shingle fingerprints, from its tokens (``_tokens_of``). Kept on the index
    handle by (shard, row), which never changes (``dedup serve`` passes them to its next snapshot): text that
    recurs makes the same articles partners of query after query."""
    from ..phase1.shingle import shingle

    cache = _cache(index, "fingerprints", FINGERPRINT_LIMIT)
    keys = _shard_rows(index, refs)
    out = [cache.get(key) for key in keys]
    missing = [i for i, got in enumerate(out) if got is None]
    if missing:
        todo = refs[missing]
        body = index.rows(todo)["body_start"].to_numpy()
        found = _tokens_of(index, todo, lambda j: index.texts([int(todo[j])])[0], body)
        sh = shingle(_joined(found), options.k)
        for j, i in enumerate(missing):
            out[i] = np.unique(fingerprints(sh.hashes[sh.doc(j)]))
            cache.put(keys[i], out[i], len(out[i]))
    return out  # type: ignore[return-value]


Tokens3 = tuple[np.ndarray, np.ndarray, np.ndarray]  # one article's word tokens: hashes, starts, ends
FINGERPRINT_LIMIT = 8_000_000  # fingerprints kept by (shard, row) per index handle (about 64 MB)
TOKEN_LIMIT = 4_000_000  # tokens kept by (shard, row) per index handle (16 bytes each: about 64 MB)
LONG_PARTNER = 20_000  # fingerprints from which a partner's look-ups in the big shards are kept (``_partner_holders``)
HOLDER_LIMIT = 8_000_000  # holders kept for long partners per index handle (two int32 each: about 64 MB)
FEW_ROWS = 256  # candidates up to which the query's table is built from Python dicts rather than by polars
CHAIN_LIMIT = 100_000  # chains of pairs of indexed articles kept per index handle (``_KeptChains``; ~450 bytes each)
TEXT_LIMIT = 16_000_000  # characters of indexed texts (with their paragraphs) kept by (shard, row) per index handle
VOCABULARY_LIMIT = 2_000_000  # distinct tokens the query's tokeniser remembers before starting afresh


def _tokens_of(
    index: IndexBackend, refs: np.ndarray, text_of: Callable[[int], str], body_starts: np.ndarray
) -> list[Tokens3]:
    """The word tokens of articles ``refs`` (-1: not indexed, never kept) as ``phase1.normalise.tokenise`` gives
    them for their text (``text_of(j)``: the j-th's) from ``body_starts``: kept by (shard, row) on the index
    handle, and tokenised with a vocabulary kept there too, so a token seen by an earlier query is not
    normalised and hashed again. A query tokenises its neighbourhood once, where phase 2's steps each would."""
    from ..phase1.normalise import bodies, tokenise

    cache = _cache(index, "tokens", TOKEN_LIMIT)
    keys = _shard_rows(index, np.maximum(refs, 0))
    keys = [None if r < 0 else key for r, key in zip(refs.tolist(), keys)]
    out: list[Tokens3 | None] = []
    for key in keys:
        got = cache.get(key)
        out.append(None if got is None else (got[0], got[1].astype(np.int64), got[2].astype(np.int64)))
    missing = [i for i, got in enumerate(out) if got is None]
    if missing:
        texts = [text_of(i) for i in missing]
        tok = tokenise(bodies(texts, [int(body_starts[i]) for i in missing]), cache=_vocabulary(index))
        for j, i in enumerate(missing):
            t = tok.doc(j)
            h, a, b = tok.hashes[t], tok.starts[t].astype(np.int64), tok.ends[t].astype(np.int64)
            out[i] = (h, a, b)
            if keys[i] is not None:
                narrow = np.uint32 if len(texts[j]) < 2**32 else np.int64
                cache.put(keys[i], (h, a.astype(narrow), b.astype(narrow)), len(h))
    return out  # type: ignore[return-value]


def _joined(found: Sequence[Tokens3]) -> Any:
    """Articles' tokens (``_tokens_of``) as one ``Tokens`` batch."""
    from ..phase1.normalise import Tokens

    offsets = np.zeros(len(found) + 1, dtype=np.int64)
    np.cumsum([len(f[0]) for f in found], out=offsets[1:])
    empty_i, empty_u = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    return Tokens(
        offsets=offsets,
        starts=np.concatenate([empty_i, *(f[1] for f in found)]),
        ends=np.concatenate([empty_i, *(f[2] for f in found)]),
        hashes=np.concatenate([empty_u, *(f[0] for f in found)]),
    )


class ArticleCache:
    """Per-article values by (shard, row), up to ``limit`` units in all (then emptied). Read and filled by a
    server's reader threads at once: a ``get`` may miss what another thread just emptied."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 0
        self._data: dict[tuple[str, int], Any] = {}

    def get(self, key: tuple[str, int] | None) -> Any:
        return None if key is None else self._data.get(key)

    def put(self, key: tuple[str, int] | None, value: Any, size: int) -> None:
        if key is None:
            return
        if self.size + size > self.limit:
            self._data, self.size = {}, 0
        self._data[key] = value
        self.size += size


def _query_caches(index: IndexBackend) -> dict[str, Any]:
    """What queries keep on the index handle (``query_caches``: what ``dedup serve`` hands on to its next
    snapshot), made when first asked for."""
    caches = getattr(index, "query_caches", None)
    if caches is None:
        caches = {}
        index.query_caches = caches  # type: ignore[attr-defined]
    return caches


def _cache(index: IndexBackend, kind: str, limit: int) -> ArticleCache:
    """The index handle's cache ``kind`` (``_query_caches``)."""
    caches = _query_caches(index)
    if kind not in caches:
        caches[kind] = ArticleCache(limit)
    return caches[kind]


def _vocabulary(index: IndexBackend) -> Any:
    """The tokeniser's vocabulary kept on the index handle (``TokenCache``), started afresh past
    ``VOCABULARY_LIMIT`` distinct tokens."""
    from ..phase1.normalise import TokenCache

    caches = _query_caches(index)
    vocab = caches.get("vocabulary")
    if vocab is None or vocab.vocab.count > VOCABULARY_LIMIT:
        vocab = caches["vocabulary"] = TokenCache()
    return vocab


def _shard_rows(index: IndexBackend, refs: np.ndarray) -> list[tuple[str, int] | None]:
    """(shard name, row) of each ref, the name of an immutable shard; None where the index has no shards."""
    split = getattr(index, "_split", None)
    if split is None:
        return [None] * len(refs)
    ks, rows = split(refs)
    names = index.shard_names
    return [(names[k], r) for k, r in zip(ks.tolist(), rows.tolist())]


def _union(parts: list[np.ndarray]) -> np.ndarray:
    """The distinct values of sorted distinct arrays: one stable sort of their concatenation (it merges the
    runs) and the repeats dropped."""
    if not parts:
        return np.zeros(0, dtype=np.uint64)
    joined = np.sort(np.concatenate(parts), kind="stable")
    keep = np.ones(len(joined), dtype=bool)
    keep[1:] = joined[1:] != joined[:-1]
    return joined[keep]


def _not_in(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``values`` but those in the sorted array ``sorted_set``."""
    if not len(sorted_set) or not len(values):
        return values
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return values[sorted_set[at] != values]


@dataclass
class QueryResult:
    """Answers for the query articles, in the scan's JSON shape (``to_dict``)."""

    answers: list[Answer]
    skipped: list[Skipped]
    options: ScanOptions
    location: str
    timings: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """The scan's contract (its builder: ``ScanResult.to_dict``) per query article, concatenated: every
        document once (``indexed`` says which side it is on), clusters numbered across the answers with
        the ``query`` they answer, pairs with their ``query`` and ``indexed`` article. The query article comes
        first among an answer's documents."""
        from ..label import LABELS
        from ..version import __version__

        documents: list[dict] = []
        clusters: list[dict] = []
        pairs: list[dict] = []
        seen: set[tuple[bool, str]] = set()
        for ans in self.answers:
            query_id = shown(ans.article.id)
            if ans.result is None:
                docs = [_document(ans.row, ans.article, LABELS)]
                part: dict[str, Any] = {"clusters": [], "pairs": []}
            else:
                part = ans.result.contents()  # its meta is this answer's own, below
                docs = part["documents"]
                docs = [docs[ans.at], *docs[: ans.at], *docs[ans.at + 1 :]]
            base = len(clusters)
            for c in part["clusters"]:
                clusters.append({**c, "id": base + c["id"], "query": query_id})
            for row, doc in enumerate(docs):
                key = (row != 0, doc["id"])
                if key in seen:
                    continue
                seen.add(key)
                if doc.get("cluster") is not None:
                    doc["cluster"] += base
                documents.append({**doc, "indexed": row != 0})
            for p in part["pairs"]:
                other = p["b"] if p["a"] == query_id else p["a"]
                pairs.append({**p, "query": query_id, "indexed": other})
        return {
            "meta": {
                "dedup_version": __version__,
                "index": shown(self.location),
                "parameters": _parameters(self.options),
                "inputs": {
                    "articles": len(self.answers),
                    "skipped": [{"path": shown(s.path), "reason": s.reason} for s in self.skipped],
                },
                "timings": {k: round(v, 3) for k, v in self.timings.items()},
            },
            "documents": documents,
            "clusters": clusters,
            "pairs": pairs,
        }


_FLAT: list[tuple[ScanOptions, dict[str, Any]]] = []  # the last options flattened (a server's are always the same)


def _parameters(options: ScanOptions) -> dict[str, Any]:
    """``flatten(options)`` (the answer's ``meta.parameters``), flattened once per options object (a frozen
    dataclass: ~0.2 ms a query to walk its fields again), a fresh dict with fresh lists each time."""
    last = _FLAT[-1] if _FLAT else None
    if last is None or last[0] is not options:
        last = (options, flatten(options))
        _FLAT[:] = [last]
    return {k: list(v) if isinstance(v, list) else v for k, v in last[1].items()}


def _document(row: dict, article: Article, labels: Sequence[str]) -> dict[str, Any]:
    """A query article that shares nothing, as the contract lists a document: every paragraph original."""
    return {
        "id": stored_name(row["id"]),
        "path": stored_name(row["path"]),
        "chars": row["chars"],
        "bytes": row["bytes"],
        "date": row["date"],
        "cluster": None,
        "role": None,
        "title": row["title"],
        "url": row["url"],
        "site": row["site"],
        "encoding": row["encoding"],
        "paragraphs": [{"start": s, "end": e, "label": labels[2]} for s, e in article.paragraphs],
    }


def query_articles(
    index: IndexBackend,
    articles: Sequence[Article],
    options: ScanOptions,
    params: QueryParams | None = None,
    exclude_same_id: bool = False,
) -> QueryResult:
    """In-memory articles against the index (see the module docstring), phase 1 batch by batch.
    ``exclude_same_id``: leave out the indexed article with the query's own id (an indexed article asked
    about itself: its relations to the others, as ``dedup serve``'s article page shows them)."""
    check_params(index, options)
    params = params or QueryParams()
    t = time.perf_counter()
    answers: list[Answer] = []
    for lo in range(0, len(articles), options.batch_docs):
        batch = list(articles[lo : lo + options.batch_docs])
        check()
        # The vocabulary kept on the handle (as for the indexed articles' tokens): a query's common words
        # were normalised and hashed by an earlier query.
        data = extract_with(batch, options, cache=_vocabulary(index))
        check()
        order = np.argsort(data.posting_docs, kind="stable")  # by article, fingerprints still sorted
        fps_all = data.postings[order]
        bounds = np.searchsorted(data.posting_docs[order], np.arange(len(batch) + 1))
        rows = _row_dicts(data.docs, len(batch))
        for i, art in enumerate(batch):
            fps = np.ascontiguousarray(fps_all[bounds[i] : bounds[i + 1]])
            exclude = index._live_refs(index.resolve([art.id]))[1] if exclude_same_id else None  # type: ignore[attr-defined]
            answers.append(_answer(index, art, fps, rows[i], options, params, exclude, _own_tokens(data, i)))
    return QueryResult(answers, [], options, index.location, {"query": time.perf_counter() - t})


def _row_dicts(docs: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Phase 1's per-article columns (lists, numpy arrays) as one dict of Python values a row, as
    ``pl.DataFrame(docs).to_dicts()`` gives them, without building the frame (a query's one row)."""
    columns = {k: v.tolist() if isinstance(v, np.ndarray) else list(v) for k, v in docs.items()}
    return [{k: v[i] for k, v in columns.items()} for i in range(n)]


def _own_tokens(data: Any, i: int) -> Tokens3 | None:
    """Article ``i``'s word tokens as phase 1 kept them (``keep_tokens``; phase 1 keeps none for a long text,
    tokenised piece by piece), as ``tokenise`` gives them; None where it kept none."""
    offsets = getattr(data, "token_offsets", None)
    if offsets is None or data.token_hashes is None or data.token_spans is None:
        return None
    text = data.texts[i]
    if not isinstance(text, str) or len(text) > LONG_CHARS:  # phase 1 tokenised it apart, keeping none
        return None
    a, b = int(offsets[i]), int(offsets[i + 1])
    spans = np.asarray(data.token_spans[a:b], dtype=np.int64)
    return data.token_hashes[a:b], spans[:, 0].copy(), spans[:, 1].copy()


def query(
    index: IndexBackend,
    sources: Sequence[str | os.PathLike[str]],
    options: ScanOptions,
    params: QueryParams | None = None,
) -> QueryResult:
    """Every article under ``sources`` against the index."""
    check_params(index, options)
    t = time.perf_counter()
    articles, skipped = read_sources(sources, options)
    t_read = time.perf_counter() - t
    result = query_articles(index, articles, options, params)
    result.skipped = skipped
    result.timings = {"read": t_read, **result.timings}
    return result


# ---------------------------------------------------------------------------------------------- scan with an index


def scan_with_index(
    folder: str | os.PathLike[str],
    index: IndexBackend,
    options: ScanOptions,
    report: Progress | None = None,
    executor: Executor | None = None,
) -> ScanResult:
    """``scan`` of a folder together with every article of an index: the folder's articles come first, then
    the indexed ones; pairs, clusters and boilerplate are the scan's over both. A Redis index is read
    from its local cache, fetched first where it lacks shards. ``executor``: as ``scan``'s."""
    check_params(index, options)
    index.refresh()
    if index.removed and any(index.removed.values()):
        raise StoreError(f"{index.location}: has removed articles not compacted yet; run 'dedup index compact' first")
    return scan(folder, options, report, extra=(index.root, index.shard_names), executor=executor, known=_known(index))


def _known(index: IndexBackend) -> Callable[[FeatureStore, list[str]], list[str]]:
    """For ``scan``: its shards rewritten without the articles the index holds already (same id, same
    content), so an article both in the folder and in the index is one document, the indexed one. An
    article whose id the index holds with other content is another version: both are scanned."""

    def without_indexed(fs: FeatureStore, names: list[str]) -> list[str]:
        from .merge import merge_into

        out = []
        for name in names:
            shard = fs.shard(name)
            live = index.live_hashes(shard.docs["id"].to_list())
            if not live:
                out.append(name)
                continue
            keep = np.asarray(
                [live.get(d) != h for d, h in zip(shard.docs["id"].to_list(), shard.docs["content_hash"].to_list())]
            )
            if keep.all():
                out.append(name)
            elif keep.any():
                staged = merge_into([shard], [keep], fs.root, name + "-new")
                os.replace(staged, fs.root / "shards" / (name + "-new"))
                out.append(name + "-new")
        return out

    return without_indexed
