"""The scan on a two-node Ray cluster against the local scan, and a model of a real cluster from measured costs.

    python -m benchmarks.timing.ray --docs 20000 --json benchmarks/results/ray-20k.json
    python -m benchmarks.timing.ray --render benchmarks/results/ray-20k.json  # the report of an earlier run
    python -m benchmarks.timing.ray --model benchmarks/results/ray-20k.json benchmarks/results/ray-200k.json

One corpus (``benchmarks.corpora.synth --recurring 0.3``: recurring text, so every step has work) is scanned by the
local scan and by the scan on a Ray cluster of ``--nodes`` nodes started here as a real cluster is: a ``ray start
--head`` process and ``ray start --address=…`` processes, each with its own ``--num-cpus``, ``--resources`` and a
small ``--object-store-memory``, in sessions of their own, stopped (their process groups) at the end. Each scan is
a driver process of its own (``--drive``), so its peak memory is its own; the two results are checked to be the
same JSON (timings aside).

The Ray driver goes through an executor (``Timed``) that times every task inside its worker and notes the worker's
peak memory, which gives the per-task costs of the model; the driver's serial time is its wall time outside the
steps of tasks (verification, boilerplate, clustering, directions, assembling the partitions' results), and its
peak memory is measured after the scan and the writing of its result's JSON (hashed, a part of its own).
``model`` projects time and memory per process for 10M and 100M articles on 32 nodes of 16 cores; with two measured
sizes, the driver's time and memory grow as fitted between them (``n^a``), else linearly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import mmap
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np

from dedup.distributed.local import local_cluster
from dedup.distributed.partitioned import Partitioned
from dedup.evidence import PARTITION_ROWS

# Assumptions of the model (printed with it).
CORES_PER_NODE = 16
NODES = 32
FS_GBPS = 4.0  # aggregate bandwidth of the shared filesystem or object store, GB/s
NODE_NET_GBPS = 1.25  # one node's network, GB/s (10 GbE)
TARGET_HOURS = 1.5
TARGET_PROCESS_GB = 16.0
# CPU seconds a reduce task spends on one slice of one map task's file of a shuffle (``partitioned._read_slice``: open,
# three reads, close), 3 columns, 256 readers of 256 files, page cache warm: measured by ``--slice-reads 256`` (22 µs
# at load ~10, 34 µs with the file layout before the reader's block). The model counts the shuffles' P² reads with it.
SLICE_READ_S = 22e-6
# The same on a networked filesystem, where an open and each read are a round trip (~0.2 ms each, an assumption, not
# measured here): what the model says for a shared filesystem such as NFS or a FUSE mount of an object store.
SLICE_READ_NET_S = 5 * 200e-6
LISTS_PER_ARTICLE = 1.75  # posting lists (distinct sets of holders) an article, counted on the 5,000-article corpus


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def corpus(path: Path, docs: int) -> Path:
    if not path.exists():
        cmd = [sys.executable, "-m", "benchmarks.corpora.synth", str(path), "--docs", str(docs), "--recurring", "0.3"]
        subprocess.run(cmd, check=True, capture_output=True)
        (path / "truth.json").unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------------------------------------- the drivers


class Phases:
    """The progress callback: when each phase was first and last reported."""

    def __init__(self, memory: Memory | None = None) -> None:
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.memory = memory

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        now = time.perf_counter()
        if phase not in self.first and self.memory is not None:
            self.memory.enter(phase)
        self.first.setdefault(phase, now)
        self.last[phase] = now


def _resident() -> tuple[int, int, int]:
    """This process's resident memory now, its anonymous part (not file-backed pages) and its shared-memory part
    (Ray's object store mapped into it, where it wrote task inputs or read results), in bytes."""
    rss = anon = shmem = 0
    with suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1]) * 1024
            elif line.startswith("RssShmem:"):
                shmem = int(line.split()[1]) * 1024
    return rss, anon, shmem


class Memory:
    """The driver's resident memory by part of the scan, sampled by a thread every ``every`` seconds: for each
    part (a phase, or a step of tasks within it: ``match/_list_question``), the resident memory when it starts
    and the most seen while it runs (whole and anonymous), so the driver's growth can be told part by part."""

    def __init__(self, every: float = 0.02) -> None:
        import threading

        self.parts: dict[str, dict[str, int]] = {}
        self.phase, self.step = "start", ""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.enter("start")
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _key(self) -> str:
        return f"{self.phase}/{self.step}" if self.step else self.phase

    def _note(self) -> None:
        rss, anon, shmem = _resident()
        with self._lock:
            part = self.parts.setdefault(
                self._key(), {"start": rss, "start_anon": anon, "peak": rss, "peak_anon": anon, "peak_shmem": shmem}
            )
            part["peak"], part["peak_anon"] = max(part["peak"], rss), max(part["peak_anon"], anon)
            part["peak_shmem"] = max(part.get("peak_shmem", 0), shmem)

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self._note()

    def enter(self, phase: str) -> None:
        self._note()
        self.phase, self.step = phase, ""
        self._note()

    def in_step(self, step: str) -> None:
        self._note()
        self.step = step
        self._note()

    def stop(self) -> dict[str, dict[str, int]]:
        self._note()
        self._stop.set()
        return self.parts


def _peak_rss() -> int:
    """This process's peak resident memory since the last ``_reset_peak`` (Linux's VmHWM), in bytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak() -> None:
    """Start this process's peak resident memory again from now (Linux: ``clear_refs`` 5), so a long-lived worker's
    peak is its task's, not that of every task it ran before."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _timed(fn):
    """``fn`` returning (its result, seconds in the worker, the worker's peak memory in bytes during the task)."""

    def run(context, chunk):
        _reset_peak()
        t = time.perf_counter()
        out = fn(context, chunk)
        return out, time.perf_counter() - t, _peak_rss()

    run.__name__ = fn.__name__
    return run


class Timed(Partitioned):
    """An executor recording, per step, each task's seconds and worker peak, and the step's wall time."""

    def __init__(self, inner: Any, memory: Memory | None = None) -> None:
        self.inner = inner
        self.memory = memory
        self.partitions = inner.partitions
        self.phase_steps: dict[str, float] = {}  # seconds in steps of tasks, by the scan's phase they ran in
        self.steps: dict[str, dict[str, Any]] = defaultdict(lambda: {"tasks": [], "peak": 0, "wall": 0.0})

    def cpus(self) -> int:
        return self.inner.cpus()

    def map(self, fn, context, chunks, label=None):
        step = self.steps[fn.__name__]
        phase = self.memory.phase if self.memory is not None else ""
        if self.memory is not None:
            self.memory.in_step(fn.__name__)
        t = time.perf_counter()
        for out, secs, peak in self.inner.map(_timed(fn), context, chunks, label):
            step["tasks"].append(secs)
            step["peak"] = max(step["peak"], peak)
            yield out
        step["wall"] += time.perf_counter() - t
        self.phase_steps[phase] = self.phase_steps.get(phase, 0.0) + time.perf_counter() - t
        if self.memory is not None:
            self.memory.in_step(f"after {fn.__name__}")


def _deep(x: Any, seen: set[int] | None = None) -> int:
    """Bytes ``x`` holds: numpy arrays' buffers, polars frames' and series' estimate, lists, tuples, dicts and objects'
    attributes followed (each object counted once)."""
    import polars as pl

    seen = set() if seen is None else seen
    if id(x) in seen or x is None or isinstance(x, (type, Path)):
        return 0
    seen.add(id(x))
    if isinstance(x, np.ndarray):  # a view: the array it views, once; a file mapped (page cache): none of the heap
        base = x.base.obj if isinstance(x.base, memoryview) else x.base
        if isinstance(base, mmap.mmap):
            return 0
        return _deep(x.base, seen) if isinstance(x.base, np.ndarray) else x.nbytes
    if isinstance(x, (pl.DataFrame, pl.Series)):
        return int(x.estimated_size())
    if isinstance(x, (int, float, bool, str, bytes)):
        return sys.getsizeof(x)
    if isinstance(x, (list, tuple, set)):
        return sys.getsizeof(x) + sum(_deep(v, seen) for v in x)
    if isinstance(x, dict):
        return sys.getsizeof(x) + sum(_deep(v, seen) for v in x.values())
    if hasattr(x, "__dict__"):
        return sum(_deep(v, seen) for k, v in vars(x).items() if k not in ("store", "keep_alive", "options"))
    return sys.getsizeof(x)


def result_parts(result: Any) -> dict[str, int]:
    """Bytes each part of a scan's result holds in this process (``_deep``): what the driver keeps to write it."""
    frame, seen = result.frame, set()  # an object shared by two parts is counted in the first
    parts = {
        "para_offsets": result.para_offsets,
        "pairs": result.pair_rows if hasattr(result, "pair_rows") else result.pairs,  # not read whole to count it
        "clusters": result.clusters,
        "passages": result.passages,
        "labels": result.labels,
        "boilerplate": result.boilerplate,
        "ids": [getattr(frame, "_ids", None), getattr(frame, "_packed", None), getattr(frame, "ids", None)],
        "lengths": getattr(frame, "chars", None),
    }
    return {k: _deep(v, seen) for k, v in parts.items()}


def drive(mode: str, folder: str, address: str, partitions: int, out: str) -> None:
    """One scan in this process (``--drive``): the local scan, or the scan on the cluster at ``address``; writes
    its measurements to ``out``."""
    from dedup.pipeline import scan

    memory = Memory()
    phases = Phases(memory)
    executor, m = None, {"mode": mode, "load_before": load()}
    cpu0 = os.times()
    if mode == "ray":
        from dedup.distributed import connect

        t = time.perf_counter()
        executor = Timed(connect(address, partitions=partitions), memory)
        m["connect_s"] = time.perf_counter() - t
        m["cpus"] = executor.cpus()
    with tempfile.TemporaryDirectory(prefix="raybench-", dir=os.environ.get("DEDUP_BENCH_STORE")) as store:
        t0 = time.perf_counter()
        result = scan(folder, progress=phases, store=store, executor=executor)
        m["wall_s"] = time.perf_counter() - t0
        cpu1 = os.times()
        m["driver_cpu_s"] = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        m["timings"] = result.timings
        m["phase_wall"] = {p: phases.last[p] - phases.first[p] for p in phases.first}
        # The result written (its JSON, as ``-o FILE.json`` writes it; hashed, not kept) is the driver's work too:
        # what it reads for it is in its peak, as a part of its own.
        m["result_bytes"] = result_parts(result)
        memory.enter("the result written")
        result.timings = {}  # the JSON compared is the result's, timings aside
        t = time.perf_counter()
        digest = hashlib.sha256()
        for chunk in result.json_chunks():
            digest.update(chunk.encode())
        m["write_s"] = time.perf_counter() - t
        m["result_bytes_written"] = result_parts(result)  # the ids are read once the output names articles
        m["peak_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        memory.enter("end")
        m["memory_by_part"] = memory.stop()
        m["children_peak_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        m["load_after"] = load()
        m["store_bytes"] = sum(p.stat().st_size for p in Path(store, "shards").rglob("*") if p.is_file())
        m["postings"] = sum(
            int(np.load(p, mmap_mode="r").shape[0]) for p in Path(store, "shards").rglob("postings.npy")
        )
        m["docs"] = len(result.frame)
        m["counts"] = result.counts()
        m["candidates"] = result.candidates
    m["digest"] = digest.hexdigest()
    if executor is not None:
        m["steps"] = {k: dict(v) for k, v in executor.steps.items()}
        m["serial_s"] = m["wall_s"] - sum(v["wall"] for v in executor.steps.values())
        # By phase: from the first report of a phase to the first of the next (the scan's start and end at the
        # ends), less the steps of tasks that ran in it.
        starts = sorted((t, p) for p, t in phases.first.items())
        edges = [t0] + [t for t, _ in starts[1:]] + [t0 + m["wall_s"]]
        names = [p for _, p in starts] if starts else []
        # Steps before the first report (the walk's tasks: phase "start") are in the first phase's interval.
        m["serial_by_phase_s"] = {
            p: (edges[k + 1] - edges[k])
            - executor.phase_steps.get(p, 0.0)
            - (k == 0) * executor.phase_steps.get("start", 0.0)
            for k, p in enumerate(names)
        }
    Path(out).write_text(json.dumps(m))


def _run_driver(mode: str, folder: Path, address: str, partitions: int) -> dict[str, Any]:
    from benchmarks.scoring.harness import run_timed

    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [sys.executable, "-m", "benchmarks.timing.ray", "--drive", mode, str(folder), address, str(partitions)]
        done = run_timed([*cmd, f.name])
        if done.returncode != 0:
            raise SystemExit(f"{mode} driver failed: {done.stderr[-3000:]}")
        m = json.loads(Path(f.name).read_text())
    m["process_s"] = done.seconds
    return m


def measure(
    folder: Path, nodes: int, cpus: int, object_store_mb: int, partitions: int, local: bool = True
) -> dict[str, Any]:
    """The local scan (unless not ``local``: a run to look at the driver alone, its result compared with
    nothing) and the scan on a cluster of ``nodes`` started here, each a driver process of its own."""
    out: dict[str, Any] = {"nodes": nodes, "cpus_per_node": cpus, "object_store_mb": object_store_mb}
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    out["commit"] = found.stdout.strip() or os.environ.get("DEDUP_COMMIT", "")
    if local:
        out["local"] = _run_driver("local", folder, "", 0)
        print(f"local: {out['local']['wall_s']:.1f} s (load {out['local']['load_after']})", flush=True)
    t = time.perf_counter()
    with local_cluster(nodes, cpus, object_store_mb) as address:
        out["cluster_start_s"] = time.perf_counter() - t
        out["ray"] = _run_driver("ray", folder, address, partitions)
    print(f"ray:   {out['ray']['wall_s']:.1f} s (load {out['ray']['load_after']})", flush=True)
    if not local:
        out["same_result"] = None
        return out
    out["same_result"] = out["ray"]["digest"] == out["local"]["digest"]
    if not out["same_result"]:
        raise SystemExit("the scan on Ray differs from the local scan")
    return out


# ---------------------------------------------------------------------------------------------- costs and model


STEPS = {
    "_list_folder": "the walk: folders listed",
    "_walk_part": "the walk: files classified, phase 1's groups written",
    "read_task": "phase 1 (read, features, shards)",
    "_bucket_task": "posting lists, by fingerprint bucket range",
    "_list_task": "lists combined + pair evidence, by list hash",
    "_merge_task": "list partitions' entries merged by groups, for the pair tasks",
    "_pair_task": "candidate pairs + entries, by pair range",
    "_spilled_fingerprints": "boilerplate fingerprints, by bucket range",
    "_read_batch": "verification's reads (chains, tails, runs), by batch of pairs",
    "_list_question": "verification's questions of the lists' members, by list partition",
    "_pair_question": "verification's sums over the pairs' entries, by pair partition",
    "_doc_question": "shared text per article (syndicated), by article partition",
    "_step_task": "verification's per-pair steps (measures, relations, edges), by pair partition",
    "_derived_rows_task": "story rounds: (document, partner, shared) rows, by pair partition",
    "_derived_ask_task": "story rounds: ranking and its questions, by article partition",
    "_derived_answer_task": "story rounds: the questions answered, by pair partition",
    "_derived_take_task": "story rounds: derived edges, by article partition",
    "_leaf": "clusters: union-find, by edge partition",
    "_merge": "clusters: label maps merged",
    "_cluster_directions": "sources and directions, by range of clusters",
    "_align_batch": "align, by batch of pairs",
    "_label_batch": "label, by batch of articles",
}


# Verification's steps by pair partition (``partitioned.StoredPairs``), counted with its questions in the model.
PAIR_STEPS = ("_step_task", "_derived_rows_task", "_derived_ask_task", "_derived_answer_task", "_derived_take_task")


def costs(m: dict[str, Any]) -> dict[str, Any]:
    """Per-article costs of each step (seconds of its tasks, summed, per article) and the driver's."""
    r = m["ray"]
    n = r["docs"]
    steps = r["steps"]
    out: dict[str, Any] = {"docs": n, "postings_per_article": r["postings"] / n}
    out["shard_bytes_per_article"] = r["store_bytes"] / n
    for step in STEPS:
        s = steps.get(step, {"tasks": [], "peak": 0, "wall": 0.0})
        out[f"{step}_s_per_article"] = sum(s["tasks"]) / n
        out[f"{step}_tasks"] = len(s["tasks"])
        out[f"{step}_worker_peak_gb"] = s["peak"] / 1e9
    out["lists_per_article"] = LISTS_PER_ARTICLE
    out["pairs_per_article"] = r["candidates"] / n
    out["driver_serial_s"] = r["serial_s"]
    out["driver_peak_gb"] = r["peak_bytes"] / 1e9
    # Ray's object store mapped into the driver (its pages the driver wrote or read): bounded by the store's size,
    # not by the articles; the model grows the rest of the driver's peak and adds this part as measured.
    parts = r.get("memory_by_part") or {}
    out["driver_shm_gb"] = max((p.get("peak_shmem", 0) for p in parts.values()), default=0) / 1e9
    out["driver_anon_gb"] = max((p.get("peak_anon", 0) for p in parts.values()), default=0) / 1e9
    out["wall_s"] = r["wall_s"]
    return out


def _linear(points: list[tuple[float, float]], n: float) -> float:
    """``y`` at ``n`` on the line through the two largest measured (n, y) points (a fixed part plus a part per
    article: a process's memory), or through the origin from one."""
    points = sorted(points)
    if len(points) < 2:
        n0, y0 = points[-1]
        return y0 * n / n0
    (n1, y1), (n2, y2) = points[-2], points[-1]
    slope = max(0.0, (y2 - y1) / (n2 - n1))
    return y2 + slope * (n - n2)


def _fit(points: list[tuple[float, float]], n: float) -> float:
    """``y`` at ``n`` from measured (n, y) points: through the two largest as ``c * n^a`` (``a`` at least 1),
    or linear through the origin from one."""
    points = sorted(points)
    if len(points) < 2 or points[-1][1] <= 0 or points[-2][1] <= 0:
        n0, y0 = points[-1]
        return y0 * n / n0
    (n1, y1), (n2, y2) = points[-2], points[-1]
    a = max(1.0, math.log(y2 / y1) / math.log(n2 / n1))
    return y2 * (n / n2) ** a


def slice_reads(partitions: int, bucket_tasks: int, fanin: int = 16) -> int:
    """Slices read in phase 2's two P² shuffles: each list partition reads the lists' and members' slice of every
    bucket task's files (2·B·P), each pair partition its entries', links' and big memberships' slice of every list
    partition's files, or of every merged group's (``partitioned.MERGE_FANIN``) and the merges every file whole
    (3·P·⌈P/fanin⌉ + 3·P). The other shuffles read P × (a few article partitions) slices."""
    groups = math.ceil(partitions / fanin) if partitions > fanin else partitions
    merges = 3 * partitions if partitions > fanin else 0
    return 2 * bucket_tasks * partitions + 3 * partitions * groups + merges


def model(runs: list[dict[str, Any]], articles: int, nodes: int = NODES) -> dict[str, Any]:
    """Projected seconds and memory per process of each step for ``articles`` on ``nodes`` × 16 cores, from the
    per-article costs of the largest run and the driver's growth between runs."""
    cs = [costs(m) for m in runs]
    c = max(cs, key=lambda x: x["docs"])
    cores = nodes * CORES_PER_NODE
    fs = min(FS_GBPS, nodes * NODE_NET_GBPS)
    postings = articles * c["postings_per_article"]
    bucket_tasks = max(1, math.ceil(postings / PARTITION_ROWS))
    partitions = max(bucket_tasks, cores)
    shards_gb = articles * c["shard_bytes_per_article"] / 1e9
    t: dict[str, float] = {}
    # The walk of the input as tasks (a round of listing tasks, then parts of it; 0 in runs before the walk was).
    t["the walk"] = articles * (c["_list_folder_s_per_article"] + c["_walk_part_s_per_article"]) / cores
    t["phase 1"] = articles * c["read_task_s_per_article"] / cores + shards_gb / fs
    t["lists by bucket"] = postings * 12 / 1e9 / fs + articles * c["_bucket_task_s_per_article"] / min(
        cores, bucket_tasks
    )
    t["lists + evidence by list hash"] = articles * c["_list_task_s_per_article"] / min(cores, partitions)
    t["pairs by pair range"] = articles * c["_pair_task_s_per_article"] / min(cores, partitions)
    t["boilerplate fingerprints by bucket"] = (
        articles * c["_spilled_fingerprints_s_per_article"] / min(cores, bucket_tasks)
    )
    t["verification's reads"] = articles * c["_read_batch_s_per_article"] / cores
    # Verification's questions and its per-pair steps: each a wave of one task a partition, one after the other.
    asked = ("_list_question", "_pair_question", "_doc_question", *PAIR_STEPS)
    t["verification's questions"] = articles * sum(c[f"{s}_s_per_article"] for s in asked) / min(cores, partitions)
    t["clusters, sources, directions"] = (
        articles
        * (c["_leaf_s_per_article"] + c["_merge_s_per_article"] + c["_cluster_directions_s_per_article"])
        / cores
    )
    t["align + label"] = articles * (c["_align_batch_s_per_article"] + c["_label_batch_s_per_article"]) / cores
    # The shuffles' reads a slice at a time, which the per-article costs above (measured at 32 partitions or 256)
    # do not grow with: P² grows faster than the articles.
    # Main's code before the entries were merged by groups read every list partition's files (no ``_merge_task``).
    merged = any("_merge_task" in m["ray"]["steps"] for m in runs)
    # The bucket tasks are ranges of the 256 fingerprint buckets (``evidence.bucket_ranges``): at most 256 files a
    # list partition reads, whatever the model's bucket tasks (which time and size that step as finer buckets would).
    reads = slice_reads(partitions, min(bucket_tasks, 256), 16 if merged else partitions)
    t["the shuffles' slice reads"] = reads * SLICE_READ_S / cores
    t["driver serial"] = _fit([(x["docs"], x["driver_serial_s"]) for x in cs], articles)
    mem = {
        "driver": _linear([(x["docs"], x["driver_peak_gb"] - x["driver_shm_gb"]) for x in cs], articles)
        + c["driver_shm_gb"],
        # Its anonymous memory alone (heap): what is not the pages of files it maps or of Ray's object store.
        "driver (anonymous)": _linear([(x["docs"], x["driver_anon_gb"]) for x in cs], articles),
        # A partition task holds its partition: measured peaks at this size scale with the partition, which the
        # partition count keeps the size it is here; plus the per-article sizes (8 B an article, one copy a node).
        "walk task": max(c["_list_folder_worker_peak_gb"], c["_walk_part_worker_peak_gb"]),
        "bucket task": c["_bucket_task_worker_peak_gb"],
        "list task": c["_list_task_worker_peak_gb"] + articles * 8 / 1e9,
        "pair task": c["_pair_task_worker_peak_gb"] + articles * 17 / 1e9,
        "fingerprints task": c["_spilled_fingerprints_worker_peak_gb"],
        "read task": c["_read_batch_worker_peak_gb"],
        # A question holds its partition and what it is sent: a label and a site per article (16 B) and, for the
        # per-article sums, their dense result (8 B); a value and a flag a list (9 B), a flag a pair.
        "question task": max(c[f"{s}_worker_peak_gb"] for s in ("_list_question", "_pair_question", *PAIR_STEPS))
        + articles * (24 + 9 * c["lists_per_article"] + c["pairs_per_article"]) / 1e9,
        "directions task": c["_cluster_directions_worker_peak_gb"],
        "align/label task": max(c["_align_batch_worker_peak_gb"], c["_label_batch_worker_peak_gb"]),
    }
    return {
        "articles": articles,
        "nodes": nodes,
        "cores": cores,
        "partitions": partitions,
        "bucket_tasks": bucket_tasks,
        "seconds": t,
        "total_s": sum(t.values()),
        "memory_gb": mem,
        "shards_gb": shards_gb,
        "slice_reads": reads,
        "slice_reads_net_s": reads * SLICE_READ_NET_S / cores,
    }


def report(runs: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    say = lines.append
    for m in runs:
        ray = m["ray"]
        loc = m.get("local") or {
            "wall_s": math.nan,
            "timings": {},
            "peak_bytes": math.nan,
            "children_peak_bytes": math.nan,
            "load_before": "-",
            "load_after": "-",
        }
        c = costs(m)
        n = ray["docs"]
        say(f"\n## {n:,} articles: local scan against a {m['nodes']}-node Ray cluster on this machine\n")
        say(
            f"Cluster: {m['nodes']} `ray start` processes (head + {m['nodes'] - 1}), {m['cpus_per_node']} CPU and "
            f"{m['object_store_mb']} MB of object store each; {ray['cpus']} CPUs in all; started in "
            f"{m['cluster_start_s']:.1f} s. Same result as the local scan: **{m['same_result']}** "
            f"(sha256 of the JSON {ray['digest'][:12]}…).\n"
        )
        say("| | local scan | scan on Ray |")
        say("|:---|---:|---:|")
        say(f"| wall time | {loc['wall_s']:.1f} s | {ray['wall_s']:.1f} s |")
        for phase in ("read", "match", "align", "label"):
            say(f"| {phase} | {loc['timings'].get(phase, 0):.1f} s | {ray['timings'].get(phase, 0):.1f} s |")
        say(
            f"| driver's peak memory | {loc['peak_bytes'] / 1e9:.2f} GB (+ forked workers ≤ "
            f"{loc['children_peak_bytes'] / 1e9:.2f} GB each) | {ray['peak_bytes'] / 1e9:.2f} GB |"
        )
        say(
            f"| driver's serial time (outside the steps of tasks) | — | {ray['serial_s']:.1f} s "
            f"(**{100 * ray['serial_s'] / ray['wall_s']:.1f} %**) |"
        )
        say(
            f"| load before / after | {loc['load_before']} / {loc['load_after']} | {ray['load_before']} / "
            f"{ray['load_after']} |"
        )
        if ray.get("serial_by_phase_s"):
            by = ", ".join(f"{p} {v:.1f} s" for p, v in ray["serial_by_phase_s"].items())
            say(f"| driver's serial time by phase | — | {by} |")
        if "driver_cpu_s" in ray:
            say(f"| driver's CPU time (its own threads) | — | {ray['driver_cpu_s']:.1f} s |")
        if ray.get("memory_by_part"):
            say(_memory_table(ray["memory_by_part"], n))
        if ray.get("result_bytes_written"):
            parts = ray["result_bytes_written"]
            say(
                "\nWhat the driver's result holds once written (bytes an article): "
                + ", ".join(f"{k} {v / n:.1f}" for k, v in parts.items())
                + f"; in all {sum(parts.values()) / n:.1f}."
            )
        say("\nPer step on Ray (seconds inside the tasks, summed; the largest peak resident memory of a worker")
        say("during one of its tasks):\n")
        say("| step | tasks | task seconds | per article | step wall | worker peak |")
        say("|:---|---:|---:|---:|---:|---:|")
        for step, what in STEPS.items():
            s = ray["steps"].get(step)
            if s is None:
                continue
            say(
                f"| {what} | {len(s['tasks'])} | {sum(s['tasks']):.1f} s | {1e6 * sum(s['tasks']) / n:.0f} µs "
                f"| {s['wall']:.1f} s | {s['peak'] / 1e9:.2f} GB |"
            )
        say(
            f"\nPostings per article {c['postings_per_article']:.0f}; shards {c['shard_bytes_per_article'] / 1e3:.1f} "
            f"KB an article; candidates {ray['candidates']:,}; pairs {ray['counts'].get('pairs', 0):,}."
        )
    lines.append(model_report(runs))
    return "\n".join(lines)


def model_report(runs: list[dict[str, Any]]) -> str:
    """The model's tables for 10M and 100M articles from the measured runs (``model``)."""
    lines: list[str] = []
    say = lines.append
    say("\n## Model: 32 nodes × 16 cores\n")
    say(
        f"Assumptions: cores as fast as these (measured under the load above: an upper bound); a shared "
        f"filesystem or object store of {FS_GBPS} GB/s in all; {NODE_NET_GBPS} GB/s a node; bucket tasks of "
        f"{PARTITION_ROWS:,} postings; as many list and pair partitions as bucket tasks or cores; articles like "
        "the corpus's; task costs linear in the articles of a task; the driver's serial time grows as between "
        "the two measured sizes (n^a, a ≥ 1), its peak memory linearly (a fixed part and a part an article) but for "
        "Ray's object store mapped into it, which its size bounds (added as measured)."
    )
    for articles in (10_000_000, 100_000_000):
        r = model(runs, articles)
        say(
            f"\n**{articles / 1e6:.0f}M articles** ({r['partitions']} partitions, {r['bucket_tasks']} bucket tasks, "
            f"{r['shards_gb']:.0f} GB of shards): total **{r['total_s'] / 3600:.2f} h**\n"
        )
        say("| step | time | memory per process |")
        say("|:---|---:|---:|")
        mem = r["memory_gb"]
        where = {
            "the walk": f"{mem['walk task']:.2f} GB",
            "phase 1": "—",
            "lists by bucket": f"{mem['bucket task']:.2f} GB",
            "lists + evidence by list hash": f"{mem['list task']:.2f} GB",
            "pairs by pair range": f"{mem['pair task']:.2f} GB",
            "boilerplate fingerprints by bucket": f"{mem['fingerprints task']:.2f} GB",
            "verification's reads": f"{mem['read task']:.2f} GB",
            "verification's questions": f"{mem['question task']:.2f} GB",
            "clusters, sources, directions": f"{mem['directions task']:.2f} GB",
            "align + label": f"{mem['align/label task']:.2f} GB",
            "the shuffles' slice reads": "—",
            "driver serial": f"{mem['driver']:.1f} GB (driver; of it anonymous {mem['driver (anonymous)']:.1f} GB)",
        }
        for step, secs in r["seconds"].items():
            say(f"| {step} | {secs / 60:.1f} min | {where[step]} |")
        say(
            f"\nThe shuffles' slices: {r['slice_reads']:,} reads at {SLICE_READ_S * 1e6:.0f} µs each (measured, page "
            f"cache); on a networked filesystem at ~{SLICE_READ_NET_S * 1e3:.1f} ms a slice (an assumption) they would "
            f"take {r['slice_reads_net_s'] / 60:.1f} min instead."
        )
    return "\n".join(lines)


def _memory_table(parts: dict[str, dict[str, int]], n: int) -> str:
    """The driver's resident memory by part of the scan (``Memory``): at its start, its peak, and what the peak
    adds to the highest peak before it, in KB an article (anonymous memory in brackets: file-backed pages of
    libraries and mapped store files are the rest)."""
    lines = [
        "\nThe driver's resident memory by part of the scan (sampled every 20 ms; anonymous memory in brackets; "
        "*adds*: the part's peak over the highest peak before it, per article):\n",
        "| part | at start | peak | adds |",
        "|:---|---:|---:|---:|",
    ]
    high = high_anon = 0
    for name, p in parts.items():
        adds = max(0, p["peak"] - high) if high else 0
        adds_anon = max(0, p["peak_anon"] - high_anon) if high_anon else 0
        lines.append(
            f"| {name} | {p['start'] / 1e6:.0f} MB ({p['start_anon'] / 1e6:.0f}) | {p['peak'] / 1e6:.0f} MB "
            f"({p['peak_anon'] / 1e6:.0f}) | {adds / n / 1e3:.3f} KB ({adds_anon / n / 1e3:.3f}) |"
        )
        high, high_anon = max(high, p["peak"]), max(high_anon, p["peak_anon"])
    shmem = max((p.get("peak_shmem", 0) for p in parts.values()), default=0)
    if shmem:
        lines.append(f"\nOf it, Ray's object store mapped into the driver (shared): at most {shmem / 1e6:.0f} MB.")
    return "\n".join(lines)


def slice_read_cost(partitions: int, rows: int = 2000, readers: int = 64) -> dict[str, float]:
    """CPU and wall seconds a slice read costs (``partitioned._read_slice``): ``partitions`` files of ``rows`` rows of
    three columns (as the entries' shuffle), each sliced for ``partitions`` readers, ``readers`` of which read their
    slice of every file, one after the other, in this process (the page cache warm, as on the node that wrote them)."""
    from dedup.distributed.partitioned import _read_slice, _write_slices

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="slices-") as d:
        for q in range(partitions):
            bounds = [0, *np.sort(rng.integers(0, rows, partitions - 1)).tolist(), rows]
            columns = [rng.integers(0, 1 << 60, rows, dtype=np.uint64), np.arange(rows, dtype=np.int32)]
            _write_slices(Path(d, f"e-{q:05d}.bin"), [*columns, np.ones(rows, np.float32)], bounds)
        cpu0, t0 = os.times(), time.perf_counter()
        for r in range(min(readers, partitions)):
            for q in range(partitions):
                _read_slice(Path(d, f"e-{q:05d}.bin"), r)
        cpu1, t1 = os.times(), time.perf_counter()
    reads = min(readers, partitions) * partitions
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {"partitions": partitions, "reads": reads, "cpu_s": cpu / reads, "wall_s": (t1 - t0) / reads}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--cpus", type=int, default=1, help="CPUs of each node")
    ap.add_argument("--object-store-mb", type=int, default=256)
    ap.add_argument("--partitions", type=int, default=0, help="list and pair partitions (0: automatic)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "dedup-ray-bench")
    ap.add_argument("--json", type=Path, help="write the measurements here (and the report beside it, .md)")
    ap.add_argument("--no-local", action="store_true", help="the Ray scan alone (its driver measured, no comparison)")
    ap.add_argument("--render", type=Path, nargs="+", help="the report of earlier runs (no measuring)")
    ap.add_argument("--model", type=Path, nargs="+", help="the model alone, from earlier runs (no measuring)")
    ap.add_argument("--slice-reads", type=int, metavar="P", help="what a shuffle's slice read costs at P partitions")
    ap.add_argument(
        "--drive", nargs=5, metavar=("MODE", "FOLDER", "ADDRESS", "PARTITIONS", "OUT"), help=argparse.SUPPRESS
    )
    args = ap.parse_args(argv)
    if args.drive:
        mode, folder, address, partitions, out = args.drive
        drive(mode, folder, address, int(partitions), out)
        return
    if args.render:
        print(report([json.loads(p.read_text()) for p in args.render]))
        return
    if args.model:
        print(model_report([json.loads(p.read_text()) for p in args.model]))
        return
    if args.slice_reads:
        c = slice_read_cost(args.slice_reads)
        print(
            f"{c['reads']:,} slice reads at {c['partitions']} partitions: {c['cpu_s'] * 1e6:.1f} µs CPU, "
            f"{c['wall_s'] * 1e6:.1f} µs wall each (load {load()})"
        )
        return
    folder = corpus(args.workdir / f"synth-{args.docs}", args.docs)
    m = measure(folder, args.nodes, args.cpus, args.object_store_mb, args.partitions, not args.no_local)
    text = report([m])
    print(text)
    if args.json:
        args.json.write_text(json.dumps(m, indent=1))
        args.json.with_suffix(".md").write_text(text + "\n")


if __name__ == "__main__":
    main()
