"""Phase 2: pairs, clusters, passages and labels from posting lists.

One implementation for a scan, a scan with an index, and an index query: a query is this phase on a
corpus of one (the query article) plus the indexed articles that share text with it, ``focus``-ed on
the query's own pairs. What differs between them is only where the posting lists come from (the
store's postings sorted partition by partition, or an index's look-ups) and where texts are read from
(``Articles``).

Its steps, each one module, named here once:

1. ``candidates``: the posting lists of the store, or LSH's candidate pairs and what they share;
2. ``evidence``: each candidate pair and the lists it shares;
3. ``verify``: measures, relations and boilerplate;
4. ``cluster``: clusters and their sources;
5. ``align``: shared passages, and 6. ``label``: a label per paragraph; for these two only the articles in
   pairs or holding boilerplate are re-read, batch by batch, batches side by side on an ``Executor``
   (worker processes here, or a cluster's tasks). Results depend only on the
input, not on workers, tasks or batch sizes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import polars as pl

from .align import Side, align_batch, spread_cover, template_like
from .arrays import run_index
from .cluster import Clusters, Members, cluster, components, rank, roles, with_versions
from .corpus import Corpus
from .direction import FEATURES, cluster_sources, compare_dates, pair_directions, parse_when, positions
from .evidence import Evidence, Lists, give_back_heap, pair_evidence
from .label import FingerprintSet, boiler_rows, label_batch
from .options import AlignParams, LabelParams, Progress, ScanOptions
from .output.kept import Groups, PairFiles, Roles, part_bounds
from .phase1.features import fingerprints
from .phase1.normalise import Tokens, bodies, tokenise
from .phase1.shingle import shingle
from .verify import CLUSTERING, DocInfo, exact_pairs, verify
from .workers import Executor, Processes


class ResultParts(Protocol):
    """Where a cluster's scan keeps its result's parts (``distributed.table.ResultParts``): the label tasks' files,
    the passages by align batch."""

    folder: str

    def add(self, first: int, last: int) -> None: ...

    def labels(self, para_offsets: np.ndarray, whole: np.ndarray) -> np.ndarray: ...

    def keep(self, name: str, values: np.ndarray) -> np.ndarray: ...

    def passages(self, pairs: int) -> PassageParts: ...


class PassageParts(Protocol):
    """The passages of a cluster's pairs as align's batches come back (``distributed.table.PassageParts``)."""

    def add(self, rows: np.ndarray, offsets: np.ndarray, found: np.ndarray) -> None: ...

    def done(self, keep: np.ndarray | None) -> Sequence[np.ndarray]: ...


class Articles(Protocol):
    """Where phase 2 reads an article's text and paragraph spans (a feature store, or a query's articles).
    One may also have ``tokens(docs)``: those articles' stored tokens, (hashes, starts, ends) or None each
    (``Loaded``)."""

    def text(self, i: int) -> str: ...

    def paragraphs(self, i: int) -> np.ndarray: ...


SMALL_TABLE = 20_000  # rows up to which ``site_codes`` sorts in Python (a query's table): polars' rank of strings is
# slower at every size measured (0.32 against 0.16 ms at 800 rows), but a scan's millions stay out of Python lists


class DocTable:
    """What phase 2 keeps per article, in global order (a few numbers each, plus id and path)."""

    def __init__(self, docs: pl.DataFrame) -> None:
        self._frame: pl.DataFrame | None = docs
        self._source: tuple[pl.DataFrame, np.ndarray] | None = None  # ``take``'s: (frame, rows) gathered when asked
        self.ids: list[str] = docs["id"].to_list()
        self.dates: list[str | None] = docs["date"].to_list()
        self.sizes = docs["n_shingles"].to_numpy().astype(np.int64)
        self.content = docs["content_hash"].to_numpy().astype(np.uint64)
        self.has_text = docs["has_text"].to_numpy().astype(bool)
        self.cut = docs["cut"].to_numpy().astype(np.int64)
        self.body_start = docs["body_start"].to_numpy().astype(np.int64)
        self.chars = docs["chars"].to_numpy()

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def frame(self) -> pl.DataFrame:
        """The articles' rows (a ``take``'s gathered from its source table's the first time they are asked for)."""
        if self._frame is None:
            assert self._source is not None
            source, rows = self._source
            self._frame, self._source = source[rows], None
        return self._frame

    def take(self, rows: np.ndarray) -> DocTable:
        """The table of the articles ``rows`` (indices into this one), in that order: the per-article arrays
        indexed here, the frame gathered only when asked for (a query narrows its table twice, focus then
        answer, and only the last one's frame is read: one polars gather instead of two plus ~10 column reads)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = DocTable.__new__(DocTable)
        if self._frame is not None:
            out._frame, out._source = None, (self._frame, rows)
        else:
            assert self._source is not None
            out._frame, out._source = None, (self._source[0], self._source[1][rows])
        at = rows.tolist()
        out.ids = [self.ids[r] for r in at]
        out.dates = [self.dates[r] for r in at]
        for name in ("sizes", "content", "has_text", "cut", "body_start", "chars"):
            setattr(out, name, getattr(self, name)[rows])
        return out

    def site_codes(self) -> np.ndarray:
        """An integer per distinct site (0: not known). Folders do not stand for sites: they are as
        often dates or sections, and a site's template spread over them must stay one site's."""
        site = self.frame["site"]
        if len(site) <= SMALL_TABLE:  # a query's rows: Python's sort of the distinct sites
            names = site.to_list()
            code = {s: k for k, s in enumerate(sorted({s for s in names if s is not None}), start=1)}
            return np.asarray([0 if s is None else code[s] for s in names], dtype=np.int64)
        return np.where(site.is_null().to_numpy(), 0, site.rank("dense").fill_null(0).to_numpy()).astype(np.int64)


class Loaded:
    """Some articles' tokens and shingles, and the map from global index to their rows; with ``texts``,
    also a small ``Corpus`` of their texts and paragraphs (passages need them, labels do not).

    Tokens are those phase 1 stored (``tokens(i)`` of the articles, when they have it); only an article
    without stored tokens (a very long one, an older store's) has its text read and tokenised again.
    ``table``: the per-article table, or a batch's ``Rows`` of it (a task's).
    """

    def __init__(
        self,
        articles: Articles,
        table: DocTable | Rows,
        docs: Sequence[int],
        k: int,
        threads: int | None = None,
        texts: bool = True,
    ) -> None:
        self.pos = {d: r for r, d in enumerate(docs)}
        read = _bulk(articles, "texts_of", "text", docs) if texts else None
        flat = _stored_flat(articles, docs)
        if flat is not None:  # every article's stored tokens, end to end as they are read: no array an article
            hashes, starts, ends, counts = flat
            offsets = np.zeros(len(docs) + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            self.tokens = Tokens(offsets=offsets, starts=starts, ends=ends, hashes=hashes)
        else:
            self.tokens = _tokens_of(articles, table, docs, read, threads)
        self.shingles = shingle(self.tokens, k)
        self.corpus: Corpus | None = None
        if read is not None:
            spans = _bulk(articles, "paragraphs_of", "paragraphs", docs)
            paras = [np.asarray(p, dtype=np.int64).reshape(-1, 2) for p in spans]
            para_offsets = np.zeros(len(docs) + 1, dtype=np.int64)
            np.cumsum([len(p) for p in paras], out=para_offsets[1:])
            flat = np.concatenate(paras) if paras else np.zeros((0, 2), dtype=np.int64)
            self.corpus = Corpus(
                ids=[table.ids[d] for d in docs],
                paths=[table.ids[d] for d in docs],
                texts=read,
                dates=[table.dates[d] for d in docs],
                para_offsets=para_offsets,
                para_starts=flat[:, 0].astype(np.int64),
                para_ends=flat[:, 1].astype(np.int64),
                body_starts=np.asarray([int(table.body_start[d]) for d in docs], dtype=np.int64),
            )


def _stored_flat(
    articles: Articles, docs: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The stored tokens of articles ``docs`` end to end (``FeatureStore.tokens_flat``), where the articles are a
    store's, ``docs`` ascend and every one of them has stored tokens; else None (``_tokens_of`` takes them)."""
    read = getattr(articles, "tokens_flat", None)
    if read is None or not len(docs):
        return None
    asked = np.asarray(docs, dtype=np.int64)
    if len(asked) > 1 and not bool((asked[1:] > asked[:-1]).all()):
        return None
    flat = read(asked)
    if flat is None or not bool((flat[3] > 0).all()):  # an article without stored tokens is tokenised again
        return None
    return flat


def _tokens_of(
    articles: Articles, table: DocTable | Rows, docs: Sequence[int], read: list[str] | None, threads: int | None
) -> Tokens:
    """The tokens of articles ``docs`` one after the other: each one's stored tokens (``tokens(i)``), or its text
    (``read``, else read here) tokenised again where it has none."""
    stored = getattr(articles, "tokens", None)
    found = stored(list(docs)) if stored is not None else [None] * len(docs)
    again = [r for r, f in enumerate(found) if f is None]
    if again:
        body = [int(table.body_start[docs[r]]) for r in again]
        tokenised = tokenise(
            bodies([read[r] if read is not None else articles.text(docs[r]) for r in again], body),
            threads=threads,
        )
        for j, r in enumerate(again):
            t = tokenised.doc(j)
            found[r] = (tokenised.hashes[t], tokenised.starts[t], tokenised.ends[t])
    counts = [len(f[0]) for f in found]
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    empty_i, empty_u = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    return Tokens(
        offsets=offsets,
        starts=np.concatenate([empty_i, *(f[1] for f in found)]).astype(np.int64),
        ends=np.concatenate([empty_i, *(f[2] for f in found)]).astype(np.int64),
        hashes=np.concatenate([empty_u, *(f[0] for f in found)]),
    )


FEW_PAIRS = 4096  # pairs up to which ``relation_in`` tests in Python (a query's neighbourhood): polars' ``is_in``
# costs ~100 µs a call on any size, Python ~0.1 µs a row


def relation_in(pairs: pl.DataFrame, relations: Collection[str]) -> np.ndarray:
    """Bool per pair: its ``relation`` is one of ``relations`` (``is_in``; in Python for a few pairs)."""
    if pairs.height <= FEW_PAIRS:
        wanted = set(relations)
        return np.fromiter((r in wanted for r in pairs["relation"].to_list()), dtype=bool, count=pairs.height)
    return pairs["relation"].is_in(list(relations)).to_numpy()


def with_series(frame: pl.DataFrame, **columns: pl.Series | np.ndarray) -> pl.DataFrame:
    """``frame.with_columns(**columns)`` for whole columns of its height (Series, or arrays made Series as
    ``pl.Series`` makes them), done eagerly: an existing column replaced where it is, a new one appended, in
    that order, as ``with_columns`` does, without its lazy plan (~50 µs a call, most of a query's few rows)."""
    out = frame.clone()  # shallow: the columns are shared, not copied
    for name, values in columns.items():
        column = (values if isinstance(values, pl.Series) else pl.Series(values)).alias(name)
        if name in out.columns:
            out.replace_column(out.get_column_index(name), column)
        else:
            out.hstack([column], in_place=True)
    return out


def _bulk(articles: Articles, many: str, one: str, docs: Sequence[int]) -> list:
    """``articles.<many>(docs)`` where the articles read many at once (a feature store: ``texts_of``,
    ``paragraphs_of``), else ``articles.<one>(d)`` of each."""
    read = getattr(articles, many, None)
    if read is not None:
        return read(list(docs))
    single = getattr(articles, one)
    return [single(d) for d in docs]


@dataclass
class Boilerplate:
    """What the boilerplate lists come to: their fingerprints (sorted, ``bits`` low bits dropped, as a
    shingle's hash is compared with them) and which articles hold any."""

    fingerprints: np.ndarray
    bits: int
    holders: np.ndarray  # bool per article


@dataclass
class Found:
    """Everything phase 2 found, over ``table``'s articles (with ``focus``: the focus and its partners)."""

    table: DocTable
    docs: np.ndarray  # the global article of each row of ``table``
    pairs: pl.DataFrame | PairFiles  # rows of ``table``: a, b and the measures (a cluster's: in the store, by part)
    clusters: Clusters
    passages: Sequence[np.ndarray]  # per row of ``pairs``: (a_start, a_end, b_start, b_end) rows
    labels: np.ndarray  # label code per paragraph, in ``para_offsets`` order (a cluster's: ``StoredLabels``)
    para_offsets: np.ndarray
    boilerplate: Boilerplate
    candidates: int
    timings: dict[str, float]


class Subset:
    """The articles ``docs`` of ``articles``, renumbered from 0."""

    def __init__(self, articles: Articles, docs: np.ndarray) -> None:
        self._articles, self._docs = articles, docs

    def __len__(self) -> int:
        return len(self._docs)

    def text(self, i: int) -> str:
        return self._articles.text(int(self._docs[i]))

    def paragraphs(self, i: int) -> np.ndarray:
        return self._articles.paragraphs(int(self._docs[i]))

    def texts_of(self, docs: Sequence[int]) -> list[str]:
        return _bulk(self._articles, "texts_of", "text", self._docs[np.asarray(docs, dtype=np.int64)].tolist())

    def paragraphs_of(self, docs: Sequence[int]) -> list[np.ndarray]:
        at = self._docs[np.asarray(docs, dtype=np.int64)].tolist()
        return _bulk(self._articles, "paragraphs_of", "paragraphs", at)

    def tokens(self, docs: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        stored = getattr(self._articles, "tokens", None)
        return stored(self._docs[np.asarray(docs, dtype=np.int64)].tolist()) if stored else [None] * len(docs)


@dataclass
class Matched:
    """Pairs verified over ``table``'s articles (with ``focus``: the focus and its partners, renumbered)."""

    articles: Articles
    table: DocTable
    docs: np.ndarray  # the global article of each row of ``table``
    pairs: pl.DataFrame
    syndicated: np.ndarray
    excerpt: np.ndarray
    site: np.ndarray
    boilerplate: Boilerplate
    candidates: int
    answer: np.ndarray | None = None  # with ``focus``: the rows of the focus and its partners


def match(
    articles: Articles,
    table: DocTable,
    lists: Lists,
    boilerplate_of: Callable[[np.ndarray], Boilerplate],
    options: ScanOptions,
    focus: Sequence[int] | None = None,
    evidence: Evidence | None = None,
    executor: Executor | None = None,
) -> Matched:
    """Evidence and verification: the related pairs of ``table``'s articles, given their posting lists.

    ``boilerplate_of(mask)``: the fingerprints and holders of the lists flagged boilerplate. ``focus``: keep
    only the pairs of these articles (a query), over them and their partners. ``evidence``: the candidate
    pairs and the lists each shares when already known (``candidates``, LSH mode); else from the lists.
    ``executor``: where verification's reads of articles run (``_read_pairs``; default: here)."""
    k, vp = options.k, options.verify
    ev = evidence
    if ev is None:
        exact = exact_pairs(table.content, table.has_text)
        workers = options.workers or os.cpu_count() or 1
        ev = pair_evidence(
            lists,
            table.sizes,
            extra=exact,
            partial_min_shared=vp.partial_min_shared,
            link_share=vp.link_share,
            max_enumerate=vp.max_enumerate,
            workers=workers,
            min_shared=vp.min_shared,
        )
        if focus is None:  # a query's few pairs free little, and a server's heap is big: trimming it cost ~0.3 ms
            give_back_heap()  # its enumeration's temporaries, freed: not held through verification, align and label

    run = executor or Processes(1)  # the reads below: in batches of articles, on the executor's tasks

    def tail_in(e: np.ndarray, o: np.ndarray) -> np.ndarray:
        """Per (excerpt, other) pair: ``_tail_in``."""
        return np.asarray(_read_pairs(run, "tail", _ReadContext(articles, k, options), table, e, o), dtype=bool)

    def runs_in(items: np.ndarray, others: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """Per (item, other) pair: ``_runs_in``."""
        return _read_pairs(run, "runs", _ReadContext(articles, k, options), table, items, others)

    boiler_memo: list = []

    def boiler_once(mask: np.ndarray) -> Boilerplate:
        """``boilerplate_of``, asked once per mask (a scan's may be asked only once: it frees its spill)."""
        if not boiler_memo or not np.array_equal(boiler_memo[0], mask):
            boiler_memo[:] = [mask.copy(), boilerplate_of(mask)]
        return boiler_memo[1]

    def spread(pairs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``align.spread_cover`` of each pair, boilerplate aside (``_spread_of``)."""
        # Nothing flagged yet (before boilerplate is sought): no fingerprints to leave out, and the spill that
        # lists them is kept for the real question.
        boiler = boiler_once(mask) if mask.any() else None
        fps, bits = (boiler.fingerprints, boiler.bits) if boiler is not None else (np.zeros(0, np.uint64), 0)
        context = _ReadContext(articles, k, options, fps, bits)
        covers = _read_pairs(run, "spread", context, table, pairs[:, 0], pairs[:, 1])
        return np.asarray(covers, dtype=np.float64).reshape(len(pairs), 2)

    site = table.site_codes()
    info = DocInfo(table.sizes, table.content, table.has_text, table.cut >= 0, tail_in, site, runs_in, spread)
    verified = verify(lists, ev, info, vp)
    boiler = boiler_once(verified.boilerplate)
    if focus is None:  # as above: a scan's, not a query's
        give_back_heap()  # verification's per-pair temporaries and the boilerplate's look-ups, freed before align
    found = Matched(
        articles,
        table,
        np.arange(len(table), dtype=np.int64),
        verified.pairs,
        verified.syndicated,
        table.cut >= 0,
        site,
        boiler,
        len(ev) if hasattr(ev, "parts") else len(ev.pairs),  # partitioned evidence: pairs counted, not held
    )
    if focus is None:
        return found
    # A query: its pairs, and the pairs that link the members of its clusters (which one is the source is
    # decided over all of them, as in a scan), over it, its partners and those members.
    wanted = np.asarray(focus, dtype=np.int64)
    a, b = found.pairs["a"].to_numpy(), found.pairs["b"].to_numpy()
    touch = np.isin(a, wanted) | np.isin(b, wanted)
    link = relation_in(found.pairs, CLUSTERING)
    comp = components(len(table), np.stack([a[link], b[link]], axis=1))
    mine = np.isin(comp, comp[wanted])
    kept = np.flatnonzero(touch | (link & mine[a] & mine[b]))
    docs = np.unique(np.concatenate([wanted, a[kept], b[kept]]))
    answer = np.unique(np.concatenate([wanted, a[touch], b[touch]]))
    # Renumbered by a search of the sorted ``docs`` (each side is in it), the columns replaced eagerly: a
    # query's few rows, where polars' lazy ``filter``/``with_columns``/``replace_strict`` cost ~50-100 µs a call.
    return Matched(
        Subset(articles, docs),
        table.take(docs),
        docs,
        with_series(found.pairs[kept], a=np.searchsorted(docs, a[kept]), b=np.searchsorted(docs, b[kept])),
        found.syndicated[docs],
        found.excerpt[docs],
        site[docs],
        Boilerplate(boiler.fingerprints, boiler.bits, boiler.holders[docs]),
        found.candidates,
        np.searchsorted(docs, answer),
    )


def analyse_lists(
    articles: Articles,
    table: DocTable,
    lists: Lists,
    boilerplate_of: Callable[[np.ndarray], Boilerplate],
    options: ScanOptions,
    report: Progress | None = None,
    focus: Sequence[int] | None = None,
    para_offsets: np.ndarray | None = None,
    executor: Executor | None = None,
    evidence: Evidence | None = None,
) -> Found:
    """Phase 2 over ``table``'s articles, given their posting lists: ``match``, then clusters, passages and
    labels. ``para_offsets``: CSR offsets of every article's paragraphs when known (a store), else read per
    article. Align and label run in batches on ``executor`` (default: worker processes here). ``evidence``: as
    for ``match``."""
    report = report or (lambda phase, done, total: None)
    executor = executor or Processes(options.workers)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    m = match(articles, table, lists, boilerplate_of, options, focus, evidence, executor)
    articles, table, pairs, boiler, docs = m.articles, m.table, m.pairs, m.boilerplate, m.docs
    # A cluster's table: the result's parts that tasks write, and its boilerplate fingerprints, go to the store
    # (``distributed.table.ResultParts``); the driver keeps where they are, and each task maps what it uses.
    parts = table.result_parts() if hasattr(table, "result_parts") else None
    if parts is not None:
        table.matched()  # what only verification needed of the table, let go
        kept = parts.keep("boilerplate", boiler.fingerprints)
        boiler = m.boilerplate = Boilerplate(kept, boiler.bits, boiler.holders)
    connect = getattr(executor, "components", None)  # a cluster's executor: components by a tree of tasks
    labels = None
    if callable(connect):
        link = relation_in(pairs, CLUSTERING)
        labels = connect(len(table), np.stack([pairs["a"].to_numpy()[link], pairs["b"].to_numpy()[link]], axis=1))
    # A cluster's table (rows by article partition): the members are ranked by ``_directions``' tasks, which read
    # their ids and dates; the driver never holds them.
    ranked: DocTable | Members = _Unranked(len(table)) if hasattr(table, "stored_rows") else table
    clusters = cluster(ranked, pairs, CLUSTERING, m.syndicated, m.excerpt, m.site, labels)
    timings["match"] = time.perf_counter() - t

    t = time.perf_counter()
    pairs, passages, features = _align(articles, table, pairs, clusters, options, report, executor, parts)
    pairs, clusters = _directions(
        table, pairs, features, clusters, m.excerpt, m.site, executor, options.batch_docs, m.syndicated
    )
    del features  # in ``pairs``' position columns now: not held through label (80 bytes a pair)
    if m.answer is not None:  # a query: the focus, its partners and its cluster's source, nothing more
        para_offsets = None
        sources = [clusters.sources[c] for c in clusters.cluster[m.answer].tolist() if c >= 0]
        keep = np.union1d(m.answer, np.asarray(sources, dtype=np.int64))
        focus_rows = np.searchsorted(keep, np.searchsorted(m.docs, np.asarray(focus, dtype=np.int64)))
        articles, table, pairs, passages, clusters = _restrict(
            articles, table, pairs, passages, clusters, keep, focus_rows
        )
        boiler = Boilerplate(boiler.fingerprints, boiler.bits, boiler.holders[keep])
        docs = docs[keep]
    timings["align"] = time.perf_counter() - t

    t = time.perf_counter()
    if para_offsets is None:
        para_offsets = np.zeros(len(table) + 1, dtype=np.int64)
        np.cumsum([len(articles.paragraphs(d)) for d in range(len(table))], out=para_offsets[1:])
    if parts is not None:  # a cluster's: the kept pairs and the clusters' lists to the store, read there from now on
        pairs, clusters = _keep(parts, pairs, clusters)
        m.pairs = m.pairs.clear()  # verification's frame, whose columns the kept pairs' shared: let go as well
        give_back_heap()
    labels = _label(articles, table, pairs, passages, clusters, boiler, para_offsets, options, report, executor, parts)
    timings["label"] = time.perf_counter() - t
    return Found(table, docs, pairs, clusters, passages, labels, para_offsets, boiler, m.candidates, timings)


def _restrict(
    articles: Articles,
    table: DocTable,
    pairs: pl.DataFrame,
    passages: list[np.ndarray],
    clusters: Clusters,
    keep: np.ndarray,
    focus: np.ndarray,
) -> tuple[Articles, DocTable, pl.DataFrame, list[np.ndarray], Clusters]:
    """The rows ``keep`` (ascending) of a query's articles, renumbered from 0: their table, the pairs of the
    ``focus`` (rows of ``keep``) with their passages, and the clusters as found over every row (sources,
    roles and directions unchanged), their members among them."""
    new = np.full(len(table), -1, dtype=np.int64)
    new[keep] = np.arange(len(keep))
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    both = (new[a] >= 0) & (new[b] >= 0) & (np.isin(new[a], focus) | np.isin(new[b], focus))
    passages = [passages[r] for r in np.flatnonzero(both).tolist()]
    pairs = with_series(pairs[np.flatnonzero(both)], a=new[a[both]], b=new[b[both]])
    used = sorted({int(c) for c in clusters.cluster[keep].tolist() if c >= 0})
    renumber = {c: k for k, c in enumerate(used)}

    def members(groups: list[list[int]]) -> list[list[int]]:
        groups = groups or [[] for _ in clusters.sources]
        return [[int(new[d]) for d in groups[c] if new[d] >= 0] for c in used]

    restricted = Clusters(
        cluster=np.asarray([renumber.get(int(c), -1) for c in clusters.cluster[keep].tolist()], dtype=np.int64),
        role=[clusters.role[d] for d in keep.tolist()],
        sources=[int(new[clusters.sources[c]]) for c in used],
        members=members(clusters.members),
        versions=members(clusters.versions),
        ranked=members(clusters.ranked),
        known=[clusters.known[c] for c in used] if clusters.known else [],
        same_text=None if clusters.same_text is None else clusters.same_text[keep],
    )
    return Subset(articles, keep), table.take(keep), pairs, passages, restricted


# ------------------------------------------------------------------------------ verification's reads


@dataclass
class _ReadContext:
    """What the tasks of one of verification's reads share: where texts are read, the parameters and, for the
    chains (``spread``), the boilerplate fingerprints to leave out (sorted, ``bits`` low bits dropped)."""

    articles: Articles
    k: int
    options: ScanOptions
    fingerprints: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    bits: int = 0


@dataclass
class _ReadBatch:
    """One task of verification's reads: what to look at (``tail``, ``runs``, ``spread``), its pairs (global
    articles ``a``, ``b``; for ``tail`` the excerpts and their cuts) and the table rows of those articles."""

    kind: str
    a: np.ndarray
    b: np.ndarray
    cut: np.ndarray
    rows: Rows

    def __len__(self) -> int:
        return len(self.a)


READ_SPLIT_PAIRS = 256  # a single batch of verification's reads of at least this many pairs runs on every worker


def _read_pairs(
    executor: Executor, kind: str, context: _ReadContext, table: DocTable, a: np.ndarray, b: np.ndarray
) -> list:
    """``_read_batch`` over the pairs (a[k], b[k]) in batches of the articles they involve, side by side on
    ``executor``: each task reads only its batch's articles (its table rows are sent, never the table), so
    verification's per-pair reads leave the process that verifies. Results in the pairs' order, whatever the
    batches."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if not len(a):
        return []
    opts = context.options
    # Batches as align's (each reads its articles once): a small corpus's reads are one batch, run here.
    order = np.arange(len(a))
    chunks = list(_pair_batches(order, a, b, table.chars, opts.batch_docs, opts.batch_chars))
    # One batch would run here, on one core, while a scan's kept workers wait: split in one part a worker, side
    # by side (an article two parts share is read by both). Pairs enough to be worth a task each only.
    ways = executor.workers if isinstance(executor, Processes) and executor.pool is not None else 1
    if len(chunks) == 1 and ways > 1 and len(a) >= READ_SPLIT_PAIRS:
        chunks = [part for part in np.array_split(chunks[0], ways) if len(part)]

    def batch(rows: np.ndarray) -> _ReadBatch:
        docs = np.unique(np.concatenate([a[rows], b[rows]]))
        return _ReadBatch(kind, a[rows], b[rows], table.cut[a[rows]], Rows.of(table, docs))

    out: list = []
    for found in executor.map(_read_batch, context, _Lazy(chunks, batch), label=_read_label):
        out.extend(found)
    return out


def _read_label(batch: _ReadBatch) -> str:
    what = {"tail": "excerpts' tails", "runs": "short items' runs", "spread": "chains"}[batch.kind]
    return f"verifying the {what} of a batch of {len(batch)} pairs"


def _read_batch(c: _ReadContext, batch: _ReadBatch) -> list:
    """The look of ``batch.kind`` at each pair of the batch, its articles read once: ``_tail_in`` (a bool),
    ``_runs_in`` ((runs, shingles)) or ``pair_spread`` (the two covers)."""
    loaded = Loaded(c.articles, batch.rows, sorted(batch.rows.ids), c.k, threads=1, texts=batch.kind == "spread")
    la = [loaded.pos[int(d)] for d in batch.a.tolist()]
    lb = [loaded.pos[int(d)] for d in batch.b.tolist()]
    if batch.kind == "spread":
        boiler = Boilerplate(c.fingerprints, c.bits, np.zeros(0, dtype=bool))
        return list(pair_spread(loaded, la, lb, boiler, c.options.align))
    if batch.kind == "tail":
        tail = c.options.verify.excerpt_tail
        return [_tail_in(loaded, x, y, int(cut), tail) for x, y, cut in zip(la, lb, batch.cut.tolist())]
    return [_runs_in(loaded, x, y) for x, y in zip(la, lb)]


def _tail_in(loaded: Loaded, e: int, o: int, cut: int, tail: int) -> bool:
    """Most of excerpt e's last ``tail`` shingles before its cut (``cut``, a character offset) are in o (rows
    of ``loaded``): the text runs on in o up to where e stops (a stray shared sentence does not)."""
    sh, tokens = loaded.shingles, loaded.tokens
    s = sh.doc(e)
    before = np.flatnonzero(tokens.ends[sh.last[s]] <= cut)
    last = sh.hashes[s][before[-tail:]]
    return len(last) > 0 and bool(np.isin(last, sh.hashes[sh.doc(o)]).sum() * 2 > len(last))


def _runs_in(loaded: Loaded, item: int, other: int) -> tuple[np.ndarray, int]:
    """The lengths of the runs of consecutive shingles of ``item`` found in ``other`` (rows of ``loaded``:
    verbatim sequences of run + k - 1 words), and how many shingles ``item`` has."""
    sh = loaded.shingles
    found = np.isin(fingerprints(sh.hashes[sh.doc(item)]), fingerprints(sh.hashes[sh.doc(other)]))
    return shingle_runs(found, sh.first[sh.doc(item)]), len(found)


# ---------------------------------------------------------------------------------------------- align


@dataclass
class Rows:
    """Some articles' rows of the per-article table, keyed by global index: what a batch's task reads of it
    (``Loaded`` reads ids, dates and body starts; labels read lengths). A task is sent its batch's rows, never
    the whole table, so what a worker holds grows with its batch, not with the corpus."""

    ids: dict[int, str]
    dates: dict[int, str | None]
    body_start: dict[int, int]
    chars: dict[int, int]

    @classmethod
    def of(cls, table: DocTable, docs: np.ndarray) -> Rows:
        """The rows of the articles ``docs`` of ``table``; of a cluster's table kept by article partition
        (``distributed.table.StoredTable``), their ``StoredRows``: read by the task that uses them."""
        stored = getattr(table, "stored_rows", None)
        if stored is not None:
            return stored(docs)
        d = [int(x) for x in docs.tolist()]
        return cls(
            ids={i: table.ids[i] for i in d},
            dates={i: table.dates[i] for i in d},
            body_start={i: int(table.body_start[i]) for i in d},
            chars={i: int(table.chars[i]) for i in d},
        )


@dataclass
class _AlignContext:
    """What every align task shares: where texts are read, and the parameters."""

    articles: Articles
    k: int
    options: ScanOptions


@dataclass
class _AlignBatch:
    """One align task's input: its pairs (rows of the scan's pairs, their articles and whether each is
    ``partial``) and the table rows of the articles they involve."""

    pairs: np.ndarray
    a: np.ndarray
    b: np.ndarray
    partial: np.ndarray
    rows: Rows

    def __len__(self) -> int:
        return len(self.pairs)


class _Lazy(Sequence):
    """``make(item)`` of each item, made when asked for: a step's batch payloads, built as the executor
    submits them (a cluster's executor holds a window of them, not all)."""

    def __init__(self, items: list, make: Callable) -> None:
        self._items, self._make = items, make

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return [self._make(x) for x in self._items[k]]
        return self._make(self._items[k])


def _directions(
    table: DocTable,
    pairs: pl.DataFrame,
    features: np.ndarray,
    clusters: Clusters,
    excerpt: np.ndarray,
    site: np.ndarray,
    executor: Executor | None = None,
    budget: int = 2000,
    syndicated: np.ndarray | None = None,
) -> tuple[pl.DataFrame, Clusters]:
    """Each pair's direction (``direction.pair_directions``) as columns of ``pairs`` (``copies``,
    ``direction_confidence``, ``direction_by``), and the clusters' sources and roles from them: by ranges of
    clusters of about ``budget`` members, each a task on ``executor`` (default: here) sent only its clusters'
    members and pairs (``_cluster_directions``). A pair that links no cluster has no direction. Clusters left
    unranked (``clusters.ranked`` empty, ``clusters.held`` known) are ranked by the tasks, from ``syndicated``
    and ``clusters.held`` (``cluster.rank``)."""
    from .direction import DIRECTION_BY, Direction
    from .verify import CLUSTERING as linking_relations

    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    linking = relation_in(pairs, linking_relations)
    held = np.maximum(pairs["a_in_b"].to_numpy(), pairs["b_in_a"].to_numpy())
    same_text = clusters.same_text if clusters.same_text is not None else np.arange(len(table))
    d = Direction(
        np.zeros(len(pairs), dtype=np.int8),
        np.zeros(len(pairs)),
        np.full(len(pairs), DIRECTION_BY.index("unknown"), dtype=np.int8),
    )
    # The linking pairs by cluster (both sides of one are in one cluster), clusters in ranges of ``budget`` members.
    rows = np.flatnonzero(linking)
    rows = rows[np.argsort(clusters.cluster[a[rows]], kind="stable")]
    starts = np.searchsorted(clusters.cluster[a[rows]], np.arange(len(clusters.members) + 1))
    ranges, lo, held_members = [], 0, 0
    for k, group in enumerate(clusters.members):
        held_members += len(group)
        if held_members >= budget or k == len(clusters.members) - 1:
            ranges.append((lo, k + 1))
            lo, held_members = k + 1, 0

    def batch(span: tuple[int, int]) -> _DirectionBatch:
        lo, hi = span
        docs = np.unique(np.concatenate([np.asarray(g, dtype=np.int64) for g in clusters.members[lo:hi]]))
        local = {int(x): j for j, x in enumerate(docs.tolist())}
        mine = rows[starts[lo] : starts[hi]]
        return _DirectionBatch(
            rows=mine,
            a=np.searchsorted(docs, a[mine]),
            b=np.searchsorted(docs, b[mine]),
            features=features[mine],
            held=held[mine],
            members=[[local[m] for m in g] for g in clusters.members[lo:hi]],
            ranked=[[local[m] for m in g] for g in clusters.ranked[lo:hi]] if unranked is None else None,
            docs=docs,
            table_rows=Rows.of(table, docs),
            excerpt=excerpt[docs],
            site=site[docs] if site is not None else None,
            same_text=same_text[docs],
            rank_by=None if unranked is None else (unranked[0][docs], unranked[1][docs]),
        )

    unranked = None
    if not clusters.ranked and clusters.held is not None and clusters.members:
        unranked = (np.asarray(syndicated, dtype=np.float64), clusters.held)
    sources: list[int] = []
    versions: list[np.ndarray] = []  # each batch's clusters' versions one after the other, and their counts
    counts: list[np.ndarray] = []
    known: list[bool] = []
    run = executor or Processes(1)
    label = "deciding the sources of a range of {} clusters".format
    for found in run.map(_cluster_directions, None, _Lazy(ranges, batch), label=lambda c: label(len(c.members))):
        mine, copies, confidence, by, src, ver, kn = found
        d.copies[mine], d.confidence[mine], d.by[mine] = copies, confidence, by
        sources += src
        counts.append(np.fromiter((len(v) for v in ver), dtype=np.int64, count=len(ver)))
        versions.append(np.fromiter((m for v in ver for m in v), dtype=np.int64))
        known += kn
    pairs = with_series(
        pairs,
        copies=pl.Series(d.copies, dtype=pl.Int8),
        direction_confidence=pl.Series(d.confidence, dtype=pl.Float64),
        direction_by=pl.Series(DIRECTION_BY, dtype=pl.Utf8).gather(d.by),
        # From the array itself, not through Python lists of floats (~32 B a number in the driver).
        position_a=pl.Series(features[:, 0].round(3)).cast(pl.List(pl.Float64)),
        position_b=pl.Series(features[:, 1].round(3)).cast(pl.List(pl.Float64)),
    )
    offsets = np.zeros(len(sources) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts) if counts else np.zeros(0, np.int64), out=offsets[1:])
    flat = np.concatenate(versions) if versions else np.zeros(0, dtype=np.int64)
    clusters.sources, clusters.versions, clusters.known = sources, Groups(flat, offsets), known
    clusters.role = roles(len(table), sources, clusters.members)
    clusters.held = None
    return pairs, clusters


def _column(pairs: pl.DataFrame | PairFiles, name: str) -> pl.Series:
    """Column ``name`` of every pair, of a frame or of the kept pairs' parts."""
    return pairs.column(name) if isinstance(pairs, PairFiles) else pairs[name]


# Rows of a part of the kept pairs a cluster's driver leaves in the store (``output.kept.PairFiles``): the writer maps,
# for a batch in the JSON's order (the ids' order), every part its rows are in, at a cost a part (~0.4 ms), while
# the pages it reads are only those of its rows: large parts (~160 MB of records) cost nothing in memory.
PAIR_PART_ROWS = 1 << 20


def _keep(parts: ResultParts, pairs: pl.DataFrame, clusters: Clusters) -> tuple[PairFiles, Clusters]:
    """A cluster's kept pairs and its clusters' member and version lists saved in the store's result folder
    (``parts``), in parts of ``PAIR_PART_ROWS`` pairs and as CSR arrays mapped where they are read, the copies of
    one text (``same_text``) saved, the roles as a byte an article: the driver holds none of the lists through label
    and while the result is written."""
    kept = PairFiles.write(parts.folder, pairs, part_bounds(len(pairs), PAIR_PART_ROWS), keep=parts)
    for name in ("members", "versions"):
        groups = getattr(clusters, name)
        groups = groups if isinstance(groups, Groups) else Groups.of(groups)
        setattr(clusters, name, Groups(parts.keep(name, groups.flat), parts.keep(f"{name}-offsets", groups.offsets)))
    if clusters.same_text is not None:
        clusters.same_text = parts.keep("same_text", clusters.same_text)
    clusters.ranked, clusters.role = [], Roles.of(clusters.role)
    return kept, clusters


@dataclass
class _Unranked:
    """The articles as ``cluster.cluster`` takes them when their ranking is left to ``_directions``' tasks: their
    number, no ids or dates."""

    n: int
    ids: None = None
    dates: None = None

    def __len__(self) -> int:
        return self.n


@dataclass
class _DirectionBatch:
    """One task of ``_directions``: a range of clusters, their members numbered from 0 (``docs``: the global
    article of each), their rows of the table, and their linking pairs (rows of the scan's pairs)."""

    rows: np.ndarray
    a: np.ndarray
    b: np.ndarray
    features: np.ndarray
    held: np.ndarray
    members: list[list[int]]
    ranked: list[list[int]] | None  # None: ranked by the task, from ``rank_by``
    docs: np.ndarray
    table_rows: Rows  # their dates and ids, by global article (read by the task from a cluster's table)
    excerpt: np.ndarray
    site: np.ndarray | None
    same_text: np.ndarray
    rank_by: tuple[np.ndarray, np.ndarray] | None = None  # each member's shared text and held share (``rank``)

    def __len__(self) -> int:
        return len(self.members)


def _cluster_directions(_: None, c: _DirectionBatch) -> tuple:
    """The directions of a range of clusters' pairs, and each cluster's source (``direction.cluster_sources``, then
    the versions rule; a member dated after another is never made a version's source), its other versions and
    whether the pairs' directions decide it; articles as global numbers."""
    glob = c.docs.tolist()
    dates, ids = [c.table_rows.dates[x] for x in glob], [c.table_rows.ids[x] for x in glob]
    ranked = c.ranked
    if ranked is None:
        shared, held = c.rank_by
        ranked = [rank(group, shared, held, c.excerpt, dates, ids) for group in c.members]
    linking = np.ones(len(c.rows), dtype=bool)
    d = pair_directions(c.a, c.b, linking, dates, c.excerpt, c.features[:, 0], c.features[:, 1], c.held)
    sources, known = cluster_sources(c.members, ranked, c.same_text, c.a, c.b, d, dates)
    later = []
    for group in c.members:
        whens = {m: parse_when(dates[m]) for m in group}
        later.append({m for m in group if any(compare_dates(whens[m], whens[o]) > 0 for o in group if o != m)})
    decided = list(sources)
    sources, versions = with_versions(sources, c.members, c.excerpt, dates, ids, c.site, later)
    known = [k and s == t for k, s, t in zip(known, sources, decided)]
    return (
        c.rows,
        d.copies,
        d.confidence,
        d.by,
        [glob[s] for s in sources],
        [[glob[m] for m in v] for v in versions],
        known,
    )


def _align(
    articles: Articles,
    table: DocTable,
    pairs: pl.DataFrame,
    clusters: Clusters,
    options: ScanOptions,
    report: Progress,
    executor: Executor,
    parts: ResultParts | None = None,
) -> tuple[pl.DataFrame, Sequence[np.ndarray], np.ndarray]:
    """Passages of every pair, in batches of the articles they involve, and the position features of both
    sides of each (``direction.position``: (pairs, 2, features)); partial pairs that prove to share only a
    template are dropped. ``parts`` (a cluster's): the passages kept as the batches' arrays and three numbers a
    pair (``PassageParts``), not an array a pair."""
    pair_a, pair_b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    stored = parts.passages(len(pairs)) if parts is not None else None
    passages: list[np.ndarray] = [] if stored is not None else [np.zeros((0, 4), dtype=np.int64)] * len(pairs)
    features = np.zeros((len(pairs), 2, len(FEATURES)))
    order = np.lexsort((pair_b, pair_a, np.minimum(clusters.cluster[pair_a], clusters.cluster[pair_b])))
    partial = (pairs["relation"] == "partial").to_numpy()
    context = _AlignContext(articles, options.k, options)
    drop: list[int] = []
    done = 0
    report("align", 0, len(pairs))

    def batch(chunk: np.ndarray) -> _AlignBatch:
        a, b = pair_a[chunk], pair_b[chunk]
        return _AlignBatch(chunk, a, b, partial[chunk], Rows.of(table, np.unique(np.concatenate([a, b]))))

    order_chunks = list(_pair_batches(order, pair_a, pair_b, table.chars, options.batch_docs, options.batch_chars))
    chunks = _Lazy(order_chunks, batch)
    label = lambda c: f"aligning a batch of {len(c)} pairs"  # noqa: E731
    for rows, offsets, found, template, sides in executor.map(_align_batch, context, chunks, label=label):
        # Copies: a cluster's task result is read in place, and a view would keep all of it.
        if stored is not None:
            stored.add(rows, offsets, found)
        else:
            for j, p in enumerate(rows.tolist()):
                passages[p] = found[offsets[j] : offsets[j + 1]].copy()
        features[rows] = sides
        drop.extend(rows[template].tolist())
        done += len(rows)
        report("align", done, len(pairs))
    keep = np.setdiff1d(np.arange(len(pairs)), drop) if drop else None
    if keep is not None:
        pairs = pairs[keep]
        features = features[keep]
        if stored is None:
            passages = [passages[p] for p in keep.tolist()]
    return pairs, passages if stored is None else stored.done(keep), features


def _align_batch(
    c: _AlignContext, batch: _AlignBatch
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Passages of the pairs of ``batch``, whether each partial pair is only a shared template, and the
    position features of its two sides (``direction.positions``): (its pairs, offsets of each pair's passages
    in the next, the passages one after the other, the template flags, the features), a few arrays whatever
    the number of pairs (a cluster's driver unpickles no array a pair)."""
    loaded = Loaded(c.articles, batch.rows, sorted(batch.rows.ids), c.k, threads=1)
    t = loaded.tokens
    local_a = np.array([loaded.pos[d] for d in batch.a.tolist()], dtype=np.int64)
    local_b = np.array([loaded.pos[d] for d in batch.b.tolist()], dtype=np.int64)
    passages = align_batch(loaded.corpus, t, loaded.shingles, local_a, local_b, c.options.align)
    offsets = np.zeros(len(passages) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in passages], out=offsets[1:])
    found = (np.concatenate(passages) if passages else np.zeros((0, 4), dtype=np.int64)).reshape(-1, 4)
    sides = positions(
        t.starts,
        t.ends,
        t.hashes,
        t.offsets,
        np.stack([local_a, local_b], axis=1).reshape(-1),
        _side_spans(found, offsets),
    ).reshape(len(passages), 2, -1)
    template = np.zeros(len(passages), dtype=bool)
    for j in np.flatnonzero(batch.partial).tolist():
        template[j] = template_like(loaded.corpus, int(local_a[j]), int(local_b[j]), passages[j], c.options.align)
    return batch.pairs, offsets, found, template, sides


def _side_spans(found: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(side, start, end) rows of the pairs' passages (``found`` (a_start, a_end, b_start, b_end), pair j's at
    rows ``offsets[j]:offsets[j + 1]``) as ``positions`` takes them: pair j's a side is side 2j, its b side
    2j + 1, each side's rows together, in passage order (a few arrays, not two a pair)."""
    counts = np.diff(offsets)
    pair = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    base = 2 * offsets[:-1][pair]  # pair j's rows start at 2 * offsets[j]: its a side's, then its b side's
    within = np.arange(len(found), dtype=np.int64) - offsets[:-1][pair]
    out = np.empty((2 * len(found), 3), dtype=np.int64)
    for s in (0, 1):
        at = base + within + s * counts[pair]
        out[at, 0] = 2 * pair + s
        out[at, 1:] = found[:, 2 * s : 2 * s + 2]
    return out


def _pair_batches(
    order: np.ndarray, a: np.ndarray, b: np.ndarray, chars: np.ndarray, budget_docs: int, budget_chars: int
) -> Iterator[np.ndarray]:
    """Runs of ``order`` whose articles fit a batch (each article counted once per batch). An article over
    the budget by itself raises its batch's budget by its size, so the pairs that follow with it share
    one reading of it instead of one each."""
    start, seen, total, limit = 0, set(), 0, budget_chars
    for k, p in enumerate(order.tolist()):
        new = [d for d in (int(a[p]), int(b[p])) if d not in seen]
        add = sum(int(chars[d]) for d in new)
        if k > start and (len(seen) + len(new) > budget_docs or total + add > limit):
            yield order[start:k]
            start, seen, total, limit = k, set(), 0, budget_chars
            new = [int(a[p]), int(b[p])]
            add = sum(int(chars[d]) for d in new)
        seen.update(new)
        total += add
        limit += sum(int(chars[d]) for d in new if chars[d] > budget_chars)
    if start < len(order):
        yield order[start:]


# ---------------------------------------------------------------------------------------------- label


@dataclass
class _LabelContext:
    """What every label task shares: where texts are read, the boilerplate fingerprints (sorted, one array:
    a cluster's object store keeps one copy of it a node, which its tasks read in place) and the parameters."""

    articles: Articles
    k: int
    fingerprints: np.ndarray
    bits: int
    params: LabelParams
    folder: str | None = None  # a cluster's scan: where each task writes its batch's labels (``write_labels``)
    _set: FingerprintSet | None = field(default=None, init=False, repr=False)

    def boiler_set(self) -> FingerprintSet:
        """The fingerprints with their directory (``label.FingerprintSet``): built once in each process that
        labels (a forked worker, a cluster's task), never shipped."""
        if self._set is None:
            self._set = FingerprintSet(self.fingerprints, 64 - self.bits)
        return self._set

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_set": None}


@dataclass
class _LabelBatch:
    """One label task's input: its articles (global, ascending), their lengths, whether each is a copy and
    holds boilerplate, and their side of the passages shared within their clusters: one array of (row of
    ``docs``, start, end, by_all) rows, by article and then by pair (a cluster sends one buffer, not an array
    an article)."""

    docs: np.ndarray
    chars: np.ndarray
    is_copy: np.ndarray
    holds: np.ndarray
    shared: np.ndarray
    rows: Rows  # of the articles holding boilerplate (their tokens are read)

    def __len__(self) -> int:
        return len(self.docs)


@dataclass
class _SharedSides:
    """Each article's sides of the passages it shares within its cluster, as an index into the pairs (not
    copies of the passages): the pairs whose two articles are in one cluster and share a passage, each twice
    (its a's side and its b's), sorted by article and then by pair; a batch of articles takes one slice."""

    doc: np.ndarray  # the article of each side
    pair: np.ndarray  # its pair (row of the scan's pairs)
    b_side: np.ndarray  # whether it is the pair's b
    lengths: np.ndarray  # passages of each pair
    by_all: np.ndarray  # each pair's ``cut_from``, the label's mark of its passages

    @classmethod
    def of(cls, cluster: np.ndarray, a: np.ndarray, b: np.ndarray, by_all: np.ndarray, passages: list) -> _SharedSides:
        lengths = passage_counts(passages)
        keep = np.flatnonzero((cluster[a] >= 0) & (cluster[a] == cluster[b]) & (lengths > 0))
        doc = np.concatenate([a[keep], b[keep]])
        pair = np.concatenate([keep, keep])
        order = np.lexsort((pair, doc))
        b_side = np.repeat(np.array([False, True]), len(keep))[order]
        return cls(doc[order], pair[order], b_side, lengths, np.asarray(by_all, dtype=np.int64))

    def touched(self, n: int) -> np.ndarray:
        """Whether each of ``n`` articles shares a passage within its cluster."""
        out = np.zeros(n, dtype=bool)
        out[self.doc] = True
        return out

    def rows(self, docs: np.ndarray, passages: list) -> np.ndarray:
        """(row of ``docs``, start, end, by_all) rows of the articles ``docs`` (ascending), by article then
        pair: what ``label.label_batch`` takes."""
        lo = int(np.searchsorted(self.doc, docs[0], side="left"))
        hi = int(np.searchsorted(self.doc, docs[-1], side="right"))
        mine = np.arange(lo, hi)
        mine = mine[np.isin(self.doc[mine], docs)]
        if not len(mine):
            return np.zeros((0, 4), dtype=np.int64)
        pair = self.pair[mine]
        lengths = self.lengths[pair]
        found = passages_of(passages, pair)
        at = np.arange(len(found))
        col = 2 * np.repeat(self.b_side[mine].astype(np.int64), lengths)
        return np.stack(
            [
                np.repeat(np.searchsorted(docs, self.doc[mine]), lengths),
                found[at, col],
                found[at, col + 1],
                np.repeat(self.by_all[pair], lengths),
            ],
            axis=1,
        )


def passage_counts(passages: Sequence[np.ndarray]) -> np.ndarray:
    """How many passages each pair has (int64)."""
    counts = getattr(passages, "lengths", None)  # a cluster's ``PassageParts``: kept as a vector
    if counts is not None:
        return np.asarray(counts, dtype=np.int64)
    return np.fromiter(map(len, passages), dtype=np.int64, count=len(passages))


def passages_of(passages: Sequence[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """The passages of pairs ``rows`` one after the other, as one (m, 4) int64 array."""
    take = getattr(passages, "take", None)  # a cluster's: gathered batch by batch
    if take is not None:
        return take(rows)
    parts = [passages[r] for r in np.asarray(rows).tolist()]
    return np.concatenate(parts).astype(np.int64, copy=False).reshape(-1, 4) if parts else np.zeros((0, 4), np.int64)


def _para_index(para_offsets: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The positions of the paragraphs of ``docs`` in the scan's paragraph arrays, in order."""
    return run_index(para_offsets[docs], para_offsets[docs + 1] - para_offsets[docs])


def _label(
    articles: Articles,
    table: DocTable,
    pairs: pl.DataFrame | PairFiles,
    passages: list[np.ndarray],
    clusters: Clusters,
    boiler: Boilerplate,
    para_offsets: np.ndarray,
    options: ScanOptions,
    report: Progress,
    executor: Executor,
    parts: ResultParts | None = None,
) -> np.ndarray:
    """Every paragraph's label; only articles in clusters or holding boilerplate need a look. What is kept
    here is a few bytes an article and an index of the pairs; each batch's shared spans are cut when it is
    sent, and its labels come back as one array (``parts``, a cluster's: written by the tasks to the store, and
    read from there range by range)."""
    n = len(table)
    in_cluster = clusters.cluster >= 0
    role = clusters.role
    is_copy = role.is_copy() if isinstance(role, Roles) else np.fromiter((r == "copy" for r in role), bool, count=n)
    whole = in_cluster & ~boiler.holders & is_copy  # copies labelled wrapper-free without a look: 1 (copy)
    labels = np.full(int(para_offsets[-1]) if parts is None else 0, 2, dtype=np.int8)  # original
    if parts is None:
        labels[_para_index(para_offsets, np.flatnonzero(whole))] = 1
    sides = _SharedSides.of(
        clusters.cluster, *(_column(pairs, name).to_numpy() for name in ("a", "b", "cut_from")), passages
    )
    todo = np.flatnonzero(boiler.holders | (in_cluster & sides.touched(n)))
    context = _LabelContext(
        articles, options.k, boiler.fingerprints, boiler.bits, options.label, parts.folder if parts else None
    )
    done = 0
    report("label", 0, len(todo))

    def batch(docs: np.ndarray) -> _LabelBatch:
        return _LabelBatch(
            docs,
            table.chars[docs].astype(np.int64),
            is_copy[docs],
            boiler.holders[docs],
            sides.rows(docs, passages),
            Rows.of(table, docs[boiler.holders[docs]]),
        )

    chunks = _Lazy(list(_doc_batches(todo, table.chars, options.batch_docs, options.batch_chars)), batch)
    label = lambda c: f"labelling a batch of {len(c)} articles"  # noqa: E731
    for docs, codes in executor.map(_label_batch, context, chunks, label=label):
        if parts is not None:  # (first, last, count) of the batch's articles: its labels are in the store
            parts.add(int(docs[0]), int(docs[1]))
            done += int(docs[2])
        else:
            labels[_para_index(para_offsets, docs)] = codes
            done += len(docs)
        report("label", done, len(todo))
    return labels if parts is None else parts.labels(para_offsets, whole)


def _label_batch(c: _LabelContext, batch: _LabelBatch) -> tuple[np.ndarray, np.ndarray]:
    """Paragraph labels of the articles of ``batch``, all at once (``label_batch``); only those holding
    boilerplate have their stored tokens read, and no text is read. Returns (the articles, their
    paragraphs' labels one after the other): two arrays, whatever the number of articles."""
    docs = batch.docs.tolist()
    row = {d: j for j, d in enumerate(docs)}
    need = [d for d, h in zip(docs, batch.holds.tolist()) if h]
    boiler = np.zeros((0, 3), dtype=np.int64)
    if need:
        loaded = Loaded(c.articles, batch.rows, need, c.k, threads=1, texts=False)
        sh = loaded.shingles
        flags = c.boiler_set().contains(fingerprints(sh.hashes) >> np.uint64(c.bits))
        boiler = boiler_rows(loaded.tokens, sh, flags)
        boiler[:, 0] = np.asarray([row[d] for d in need], dtype=np.int64)[boiler[:, 0]]
    spans = _bulk(c.articles, "paragraphs_of", "paragraphs", docs)  # a store gathers them all at once
    paras = [np.asarray(p, dtype=np.int64).reshape(-1, 2) for p in spans]
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in paras], out=offsets[1:])
    codes = label_batch(
        batch.chars,
        offsets,
        np.concatenate(paras) if paras else np.zeros((0, 2), dtype=np.int64),
        batch.is_copy,
        boiler,
        batch.shared,
        c.params,
    )
    if c.folder is not None:  # a cluster's: written to the store, and only where they are sent back
        return write_labels(c.folder, batch.docs, np.asarray(codes, dtype=np.int8))
    return batch.docs, np.asarray(codes, dtype=np.int8)


def write_labels(folder: str, docs: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A label task's labels (articles ``docs``, ascending; their paragraphs' ``codes`` one after the other) written
    whole to ``folder`` under a name its first article gives (a task run again replaces them with the same); returns
    ((first, last, count) of its articles, no codes)."""
    first = int(docs[0])
    path = os.path.join(folder, f"labels-{first:012d}.npz")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, docs=np.asarray(docs, dtype=np.int64), codes=codes)
    os.replace(tmp, path)
    return np.array([first, int(docs[-1]), len(docs)], dtype=np.int64), np.zeros(0, dtype=np.int8)


def pair_spread(
    loaded: Loaded, a: Sequence[int], b: Sequence[int], boiler: Boilerplate, params: AlignParams
) -> np.ndarray:
    """``align.spread_cover`` of the loaded articles' pairs (rows of ``loaded``), their boilerplate shingles
    left out: (pairs, 2)."""
    sh, t = loaded.shingles, loaded.tokens
    out = np.zeros((len(a), 2))
    content = ~FingerprintSet(boiler.fingerprints, 64 - boiler.bits).contains(
        fingerprints(sh.hashes) >> np.uint64(boiler.bits)
    )
    texts = loaded.corpus.texts if loaded.corpus is not None else []

    def side(d: int) -> tuple[str, Side, np.ndarray]:
        s, base, keep = sh.doc(d), t.offsets[d], content[sh.doc(d)]
        empty = np.zeros(0, dtype=np.int64)
        tokens = t.doc(d)
        return (
            texts[d],
            Side(
                sh.hashes[s][keep],
                sh.first[s][keep] - base,
                sh.last[s][keep] - base,
                t.starts[tokens],
                t.ends[tokens],
                empty,
                empty,
            ),
            t.hashes[tokens],
        )

    for r, (x, y) in enumerate(zip(a, b)):
        out[r] = spread_cover(*side(x), *side(y), params)
    return out


def shingle_runs(found: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The lengths of the runs of consecutive ``found`` shingles of one text (``first``: each shingle's first
    token; shingles one token apart are consecutive, so a banal shingle left out between two ends a run)."""
    if not len(found):
        return np.zeros(0, dtype=np.int64)
    starts = found & np.r_[True, (np.diff(first) != 1) | ~found[:-1]]
    run = np.cumsum(starts)[found]
    return np.bincount(run)[1:] if len(run) else np.zeros(0, dtype=np.int64)


def _doc_batches(docs: np.ndarray, chars: np.ndarray, budget_docs: int, budget_chars: int) -> Iterator[np.ndarray]:
    start, total = 0, 0
    for k, d in enumerate(docs.tolist()):
        if k > start and (k - start >= budget_docs or total + chars[d] > budget_chars):
            yield docs[start:k]
            start, total = k, 0
        total += int(chars[d])
    if start < len(docs):
        yield docs[start:]
