"""Phase 2: pairs, clusters, passages and labels from posting lists.

One implementation for a scan, a scan with an index, and an index query: a query is this phase on a
corpus of one (the query article) plus the indexed articles that share text with it, ``focus``-ed on
the query's own pairs. What differs between them is only where the posting lists come from (the
store's postings sorted partition by partition, or an index's look-ups) and where texts are read from
(``Articles``).

Steps: pair evidence from the lists (``evidence``), verification and boilerplate (``verify``),
clusters and sources (``cluster``); then only the articles that are in pairs or hold boilerplate are
re-read, batch by batch, to align passages (``align``) and label paragraphs (``label``), batches side
by side in worker processes. Results depend only on the input, not on workers or batch sizes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from .align import align_pair, template_like
from .cluster import Clusters, cluster
from .evidence import Lists, pair_evidence
from .features import fingerprints
from .label import boiler_spans, label_document, shared_spans
from .normalise import bodies, tokenise
from .options import LabelParams, ScanOptions
from .read import Corpus
from .shingle import shingle
from .verify import CLUSTERING, DocInfo, exact_pairs, verify
from .workers import fan_out

Progress = Callable[[str, int, int | None], None]


class Articles(Protocol):
    """Where phase 2 reads an article's text and paragraph spans (a feature store, or a query's articles)."""

    def text(self, i: int) -> str: ...

    def paragraphs(self, i: int) -> np.ndarray: ...


class DocTable:
    """What phase 2 keeps per article, in global order (a few numbers each, plus id and path)."""

    def __init__(self, docs: pl.DataFrame) -> None:
        self.frame = docs
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

    def site_codes(self) -> np.ndarray:
        """An integer per distinct site (0: not known). Folders do not stand for sites: they are as
        often dates or sections, and a site's template spread over them must stay one site's."""
        site = self.frame["site"]
        return np.where(site.is_null().to_numpy(), 0, site.rank("dense").fill_null(0).to_numpy()).astype(np.int64)


class Loaded:
    """Some articles re-read and tokenised: a small ``Corpus`` with its tokens and shingles, and the map
    from global index to its rows."""

    def __init__(
        self, articles: Articles, table: DocTable, docs: Sequence[int], k: int, threads: int | None = None
    ) -> None:
        self.pos = {d: r for r, d in enumerate(docs)}
        texts = [articles.text(d) for d in docs]
        paras = [np.asarray(articles.paragraphs(d), dtype=np.int64).reshape(-1, 2) for d in docs]
        offsets = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in paras], out=offsets[1:])
        flat = np.concatenate(paras) if paras else np.zeros((0, 2), dtype=np.int64)
        body = [int(table.body_start[d]) for d in docs]
        self.corpus = Corpus(
            ids=[table.ids[d] for d in docs],
            paths=[table.ids[d] for d in docs],
            texts=texts,
            dates=[table.dates[d] for d in docs],
            para_offsets=offsets,
            para_starts=flat[:, 0].astype(np.int64),
            para_ends=flat[:, 1].astype(np.int64),
            body_starts=np.asarray(body, dtype=np.int64),
        )
        self.tokens = tokenise(bodies(texts, body), threads=threads)
        self.shingles = shingle(self.tokens, k)


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
    pairs: pl.DataFrame  # rows of ``table``: a, b and the measures
    clusters: Clusters
    passages: list[np.ndarray]  # per row of ``pairs``: (a_start, a_end, b_start, b_end) rows
    labels: np.ndarray  # label code per paragraph, in ``para_offsets`` order
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


def match(
    articles: Articles,
    table: DocTable,
    lists: Lists,
    boilerplate_of: Callable[[np.ndarray], Boilerplate],
    options: ScanOptions,
    focus: Sequence[int] | None = None,
) -> Matched:
    """Evidence and verification: the related pairs of ``table``'s articles, given their posting lists.

    ``boilerplate_of(mask)``: the fingerprints and holders of the lists flagged boilerplate. ``focus``: keep
    only the pairs of these articles (a query), over them and their partners."""
    k, vp = options.k, options.verify
    exact = exact_pairs(table.content, table.has_text)
    workers = options.workers or os.cpu_count() or 1
    ev = pair_evidence(
        lists, table.sizes, exact, vp.partial_min_shared, vp.link_share, vp.max_enumerate, workers, vp.min_shared
    )

    def tail_in(e: int, o: int) -> bool:
        """Most of excerpt e's last ``excerpt_tail`` shingles before its cut are in o: the text runs
        on in o up to where e stops (a stray shared sentence does not)."""
        loaded = Loaded(articles, table, [e, o], k)
        sh, tokens = loaded.shingles, loaded.tokens
        s = sh.doc(0)
        before = np.flatnonzero(tokens.ends[sh.last[s]] <= table.cut[e])
        tail = sh.hashes[s][before[-vp.excerpt_tail :]]
        return len(tail) > 0 and bool(np.isin(tail, sh.hashes[sh.doc(1)]).sum() * 2 > len(tail))

    site = table.site_codes()
    info = DocInfo(table.sizes, table.content, table.has_text, table.cut >= 0, tail_in, site)
    verified = verify(lists, ev, info, vp)
    boiler = boilerplate_of(verified.boilerplate)
    found = Matched(
        articles,
        table,
        np.arange(len(table), dtype=np.int64),
        verified.pairs,
        verified.syndicated,
        table.cut >= 0,
        site,
        boiler,
        len(ev.pairs),
    )
    if focus is None:
        return found
    # A query: its pairs, over it and its partners only.
    wanted = np.asarray(focus, dtype=np.int64)
    pairs = found.pairs.filter(pl.col("a").is_in(wanted) | pl.col("b").is_in(wanted))
    docs = np.unique(np.concatenate([wanted, pairs["a"].to_numpy(), pairs["b"].to_numpy()]))
    old, new = pl.Series(docs), pl.Series(np.arange(len(docs), dtype=np.int64))
    return Matched(
        Subset(articles, docs),
        DocTable(table.frame[docs]),
        docs,
        pairs.with_columns(a=pl.col("a").replace_strict(old, new), b=pl.col("b").replace_strict(old, new)),
        found.syndicated[docs],
        found.excerpt[docs],
        site[docs],
        Boilerplate(boiler.fingerprints, boiler.bits, boiler.holders[docs]),
        found.candidates,
    )


def analyse(
    articles: Articles,
    table: DocTable,
    lists: Lists,
    boilerplate_of: Callable[[np.ndarray], Boilerplate],
    options: ScanOptions,
    report: Progress | None = None,
    focus: Sequence[int] | None = None,
    para_offsets: np.ndarray | None = None,
) -> Found:
    """Phase 2 over ``table``'s articles, given their posting lists: ``match``, then clusters, passages and
    labels. ``para_offsets``: CSR offsets of every article's paragraphs when known (a store), else read per
    article."""
    report = report or (lambda phase, done, total: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    m = match(articles, table, lists, boilerplate_of, options, focus)
    articles, table, pairs, boiler = m.articles, m.table, m.pairs, m.boilerplate
    if focus is not None:
        para_offsets = None
    clusters = cluster(table, pairs, CLUSTERING, m.syndicated, m.excerpt, m.site)
    timings["match"] = time.perf_counter() - t

    t = time.perf_counter()
    pairs, passages = _align(articles, table, pairs, clusters, options, report)
    timings["align"] = time.perf_counter() - t

    t = time.perf_counter()
    if para_offsets is None:
        para_offsets = np.zeros(len(table) + 1, dtype=np.int64)
        np.cumsum([len(articles.paragraphs(d)) for d in range(len(table))], out=para_offsets[1:])
    labels = _label(articles, table, pairs, passages, clusters, boiler, para_offsets, options, report)
    timings["label"] = time.perf_counter() - t
    return Found(table, m.docs, pairs, clusters, passages, labels, para_offsets, boiler, m.candidates, timings)


# ---------------------------------------------------------------------------------------------- align


@dataclass
class _AlignContext:
    articles: Articles
    table: DocTable
    k: int
    options: ScanOptions
    pair_a: np.ndarray
    pair_b: np.ndarray
    relation: np.ndarray


def _align(
    articles: Articles, table: DocTable, pairs: pl.DataFrame, clusters: Clusters, options: ScanOptions, report: Progress
) -> tuple[pl.DataFrame, list[np.ndarray]]:
    """Passages of every pair, in batches of the articles they involve; partial pairs that prove to share
    only a template are dropped."""
    pair_a, pair_b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    passages: list[np.ndarray] = [np.zeros((0, 4), dtype=np.int64)] * len(pairs)
    order = np.lexsort((pair_b, pair_a, np.minimum(clusters.cluster[pair_a], clusters.cluster[pair_b])))
    context = _AlignContext(articles, table, options.k, options, pair_a, pair_b, pairs["relation"].to_numpy())
    drop: list[int] = []
    done = 0
    report("align", 0, len(pairs))
    chunks = list(_pair_batches(order, pair_a, pair_b, table.chars, options.batch_docs, options.batch_chars))
    for rows in fan_out(_align_batch, context, chunks, options.workers or os.cpu_count() or 1):
        for p, found, template in rows:
            passages[p] = found
            if template:
                drop.append(p)
        done += len(rows)
        report("align", done, len(pairs))
    if drop:
        keep = np.setdiff1d(np.arange(len(pairs)), drop)
        pairs = pairs[keep]
        passages = [passages[p] for p in keep.tolist()]
    return pairs, passages


def _align_batch(c: _AlignContext, chunk: np.ndarray) -> list[tuple[int, np.ndarray, bool]]:
    """Passages of the pairs in ``chunk``, and whether each partial pair is only a shared template."""
    docs = np.unique(np.concatenate([c.pair_a[chunk], c.pair_b[chunk]]))
    loaded = Loaded(c.articles, c.table, docs.tolist(), c.k, threads=1)
    out = []
    for p in chunk.tolist():
        la, lb = loaded.pos[int(c.pair_a[p])], loaded.pos[int(c.pair_b[p])]
        found = align_pair(loaded.corpus, loaded.tokens, loaded.shingles, la, lb, c.options.align)
        out.append(
            (
                p,
                found,
                bool(c.relation[p] == "partial" and template_like(loaded.corpus, la, lb, found, c.options.align)),
            )
        )
    return out


def _pair_batches(
    order: np.ndarray, a: np.ndarray, b: np.ndarray, chars: np.ndarray, budget_docs: int, budget_chars: int
) -> Iterator[np.ndarray]:
    """Runs of ``order`` whose articles fit a batch (each article counted once per batch)."""
    start, seen, total = 0, set(), 0
    for k, p in enumerate(order.tolist()):
        new = [d for d in (int(a[p]), int(b[p])) if d not in seen]
        add = sum(int(chars[d]) for d in new)
        if k > start and (len(seen) + len(new) > budget_docs or total + add > budget_chars):
            yield order[start:k]
            start, seen, total = k, set(), 0
            new = [int(a[p]), int(b[p])]
            add = sum(int(chars[d]) for d in new)
        seen.update(new)
        total += add
    if start < len(order):
        yield order[start:]


# ---------------------------------------------------------------------------------------------- label


@dataclass
class _LabelContext:
    articles: Articles
    table: DocTable
    k: int
    boiler: Boilerplate
    role: list[str | None]
    shared: dict[int, np.ndarray]
    params: LabelParams


def _label(
    articles: Articles,
    table: DocTable,
    pairs: pl.DataFrame,
    passages: list[np.ndarray],
    clusters: Clusters,
    boiler: Boilerplate,
    para_offsets: np.ndarray,
    options: ScanOptions,
    report: Progress,
) -> np.ndarray:
    """Every paragraph's label; only articles in clusters or holding boilerplate need a look."""
    n = len(table)
    labels = np.full(int(para_offsets[-1]), 2, dtype=np.int8)  # original
    in_cluster = clusters.cluster >= 0
    for d in np.flatnonzero(in_cluster & ~boiler.holders).tolist():
        labels[para_offsets[d] : para_offsets[d + 1]] = 1 if clusters.role[d] == "copy" else 2
    pair_a, pair_b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    shared = shared_spans(clusters.cluster, pair_a, pair_b, pairs["cut_from"].to_numpy(), passages)
    todo = np.flatnonzero(boiler.holders | (in_cluster & np.isin(np.arange(n), list(shared))))
    context = _LabelContext(articles, table, options.k, boiler, clusters.role, shared, options.label)
    done = 0
    report("label", 0, len(todo))
    chunks = list(_doc_batches(todo, table.chars, options.batch_docs, options.batch_chars))
    for rows in fan_out(_label_batch, context, chunks, options.workers or os.cpu_count() or 1):
        for d, codes in rows:
            labels[para_offsets[d] : para_offsets[d + 1]] = codes
        done += len(rows)
        report("label", done, len(todo))
    return labels


def _label_batch(c: _LabelContext, chunk: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Paragraph labels of the articles in ``chunk`` (re-read only those holding boilerplate)."""
    holders = c.boiler.holders
    need = [d for d in chunk.tolist() if holders[d]]
    empty, no_shared = np.zeros((0, 2), dtype=np.int64), np.zeros((0, 3), dtype=np.int64)
    if need:
        loaded = Loaded(c.articles, c.table, need, c.k, threads=1)
        sh = loaded.shingles
        flags = np.isin(fingerprints(sh.hashes) >> np.uint64(c.boiler.bits), c.boiler.fingerprints)
    out = []
    for d in chunk.tolist():
        spans = boiler_spans(loaded.tokens, sh, loaded.pos[d], flags) if holders[d] else empty
        paras = np.asarray(c.articles.paragraphs(d), dtype=np.int64).reshape(-1, 2)
        chars = int(c.table.chars[d])
        shared = c.shared.get(d, no_shared)
        out.append((d, label_document(chars, paras, c.role[d] == "copy", spans, shared, c.params)))
    return out


def _doc_batches(docs: np.ndarray, chars: np.ndarray, budget_docs: int, budget_chars: int) -> Iterator[np.ndarray]:
    start, total = 0, 0
    for k, d in enumerate(docs.tolist()):
        if k > start and (k - start >= budget_docs or total + chars[d] > budget_chars):
            yield docs[start:k]
            start, total = k, 0
        total += int(chars[d])
    if start < len(docs):
        yield docs[start:]
