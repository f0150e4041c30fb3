"""The scan, in two phases around the feature store.

Phase 1 (``ingest``): the input is read in batches, each batch turned into compact features
(``features.extract``) and written to the store as one shard, in worker processes. Phase 2
(``analyse``): posting lists and pair evidence from the store (``evidence``), verification and
boilerplate (``verify``), clusters and sources (``cluster``); then only the articles that are
in pairs or hold boilerplate are re-read from the store, batch by batch, to align passages
(``align``) and label paragraphs (``label``). Memory is bounded by a batch and a partition of
the postings, plus a few numbers per article.

Both phases fan their tasks out on an ``Executor`` (``dedup.workers``): worker processes and threads here
by default, or a Ray cluster (``dedup.distributed``), the tasks' code the same.

Results depend only on the input: not on the number of workers, nodes or tasks, nor on batch sizes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import candidates
from .corpus import Corpus
from .evidence import doc_bits, give_back_heap, list_fingerprints
from .featurestore import FeatureStore, StoreError, publish_shard, stage_shard, write_shard
from .featurestore.validate import Verdict, verdict
from .ingest.model import Article, Entry, Skipped
from .options import Progress, ScanOptions, store_params
from .phase1.features import MAX_BATCH, extract_with
from .phase1.normalise import TokenCache, prepare
from .phase2 import Boilerplate, DocTable, analyse_lists
from .result import ScanResult
from .workers import Executor, Pool, Processes, worker_pool

PHASES = ("read", "match", "align", "label")


def scan(
    source: str | os.PathLike[str] | Corpus,
    options: ScanOptions | None = None,
    progress: Progress | None = None,
    store: str | os.PathLike[str] | None = None,
    extra: tuple[str | os.PathLike[str], Sequence[str]] | None = None,
    executor: Executor | None = None,
    known: Callable[[FeatureStore, list[str]], list[str]] | None = None,
) -> ScanResult:
    """Find the copies in a folder of articles (or an in-memory ``Corpus``).

    The features go to ``store`` when given (kept), else to a temporary folder that lives as
    long as the result. ``extra``: (folder, shard names) of more articles to scan with these, after
    them (an index's shards: ``scan DIR --index``); ``known(store, shards)``: the shards phase 1 wrote,
    rewritten without the articles ``extra`` already holds (so one article is one document). ``executor``:
    where the tasks of both phases run (default: worker processes and threads here; a Ray cluster:
    ``dedup.distributed``); the result is the same.
    """
    options = options or ScanOptions()
    report = progress or (lambda phase, done, total: None)
    tmp = None
    if store is None:
        tmp = tempfile.TemporaryDirectory(prefix="dedup-scan-")
        store = tmp.name
    fs = FeatureStore(store, params=store_params(options), create=True)
    if fs.shard_names:
        raise StoreError(
            f"{store}: already holds a scan's features; give a new folder (an index grows with 'index add')"
        )
    t0 = time.perf_counter()
    with contextlib.ExitStack() as kept:
        pool = None
        workers = options.workers or os.cpu_count() or 1
        if executor is None and workers > 1 and not isinstance(source, Corpus):
            prepare()  # what every worker needs, loaded before they are forked
            pool = kept.enter_context(Pool(workers))  # forked when a step first has several chunks
        if isinstance(source, Corpus):
            names, skipped = _ingest_corpus(fs, source, options, report)
        else:
            names, skipped = ingest(fs, source, options, report, executor=executor, pool=pool)
        already = 0
        if known is not None:
            read = sum(fs.shard(n).n for n in names)
            names = known(fs, names)
            already = read - sum(fs.shard(n).n for n in names)
        fs.commit(names)
        read_time = time.perf_counter() - t0
        own = len(fs)
        joined = fs.joined(extra[0], extra[1], "index:") if extra else fs
        result = analyse_store(joined, options, report, skipped, executor, pool=pool)
    if extra:
        result.indexed_from, result.already_indexed = own, already
    result.timings = {"read": read_time, **result.timings}
    result.keep_alive = tmp
    return result


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


def _group(entries: Iterable[Entry | Skipped], skipped: list[Skipped], options: ScanOptions) -> Iterator[_Task]:
    """``_tasks`` as the distributed walk calls it (each part of the walk groups its own entries)."""
    return _tasks(entries, options, skipped)


@dataclass
class _Listed:
    """A phase-1 task of a cluster's scan as the driver holds it: its number, and its group of files as the
    distributed walk wrote it to the store's work folder (``distributed.walk.Listed``; the task reads it)."""

    number: int
    group: object

    def task(self) -> _Task:
        group = self.group.load() if hasattr(self.group, "load") else self.group
        return _Task(self.number, group.entries)


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


# The tokeniser's vocabulary a worker process keeps from task to task (``_kept_vocabulary``), in the worker only.
_VOCABULARY: TokenCache | None = None
VOCABULARY_LIMIT = 1 << 17  # distinct tokens a worker's kept vocabulary holds (~24 MB) before it starts afresh


def _kept_vocabulary() -> TokenCache:
    """This worker's tokeniser vocabulary, kept across its tasks: a distinct word is normalised and hashed once
    per worker instead of once per batch (that was ~40 % of tokenising a batch of 2,000 articles). The features
    are the same with or without it (``TokenCache``); it starts afresh past ``VOCABULARY_LIMIT`` words."""
    global _VOCABULARY
    if _VOCABULARY is None or _VOCABULARY.vocab.count > VOCABULARY_LIMIT:
        _VOCABULARY = TokenCache()
    return _VOCABULARY


def _run_task(
    root: str, task: _Task, options: ScanOptions, threads: int | None, cache: TokenCache | None = None
) -> tuple[list, list, int]:
    """Read one task's files and stage their shards (no polars: it may run in a forked worker); ``cache``: the
    tokeniser's vocabulary to share with other tasks (``extract``'s).

    Returns ([(shard name, staged folder, docs columns)], skipped, files done); ``publish_shard``
    completes each shard in the parent.
    """
    from .ingest.batch import read_entries

    fs_root = Path(root)
    skipped: list[Skipped] = []
    staged = []
    # read_entry(entry, segmented=True) of each (a huge text file as a LongText), plain files a batch a call
    articles = read_entries(task.entries, options.ingest)
    for sub, batch in enumerate(_batches(articles, options, skipped)):
        name = f"{task.number:06d}-{sub:04d}"
        data = extract_with(batch, options, threads=threads, cache=cache)
        staged.append((name, stage_shard(fs_root, name, data), data.docs))
    return staged, skipped, len(task.entries)


def _worker(args: tuple[str, _Task, ScanOptions]) -> tuple[list, list, int]:
    root, task, options = args
    return _run_task(root, task, options, threads=1, cache=_kept_vocabulary())


def read_task(
    context: tuple[str, ScanOptions], task: _Task | _Listed
) -> tuple[list[str], list[Skipped], int, list[Verdict]]:
    """One task of phase 1 on an ``Executor`` whose workers are not forked from us (polars is safe there):
    its files read and its shards written whole (``_run_task``, then ``publish_shard``), then each checked as
    written (``validate.verdict``: the store's own check, here rather than in the driver). A pure function of
    its inputs: run again, it writes the same shards under the same names. Returns (shard names,
    skipped, files done, the shards' verdicts)."""
    root, options = context
    if isinstance(task, _Listed):
        task = task.task()
    staged, skipped, n = _run_task(root, task, options, threads=1, cache=_kept_vocabulary())
    verdicts = []
    for name, path, docs in staged:
        publish_shard(Path(root), name, path, docs)
        verdicts.append(verdict(Path(root), name, options.num_perm))
    return [name for name, _, _ in staged], skipped, n, verdicts


def _task_label(task: _Task | _Listed) -> str:
    """A phase-1 task's input, as an error names it: its first file, and how many more."""
    if isinstance(task, _Listed):
        task = task.task()
    more = len(task.entries) - 1
    return task.entries[0].path + (f" (and {more} more file{'s' * (more != 1)})" if more else "")


def ingest(
    fs: FeatureStore,
    source: str | os.PathLike[str],
    options: ScanOptions,
    report: Progress,
    on_shard: Callable[[str], None] | None = None,
    executor: Executor | None = None,
    pool: Pool | None = None,
) -> tuple[list[str], list[Skipped]]:
    """Phase 1 over a folder: every readable article into shards of ``fs``; returns (shards, skipped).
    ``on_shard`` is called with each shard's name, in order, as soon as it is written (the index
    commits it while the workers go on). ``executor``: where the tasks run when not in worker processes
    here (a cluster: each task writes its own shards to ``fs``, which every worker must reach); ``pool``:
    the scan's kept workers (else they are forked for this phase)."""
    from .ingest import walk

    skipped: list[Skipped] = []
    work = None
    tasks: Sequence[_Task] | Sequence[_Listed]
    walk_on = getattr(executor, "walk", None)
    if callable(walk_on):  # a cluster's driver: the walk as tasks, its groups in files of the store, not here
        work = tempfile.mkdtemp(prefix=".walk-", dir=fs.root)
        try:
            walked = walk_on(source, options.ingest, functools.partial(_group, options=options), work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        tasks = [_Listed(k, group) for k, group in enumerate(walked.groups)]
        n_files = walked.files
        skipped.extend(walked.skipped)
    else:
        entries = list(walk(source, options.ingest))
        n_files = sum(1 for e in entries if not isinstance(e, Skipped))
        tasks = list(_tasks(entries, options, skipped))
    prepare()  # the tables (and any compiled kernels) every worker needs, loaded before any is forked
    report("read", 0, n_files)
    workers = options.workers or os.cpu_count() or 1
    names: list[str] = []
    done = 0
    vocabulary = TokenCache()  # for the tasks read here: one vocabulary for the whole phase (freed after it)

    def publish(staged: list, skip: list, n: int) -> None:
        nonlocal done
        for name, path, docs in staged:
            if path is not None:  # else the task published it
                publish_shard(fs.root, name, path, docs)
            names.append(name)
            if on_shard is not None:
                on_shard(name)
        skipped.extend(skip)
        done += n
        report("read", done, n_files)

    if executor is not None:
        try:
            for written, skip, n, verdicts in executor.map(
                read_task, (str(fs.root), options), tasks, label=_task_label
            ):
                for name in written:
                    if not (fs.root / "shards" / name).is_dir():
                        raise StoreError(
                            f"{fs.root}: shard {name} was written where this machine cannot see it; "
                            "the store must be a folder every node shares"
                        )
                for v in verdicts:  # each shard checked by the task that wrote it: the driver takes its word
                    if v.error is not None:
                        raise StoreError(v.error)
                fs.vouch(verdicts)
                publish([(name, None, None) for name in written], skip, n)
        finally:
            if work is not None:  # the walk's listings
                shutil.rmtree(work, ignore_errors=True)
        for left in (fs.root / "shards").glob(".*"):  # staged by a task whose worker died; run again since
            shutil.rmtree(left, ignore_errors=True)
    elif workers > 1 and len(tasks) > 1:
        # Parquet is read with polars, whose thread pool does not survive a fork: those files are read here.
        here = [any(e.kind == "parquet" for e in t.entries) for t in tasks]
        with contextlib.ExitStack() as own:
            workers_here = pool or own.enter_context(worker_pool(min(workers, len(tasks))))
            futures = {
                k: workers_here.submit(_worker, (str(fs.root), t, options)) for k, t in enumerate(tasks) if not here[k]
            }
            for k, t in enumerate(tasks):
                publish(
                    *(
                        _run_task(str(fs.root), t, options, threads=1, cache=vocabulary)
                        if here[k]
                        else futures.pop(k).result()
                    )
                )
        if pool is not None:
            pool.settle()
    else:
        for t in tasks:
            publish(*_run_task(str(fs.root), t, options, threads=None, cache=vocabulary))
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
    prepare()
    report("read", 0, len(corpus))
    for sub, batch in enumerate(_batches(articles(), options, skipped)):
        name = f"{0:06d}-{sub:04d}"
        write_shard(fs.root, name, extract_with(batch, options))
        names.append(name)
        done += len(batch)
        report("read", done, len(corpus))
    return names, skipped


# ---------------------------------------------------------------------------------------------
# Phase 2


def analyse_store(
    fs: FeatureStore,
    options: ScanOptions,
    report: Progress | None = None,
    skipped: Sequence[Skipped] = (),
    executor: Executor | None = None,
    pool: Pool | None = None,
) -> ScanResult:
    """Phase 2 over a store (``phase2.analyse_lists``), from the candidates of ``options.candidates`` (``candidates``:
    every posting list, sorted partition by partition, or LSH's pairs and what they share); the partitions,
    align and label run on ``executor`` (default: here, align and label in ``pool``'s workers when given,
    else in workers forked for each), the rest in this process."""
    report = report or (lambda phase, done, total: None)
    prepare()
    t = time.perf_counter()
    # A cluster's executor keeps the table by article partition (``distributed.table``): a few numbers an article.
    stored = getattr(executor, "table", None)
    table = stored(fs) if callable(stored) else DocTable(fs.docs())
    n = len(table)
    shards = list(fs.shards())
    # Progress in partitions of the postings (the bulk of the step), then the rest as one more step.
    steps = [1]

    def partitions_done(done: int, total: int) -> None:
        steps[0] = total + 1
        report("match", done, total + 1)

    report("match", 0, None)
    with tempfile.TemporaryDirectory(prefix="work-", dir=fs.root) as work:
        spill = Path(work)
        found_candidates = candidates.find(
            shards,
            bases=fs.bases[:-1],
            sizes=table.sizes,
            content=table.content,
            has_text=table.has_text,
            options=options,
            spill=spill,
            progress=partitions_done,
            executor=executor,
        )
        lists = found_candidates.lists
        give_back_heap()  # the partitions' sorts and merges, freed (their heap pages, not only their arrays)
        listing = time.perf_counter() - t

        def boilerplate_of(mask: np.ndarray) -> Boilerplate:
            holders = lists.holders(mask, n)
            fingerprints = list_fingerprints(spill, lists, mask, executor)
            for path in spill.iterdir():  # the spilled postings are done with: free the disk before align
                path.unlink()
            report("match", steps[0], steps[0])
            return Boilerplate(fingerprints, doc_bits(n), holders)

        found = analyse_lists(
            fs,
            table=table,
            lists=lists,
            boilerplate_of=boilerplate_of,
            options=options,
            report=report,
            # A cluster's table has them from its tasks (the driver checks and maps no shard for them).
            para_offsets=table.para_offsets if hasattr(table, "para_offsets") else fs.para_offsets(),
            executor=executor or (Processes(options.workers, pool) if pool is not None else None),
            evidence=found_candidates.evidence,
        )
    found.timings["match"] += listing
    return ScanResult.of(found, fs, options, skipped)
