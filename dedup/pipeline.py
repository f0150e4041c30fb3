"""The scan, in two phases around the feature store.

Phase 1 (``ingest``): the input is read in batches, each batch turned into compact features
(``features.extract``) and written to the store as one shard, in worker processes. Phase 2
(``analyse``): posting lists and pair evidence from the store (``evidence``), verification and
boilerplate (``verify``), clusters and sources (``cluster``); then only the articles that are
in pairs or hold boilerplate are re-read from the store, batch by batch, to align passages
(``align``) and label paragraphs (``label``). Memory is bounded by a batch and a partition of
the postings, plus a few numbers per article.

Results depend only on the input: not on the number of workers, nor on batch sizes.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import polars as pl

from .align import align_pair, template_like
from .cluster import cluster
from .evidence import doc_bits, list_fingerprints, pair_evidence, posting_lists
from .features import MAX_BATCH, bodies, extract, fingerprints
from .featurestore import FeatureStore, StoreError, publish_shard, stage_shard, write_shard
from .ingest.model import Article, Entry, Skipped
from .label import boiler_spans, label_document, shared_spans
from .normalise import tokenise
from .options import ScanOptions
from .read import Corpus
from .result import ScanResult
from .shingle import shingle
from .verify import CLUSTERING, DocInfo, exact_pairs, verify

Progress = Callable[[str, int, int | None], None]
PHASES = ("read", "match", "align", "label")
EXCERPT_TAIL = 32  # shingles before an excerpt's cut that must run on in the text it was cut from


def scan(
    source: str | os.PathLike[str] | Corpus,
    options: ScanOptions | None = None,
    progress: Progress | None = None,
    store: str | os.PathLike[str] | None = None,
) -> ScanResult:
    """Find the copies in a folder of articles (or an in-memory ``Corpus``).

    The features go to ``store`` when given (kept), else to a temporary folder that lives as
    long as the result.
    """
    options = options or ScanOptions()
    report = progress or (lambda phase, done, total: None)
    tmp = None
    if store is None:
        tmp = tempfile.TemporaryDirectory(prefix="dedup-scan-")
        store = tmp.name
    fs = FeatureStore(store, params=_store_params(options), create=True)
    if fs.shard_names:
        raise StoreError(
            f"{store}: already holds a scan's features; give a new folder (an index grows with 'index add')"
        )
    t0 = time.perf_counter()
    if isinstance(source, Corpus):
        names, skipped = _ingest_corpus(fs, source, options, report)
    else:
        names, skipped = ingest(fs, source, options, report)
    fs.commit(names)
    read_time = time.perf_counter() - t0
    result = analyse(fs, options, report, skipped)
    result.timings = {"read": read_time, **result.timings}
    result.keep_alive = tmp
    return result


def _store_params(options: ScanOptions) -> dict:
    return {"k": options.k, "num_perm": options.num_perm, "seed": options.seed}


# ---------------------------------------------------------------------------------------------
# Phase 1


@dataclass
class _Task:
    number: int
    entries: list[Entry]


def _tasks(entries: Iterable[Entry | Skipped], options: ScanOptions, skipped: list[Skipped]) -> Iterator[_Task]:
    """Group the walk's files into tasks of about one batch each (a container file is a task alone)."""
    batch: list[Entry] = []
    size = 0
    number = 0
    for e in entries:
        if isinstance(e, Skipped):
            skipped.append(e)
            continue
        single = e.kind in ("text", "html")  # one article a file; the other kinds hold records
        if batch and (len(batch) >= options.batch_docs or size + e.size > options.batch_chars or not single):
            yield _Task(number, batch)
            number, batch, size = number + 1, [], 0
        batch.append(e)
        size += e.size
        if not single:  # a file of records: a task of its own, split into batches by the worker
            yield _Task(number, batch)
            number, batch, size = number + 1, [], 0
    if batch:
        yield _Task(number, batch)


def _batches(articles: Iterable[Article | Skipped], options: ScanOptions, skipped: list[Skipped]) -> Iterator[list]:
    batch: list[Article] = []
    chars = 0
    for a in articles:
        if isinstance(a, Skipped):
            skipped.append(a)
            continue
        batch.append(a)
        chars += len(a.text)
        if len(batch) >= min(options.batch_docs, MAX_BATCH + 1) or chars >= options.batch_chars:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _run_task(root: str, task: _Task, options: ScanOptions, threads: int | None) -> tuple[list, list, int]:
    """Read one task's files and stage their shards (no polars: it may run in a forked worker).

    Returns ([(shard name, staged folder, docs columns)], skipped, files done); ``publish_shard``
    completes each shard in the parent.
    """
    from .ingest import read_entry

    fs_root = Path(root)
    skipped: list[Skipped] = []
    staged = []

    def articles() -> Iterator[Article | Skipped]:
        for entry in task.entries:
            yield from read_entry(entry, options.ingest)

    for sub, batch in enumerate(_batches(articles(), options, skipped)):
        name = f"{task.number:06d}-{sub:04d}"
        data = extract(batch, options.k, options.num_perm, options.seed, threads)
        staged.append((name, stage_shard(fs_root, name, data), data.docs))
    return staged, skipped, len(task.entries)


def _worker(args: tuple[str, _Task, ScanOptions]) -> tuple[list, list, int]:
    root, task, options = args
    return _run_task(root, task, options, threads=1)


def _ignore_interrupts(parent: int | None = None) -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and reports it once, and die with it: a
    parent killed outright (SIGKILL) would otherwise leave them waiting for work forever."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if parent is not None and os.getppid() != parent:  # it died before prctl took effect
            os._exit(1)


def _worker_pool(n: int) -> ProcessPoolExecutor:
    """``n`` forked workers that leave Ctrl-C to us and die with us (``_ignore_interrupts``)."""
    return ProcessPoolExecutor(
        max_workers=n, mp_context=_pool_context(), initializer=_ignore_interrupts, initargs=(os.getpid(),)
    )


def _pool_context():
    """Fork where there is one: spawn would re-run a library user's unguarded ``__main__`` in every
    worker. Workers use numpy only (never polars, whose thread pool does not survive a fork)."""
    import multiprocessing

    return get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


def ingest(
    fs: FeatureStore,
    source: str | os.PathLike[str],
    options: ScanOptions,
    report: Progress,
    on_shard: Callable[[str], None] | None = None,
) -> tuple[list[str], list[Skipped]]:
    """Phase 1 over a folder: every readable article into shards of ``fs``; returns (shards, skipped).
    ``on_shard`` is called with each shard's name, in order, as soon as it is written (the index
    commits it while the workers go on)."""
    from .ingest import walk

    skipped: list[Skipped] = []
    entries = list(walk(source, options.ingest))
    n_files = sum(1 for e in entries if not isinstance(e, Skipped))
    tasks = list(_tasks(entries, options, skipped))
    report("read", 0, n_files)
    workers = options.workers or os.cpu_count() or 1
    names: list[str] = []
    done = 0

    def publish(staged: list, skip: list, n: int) -> None:
        nonlocal done
        for name, path, docs in staged:
            publish_shard(fs.root, name, path, docs)
            names.append(name)
            if on_shard is not None:
                on_shard(name)
        skipped.extend(skip)
        done += n
        report("read", done, n_files)

    if workers > 1 and len(tasks) > 1:
        # Parquet is read with polars, whose thread pool does not survive a fork: those files are read here.
        here = [any(e.kind == "parquet" for e in t.entries) for t in tasks]
        with _worker_pool(min(workers, len(tasks))) as pool:
            futures = {k: pool.submit(_worker, (str(fs.root), t, options)) for k, t in enumerate(tasks) if not here[k]}
            for k, t in enumerate(tasks):
                publish(*(_run_task(str(fs.root), t, options, threads=1) if here[k] else futures.pop(k).result()))
    else:
        for t in tasks:
            publish(*_run_task(str(fs.root), t, options, threads=None))
    return names, skipped


def _ingest_corpus(
    fs: FeatureStore, corpus: Corpus, options: ScanOptions, report: Progress
) -> tuple[list[str], list[Skipped]]:
    """Phase 1 over an in-memory corpus (the library entry point), in this process."""

    def articles() -> Iterator[Article]:
        for i in sorted(range(len(corpus)), key=corpus.ids.__getitem__):  # results never depend on input order
            paras = corpus.paragraphs(i)
            yield Article(
                id=corpus.ids[i],
                path=corpus.paths[i],
                text=corpus.texts[i],
                paragraphs=[tuple(p) for p in paras.tolist()],
                body_start=int(corpus.body_starts[i]),
                date=corpus.dates[i],
            )

    names = []
    skipped: list[Skipped] = []
    done = 0
    report("read", 0, len(corpus))
    for sub, batch in enumerate(_batches(articles(), options, skipped)):
        name = f"{0:06d}-{sub:04d}"
        write_shard(fs.root, name, extract(batch, options.k, options.num_perm, options.seed))
        names.append(name)
        done += len(batch)
        report("read", done, len(corpus))
    return names, skipped


# ---------------------------------------------------------------------------------------------
# Phase 2


class _DocIndex:
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

    def __len__(self) -> int:
        return len(self.ids)

    def site_codes(self) -> np.ndarray:
        """An integer per distinct site (0: not known). Folders do not stand for sites: they are as
        often dates or sections, and a site's template spread over them must stay one site's."""
        site = self.frame["site"]
        return np.where(site.is_null().to_numpy(), 0, site.rank("dense").fill_null(0).to_numpy()).astype(np.int64)


class _Loaded:
    """Some articles re-read from the store and tokenised: a small ``Corpus`` with its tokens and
    shingles, and the map from global index to its rows."""

    def __init__(
        self, fs: FeatureStore, index: _DocIndex, docs: Sequence[int], k: int, threads: int | None = None
    ) -> None:
        self.pos = {d: r for r, d in enumerate(docs)}
        texts = [fs.text(d) for d in docs]
        paras = [fs.paragraphs(d) for d in docs]
        offsets = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in paras], out=offsets[1:])
        flat = np.concatenate(paras) if paras else np.zeros((0, 2), dtype=np.int64)
        body = [int(index.body_start[d]) for d in docs]
        self.corpus = Corpus(
            ids=[index.ids[d] for d in docs],
            paths=[index.ids[d] for d in docs],
            texts=texts,
            dates=[index.dates[d] for d in docs],
            para_offsets=offsets,
            para_starts=flat[:, 0].astype(np.int64),
            para_ends=flat[:, 1].astype(np.int64),
            body_starts=np.asarray(body, dtype=np.int64),
        )
        self.tokens = tokenise(bodies(texts, body), threads=threads)
        self.shingles = shingle(self.tokens, k)


def _doc_batches(docs: np.ndarray, chars: np.ndarray, budget_docs: int, budget_chars: int) -> Iterator[np.ndarray]:
    start, total = 0, 0
    for k, d in enumerate(docs.tolist()):
        if k > start and (k - start >= budget_docs or total + chars[d] > budget_chars):
            yield docs[start:k]
            start, total = k, 0
        total += int(chars[d])
    if start < len(docs):
        yield docs[start:]


def analyse(
    fs: FeatureStore, options: ScanOptions, report: Progress | None = None, skipped: Sequence[Skipped] = ()
) -> ScanResult:
    """Phase 2 over a store: pairs, clusters, passages and labels."""
    report = report or (lambda phase, done, total: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    index = _DocIndex(fs.docs())
    n = len(index)
    shards = list(fs.shards())
    work = tempfile.TemporaryDirectory(prefix="work-", dir=fs.root)
    spill = Path(work.name)
    # Progress in partitions of the postings (the bulk of the step), then the rest as one more step.
    steps = [1]

    def partitions_done(done: int, total: int) -> None:
        steps[0] = total + 1
        report("match", done, total + 1)

    report("match", 0, None)
    lists = posting_lists(shards, fs.bases[:-1], n, spill, progress=partitions_done)
    vp = options.verify
    link_share = min(vp.contains, vp.copy_group, vp.near_duplicate)
    ev = pair_evidence(
        lists, index.sizes, exact_pairs(index.content, index.has_text), vp.partial_min_shared, link_share
    )
    k = options.k

    def tail_in(e: int, o: int) -> bool:
        """Most of excerpt e's last ``EXCERPT_TAIL`` shingles before its cut are in o: the text runs
        on in o up to where e stops (a stray shared sentence does not)."""
        loaded = _Loaded(fs, index, [e, o], k)
        sh, tokens = loaded.shingles, loaded.tokens
        s = sh.doc(0)
        before = np.flatnonzero(tokens.ends[sh.last[s]] <= index.cut[e])
        tail = sh.hashes[s][before[-EXCERPT_TAIL:]]
        return len(tail) > 0 and bool(np.isin(tail, sh.hashes[sh.doc(1)]).sum() * 2 > len(tail))

    site = index.site_codes()
    info = DocInfo(index.sizes, index.content, index.has_text, index.cut >= 0, tail_in, site)
    verified = verify(lists, ev, info, options.verify)
    clusters = cluster(index, verified.pairs, CLUSTERING, verified.syndicated, index.cut >= 0, site)
    bits = doc_bits(n)
    boiler_fps = list_fingerprints(spill, lists, verified.boilerplate)
    owner = lists.member_list()
    has_boiler = np.zeros(n, dtype=bool)
    has_boiler[lists.members[verified.boilerplate[owner]]] = True
    work.cleanup()
    timings["match"] = time.perf_counter() - t
    report("match", steps[0], steps[0])

    # Align: pairs in batches of the articles they involve, batches side by side in worker processes.
    t = time.perf_counter()
    pairs = verified.pairs
    pair_a, pair_b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    passages: list[np.ndarray] = [np.zeros((0, 4), dtype=np.int64)] * len(pairs)
    chars = index.frame["chars"].to_numpy()
    order = np.lexsort((pair_b, pair_a, np.minimum(clusters.cluster[pair_a], clusters.cluster[pair_b])))
    workers = options.workers or os.cpu_count() or 1
    _CONTEXT.update(
        fs=fs, index=index, k=k, options=options, pair_a=pair_a, pair_b=pair_b, relation=pairs["relation"].to_numpy()
    )
    drop: list[int] = []
    done = 0
    report("align", 0, len(pairs))
    chunks = list(_pair_batches(order, pair_a, pair_b, chars, options.batch_docs, options.batch_chars))
    for rows in _fan_out(_align_batch, chunks, workers):
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
        pair_a, pair_b = pair_a[keep], pair_b[keep]
    timings["align"] = time.perf_counter() - t

    # Label: every paragraph; only articles in clusters or holding boilerplate need a look.
    t = time.perf_counter()
    para_offsets = fs.para_offsets()
    labels = np.full(int(para_offsets[-1]), 2, dtype=np.int8)  # original
    in_cluster = clusters.cluster >= 0
    for d in np.flatnonzero(in_cluster & ~has_boiler).tolist():
        labels[para_offsets[d] : para_offsets[d + 1]] = 1 if clusters.role[d] == "copy" else 2
    shared = shared_spans(clusters.cluster, pair_a, pair_b, pairs["cut_from"].to_numpy(), passages)
    todo = np.flatnonzero(has_boiler | (in_cluster & np.isin(np.arange(n), list(shared))))
    _CONTEXT.update(
        has_boiler=has_boiler, boiler_fps=boiler_fps, bits=bits, chars=chars, role=clusters.role, shared=shared
    )
    done = 0
    report("label", 0, len(todo))
    for rows in _fan_out(
        _label_batch, list(_doc_batches(todo, chars, options.batch_docs, options.batch_chars)), workers
    ):
        for d, codes in rows:
            labels[para_offsets[d] : para_offsets[d + 1]] = codes
        done += len(rows)
        report("label", done, len(todo))
    _CONTEXT.clear()
    timings["label"] = time.perf_counter() - t
    return ScanResult(
        store=fs,
        frame=index.frame,
        pairs=pairs,
        clusters=clusters,
        passages=passages,
        labels=labels,
        para_offsets=para_offsets,
        boilerplate=boiler_fps,
        boiler_bits=bits,
        candidates=len(ev.pairs),
        timings=timings,
        options=options,
        skipped=list(skipped),
    )


# What the phase-2 batch functions read: set by ``analyse`` before worker processes are forked, so
# each worker has it without pickling (the store, the per-article index, the pairs and spans).
_CONTEXT: dict = {}


def _align_batch(chunk: np.ndarray) -> list[tuple[int, np.ndarray, bool]]:
    """Passages of the pairs in ``chunk``, and whether each partial pair is only a shared template."""
    c = _CONTEXT
    pair_a, pair_b, relation = c["pair_a"], c["pair_b"], c["relation"]
    docs = np.unique(np.concatenate([pair_a[chunk], pair_b[chunk]]))
    loaded = _Loaded(c["fs"], c["index"], docs.tolist(), c["k"], threads=1)
    out = []
    for p in chunk.tolist():
        la, lb = loaded.pos[int(pair_a[p])], loaded.pos[int(pair_b[p])]
        found = align_pair(loaded.corpus, loaded.tokens, loaded.shingles, la, lb, c["options"].align)
        out.append((p, found, bool(relation[p] == "partial" and template_like(loaded.corpus, la, lb, found))))
    return out


def _label_batch(chunk: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Paragraph labels of the articles in ``chunk`` (re-read only those holding boilerplate)."""
    c = _CONTEXT
    has_boiler, chars, role, shared = c["has_boiler"], c["chars"], c["role"], c["shared"]
    need = [d for d in chunk.tolist() if has_boiler[d]]
    empty, no_shared = np.zeros((0, 2), dtype=np.int64), np.zeros((0, 3), dtype=np.int64)
    if need:
        loaded = _Loaded(c["fs"], c["index"], need, c["k"], threads=1)
        sh = loaded.shingles
        flags = np.isin(fingerprints(sh.hashes) >> np.uint64(c["bits"]), c["boiler_fps"])
    out = []
    for d in chunk.tolist():
        spans = boiler_spans(loaded.tokens, sh, loaded.pos[d], flags) if has_boiler[d] else empty
        paras = c["fs"].paragraphs(d)
        out.append((d, label_document(int(chars[d]), paras, role[d] == "copy", spans, shared.get(d, no_shared))))
    return out


def _fan_out(fn: Callable, chunks: list, workers: int) -> Iterator:
    """``fn`` over the chunks in order: in forked worker processes when there are several chunks (the
    workers use numpy only, and read ``_CONTEXT`` as the fork left it), else here."""
    if workers > 1 and len(chunks) > 1:
        with _worker_pool(min(workers, len(chunks))) as pool:
            yield from pool.map(fn, chunks)
    else:
        yield from map(fn, chunks)


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
