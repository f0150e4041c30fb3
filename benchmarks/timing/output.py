"""What writing the result adds to a scan: ``dedup scan DIR --format none`` against the same scan with
``-o`` in each format, time and peak RSS, as ratios measured in one run.

    python -m benchmarks.timing.output --sizes 50000
    python -m benchmarks.timing.output --sizes 200000,1000000 --repeat 2 --json benchmarks/out/output.json

For each size a clean corpus (``benchmarks.corpora.synth``, seed 0) is generated once under ``--workdir``, then each
variant runs as a fresh ``dedup scan`` subprocess (``--workers`` as given), its wall time taken and its peak
RSS read with ``os.wait4`` (``ru_maxrss``: the scan's own process; the workers it forks are reported apart
by the kernel and are the same whatever the output). Variants run in turn, ``--repeat`` rounds, so load on a
shared machine spreads over all of them; each row gives the median and the load average (``os.getloadavg``)
before its runs. The targets (``-o`` against ``--format none``, time and peak RSS): benchmarks/README.md.

On a loaded machine the scan's own peak moves by a few hundred MB from run to run (workers' results queue while
the parent waits for a core), which hides what writing adds; ``--in-process`` also scans once in this process and
then writes each format, sampling the RSS (``/proc/self/statm``) while it writes: the writer's own time and
memory above what the finished scan holds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.scoring.harness import run_timed

FORMATS = ("json", "parquet", "csv", "jsonl", "html")


def run_scan(corpus: Path, out: Path | None, workers: int | None, code: Path | None = None) -> dict:
    """One ``dedup scan`` in a fresh process (``code``: a checkout whose ``dedup`` to run instead of the
    installed one): wall seconds, peak RSS (GB) and the bytes it wrote."""
    cmd = [sys.executable, "-m", "dedup", "scan", str(corpus), "--format", "none", "-q"]
    if workers:
        cmd += ["--workers", str(workers)]
    if out is not None:
        if out.parent.exists():
            shutil.rmtree(out.parent)
        out.parent.mkdir(parents=True)
        cmd += ["-o", str(out)]
    load = os.getloadavg()[0]
    env = os.environ | ({"PYTHONPATH": str(code)} if code else {})
    run = run_timed(cmd, env=env)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {run.stderr.strip()}")
    written = sum(f.stat().st_size for f in out.parent.iterdir()) if out is not None else 0
    return {"s": run.seconds, "rss_gb": run.usage.ru_maxrss / 2**20, "mb": written / 2**20, "load": load}


def measure(
    corpus: Path, work: Path, formats: list[str], repeat: int, workers: int | None, code: Path | None = None
) -> dict:
    """Every variant ``repeat`` times, in turn; the medians."""
    runs: dict[str, list[dict]] = {v: [] for v in ["none", *formats]}
    for _ in range(repeat):
        for variant in runs:
            out = None if variant == "none" else work / f"out-{variant}" / f"result.{variant}"
            runs[variant].append(run_scan(corpus, out, workers, code))
            print(f"  {variant}: {runs[variant][-1]}", file=sys.stderr, flush=True)
    return {
        v: {k: round(statistics.median(r[k] for r in rs), 3) for k in ("s", "rss_gb", "mb", "load")} | {"runs": rs}
        for v, rs in runs.items()
    }


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def in_process(corpus: Path, work: Path, formats: list[str], workers: int | None) -> dict:
    """Scan once here, then write each format: seconds, RSS before and peak while writing (GB)."""
    import resource
    import threading

    from dedup import ScanOptions, scan
    from dedup.output import plan_output, write_output
    from dedup.views.html import report_html

    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_gb())

    threading.Thread(target=sample, daemon=True).start()
    t = time.perf_counter()
    result = scan(corpus, ScanOptions(workers=workers))
    scan_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    out: dict = {"scan": {"s": round(time.perf_counter() - t, 2), "peak_gb": scan_peak}}
    for kind in formats:
        target = work / f"in-process-{kind}" / f"result.{kind}"
        shutil.rmtree(target.parent, ignore_errors=True)
        before = peak[0] = _rss_gb()
        t = time.perf_counter()
        write_output(result, plan_output(str(target)), html=lambda: report_html(result))
        out[kind] = {"s": round(time.perf_counter() - t, 2), "rss_before_gb": before, "peak_gb": peak[0]}
        print(f"  in process, {kind}: {out[kind]}", file=sys.stderr, flush=True)
    done.set()
    return out


def in_process_table(results: dict) -> str:
    """Markdown: per size, the scan and then each writer's time and memory in the same process."""
    lines = ["| articles | step | time | × scan | RSS before | peak while writing |", "|---|---|---|---|---|---|"]
    for size, steps in results.items():
        scan_s = steps["scan"]["s"]
        lines.append(f"| {int(size):,} | scan | {scan_s:.1f} s | 1 | | {steps['scan']['peak_gb']:.2f} GB (ru_maxrss) |")
        for kind, m in steps.items():
            if kind != "scan":
                lines.append(
                    f"| {int(size):,} | write `.{kind}` | {m['s']:.1f} s | {m['s'] / scan_s:.3f} | "
                    f"{m['rss_before_gb']:.2f} GB | {m['peak_gb']:.2f} GB |"
                )
    return "\n".join(lines)


def table(results: dict) -> str:
    """Markdown: per size and variant, time and peak RSS, and what ``-o`` adds to ``--format none``."""
    lines = [
        "| articles | output | time | × none | peak RSS | + RSS | written | load avg |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, variants in results.items():
        base = variants["none"]
        for v, m in variants.items():
            name = "`--format none`" if v == "none" else f"`-o result.{v}`"
            lines.append(
                f"| {int(size):,} | {name} | {m['s']:.1f} s | {m['s'] / base['s']:.2f} | {m['rss_gb']:.2f} GB | "
                f"{m['rss_gb'] - base['rss_gb']:+.2f} GB | {m['mb']:.0f} MB | {m['load']:.1f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50000", help="comma-separated corpus sizes (articles)")
    ap.add_argument("--formats", default=",".join(FORMATS[:4]), help=f"of {', '.join(FORMATS)}")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/dedup-output-bench"))
    ap.add_argument("--keep", action="store_true", help="keep the corpora and outputs")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--code", type=Path, help="run the dedup of this checkout (e.g. the code before a change)")
    ap.add_argument("--in-process", action="store_true", help="also scan once here and time each writer alone")
    args = ap.parse_args(argv)
    formats = [f for f in args.formats.split(",") if f]
    results: dict = {}
    inside: dict = {}
    for size in (int(s) for s in args.sizes.split(",")):
        work = args.workdir / str(size)
        corpus = work / "corpus"
        if not corpus.exists():
            subprocess.run(
                [sys.executable, "-m", "benchmarks.corpora.synth", str(corpus), "--docs", str(size)], check=True
            )
        print(f"{size:,} articles:", file=sys.stderr)
        results[str(size)] = measure(corpus, work, formats, args.repeat, args.workers, args.code)
        if args.in_process:
            inside[str(size)] = in_process(corpus, work, formats, args.workers)
        if not args.keep:
            shutil.rmtree(work)
    print(table(results))
    if inside:
        print()
        print(in_process_table(inside))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"subprocess": results, "in_process": inside}, indent=1) + "\n")


if __name__ == "__main__":
    main()
