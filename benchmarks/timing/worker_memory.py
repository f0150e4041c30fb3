"""Each worker's memory by step of a local scan, task by task, and the scan's own process by phase (issue 30).

    python -m benchmarks.timing.worker_memory DIR --json benchmarks/results/worker-memory-100k.json

One ``dedup.pipeline.scan`` of ``DIR`` in this process (``--format none``'s work: no result written), its
worker steps wrapped: before each task a worker starts its peak resident memory again from its current size
(Linux ``clear_refs`` 5) and after it records the task's peak (``VmHWM``), its size after (``VmRSS``, of which
``RssAnon``), its seconds, and what the task was given (pairs, articles, their characters; for align the
shingle entries its pairs put side by side and the seeds they found). The wrappers are installed in this
process before the scan's pool is forked, so its workers run them (the steps' code unchanged). The scan's
process is sampled every ``--every`` seconds (``VmRSS``) with the phase it is in, and the largest tasks of
each step are printed: what in a batch makes its peak.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import suppress
from pathlib import Path

import numpy as np

_STATUS = ("VmHWM", "VmRSS", "RssAnon")


def _status() -> dict[str, int]:
    out = {}
    with suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in _STATUS:
                out[key] = int(line.split()[1]) * 1024
    return out


def _nbytes(obj) -> int:
    """The bytes of the numpy arrays an object (a ``Lists``, its ``Families``) holds as attributes."""
    total = 0
    for v in vars(obj).values():
        if isinstance(v, np.ndarray):
            total += v.nbytes
        elif hasattr(v, "__dict__") and not callable(v):
            total += _nbytes(v)
    return total


def _describe(step: str, chunk) -> dict:
    """What a task of ``step`` was given, in numbers."""
    d: dict = {}
    with suppress(Exception):
        if step == "_align_batch":
            rows = chunk.rows
            d["pairs"] = len(chunk)
            d["docs"] = len(rows.ids)
        elif step == "_label_batch":
            d["docs"] = len(chunk.docs)
            d["chars"] = int(np.asarray(chunk.chars).sum())
            d["holders"] = int(np.asarray(chunk.holds).sum())
            d["shared_spans"] = int(sum(len(v) for v in chunk.shared.values()))
        elif step == "_read_batch":
            d["pairs"] = len(chunk)
            d["kind"] = chunk.kind
        elif hasattr(chunk, "__len__"):
            d["items"] = len(chunk)
    return d


def _wrap(fn, step: str, out_dir: str):
    def run(context, chunk):
        with suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")
        before = _status()
        t = time.perf_counter()
        result = fn(context, chunk)
        secs = time.perf_counter() - t
        after = _status()
        row = {
            "step": step,
            "pid": os.getpid(),
            "seconds": round(secs, 3),
            "rss_before_mb": round(before.get("VmRSS", 0) / 2**20, 1),
            "peak_mb": round(after.get("VmHWM", 0) / 2**20, 1),
            "rss_after_mb": round(after.get("VmRSS", 0) / 2**20, 1),
            "anon_after_mb": round(after.get("RssAnon", 0) / 2**20, 1),
            **_describe(step, chunk),
        }
        if step == "_align_batch":
            row.update(_ALIGN_STATS.pop(os.getpid(), {}))
        with open(os.path.join(out_dir, f"{os.getpid()}.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")
        return result

    run.__name__ = run.__qualname__ = fn.__name__
    run.__module__ = fn.__module__
    return run


_ALIGN_STATS: dict[int, dict] = {}
_KEPT: dict[str, int] = {}


def _count_align(align_mod):
    """``align_batch`` noting, per task, the shingle entries of its pairs side by side and the seeds found."""
    inner = align_mod.align_batch

    def counted(corpus, tokens, sh, a, b, params, batch=None):
        bt = batch or align_mod.Batch(corpus, tokens, sh)
        a64, b64 = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        entries = int(((bt.shared_at[a64 + 1] - bt.shared_at[a64]) + (bt.shared_at[b64 + 1] - bt.shared_at[b64])).sum())
        s = _ALIGN_STATS.setdefault(os.getpid(), {})
        s["entries"] = entries
        s["batch_shingles"] = len(sh.hashes)
        s["batch_tokens"] = len(tokens.hashes)
        keep = os.environ.get("WORKER_MEMORY_KEEP")
        if keep and entries > _KEPT.get("entries", -1):  # the largest batch so far, for ``--replay``
            import pickle

            _KEPT["entries"] = entries
            with open(f"{keep}.{os.getpid()}", "wb") as f:
                pickle.dump((corpus, tokens, sh, a64, b64, params), f, protocol=pickle.HIGHEST_PROTOCOL)
        return inner(corpus, tokens, sh, a, b, params, bt)

    return counted


def measure(folder: str, every: float = 0.25) -> dict:
    import dedup.phase2 as phase2
    from dedup.pipeline import scan

    out_dir = tempfile.mkdtemp(prefix="worker-memory-")
    for step in ("_align_batch", "_label_batch", "_read_batch", "_cluster_directions"):
        setattr(phase2, step, _wrap(getattr(phase2, step), step, out_dir))
    phase2.align_batch = _count_align(__import__("dedup.align", fromlist=["align"]))
    state = {"phase": "start", "peak": defaultdict(int), "stop": False, "inner": [], "after": {}}

    def progress(phase: str, done: int, total: int | None) -> None:
        state["phase"] = phase

    def named(module, name: str) -> None:
        """The scan's process's samples while ``module.name`` runs are noted under ``phase/name`` too."""
        inner = getattr(module, name)

        def run(*args, **kwargs):
            state["inner"].append(name)
            try:
                out = inner(*args, **kwargs)
                lists = getattr(out, "lists", None)
                if lists is not None:  # what ``find`` keeps (to the end of the scan): its arrays' bytes
                    state["after"]["lists_mb"] = round(_nbytes(lists) / 2**20, 1)
                return out
            finally:
                state["inner"].pop()
                now = _status()  # what the step left behind (its last call's): the plateau after it
                state["after"][name] = {k: round(now.get(k, 0) / 2**20, 1) for k in ("VmRSS", "RssAnon")}

        setattr(module, name, run)

    import dedup.pipeline as pipeline

    for name in ("pair_evidence", "verify", "_read_pairs", "_directions", "_align", "_label", "match"):
        named(phase2, name)
    named(pipeline.candidates, "find")
    named(pipeline, "analyse_lists")
    named(pipeline.ScanResult, "of")

    def sample() -> None:
        while not state["stop"]:
            rss = _status().get("VmRSS", 0)
            for ph in {state["phase"], "/".join([state["phase"], *state["inner"][-1:]])}:
                state["peak"][ph] = max(state["peak"][ph], rss)
            time.sleep(every)

    load = [float(Path("/proc/loadavg").read_text().split()[0])]
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="worker-memory-store-") as store:
        result = scan(folder, progress=progress, store=store)
    wall = time.perf_counter() - t0
    state["stop"] = True
    watcher.join()
    load.append(float(Path("/proc/loadavg").read_text().split()[0]))
    tasks = []
    for p in Path(out_dir).glob("*.jsonl"):
        tasks += [json.loads(line) for line in p.read_text().splitlines()]
        p.unlink()
    os.rmdir(out_dir)
    import resource

    by_step: dict[str, dict] = {}
    for t in tasks:
        s = by_step.setdefault(t["step"], {"tasks": 0, "seconds": 0.0, "peak_mb": 0.0, "largest": []})
        s["tasks"] += 1
        s["seconds"] = round(s["seconds"] + t["seconds"], 2)
        s["peak_mb"] = max(s["peak_mb"], t["peak_mb"])
    for step, s in by_step.items():
        mine = sorted((t for t in tasks if t["step"] == step), key=lambda t: -(t["peak_mb"] - t["rss_before_mb"]))
        s["largest"] = mine[:5]
    return {
        "folder": folder,
        "docs": result.n_docs if hasattr(result, "n_docs") else None,
        "pairs": len(result.pairs) if hasattr(result, "pairs") else None,
        "wall_s": round(wall, 1),
        "main_peak_by_phase_mb": {k: round(v / 2**20, 1) for k, v in state["peak"].items()},
        "main_after_step_mb": state["after"],
        "main_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "steps": by_step,
        "load": load,
        "tasks": tasks,
    }


_ALIGN_STEPS = ("Batch", "_batch_seeds", "_batch_runs", "_batch_select", "_batch_bridge", "_batch_grown")


def replay(path: str) -> dict:
    """One kept align batch (``WORKER_MEMORY_KEEP``) aligned again here, ``tracemalloc`` on: the peak of the
    memory numpy and Python allocate in each of ``align_batch``'s steps (over all its chunks), its seconds,
    and the whole call's peak; what a batch of long articles makes large."""
    import pickle
    import tracemalloc

    import dedup.align as align

    with open(path, "rb") as f:
        corpus, tokens, sh, a, b, params = pickle.load(f)
    peaks: dict[str, float] = defaultdict(float)
    secs: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)

    def wrap(name: str) -> None:
        inner = getattr(align, name)

        def traced(*args, **kwargs):
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            t = time.perf_counter()
            out = inner(*args, **kwargs)
            secs[name] += time.perf_counter() - t
            peaks[name] = max(peaks[name], (tracemalloc.get_traced_memory()[1] - base) / 2**20)
            counts[name] += 1
            if name == "_batch_seeds":
                counts["seeds"] += len(out[0])
            return out

        setattr(align, name, traced)

    for name in _ALIGN_STEPS:
        wrap(name)
    tracemalloc.start()
    t = time.perf_counter()
    found = align.align_batch(corpus, tokens, sh, a, b, params)
    wall = time.perf_counter() - t
    total_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "batch": path,
        "pairs": len(a),
        "docs": len(sh.offsets) - 1,
        "tokens": len(tokens.hashes),
        "passages": int(sum(len(x) for x in found)),
        "seconds": round(wall, 2),
        "peak_mb": round(total_peak, 1),
        "step_peak_mb": {k: round(v, 1) for k, v in peaks.items()},
        "step_seconds": {k: round(v, 2) for k, v in secs.items()},
        "calls": dict(counts),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", help="the folder to scan, or with --replay a kept batch")
    ap.add_argument("--replay", action="store_true", help="profile a batch kept by WORKER_MEMORY_KEEP=PATH")
    ap.add_argument("--every", type=float, default=0.25)
    ap.add_argument("--json", help="write the measurements here")
    args = ap.parse_args()
    if args.replay:
        r = replay(args.folder)
        print(json.dumps(r, indent=1))
        if args.json:
            Path(args.json).write_text(json.dumps(r, indent=1) + "\n")
        return
    m = measure(args.folder, args.every)
    print(f"{args.folder}: {m['wall_s']} s, load {m['load']}, main peak {m['main_peak_mb']} MB")
    print("main process by phase (MB):", m["main_peak_by_phase_mb"])
    print("main process after each step (MB):", m["main_after_step_mb"])
    for step, s in m["steps"].items():
        print(f"{step}: {s['tasks']} tasks, {s['seconds']} s, worker peak {s['peak_mb']} MB")
        for t in s["largest"][:3]:
            print("   ", {k: v for k, v in t.items() if k not in ("step",)})
    if args.json:
        Path(args.json).write_text(json.dumps({k: v for k, v in m.items()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
