"""Posting lists and pair evidence as partitioned tasks: no process combines every list or every pair.

The local scan builds its posting lists bucket range by bucket range (``evidence.partition_lists``), then
combines them and derives the candidate pairs in one process (``evidence.pair_evidence``). On a cluster the
same functions run per partition, in three steps of tasks on an ``Executor``, which meet in a folder every
node shares (the store's working folder):

1. **bucket tasks**, one per range of fingerprint buckets (``evidence.partition_lists``, as locally): each
   writes its lists split by *list hash* into ``partitions`` slices of one file;
2. **list tasks**, one per list-hash partition: each combines its part of every bucket range's lists
   (``evidence.combine_partitions``; a list is a set of articles, so all of one list's pieces hash to the
   one partition) and takes its pair evidence (``evidence.list_entries``: small lists' (pair, list)
   entries, big lists' links and memberships), written split by *pair partition* (the pair's first article,
   by range, so the partitions in order are the pairs in order);
3. **pair tasks**, one per pair partition: the candidate pairs and their entries
   (``evidence.pair_entries``, then ``evidence.big_entries`` over the big-list memberships of only its
   pairs' articles).

What each task holds is its partition (plus the articles' sizes, one number an article, put once a node in
a cluster's object store); the driver receives a count from each task. The partitions' files then stay in the
store: the driver reads back only a few numbers a list (hash, weight, size) and the candidate pairs, and what
verification needs of the lists' members or the pairs' entries is asked of every partition by tasks that run
verify's own functions on it (``PartitionedLists``, ``PartitionedEvidence``): the same answers as over the
local scan's ``Lists`` and ``Evidence`` (list by list, pair by pair; sums of integer weights, exact in any
order).

Verification itself runs by pair partition (``StoredPairs``, verify's ``PairParts``): each of its per-pair steps
is a task on one pair partition that leaves its per-pair columns in files beside the partition; the driver holds
what is a number an article or a list (groups, stories, boilerplate flags) and never a vector over the candidate
pairs. Components are label maps from those tasks merged in a tree; ``_derived_from``'s ranking meets each
article's rows in an article partition and asks the pair partitions what its top partner shares with the others;
the steps that read articles run partition by partition in the driver (their reads are tasks of their own).

Every shuffle between partitions (the lists by list hash, the entries by pair partition, the story rounds' rows,
questions and answers, the syndicated shares' keys) writes one file a task, its rows grouped by destination behind
a header of bounds (``_write_slices``), and each reader reads its slice of each file (``_read_slice``): a step
makes as many files as tasks, not one a pair of partitions (P² small files, whose writing, renaming and deleting
was most of the time at a few hundred partitions). The article partitions the story rounds and the syndicated
shares meet in are sized by rows (``doc_parts``), not by the pair partitions' number.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..arrays import run_index
from ..evidence import (
    PARTITION_ROWS,
    Evidence,
    Lists,
    PartitionJob,
    big_entries,
    bucket_ranges,
    combine_partitions,
    doc_bits,
    list_entries,
    pair_codes,
    pair_entries,
    partition_lists,
)
from ..featurestore import FeatureStore, Shard
from ..options import VerifyParams
from ..workers import Executor

if TYPE_CHECKING:
    from ..ingest.model import IngestOptions
    from .table import StoredTable
    from .walk import Group, Walked

Progress = Callable[[int, int], None]


def _save(path: Path, **arrays: np.ndarray) -> None:
    """Arrays to ``path`` whole (written under a temporary name, then renamed): a task run again replaces its
    files, and a reader never sees half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _write_slices(path: Path, columns: Sequence[np.ndarray], bounds: Sequence[int]) -> None:
    """One file for every reader of a shuffle: ``columns`` (1-d arrays of one length, each of its own dtype) whose
    rows ``bounds[t]:bounds[t + 1]`` are reader ``t``'s. A header (the number of readers and of columns, each
    column's dtype), the bounds, then reader by reader a block of its rows of every column, one column after the
    other: a reader finds its block from its two bounds and reads it in one ``preadv`` (``_read_slice``: three reads
    a file, where a file of whole columns took four and two a column). Written under a temporary name, then renamed,
    as ``_save``. A map task writes one such file a wave, not one a reader: O(tasks) files a wave, not O(tasks²)."""
    columns = [np.ascontiguousarray(c) for c in columns]
    dtypes = b"".join(c.dtype.str.encode().ljust(8) for c in columns)
    header = np.array([len(bounds) - 1, len(columns)], dtype=np.int64).tobytes() + dtypes
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(header)
        f.write((np.asarray(bounds, dtype=np.int64) - bounds[0]).tobytes())  # from 0: where the blocks start
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if hi > lo:
                f.writelines(memoryview(c[lo:hi]).cast("B") for c in columns)
    os.replace(tmp, path)


def _pread_into(fd: int, out: np.ndarray, at: int) -> np.ndarray:
    """``out`` filled from the file's bytes at ``at`` (read straight into it: a slice is not copied again)."""
    _preadv_into(fd, [out], at)
    return out


def _preadv_into(fd: int, arrays: Sequence[np.ndarray], at: int) -> None:
    """``arrays`` filled one after the other from the file's bytes at ``at``, in one ``preadv`` (more if short)."""
    views = [memoryview(a).cast("B") for a in arrays if a.nbytes]
    size = sum(len(v) for v in views)
    done = 0
    while done < size:
        got = os.preadv(fd, views, at + done)
        if not got:
            raise OSError(f"{size} bytes expected at {at}, the file ends first")
        done += got
        while views and got >= len(views[0]):  # the buffers filled; the rest of a part-filled one, then the others
            got -= len(views[0])
            views.pop(0)
        if views and got:
            views[0] = views[0][got:]


def _pread(fd: int, size: int, at: int) -> bytes:
    return _pread_into(fd, np.empty(size, dtype=np.uint8), at).tobytes()


def _read_slice(path: Path, t: int) -> list[np.ndarray]:
    """Reader ``t``'s rows of each column of a file of ``_write_slices``, read alone: the header with the dtypes
    (one read of its first 16 + 8 × columns bytes: up to 8 columns in one read of 80), its two bounds, its block."""
    fd = os.open(path, os.O_RDONLY)
    try:
        head = os.pread(fd, 80, 0)
        if len(head) < 16:
            raise OSError(f"a header of 16 bytes expected, the file has {len(head)}")
        parts, k = np.frombuffer(head[:16], dtype=np.int64).tolist()
        if len(head) < 16 + 8 * k:
            head = _pread(fd, 16 + 8 * k, 0)
        dtypes = [np.dtype(head[16 + 8 * c : 24 + 8 * c].strip().decode()) for c in range(k)]
        lo, hi = np.frombuffer(_pread(fd, 16, 16 + 8 * k + 8 * t), dtype=np.int64).tolist()
        width = sum(dt.itemsize for dt in dtypes)
        out = [np.empty(hi - lo, dtype=dt) for dt in dtypes]
        _preadv_into(fd, out, 16 + 8 * k + 8 * (parts + 1) + width * lo)
    finally:
        os.close(fd)
    return out


def _read_whole(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """Every row of a file of ``_write_slices``, each column in the readers' order, and the readers' bounds."""
    with open(path, "rb") as f:
        data = f.read()
    parts, k = np.frombuffer(data[:16], dtype=np.int64).tolist()
    dtypes = [np.dtype(data[16 + 8 * c : 24 + 8 * c].strip().decode()) for c in range(k)]
    at = 16 + 8 * k
    bounds = np.frombuffer(data[at : at + 8 * (parts + 1)], dtype=np.int64)
    body = np.frombuffer(data, dtype=np.uint8, offset=at + 8 * (parts + 1))
    width = sum(dt.itemsize for dt in dtypes)
    rows = np.diff(bounds)
    block = width * bounds[:-1]  # where each reader's block starts
    out, before = [], 0
    for dt in dtypes:
        taken = body[run_index(block + before * rows, rows * dt.itemsize)]
        out.append(taken.view(dt))
        before += dt.itemsize
    return out, bounds


# List partitions merged into one file of each of their shuffle's kinds before the pair tasks read them, when there are
# more than this many (``_merge_task``): each pair task then opens P / MERGE_FANIN files of a kind instead of P, the
# step's reads P² / MERGE_FANIN + P instead of P² (at 256 partitions 4,096 + 256 instead of 65,536 a kind), for one
# more write of the entries.
MERGE_FANIN = 16


@dataclass(frozen=True)
class _Merge:
    work: str
    list_offsets: np.ndarray  # first global list number of each list partition


def _merge_task(m: _Merge, group: tuple[int, int]) -> int:
    """List partitions ``lo:hi``'s entries, links and big memberships, each merged into one file (``m-entries-lo``,
    ...) with every pair partition's slice: a pair partition's rows in the order it read them from the partitions one
    by one, their list numbers made global (``list_offsets``), so that what the pair task builds is the same."""
    lo, hi = group
    work = Path(m.work)
    for name, global_col in (("entries", 1), ("links", None), ("big", 1)):
        columns: list[list[np.ndarray]] = []
        reader = []
        for q in range(lo, hi):
            cols, bounds = _read_whole(work / f"{name}-{q:05d}.bin")
            if global_col is not None:
                cols[global_col] = cols[global_col] + m.list_offsets[q]
            columns.append(cols)
            reader.append(np.repeat(np.arange(len(bounds) - 1), np.diff(bounds)))
        order, merged_bounds = _split(np.concatenate(reader), len(bounds) - 1)  # by reader, then partition
        merged = [np.concatenate([c[j] for c in columns])[order] for j in range(len(columns[0]))]
        _write_slices(work / f"m-{name}-{lo:05d}.bin", merged, merged_bounds)
    return hi - lo


# The rows an article partition of verification's shuffles takes at most (``doc_parts``): its readers hold a few
# arrays of this length (the ranking's sorts: ~100 bytes a row), so ~400 MB at most; fewer article partitions than
# pair partitions when the rows are few, so that a wave writes one file a task and reads O(pair partitions) slices.
DOC_ROWS = 1 << 22


def doc_parts(rows: int, cpus: int = 1) -> int:
    """How many article partitions a shuffle of ``rows`` rows (at most) takes: one a ``DOC_ROWS``, at least one a
    CPU (so that the reduce tasks run side by side), never more than needed for one row each."""
    return max(1, min(max(-(-rows // DOC_ROWS), cpus), max(rows, 1)))


def hash_cuts(partitions: int) -> np.ndarray:
    """The first list hash of each list partition but the first: the uint64 space in equal ranges."""
    step = (1 << 64) // partitions
    return np.array([k * step for k in range(1, partitions)], dtype=np.uint64)


def doc_cuts(n_docs: int, partitions: int) -> np.ndarray:
    """The first article of each pair partition but the first: the articles in equal ranges."""
    return np.array([n_docs * k // partitions for k in range(1, partitions)], dtype=np.int64)


@dataclass(frozen=True)
class _Job:
    """What the three steps' tasks share: the shards, the folder they meet in, the partition counts, the
    articles' sizes and the evidence rule's parameters."""

    lists: PartitionJob
    work: str
    partitions: int
    ranges: tuple[tuple[int, int], ...]
    sizes: np.ndarray
    params: VerifyParams


def _bucket_task(job: _Job, buckets: tuple[int, int]) -> int:
    """Step 1: the lists of one range of fingerprint buckets, split by list partition: one file of the lists (hash,
    weight, size) and one of their members, each with every list partition's slice (``_write_slices``)."""
    hashes, weights, offsets, members = partition_lists(job.lists, buckets)
    at = np.searchsorted(hashes, hash_cuts(job.partitions)).tolist()  # hashes are sorted
    edges = [0, *at, len(hashes)]
    work = Path(job.work)
    _write_slices(work / f"lists-{buckets[0]:03d}.bin", [hashes, weights, np.diff(offsets)], edges)
    _write_slices(work / f"members-{buckets[0]:03d}.bin", [members], offsets[edges].tolist())
    return len(hashes)


def _list_task(job: _Job, q: int) -> tuple[int, int]:
    """Step 2: list partition ``q`` combined from every bucket range's part of it, and its pair evidence
    written per pair partition; returns its numbers of lists and of members."""
    work = Path(job.work)
    parts = []
    for lo, _ in job.ranges:
        hashes, weights, sizes = _read_slice(work / f"lists-{lo:03d}.bin", q)
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        parts.append((hashes, weights, offsets, _read_slice(work / f"members-{lo:03d}.bin", q)[0]))
    lists = combine_partitions(parts)
    del parts
    arrays = {"hashes": lists.hashes, "weights": lists.weight, "offsets": lists.offsets, "members": lists.members}
    _save(work / f"combined-{q:05d}.npz", **arrays)
    p = job.params
    e = list_entries(lists, job.sizes, p.partial_min_shared, p.link_share, p.max_enumerate)
    cuts = doc_cuts(len(job.sizes), job.partitions)
    entry_part = np.searchsorted(cuts, (e.codes >> np.uint64(32)).astype(np.int64), side="right")
    link_part = np.searchsorted(cuts, (e.links >> np.uint64(32)).astype(np.int64), side="right")
    # One file of entries and one of links, each with every pair partition's slice, in the entries' order.
    order, bounds = _split(entry_part, job.partitions)
    _write_slices(work / f"entries-{q:05d}.bin", [e.codes[order], e.which[order], e.weight[order]], bounds)
    order, bounds = _split(link_part, job.partitions)
    _write_slices(work / f"links-{q:05d}.bin", [e.links[order]], bounds)
    _write_slices(work / f"big-{q:05d}.bin", [e.big_member, e.big_list], [0, len(e.big_member)])
    return len(lists), len(lists.members)


@dataclass(frozen=True)
class _PairJob:
    job: _Job
    list_offsets: np.ndarray  # first global list number of each list partition
    exact: np.ndarray  # pair codes of the exact copies, sorted
    merged: tuple[int, ...] = ()  # the first list partition of each merged file (``_merge_task``); none: not merged

    def sources(self) -> list[tuple[str, int]]:
        """The files of each kind a pair task reads, as (the name after the kind, what to add to list numbers)."""
        if self.merged:
            return [(f"{lo:05d}", 0) for lo in self.merged]
        return [(f"{q:05d}", int(self.list_offsets[q])) for q in range(self.job.partitions)]


def _pair_task(pj: _PairJob, r: int) -> tuple[int, int]:
    """Step 3: the candidate pairs of pair partition ``r`` and their entries (global list numbers), written
    to one file; returns its numbers of pairs and of entries."""
    job, work = pj.job, Path(pj.job.work)
    codes, which, weight, links = [], [], [], []
    prefix = "m-" if pj.merged else ""
    for name, add in pj.sources():
        c, w, wt = _read_slice(work / f"{prefix}entries-{name}.bin", r)
        codes.append(c)
        which.append(w + add if add else w)
        weight.append(wt)
        links.append(_read_slice(work / f"{prefix}links-{name}.bin", r)[0])
    cuts = doc_cuts(len(job.sizes), job.partitions)
    bounds = np.concatenate([[0], cuts, [len(job.sizes)]]).astype(np.uint64) << np.uint64(32)
    exact = pj.exact[np.searchsorted(pj.exact, bounds[r]) : np.searchsorted(pj.exact, bounds[r + 1])]
    ev = pair_entries(
        np.concatenate(codes), np.concatenate(which), np.concatenate(weight), [*links, exact], job.params.min_shared
    )
    del codes, which, weight, links
    involved = np.zeros(len(job.sizes), dtype=bool)
    involved[ev.pairs.ravel()] = True
    member, lst = [], []
    for name, add in pj.sources():
        big_member, big_list = _read_slice(work / f"{prefix}big-{name}.bin", 0)  # every pair partition reads it all
        keep = involved[big_member]
        member.append(big_member[keep])
        lst.append(big_list[keep] + add)
    del involved
    ev = big_entries(ev, np.concatenate(member), np.concatenate(lst), len(job.sizes))
    _save(work / f"pairs-{r:05d}.npz", pairs=ev.pairs, entry_pair=ev.entry_pair, entry_list=ev.entry_list)
    return len(ev.pairs), len(ev.entry_pair)


def lists_and_evidence(
    shards: Sequence[Shard],
    bases: np.ndarray,
    sizes: np.ndarray,
    exact: np.ndarray,
    params: VerifyParams,
    spill: Path,
    executor: Executor,
    partitions: int = 0,
    budget: int = PARTITION_ROWS,
    progress: Progress | None = None,
) -> tuple[PartitionedLists, PartitionedEvidence]:
    """The posting lists and pair evidence of the store's articles (``sizes``: their distinct shingles;
    ``exact``: (a, b) pairs of exact copies, measured whatever they share), in ``partitions`` list and pair
    partitions (0: as many as the bucket ranges or the executor's CPUs, whichever more) of tasks on
    ``executor`` (module docstring). ``spill``: the working folder, shared by every node; the lists'
    fingerprints are spilled there as ``evidence.posting_lists`` spills them. The lists are left in their
    partitions (``PartitionedLists``, beside ``spill``), the same lists as ``posting_lists``'s, and so is the
    evidence (``PartitionedEvidence``), ``pair_evidence``'s, whatever ``partitions``."""
    n = len(sizes)
    ranges = tuple(bucket_ranges(shards, budget))
    if partitions <= 0:  # as many as the bucket ranges, and at least one a CPU
        cpus = getattr(executor, "cpus", None)
        partitions = max(len(ranges), cpus() if callable(cpus) else 1)
    work = spill / "partitions"
    work.mkdir(exist_ok=True)
    job = _Job(PartitionJob(list(shards), bases, doc_bits(n), spill), str(work), partitions, ranges, sizes, params)
    total = len(ranges) + 2 * partitions
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    def named(r: tuple[int, int]) -> str:
        return f"fingerprint buckets {r[0]}-{r[1] - 1}"

    for _ in executor.map(_bucket_task, job, list(ranges), label=named):
        step()
    counts = []
    for c in executor.map(_list_task, job, list(range(partitions)), label=lambda q: f"list partition {q}"):
        counts.append(c)
        step()
    offsets = np.zeros(partitions + 1, dtype=np.int64)
    np.cumsum([c[0] for c in counts], out=offsets[1:])
    codes = np.unique(pair_codes(exact[:, 0], exact[:, 1])) if len(exact) else np.zeros(0, np.uint64)
    merged: tuple[int, ...] = ()
    if partitions > MERGE_FANIN:  # a tree of one level: the list partitions' files merged by groups first
        groups = [(lo, min(lo + MERGE_FANIN, partitions)) for lo in range(0, partitions, MERGE_FANIN)]
        label = lambda g: f"list partitions {g[0]}-{g[1] - 1} merged"  # noqa: E731
        list(executor.map(_merge_task, _Merge(str(work), offsets), groups, label=label))
        merged = tuple(g[0] for g in groups)
    pair_job = _PairJob(job, offsets, codes, merged)
    pair_counts = []
    for c in executor.map(_pair_task, pair_job, list(range(partitions)), label=lambda r: f"pair partition {r}"):
        pair_counts.append(c)
        step()
    # The list partitions stay where every node reads them, for verification's questions about lists
    # (``PartitionedLists``); the rest of the partitions' files are read: free the disk.
    kept = Path(tempfile.mkdtemp(prefix=f"{spill.name}-lists-", dir=spill.parent))
    for q in range(partitions):
        os.replace(work / f"combined-{q:05d}.npz", kept / f"combined-{q:05d}.npz")
    kept_pairs = Path(tempfile.mkdtemp(prefix=f"{spill.name}-pairs-", dir=spill.parent))
    for r in range(partitions):
        os.replace(work / f"pairs-{r:05d}.npz", kept_pairs / f"pairs-{r:05d}.npz")
    shutil.rmtree(work, ignore_errors=True)
    return PartitionedLists(kept, counts, n, executor), PartitionedEvidence(kept_pairs, pair_counts, n, executor)


def _partition(work: Path, q: int) -> Lists:
    """List partition ``q`` (its lists numbered from 0)."""
    z = _load(work / f"combined-{q:05d}.npz")
    return Lists(hashes=z["hashes"], offsets=z["offsets"], members=z["members"], weight=z["weights"])


@dataclass(frozen=True)
class _ListQuestion:
    """One of verification's questions about every list, asked of each list partition (``_list_question``):
    ``what`` (``boilerplate``, ``story_top``, ``weight_per_doc``, ``holders``) and what it takes: a label per
    article (``labels``: groups of copies, stories), the site codes, the parameters, the chosen lists (a bool per
    list, all partitions') and each partition's first list."""

    work: str
    what: str
    n_docs: int
    first: np.ndarray
    labels: np.ndarray | None = None
    site: np.ndarray | None = None
    params: VerifyParams | None = None
    chosen: np.ndarray | None = None


def _list_question(c: _ListQuestion, q: int) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The answer of list partition ``q``: a value per list for ``boilerplate`` and ``story_top`` (verify's own
    functions on the partition), and for ``weight_per_doc`` and ``holders`` the articles with something (and
    their sums): what one partition's members give."""
    from ..verify import _boilerplate_lists, _story_top

    lists = _partition(Path(c.work), q)
    if c.what == "boilerplate":
        return _boilerplate_lists(lists, c.labels, c.site, c.params)
    if c.what == "story_top":
        return _story_top(lists, c.labels)
    chosen = None if c.chosen is None else c.chosen[c.first[q] : c.first[q + 1]]
    if c.what == "holders":
        return np.flatnonzero(lists.holders(chosen, c.n_docs))
    w = lists.weight_per_doc(c.n_docs, chosen)
    some = np.flatnonzero(w)
    return some, w[some]


class PartitionedLists:
    """The posting lists, left in their partitions' files (a folder every node reads), for verification: what it
    needs per list (hashes, weights, sizes, a few bytes each) is here; what needs the lists' members (which
    lists are boilerplate, how many of a list's holders are in one story, each article's weight of chosen lists,
    which articles hold them) is asked of every partition by tasks on ``executor`` (``_list_question``), with
    verify's own functions, and put together: no process holds every list's members. The folder is removed
    when this object goes."""

    known = None

    def __init__(self, work: Path, counts: list[tuple[int, int]], n_docs: int, executor: Executor) -> None:
        self.work, self.n_docs, self.executor = work, n_docs, executor
        self.first = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum([c[0] for c in counts], out=self.first[1:])
        n = int(self.first[-1])
        self.hashes, self.weight = np.zeros(n, np.uint64), np.zeros(n, np.int64)
        self._sizes = np.zeros(n, np.int64)
        for q in range(len(counts)):
            z = _load(work / f"combined-{q:05d}.npz")
            lo, hi = self.first[q], self.first[q + 1]
            self.hashes[lo:hi], self.weight[lo:hi], self._sizes[lo:hi] = (
                z["hashes"],
                z["weights"],
                np.diff(z["offsets"]),
            )
        self._counts = counts
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(work), True)

    def __len__(self) -> int:
        return len(self.hashes)

    def sizes(self) -> np.ndarray:
        return self._sizes

    def _ask(self, what: str, **given) -> list:
        question = _ListQuestion(str(self.work), what, self.n_docs, self.first, **given)
        parts = list(range(len(self.first) - 1))
        return list(self.executor.map(_list_question, question, parts, label=lambda q: f"list partition {q}"))

    def boilerplate(self, groups: np.ndarray, site: np.ndarray, params: VerifyParams) -> np.ndarray:
        """``verify._boilerplate_lists`` of every list."""
        found = self._ask("boilerplate", labels=groups, site=site, params=params)
        return np.concatenate(found) if found else np.zeros(0, dtype=bool)

    def story_top(self, story: np.ndarray) -> np.ndarray:
        """``verify._story_top`` of every list."""
        found = self._ask("story_top", labels=story)
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def weight_per_doc(self, n_docs: int, chosen: np.ndarray | None = None) -> np.ndarray:
        """``Lists.weight_per_doc``: the partitions' sums added in partition order (exact: integer sums)."""
        out = np.zeros(n_docs, dtype=np.float64)
        for some, w in self._ask("weight_per_doc", chosen=chosen):
            out[some] += w
        return out

    def holders(self, chosen: np.ndarray, n_docs: int) -> np.ndarray:
        """``Lists.holders``."""
        out = np.zeros(n_docs, dtype=bool)
        for some in self._ask("holders", chosen=chosen):
            out[some] = True
        return out

    def whole(self) -> Lists:
        """Every list in one ``Lists``, members and all (what this class exists to avoid; for tests)."""
        return _read_lists(self.work, self._counts)


def _read_lists(work: Path, counts: list[tuple[int, int]]) -> Lists:
    """The list partitions' files, in order, as one ``Lists``, each read into its place in arrays made to the
    total (``counts``: each partition's lists and members)."""
    n_lists, n_members = sum(c[0] for c in counts), sum(c[1] for c in counts)
    lists = Lists(
        hashes=np.zeros(n_lists, np.uint64),
        offsets=np.zeros(n_lists + 1, np.int64),
        members=np.zeros(n_members, np.int64),
        weight=np.zeros(n_lists, np.int64),
    )
    at = base = 0
    for q, (k, m) in enumerate(counts):
        z = _load(work / f"combined-{q:05d}.npz")
        lists.hashes[at : at + k] = z["hashes"]
        lists.weight[at : at + k] = z["weights"]
        lists.offsets[at + 1 : at + k + 1] = z["offsets"][1:] + base
        lists.members[base : base + m] = z["members"]
        at, base = at + k, base + m
    return lists


@dataclass(frozen=True)
class _PairQuestion:
    """One of verification's questions about every pair's entries, asked of each pair partition
    (``_pair_question``): ``what`` (``sums``, ``syndicated``), a value and a flag per list (all partitions'), a
    flag per pair, each partition's first pair, and for ``syndicated`` the article partitions its keys go to."""

    work: str
    what: str
    n_docs: int
    first: np.ndarray
    values: np.ndarray | None = None
    chosen: np.ndarray | None = None
    pair_mask: np.ndarray | None = None
    doc_parts: int = 1
    mask: Callable | None = None  # (part, given) -> a flag per pair of the partition, in place of ``pair_mask``
    given: Any = None


def _pair_partition(work: Path, r: int) -> Evidence:
    """Pair partition ``r`` (its pairs numbered from 0, its entries' lists global)."""
    z = _load(work / f"pairs-{r:05d}.npz")
    return Evidence(z["pairs"], z["entry_pair"], z["entry_list"])


def _pair_question(c: _PairQuestion, r: int) -> np.ndarray | int:
    """The answer of pair partition ``r``: ``verify._pair_sums`` of its pairs; or (``syndicated``) its chosen
    entries' distinct (article, list) keys, both sides, written split by article partition (an article's keys
    come from several pair partitions: ``_doc_question`` meets them); returns their number."""
    from ..verify import _pair_sums

    ev = _pair_partition(Path(c.work), r)
    if c.what == "sums":
        return _pair_sums(ev, c.values, c.chosen)
    if c.mask is not None:
        mask = c.mask(_StoredPart(Path(c.work), r, ev), c.given)
    else:
        mask = c.pair_mask[c.first[r] : c.first[r + 1]]  # type: ignore[index]
    take = mask[ev.entry_pair] & c.chosen[ev.entry_list]
    pair, lst = ev.entry_pair[take], ev.entry_list[take]
    doc = np.concatenate([ev.pairs[pair, 0], ev.pairs[pair, 1]])
    keys = np.unique((doc.astype(np.uint64) << np.uint64(32)) | np.concatenate([lst, lst]).astype(np.uint64))
    at = np.searchsorted(keys, doc_cuts(c.n_docs, c.doc_parts).astype(np.uint64) << np.uint64(32)).tolist()
    _write_slices(Path(c.work) / f"keys-{r:05d}.bin", [keys], [0, *at, len(keys)])
    return len(keys)


def _doc_question(c: _PairQuestion, s: int) -> tuple[np.ndarray, np.ndarray]:
    """``verify._syndicated`` of article partition ``s``: its distinct (article, list) keys from every pair
    partition (its slice of each one's file), each list's weight (``values``) summed per article; the articles with
    some, and their sums."""
    work = Path(c.work)
    got = [_read_slice(work / f"keys-{r:05d}.bin", s)[0] for r in range(len(c.first) - 1)]
    keys = np.unique(np.concatenate(got)) if got else np.zeros(0, dtype=np.uint64)
    docs, at = np.unique((keys >> np.uint64(32)).astype(np.int64), return_inverse=True)
    return docs, np.bincount(at, weights=c.values[(keys & np.uint64(0xFFFFFFFF)).astype(np.int64)], minlength=len(docs))


class PartitionedEvidence:
    """The pair evidence, left in its partitions' files (a folder every node reads), for verification: the
    candidate pairs are here (two numbers a pair); what needs their entries (each pair's sum of chosen lists'
    weights, each article's distinct lists shared with its copies) is asked of every partition by tasks on
    ``executor`` (``_pair_question``, ``_doc_question``), with verify's own functions: no process holds every
    pair's entries. The folder is removed when this object goes."""

    def __init__(self, work: Path, counts: list[tuple[int, int]], n_docs: int, executor: Executor) -> None:
        self.work, self.n_docs, self.executor, self._counts = work, n_docs, executor, counts
        self.first = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum([c[0] for c in counts], out=self.first[1:])
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(work), True)

    def __len__(self) -> int:
        """The number of candidate pairs."""
        return int(self.first[-1])

    @property
    def pairs(self) -> np.ndarray:
        """Every candidate pair, in order (what verification by partition never asks for; for tests)."""
        out = np.zeros((len(self), 2), dtype=np.int64)
        for r in self._parts():
            with np.load(self.work / f"pairs-{r:05d}.npz", allow_pickle=False) as z:
                out[self.first[r] : self.first[r + 1]] = z["pairs"]
        return out

    def parts(self) -> StoredPairs:
        """These partitions as verification's ``verify.PairParts``: its per-pair steps in tasks, one a partition."""
        return StoredPairs(self)

    def _parts(self) -> list[int]:
        return list(range(len(self.first) - 1))

    def pair_sums(self, values: np.ndarray | None, chosen: np.ndarray | None = None) -> np.ndarray:
        """``verify._pair_sums`` of every pair, partition after partition."""
        question = _PairQuestion(str(self.work), "sums", self.n_docs, self.first, values, chosen)
        found = list(self.executor.map(_pair_question, question, self._parts(), label=_pair_label))
        return np.concatenate(found) if found else np.zeros(0, dtype=np.float64 if values is not None else np.int64)

    def syndicated(self, weight: np.ndarray, pair_mask: np.ndarray, chosen: np.ndarray, n: int) -> np.ndarray:
        """``verify._syndicated`` of the entries of the pairs in ``pair_mask`` whose list is ``chosen``: keys by
        pair partition (one file each), then met and summed by article partition (``_key_parts``)."""
        question = _PairQuestion(
            str(self.work), "syndicated", n, self.first, weight, chosen, pair_mask, self._key_parts()
        )
        return self._syndicated(question)

    def _key_parts(self) -> int:
        """The article partitions ``syndicated``'s keys meet in: two keys an entry at most (``doc_parts``)."""
        return doc_parts(2 * sum(c[1] for c in self._counts), _cpus(self.executor))

    def _syndicated(self, question: _PairQuestion) -> np.ndarray:
        parts, n = question.doc_parts, question.n_docs
        for _ in self.executor.map(_pair_question, question, self._parts(), label=_pair_label):
            pass
        out = np.zeros(n, dtype=np.float64)
        for some, w in self.executor.map(_doc_question, question, list(range(parts)), label=_doc_label):
            out[some] = w
        for path in self.work.glob("keys-*.bin"):
            path.unlink()
        return out.astype(np.int64)

    def whole(self) -> Evidence:
        """Every pair's entries in one ``Evidence`` (what this class exists to avoid; for tests)."""
        return _read_evidence(self.work, self._counts)


# ------------------------------------------------------------------------- verification by pair partition


class _StoredPart:
    """Pair partition ``r`` as a ``verify.PairPart``: its pairs and entries read from its file when first asked, its
    per-pair columns in files beside it (``col-<r>-<name>.npy``, each written whole under a temporary name)."""

    def __init__(self, work: Path, r: int, ev: Evidence | None = None) -> None:
        self.work, self.r, self._ev = work, r, ev
        self._pairs: np.ndarray | None = None
        self._cols: dict[str, np.ndarray] = {}

    @property
    def ev(self) -> Evidence:
        if self._ev is None:
            self._ev = _pair_partition(self.work, self.r)
        return self._ev

    @property
    def pairs(self) -> np.ndarray:
        if self._ev is not None:
            return self._ev.pairs
        if self._pairs is None:
            with np.load(self.work / f"pairs-{self.r:05d}.npz", allow_pickle=False) as z:
                self._pairs = z["pairs"]
        return self._pairs

    def _path(self, name: str) -> Path:
        return self.work / f"col-{self.r:05d}-{name}.npy"

    def col(self, name: str) -> np.ndarray:
        if name not in self._cols:
            self._cols[name] = np.load(self._path(name), allow_pickle=False)
        return self._cols[name]

    def set(self, name: str, values: np.ndarray) -> None:
        path = self._path(name)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(values))
        os.replace(tmp, path)
        self._cols[name] = values

    def drop(self, name: str) -> None:
        self._cols.pop(name, None)
        self._path(name).unlink(missing_ok=True)


class _StoredGroup:
    """Consecutive pair partitions ``rs`` as one ``verify.PairPart`` (their pairs and columns end to end; a column
    set is written back partition by partition), for the steps run here (``StoredPairs.each``): one step's reads
    a group of partitions, not a partition, so that small partitions do not each make a wave of tasks. No
    entries (``ev``): those steps never ask for them."""

    def __init__(self, work: Path, rs: list[int]) -> None:
        self.parts = [_StoredPart(work, r) for r in rs]
        self._cols: dict[str, np.ndarray] = {}

    @cached_property
    def pairs(self) -> np.ndarray:
        return np.concatenate([p.pairs for p in self.parts]) if len(self.parts) > 1 else self.parts[0].pairs

    def col(self, name: str) -> np.ndarray:
        if name not in self._cols:
            got = [p.col(name) for p in self.parts]
            self._cols[name] = np.concatenate(got) if len(got) > 1 else got[0]
        return self._cols[name]

    def set(self, name: str, values: np.ndarray) -> None:
        at = 0
        for p in self.parts:
            n = len(p.pairs)
            p.set(name, values[at : at + n])
            at += n
        self._cols[name] = values

    def drop(self, name: str) -> None:
        self._cols.pop(name, None)
        for p in self.parts:
            p.drop(name)


# The candidate pairs a group of partitions brings into the driver at most (``StoredPairs.each``), unless one
# partition has more: about 150 bytes a pair of columns and reads while the reads run (~40 MB).
EACH_PAIRS = 1 << 18


@dataclass(frozen=True)
class _Step:
    """One of verification's per-pair steps (``verify.PairParts.run``), for every pair partition: the step, what it
    is given, and whether its answer is edges to be turned into a label map (``components.label_map``)."""

    work: str
    step: Callable[[Any, Any], Any]
    given: Any
    connect: bool = False


def _step_task(c: _Step, r: int) -> Any:
    """``c.step`` on pair partition ``r`` (its edges' label map for ``connect``)."""
    out = c.step(_StoredPart(Path(c.work), r), c.given)
    if c.connect:
        from .components import label_map

        return label_map(out)
    return out


@dataclass(frozen=True)
class _Derived:
    """``verify._derived_from`` over the pair partitions' column ``column``, with the rest it needs (a number an
    article each), its rows met by article partition (``docs`` of them, by ``doc_cuts``; ``pairs``: the pair
    partitions)."""

    work: str
    column: str
    pairs: int
    docs: int
    groups: np.ndarray
    sizes: np.ndarray
    own: np.ndarray
    params: VerifyParams


def _split(at: np.ndarray, parts: int) -> tuple[np.ndarray, list[int]]:
    """An order that puts rows by their part ``at`` (stably), and where each part starts in it."""
    order = np.argsort(at, kind="stable")
    return order, np.searchsorted(at[order], np.arange(parts + 1)).tolist()


def _derived_rows_task(c: _Derived, r: int) -> int:
    """Pair partition ``r``'s (document, partner, shared) rows (``verify.derived_rows``), in one file, by the article
    partition of their document (``_write_slices``)."""
    from ..verify import derived_rows

    part = _StoredPart(Path(c.work), r)
    d, o, s = derived_rows(part.pairs, part.col(c.column), c.groups)
    order, bounds = _split(np.searchsorted(doc_cuts(len(c.groups), c.docs), d, side="right"), c.docs)
    _write_slices(Path(c.work) / f"rows-{r:05d}.bin", [d[order], o[order], s[order]], bounds)
    return len(d)


def _ranked(c: _Derived, t: int) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Article partition ``t``'s rows from every pair partition (its slice of each one's file), ranked
    (``verify.derived_rank``); the rows asking what their document's top partner shares with them, split by the
    pair partition that holds that pair."""
    from ..verify import derived_rank

    work = Path(c.work)
    got = [_read_slice(work / f"rows-{r:05d}.bin", t) for r in range(c.pairs)]
    d, o, s = (np.concatenate([g[k] for g in got]) for k in range(3))
    del got
    ranked = derived_rank(d, o, s, c.groups, c.sizes, c.params)
    a, b = ranked.top[ranked.need], ranked.o[ranked.need]
    at = np.searchsorted(doc_cuts(len(c.groups), c.pairs), np.minimum(a, b), side="right")
    order, bounds = _split(at, c.pairs)
    return ranked, a, b, order, bounds


def _derived_ask_task(c: _Derived, t: int) -> int:
    """Article partition ``t``: its questions (top partner, partner), in one file, by the pair partition that holds
    them."""
    _, a, b, order, bounds = _ranked(c, t)
    _write_slices(Path(c.work) / f"ask-{t:05d}.bin", [a[order], b[order]], bounds)
    return len(a)


def _derived_answer_task(c: _Derived, r: int) -> int:
    """Pair partition ``r``: what each pair asked of it shares (``verify._lookup`` of its column), its questions from
    every article partition answered in one file, by article partition."""
    from ..verify import _lookup

    work = Path(c.work)
    part = _StoredPart(work, r)
    asked = [_read_slice(work / f"ask-{t:05d}.bin", r) for t in range(c.docs)]
    bounds = np.zeros(c.docs + 1, dtype=np.int64)
    np.cumsum([len(q[0]) for q in asked], out=bounds[1:])
    a, b = (np.concatenate([q[k] for q in asked]) for k in range(2))
    values = part.col(c.column)
    _write_slices(work / f"answer-{r:05d}.bin", [_lookup(part.pairs, values, a, b)], bounds.tolist())
    return len(a)


def _derived_take_task(c: _Derived, t: int) -> np.ndarray:
    """Article partition ``t``'s edges (``verify.derived_take``), its questions answered."""
    from ..verify import derived_take

    ranked, a, _, order, bounds = _ranked(c, t)
    looked = np.zeros(len(a), dtype=np.int64)
    for r in range(c.pairs):
        looked[order[bounds[r] : bounds[r + 1]]] = _read_slice(Path(c.work) / f"answer-{r:05d}.bin", t)[0]
    return derived_take(ranked, looked, c.groups, c.sizes, c.own, c.params)


class StoredPairs:
    """``verify.PairParts`` of ``PartitionedEvidence``: a step runs in tasks, one a pair partition, which leave their
    columns in the partitions' folder; the components of the edges a step gives are label maps from those tasks,
    merged in a tree (``components.merge_maps``); ``_derived_from`` is its rows met by article partition, and the
    questions its ranking asks sent back to the pair partitions (``_Derived``). What this process holds is a few
    numbers an article; ``each`` alone (the steps that read articles, which send tasks of their own) brings one
    partition's columns here at a time."""

    def __init__(self, ev: PartitionedEvidence) -> None:
        self.ev = ev

    def _map(self, fn: Callable, context: Any) -> list:
        return list(self.ev.executor.map(fn, context, self.ev._parts(), label=_pair_label))

    def run(self, step: Callable[[Any, Any], Any], given: Any) -> list:
        return self._map(_step_task, _Step(str(self.ev.work), step, given))

    def each(self, step: Callable[[Any, Any], Any], given: Any) -> list:
        """``step`` here on groups of consecutive partitions of up to ``EACH_PAIRS`` pairs (``_StoredGroup``)."""
        out, group, held = [], [], 0
        for r in self.ev._parts():
            n = self.ev._counts[r][0]
            if group and held + n > EACH_PAIRS:
                out.append(step(_StoredGroup(self.ev.work, group), given))
                group, held = [], 0
            group.append(r)
            held += n
        if group:
            out.append(step(_StoredGroup(self.ev.work, group), given))
        return out

    def connect(self, n: int, step: Callable[[Any, Any], np.ndarray], given: Any) -> np.ndarray:
        from .components import merge_maps

        maps = self._map(_step_task, _Step(str(self.ev.work), step, given, True))
        return merge_maps(n, maps, self.ev.executor)

    def derived(
        self, column: str, groups: np.ndarray, sizes: np.ndarray, own: np.ndarray, params: VerifyParams
    ) -> np.ndarray:
        ev, work = self.ev, self.ev.work
        docs = doc_parts(2 * len(ev), _cpus(ev.executor))  # two rows a pair at most
        job = _Derived(str(work), column, len(ev._parts()), docs, groups, sizes, own, params)
        self._map(_derived_rows_task, job)
        run = ev.executor
        label = _doc_label
        list(run.map(_derived_ask_task, job, list(range(docs)), label=label))
        self._map(_derived_answer_task, job)
        edges = list(run.map(_derived_take_task, job, list(range(docs)), label=label))
        for pattern in ("rows-*.bin", "ask-*.bin", "answer-*.bin"):
            for path in work.glob(pattern):
                path.unlink()
        return np.concatenate(edges) if edges else np.zeros((0, 2), dtype=np.int64)

    def syndicated(
        self, weight: np.ndarray, mask: Callable[[Any, Any], np.ndarray], given: Any, chosen: np.ndarray, n: int
    ) -> np.ndarray:
        ev = self.ev
        question = _PairQuestion(
            str(ev.work), "syndicated", n, ev.first, weight, chosen, None, ev._key_parts(), mask=mask, given=given
        )
        return ev._syndicated(question)


def _pair_label(r: int) -> str:
    return f"pair partition {r}"


def _doc_label(t: int) -> str:
    return f"article partition {t}"


def _cpus(executor: Executor) -> int:
    cpus = getattr(executor, "cpus", None)
    return cpus() if callable(cpus) else 1


def _read_evidence(work: Path, counts: list[tuple[int, int]]) -> Evidence:
    """The pair partitions' files, in order, as one ``Evidence``, read into arrays made to the total (``counts``:
    each partition's pairs and entries)."""
    n_pairs, n_entries = sum(c[0] for c in counts), sum(c[1] for c in counts)
    ev = Evidence(np.zeros((n_pairs, 2), np.int64), np.zeros(n_entries, np.int64), np.zeros(n_entries, np.int64))
    at = base = 0
    for r, (k, m) in enumerate(counts):
        z = _load(work / f"pairs-{r:05d}.npz")
        ev.pairs[at : at + k] = z["pairs"]
        ev.entry_pair[base : base + m] = z["entry_pair"] + at
        ev.entry_list[base : base + m] = z["entry_list"]
        at, base = at + k, base + m
    return ev


class Partitioned:
    """What an executor adds to run phase 2's posting lists and pair evidence in partitioned tasks on itself:
    ``candidates.find`` calls the ``lists_and_evidence`` of an executor that has one (a cluster's: RayExecutor),
    else builds them in this process. ``partitions``: list and pair partitions (0: one a bucket range or a CPU,
    whichever more)."""

    partitions: int = 0

    def lists_and_evidence(
        self,
        shards: Sequence[Shard],
        bases: np.ndarray,
        sizes: np.ndarray,
        exact: np.ndarray,
        params: VerifyParams,
        spill: Path,
        progress: Progress | None = None,
    ) -> tuple[PartitionedLists, PartitionedEvidence]:
        """``lists_and_evidence`` (the module's function) with this executor's tasks and partition count."""
        return lists_and_evidence(
            shards,
            bases,
            sizes,
            exact,
            params,
            spill,
            self,
            self.partitions,
            progress=progress,  # type: ignore[arg-type]
        )

    def walk(self, source: str | os.PathLike[str], options: IngestOptions, group: Group, work: str) -> Walked:
        """The walk of ``source`` as tasks on this executor, its groups (phase 1's tasks) written to ``work``, a folder
        every node shares (``walk.walk_tasks``)."""
        from .walk import walk_tasks

        return walk_tasks(self, source, options, group, work)

    def table(self, store: FeatureStore) -> StoredTable:
        """The per-article table of ``store`` kept by article partition (``table.stored_table``), its numbers read
        by tasks on this executor."""
        from .table import stored_table

        return stored_table(store, self)

    def components(self, n: int, edges: np.ndarray) -> np.ndarray:
        """``cluster.components(n, edges)`` by a tree of tasks on this executor (``components.tree_components``),
        the edges in ``partitions`` parts by their first node's range (0: one a CPU)."""
        from .components import tree_components

        cpus = getattr(self, "cpus", None)
        parts = self.partitions if self.partitions > 0 else (cpus() if callable(cpus) else 1)
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        at = np.searchsorted(doc_cuts(n, parts), edges[:, 0], side="right") if len(edges) else np.zeros(0, int)
        order = np.argsort(at, kind="stable")
        bounds = np.searchsorted(at[order], np.arange(parts + 1))
        chunks = [edges[order[bounds[k] : bounds[k + 1]]] for k in range(parts)]
        return tree_components(n, chunks, self)  # type: ignore[arg-type]
