"""Ray against the local scan on this machine, and a scaling model of the scan on a cluster from measured costs.

    python -m benchmarks.timing.ray --docs 5000 --repeat 2
    python -m benchmarks.timing.ray --docs 20000 --json benchmarks/results/ray-20k.json

One corpus (``benchmarks.corpora.synth --recurring 0.3``: recurring text, so every phase has work) is scanned side by
side, alternately, ``--repeat`` times: the local scan (``pipeline.scan``: forked workers and threads) and the
same scan on a Ray cluster started here by ``ray.init`` with this machine's cores (``dedup.distributed``). The
results are checked equal; the ratio of the times is Ray's overhead here (the cluster's start is timed apart:
a real cluster is started once, not per scan). The load average is printed beside each run.

The Ray run goes through an executor that times every task inside its worker and sizes what it returns, which
gives the per-task costs of the model: phase 1 seconds per article per core, a partition task's seconds per
posting, the bytes each article adds to the shards and to the driver's posting lists, the driver's own seconds
per article (merging the lists, pair evidence, verification, clustering), align and label seconds per article
per core. ``model`` projects the time and the cluster size for 10M and 100M articles from them, with every
assumption printed (network, shared filesystem bandwidth, partition size) and where the model stops holding.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from dedup.evidence import PARTITION_ROWS

# Assumptions of the model (printed with it).
CORES_PER_NODE = 16
FS_GBPS = 1.0  # aggregate bandwidth of the shared filesystem, GB/s (a modest NFS/Lustre/CephFS)
NODE_NET_GBPS = 1.25  # one node's network, GB/s (10 GbE)
DRIVER_RAM_GB = 256  # a large driver machine
TARGET_HOURS = 1.0  # the cluster size asked for: the scan in about this long


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def corpus(path: Path, docs: int) -> Path:
    if not path.exists():
        cmd = [sys.executable, "-m", "benchmarks.corpora.synth", str(path), "--docs", str(docs), "--recurring", "0.3"]
        subprocess.run(cmd, check=True, capture_output=True)
        (path / "truth.json").unlink(missing_ok=True)
    return path


class Phases:
    """The progress callback: when each phase was first and last reported."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        now = time.perf_counter()
        self.first.setdefault(phase, now)
        self.last[phase] = now


def _timed(fn):
    """``fn`` returning (its result, seconds in the worker, bytes of the arrays it returns)."""

    def run(context, chunk):
        t = time.perf_counter()
        out = fn(context, chunk)
        arrays = out if isinstance(out, tuple) else ()
        size = sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))
        return out, time.perf_counter() - t, size

    return run


class Timed:
    """An executor recording, per step, each task's seconds and returned bytes, and the step's wall time."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.steps: dict[str, dict[str, Any]] = defaultdict(lambda: {"tasks": [], "bytes": 0, "wall": 0.0})

    def map(self, fn, context, chunks, label=None):
        step = self.steps[fn.__name__]
        t = time.perf_counter()
        for out, secs, size in self.inner.map(_timed(fn), context, chunks, label):
            step["tasks"].append(secs)
            step["bytes"] += size
            yield out
        step["wall"] += time.perf_counter() - t


def measure(folder: Path, repeat: int) -> dict[str, Any]:
    import ray

    from dedup.distributed import connect
    from dedup.pipeline import scan

    out: dict[str, Any] = {"docs": None, "local": [], "ray": [], "load": []}
    t = time.perf_counter()
    executor = connect(None)
    out["ray_start"] = time.perf_counter() - t
    out["cpus"] = executor.cpus()
    timed = None
    for r in range(repeat):
        for kind in ("local", "ray"):
            out["load"].append(f"{kind} {r}: {load()}")
            phases = Phases()
            with tempfile.TemporaryDirectory(prefix="raybench-") as store:
                run = Timed(executor) if kind == "ray" else None
                t = time.perf_counter()
                result = scan(folder, progress=phases, store=store, executor=run)
                wall = time.perf_counter() - t
                data = result.to_dict()
                data["meta"].pop("timings")
                text = json.dumps(data)
                out.setdefault("result", text)
                if text != out["result"]:
                    raise SystemExit(f"{kind} run {r}: the result differs from the first run's")
                out[kind].append(wall)
                print(f"{kind:5} run {r}: {wall:.2f} s (load {load()})", flush=True)
                if run is not None and r == repeat - 1:
                    timed = run
                    out["store_bytes"] = sum(p.stat().st_size for p in Path(store, "shards").rglob("*") if p.is_file())
                    out["postings_bytes"] = sum(
                        p.stat().st_size for p in Path(store, "shards").rglob("posting*.npy") if p.is_file()
                    )
                    out["phase_wall"] = {p: phases.last[p] - phases.first[p] for p in phases.first}
                    out["docs"] = len(result.documents_frame)
                    out["pairs"] = len(data["pairs"])
                    out["candidates"] = data["meta"]["candidates"]
    ray.shutdown()
    out.pop("result")
    out["steps"] = {k: {"tasks": v["tasks"], "bytes": v["bytes"], "wall": v["wall"]} for k, v in timed.steps.items()}
    return out


def costs(m: dict[str, Any]) -> dict[str, float]:
    """Per-article and per-task costs from a measurement."""
    n = m["docs"]
    steps = m["steps"]
    p1 = steps["read_task"]
    part = steps["partition_lists"]
    align, label = steps.get("_align_batch", {"tasks": []}), steps.get("_label_batch", {"tasks": []})
    match_wall = m["phase_wall"].get("match", 0.0)
    postings = m["postings_bytes"] / 12  # uint64 fingerprint + uint32 article per posting
    return {
        "phase1_s_per_article_core": sum(p1["tasks"]) / n,
        "partition_s_per_posting": sum(part["tasks"]) / postings,
        "partition_tasks": len(part["tasks"]),
        "postings_per_article": postings / n,
        "shard_bytes_per_article": m["store_bytes"] / n,
        "lists_bytes_per_article": part["bytes"] / n,
        # The driver's share of "match": all but the partitions' wall time (combining the lists, pair evidence,
        # verification, boilerplate, clustering), per article.
        "driver_s_per_article": max(match_wall - part["wall"], 0.0) / n,
        "align_label_s_per_article_core": (sum(align["tasks"]) + sum(label["tasks"])) / n,
        "pairs_per_article": m["pairs"] / n,
        "candidates_per_article": m["candidates"] / n,
    }


def model(c: dict[str, float], articles: int, cores: int) -> dict[str, float]:
    """Projected seconds of each phase on ``cores`` cores (``CORES_PER_NODE`` a node) for ``articles``."""
    nodes = max(1, math.ceil(cores / CORES_PER_NODE))
    shard_gb = articles * c["shard_bytes_per_article"] / 1e9
    postings = articles * c["postings_per_article"]
    lists_gb = articles * c["lists_bytes_per_article"] / 1e9
    fs = min(FS_GBPS, nodes * NODE_NET_GBPS)
    phase1 = articles * c["phase1_s_per_article_core"] / cores + shard_gb / fs
    partitions = max(1, math.ceil(postings / PARTITION_ROWS))
    # Each partition reads its postings from every shard (12 bytes a posting) over the shared filesystem,
    # sorts them, and sends its lists to the driver over the driver's one link.
    match_tasks = postings * c["partition_s_per_posting"] / min(cores, partitions) + postings * 12 / 1e9 / fs
    to_driver = lists_gb / NODE_NET_GBPS
    driver = articles * c["driver_s_per_article"]
    align_label = articles * c["align_label_s_per_article_core"] / cores
    total = phase1 + match_tasks + to_driver + driver + align_label
    return {
        "articles": articles,
        "cores": cores,
        "nodes": nodes,
        "phase1_s": phase1,
        "partitions": partitions,
        "partition_s": match_tasks,
        "lists_to_driver_s": to_driver,
        "driver_s": driver,
        "align_label_s": align_label,
        "total_s": total,
        "shards_gb": shard_gb,
        "postings_gb": postings * 12 / 1e9,
        "driver_lists_gb": lists_gb,
    }


def cluster_for(c: dict[str, float], articles: int, hours: float = TARGET_HOURS) -> dict[str, float]:
    """The smallest cluster (whole nodes, powers of two) that runs the scan in ``hours``; else the one past which
    doubling the nodes saves less than a tenth (the driver's serial part dominates)."""
    last = None
    for nodes in [2**i for i in range(13)]:
        m = model(c, articles, nodes * CORES_PER_NODE)
        if m["total_s"] <= hours * 3600 or (last is not None and m["total_s"] > 0.9 * last["total_s"]):
            return m if m["total_s"] <= hours * 3600 else last
        last = m
    return last


def driver_memory_gb(c: dict[str, float], articles: int) -> float:
    """What the driver holds at once: the posting lists (measured bytes), pair evidence (per candidate pair: two
    int64 ids and, for ~4 shared lists, an int64 pair row and list index each: ~80 B) and the per-article
    table (id, path, title, url, a dozen numbers, as a polars frame and Python lists: ~400 B)."""
    lists = articles * c["lists_bytes_per_article"]
    evidence = articles * c["candidates_per_article"] * 80
    table = articles * 400
    return (lists + evidence + table) / 1e9


def report(m: dict[str, Any]) -> None:
    local, on_ray = min(m["local"]), min(m["ray"])
    print(f"\n## Ray against the local scan ({m['docs']:,} articles, {m['cpus']} CPUs, recurring text)\n")
    print("| | local scan | scan on Ray | Ray ÷ local |")
    print("|:---|---:|---:|---:|")
    print(
        f"| best of {len(m['local'])} | {local:.2f} s | {on_ray:.2f} s | **{on_ray / local:.2f}×** |\n"
        f"| all runs | {', '.join(f'{x:.2f}' for x in m['local'])} | {', '.join(f'{x:.2f}' for x in m['ray'])} | |"
    )
    print(f"\nRay's start here (ray.init, once per cluster): {m['ray_start']:.1f} s. Load: {'; '.join(m['load'])}")
    c = costs(m)
    print("\n## Measured costs (the last Ray run; seconds inside the workers)\n")
    for k, v in c.items():
        print(f"- {k}: {v:.3g}")
    print("\n## Model\n")
    print(
        f"Assumptions: {CORES_PER_NODE} cores a node as fast as these; shared filesystem {FS_GBPS} GB/s in all "
        f"(or the nodes' {NODE_NET_GBPS} GB/s each, if less); driver link {NODE_NET_GBPS} GB/s; partitions of "
        f"{PARTITION_ROWS:,} postings; articles like the corpus's (same length, same share of recurring text, "
        "pairs per article constant); the per-article costs measured here hold at scale (phase 1 and the "
        "partition sorts are linear or n log n in a partition, not in the corpus)."
    )
    print(
        "\n| articles | nodes × cores | phase 1 | partitions (tasks) | lists → driver | driver | align+label "
        "| total | shards | driver memory |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for articles in (10_000_000, 100_000_000):
        for nodes in (8, 32, 128):
            r = model(c, articles, nodes * CORES_PER_NODE)
            print(
                f"| {articles / 1e6:.0f}M | {nodes} × {CORES_PER_NODE} | {r['phase1_s'] / 60:.1f} min "
                f"| {r['partition_s'] / 60:.1f} min ({r['partitions']}) | {r['lists_to_driver_s'] / 60:.1f} min "
                f"| {r['driver_s'] / 60:.1f} min | {r['align_label_s'] / 60:.1f} min | **{r['total_s'] / 3600:.2f} h** "
                f"| {r['shards_gb']:.0f} GB | {driver_memory_gb(c, articles):.0f} GB |"
            )
    for articles in (10_000_000, 100_000_000):
        r = cluster_for(c, articles)
        reached = r["total_s"] <= TARGET_HOURS * 3600
        print(
            f"\n{articles / 1e6:.0f}M articles: {r['nodes']} nodes × {CORES_PER_NODE} cores, "
            f"{r['total_s'] / 3600:.2f} h"
            + (
                f" (within {TARGET_HOURS:.0f} h)"
                if reached
                else f" (not within {TARGET_HOURS:.0f} h: past this, doubling the nodes saves under a tenth)"
            )
            + f", of which the driver's serial part {r['driver_s'] / 3600:.2f} h; driver memory "
            f"~{driver_memory_gb(c, articles):.0f} GB (the model stops holding past the driver's RAM, "
            f"{DRIVER_RAM_GB} GB assumed)."
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "dedup-ray-bench")
    ap.add_argument("--json", type=Path, help="write the measurements here too")
    ap.add_argument("--render", type=Path, help="print the report of such a file again (no measuring)")
    args = ap.parse_args(argv)
    if args.render:
        report(json.loads(args.render.read_text()))
        return
    folder = corpus(args.workdir / f"synth-{args.docs}", args.docs)
    m = measure(folder, args.repeat)
    report(m)
    if args.json:
        args.json.write_text(json.dumps({**m, "costs": costs(m)}, indent=1))


if __name__ == "__main__":
    main()
