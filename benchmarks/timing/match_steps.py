"""Phase 2's match, step by step, on a kept feature store: wall and CPU seconds (workers included).

    python -m benchmarks.timing.match_steps store CORPUS STORE     # phase 1 once, into STORE (kept)
    python -m benchmarks.timing.match_steps match STORE [--json F]  # posting lists, pair evidence, verify, ...
    python -m benchmarks.timing.match_steps match STORE --plain     # the same with every list stored plainly
    python -m benchmarks.timing.match_steps match STORE --trace rss    # and the peak RSS by function
    python -m benchmarks.timing.match_steps match STORE --trace alloc  # and what is live at match's peak
    python -m benchmarks.timing.match_steps match STORE --budget N     # N postings a partition of the lists

``--trace rss`` samples this process every 20 ms (``VmRSS``, and ``RssAnon``: its own memory, the store's mapped
pages aside) with the innermost ``dedup`` functions running: the highest ``RssAnon`` while each ran.
``--trace alloc`` also samples ``tracemalloc``'s traced bytes (numpy's arrays are traced) and keeps a snapshot
at the highest: the allocation sites live at the peak (each with its bytes) and the traced peak of each step;
it slows the steps (its CPU figures are not comparable with an untraced run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def store(corpus: str, root: str) -> None:
    """Phase 1 of ``dedup scan`` over ``corpus`` into a store at ``root`` (which must not exist)."""
    from dedup import pipeline
    from dedup.featurestore import FeatureStore
    from dedup.options import ScanOptions, store_params

    options = ScanOptions()
    fs = FeatureStore(root, params=store_params(options), create=True)
    names, _ = pipeline.ingest(fs, corpus, options, lambda *a: None)
    fs.commit(names)


class _Tracer:
    """A thread sampling this process's ``VmRSS`` and ``tracemalloc``'s traced bytes, with the main thread's
    innermost ``dedup`` frames, and a snapshot of what is live at the highest traced size (``--trace``)."""

    def __init__(self, traced: bool = True, every: float = 0.02, frames: int = 12) -> None:
        import threading
        import tracemalloc

        self.tm = tracemalloc if traced else None
        if traced:
            tracemalloc.start(frames)
        self.by_function: dict[str, int] = {}  # the highest RssAnon seen while the innermost dedup function ran
        self.main = threading.main_thread().ident
        self.every = every
        self.stop = False
        self.max_rss = (0, "")
        self.max_anon = (0, "")
        self.max_traced = (0, "")
        self.snap_at = 0
        self.snapshot = None
        self.step_peak: dict[str, int] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _where(self, lines: bool = True) -> str:
        frame = sys._current_frames().get(self.main)
        names = []
        while frame is not None:
            code = frame.f_code
            if "/dedup/" in code.co_filename:
                line = f":{frame.f_lineno}" if lines else ""
                names.append(f"{Path(code.co_filename).stem}.{code.co_name}{line}")
            frame = frame.f_back
        return " < ".join(names[: 6 if lines else 2])

    def _run(self) -> None:
        while not self.stop:
            rss, anon = _rss()
            fn = self._where(lines=False)
            self.by_function[fn] = max(anon, self.by_function.get(fn, 0))
            if anon > self.max_anon[0]:
                self.max_anon = (anon, self._where())
            if rss > self.max_rss[0]:
                self.max_rss = (rss, self._where())
            if self.tm is None:
                time.sleep(self.every)
                continue
            traced = self.tm.get_traced_memory()[0]
            if traced > self.max_traced[0]:
                self.max_traced = (traced, self._where())
                if traced > 1.03 * self.snap_at:  # a snapshot near the highest traced size (each costs a pause)
                    self.snap_at = traced
                    self.snapshot = self.tm.take_snapshot()
            time.sleep(self.every)

    def step(self, name: str) -> None:
        """The traced peak since the last step, noted under ``name``."""
        if self.tm is not None:
            self.step_peak[name] = self.tm.get_traced_memory()[1]
            self.tm.reset_peak()

    def report(self, top: int = 25) -> dict:
        self.stop = True
        self.thread.join()
        mb = 2**20
        out: dict[str, Any] = {
            "max_rss_mb": round(self.max_rss[0] / mb, 1),
            "max_rss_in": self.max_rss[1],
            "max_anon_mb": round(self.max_anon[0] / mb, 1),
            "max_anon_in": self.max_anon[1],
            "anon_mb_by_function": {
                k: round(v / mb, 1) for k, v in sorted(self.by_function.items(), key=lambda kv: -kv[1]) if k
            },
        }
        if self.tm is None:
            return out
        out |= {
            "max_traced_mb": round(self.max_traced[0] / mb, 1),
            "max_traced_in": self.max_traced[1],
            "traced_peak_mb_by_step": {k: round(v / mb, 1) for k, v in self.step_peak.items()},
        }
        if self.snapshot is not None:
            snap = self.snapshot.filter_traces([self.tm.Filter(True, "*/dedup/*")])
            stats = snap.statistics("traceback")
            out["snapshot_traced_mb"] = round(self.snap_at / mb, 1)
            out["live_at_peak"] = [
                {
                    "mb": round(s.size / mb, 1),
                    "blocks": s.count,
                    "where": " < ".join(
                        f"{Path(f.filename).stem}:{f.lineno}" for f in reversed(s.traceback) if "/dedup/" in f.filename
                    ),
                }
                for s in stats[:top]
            ]
        self.tm.stop()
        return out


def _digest(m: Any) -> str:
    """A digest of what match found (its pairs' columns, the syndicated counts, the boilerplate's fingerprints
    and holders): equal before and after a change that must not change the result."""
    import hashlib

    h = hashlib.sha256()
    for name in m.pairs.columns:
        column = m.pairs[name]
        h.update(name.encode())
        h.update(str(column.to_list()).encode() if column.dtype == _utf8() else column.to_numpy().tobytes())
    for array in (m.syndicated, m.boilerplate.fingerprints, m.boilerplate.holders):
        h.update(array.tobytes())
    return h.hexdigest()


def _utf8() -> Any:
    import polars as pl

    return pl.Utf8


def _nbytes(obj: Any) -> int:
    """The bytes of the numpy arrays an object (a ``Lists``, its ``Families``) holds as attributes."""
    import numpy as np

    total = 0
    for v in vars(obj).values():
        if isinstance(v, np.ndarray):
            total += v.nbytes
        elif hasattr(v, "__dict__") and not callable(v):
            total += _nbytes(v)
    return total


def _rss() -> tuple[int, int]:
    """This process's ``VmRSS`` and ``RssAnon`` (its own memory: the store's mapped pages aside), in bytes."""
    out = {"VmRSS:": 0, "RssAnon:": 0}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key = line.split(None, 1)[0] if line else ""
            if key in out:
                out[key] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out["VmRSS:"], out["RssAnon:"]


def match_steps(
    root: str, plain: bool = False, trace: str | None = None, budget: int | None = None, workers: int | None = None
) -> dict:
    """Each step of phase 2's match over the store at ``root``: (wall, CPU) seconds, and the counts. The big
    lists are stored by family as ``candidates.find`` stores them, or (``plain``) every list plainly. ``workers``:
    the threads and worker processes match uses (default: the scan's, one a core)."""
    import numpy as np

    import dedup.phase2 as phase2
    from dedup.cluster import cluster
    from dedup.evidence import PARTITION_ROWS, doc_bits, give_back_heap, list_fingerprints, posting_lists
    from dedup.featurestore import FeatureStore
    from dedup.options import ScanOptions, store_params
    from dedup.verify import CLUSTERING
    from dedup.workers import Pool, Processes

    budget = budget or PARTITION_ROWS  # postings sorted at once (lower: as many partitions as a larger store makes)
    options = ScanOptions(workers=workers) if workers else ScanOptions()
    workers = options.workers or os.cpu_count() or 1
    fs = FeatureStore(root, params=store_params(options))
    steps: dict[str, list[float]] = {}
    peak: dict[str, float] = {}  # this process's peak RSS (MB) by the end of each step
    after: dict[str, float] = {}  # its RssAnon (MB) at the end of each step
    tracer = _Tracer(trace == "alloc") if trace else None
    mark = [time.perf_counter(), _cpu()]

    def tick(name: str) -> None:
        if tracer is not None:
            tracer.step(name)
        wall, cpu = time.perf_counter(), _cpu()
        steps[name] = [round(wall - mark[0], 2), round(cpu - mark[1], 2)]
        peak[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        after[name] = round(_rss()[1] / 2**20, 1)
        mark[:] = [wall, cpu]

    evidence: dict[str, int] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            out = fn(*args, **kwargs)
            tick(name)
            if name == "pair_evidence":  # what the evidence holds: entries per (pair, list), per (pair, family)
                evidence.update(
                    {
                        "pairs": len(out.pairs),
                        "list_entries": len(out.entry_pair),
                        "family_entries": len(getattr(out, "family", ())),
                        "corrections": len(getattr(out, "minus_pair", ())),
                    }
                )
            return out

        return run

    # How many lists the partitions give, a list found in several partitions counted in each (what find used to
    # hold to its end): ``ListGrouper.add`` is given every partition's lists.
    from dedup import evidence as evidence_module

    partition_lists = [0]
    add = evidence_module.ListGrouper.add

    def counted(self: Any, part: Any) -> None:
        partition_lists[0] += len(part[0])
        add(self, part)

    evidence_module.ListGrouper.add = counted  # type: ignore[method-assign]
    table = phase2.DocTable(fs.docs())
    n = len(table)
    with tempfile.TemporaryDirectory(dir=fs.root) as work:
        spill = Path(work)
        above = None if plain else options.verify.max_enumerate
        lists = posting_lists(
            list(fs.shards()), fs.bases[:-1], n, spill, budget=budget, threads=workers, group_above=above
        )
        give_back_heap()  # as a scan does after ``candidates.find``
        tick("posting_lists")
        evidence_module.ListGrouper.add = add  # type: ignore[method-assign]

        def boilerplate_of(mask: np.ndarray) -> phase2.Boilerplate:
            return phase2.Boilerplate(list_fingerprints(spill, lists, mask), doc_bits(n), lists.holders(mask, n))

        saved = phase2.pair_evidence, phase2.verify
        phase2.pair_evidence = timed("pair_evidence", phase2.pair_evidence)
        phase2.verify = timed("verify", phase2.verify)
        try:
            # Verification's reads on a kept pool of workers, as in a scan (``pipeline.analyse_store``).
            with Pool(workers) as pool:
                m = phase2.match(fs, table, lists, boilerplate_of, options, executor=Processes(workers, pool))
        finally:
            phase2.pair_evidence, phase2.verify = saved
        tick("boilerplate")
        cluster(m.table, m.pairs, CLUSTERING, m.syndicated, m.excerpt, m.site)
        tick("cluster")
    traced = tracer.report() if tracer is not None else None
    sizes = lists.sizes()
    big = sizes > options.verify.max_enumerate
    out = {
        "docs": n,
        "lists": len(lists),
        "partition_lists": partition_lists[0],
        "members": int(sizes.sum()),
        "stored_members": lists.stored_members(),
        "lists_mb": round(_nbytes(lists) / 2**20, 1),
        "families": len(lists.families) if lists.families is not None else None,
        "big_lists": int(big.sum()),
        "big_members": int(sizes[big].sum()),
        "candidates": int(m.candidates),
        "pairs": int(m.pairs.height),
        "result_sha256": _digest(m),
        "evidence": evidence,
        "steps_wall_cpu": steps,
        "match_cpu": round(sum(v[1] for v in steps.values()), 2),
        "peak_rss_mb_by_step": peak,
        "anon_mb_after_step": after,
    }
    if traced is not None:
        out["trace"] = traced
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("store", help="phase 1 once, into a kept store")
    s.add_argument("corpus")
    s.add_argument("store")
    m = sub.add_parser("match", help="time match's steps on a kept store")
    m.add_argument("store")
    m.add_argument("--json", help="also write the figures here")
    m.add_argument("--plain", action="store_true", help="store every list plainly (no families): the before")
    m.add_argument(
        "--trace",
        choices=("rss", "alloc"),
        help="sample RSS by function (rss), and keep what is live at the peak (alloc: tracemalloc, slower)",
    )
    m.add_argument("--budget", type=int, help="postings per partition of the lists (default: find's)")
    m.add_argument("--workers", type=int, help="threads and worker processes (default: one a core, as a scan)")
    args = ap.parse_args(argv)
    if args.mode == "store":
        if Path(args.store).exists():
            sys.exit(f"match_steps: {args.store} exists; give a new folder")
        store(args.corpus, args.store)
        return
    out = match_steps(args.store, args.plain, args.trace, args.budget, args.workers)
    print(json.dumps(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
