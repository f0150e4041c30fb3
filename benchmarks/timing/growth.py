"""How each phase of a scan grows with n: seconds and peak memory per phase, and each phase's exponent.

    python -m benchmarks.timing.growth --sizes 50000,100000,300000 --json benchmarks/results/growth-fixed.json
    python -m benchmarks.timing.growth --corpus DIR --json F     # one folder (e.g. the 200 MB single file)
    python -m benchmarks.timing.growth --store STORE --json F    # phase 2 alone on a kept ``--store``
    python -m benchmarks.timing.growth --summarise PROFILE.speedscope.json.gz --within _label   # a profile as text

Each size's fixed-pool corpus (``throughput``'s, kept under ``--keep-corpus``) is scanned by
``python -m dedup scan DIR --format none -v`` in a fresh process. While it runs, the memory of its whole
process tree is sampled every ``--every`` seconds (the sum of each process's proportional set size, PSS: a
page shared by forked workers counts once in all), and the phase it is in is read from its ``-v`` lines, so
each phase has its wall seconds and its peak. The whole run's peak RSS (``wait4``: the largest single process)
is beside it. The exponent of a phase between two sizes is log(t2 / t1) / log(n2 / n1); the load average
(``/proc/loadavg``) before and after each run is recorded, as the machine is shared.

Before any run the free memory (``MemAvailable``) is checked against ``--need-gb`` per 100k articles; a run that
would not fit is not started, and one that passes ``--rss-limit`` GB is stopped and reported as failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

PHASE = re.compile(r"^dedup: (read|match|align|label)\b(?! took)")
TOOK = re.compile(r"^dedup: (read|match|align|label) took ([0-9.]+) s")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc's children lists)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return out


def _pss_mb(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total / 1024


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int, pids: list[int]) -> float:
    """CPU seconds of ``pid`` (with its reaped children) and of its live descendants ``pids``."""
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if p == pid else 0)
    return total / _TICK


def available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def phase2(store: str) -> None:
    """Phase 2 alone on a kept store (``dedup scan --store``), printing each phase and its time as ``dedup scan
    -v`` does (the child of ``--store`` runs: the same sampling, without phase 1)."""
    from dedup.featurestore import FeatureStore
    from dedup.options import ScanOptions
    from dedup.pipeline import analyse_store

    seen: set[str] = set()

    def report(phase: str, done: int, total: int | None) -> None:
        if phase not in seen:
            seen.add(phase)
            print(f"dedup: {phase}", file=sys.stderr, flush=True)

    result = analyse_store(FeatureStore(store), ScanOptions(), report)
    for phase, seconds in result.to_dict()["meta"]["timings"].items():
        print(f"dedup: {phase} took {seconds:.2f} s", file=sys.stderr, flush=True)


def measure(
    folder: Path, every: float = 0.5, rss_limit_gb: float = 8.0, extra: list[str] | None = None, store: bool = False
) -> dict:
    """One ``dedup scan`` of ``folder`` (``store``: phase 2 alone on the kept store ``folder``): per phase its
    wall seconds (the scan's own ``-v`` figures) and the peak PSS of the process tree while in it; the whole
    run's wall, CPU, peak RSS and load."""
    cmd = [sys.executable, "-m", "dedup", "scan", str(folder), "--format", "none", "-v", *(extra or [])]
    if store:
        cmd = [sys.executable, "-m", "benchmarks.timing.growth", "--phase2-child", str(folder)]
    load_before = _load()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    state = {"phase": "start", "peak": {}, "took": {}, "killed": False, "cpu": {}, "last_cpu": 0.0}

    def sample() -> None:
        while proc.poll() is None:
            pids = _tree(proc.pid)
            mb = _pss_mb(pids)
            ph = state["phase"]
            state["peak"][ph] = max(state["peak"].get(ph, 0.0), mb)
            cpu = _cpu_s(proc.pid, pids)
            state["cpu"][ph] = state["cpu"].get(ph, 0.0) + max(0.0, cpu - state["last_cpu"])
            state["last_cpu"] = max(state["last_cpu"], cpu)
            if mb / 1024 > rss_limit_gb:
                state["killed"] = True
                proc.kill()
            time.sleep(every)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    tail = []
    assert proc.stderr is not None
    for line in proc.stderr:
        tail = (tail + [line.rstrip()])[-5:]
        if m := TOOK.match(line):
            state["took"][m.group(1)] = float(m.group(2))
            state["phase"] = f"after {m.group(1)}"
        elif m := PHASE.match(line):
            state["phase"] = m.group(1)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    watcher.join(timeout=2)
    code = os.waitstatus_to_exitcode(status)
    out = {
        "folder": str(folder),
        "exit": code,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "sys_s": round(usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "phase_s": state["took"],
        "phase_peak_pss_mb": {k: round(v, 1) for k, v in state["peak"].items()},
        "phase_cpu_s": {k: round(v, 1) for k, v in state["cpu"].items()},
        "peak_pss_mb": round(max(state["peak"].values(), default=0.0), 1),
        "load": [load_before, _load()],
    }
    if code != 0:
        out["error"] = "stopped above the memory limit" if state["killed"] else " / ".join(tail)
    return out


def exponents(runs: list[dict]) -> list[dict]:
    """Each phase's (and the whole scan's) exponent between consecutive sizes."""
    out = []
    ok = [r for r in runs if r["exit"] == 0]
    for a, b in zip(ok, ok[1:]):
        ratio = math.log(b["docs"] / a["docs"])
        row = {"from": a["docs"], "to": b["docs"]}
        for k in ("read", "match", "align", "label"):
            if a["phase_s"].get(k) and b["phase_s"].get(k):
                row[k] = round(math.log(b["phase_s"][k] / a["phase_s"][k]) / ratio, 2)
            if a.get("phase_cpu_s", {}).get(k) and b.get("phase_cpu_s", {}).get(k):
                row[f"{k}_cpu"] = round(math.log(b["phase_cpu_s"][k] / a["phase_cpu_s"][k]) / ratio, 2)
        row["scan"] = round(math.log(b["wall_s"] / a["wall_s"]) / ratio, 2)
        row["scan_cpu"] = round(math.log(b["cpu_s"] / a["cpu_s"]) / ratio, 2)
        row["peak"] = round(math.log(b["peak_pss_mb"] / a["peak_pss_mb"]) / ratio, 2)
        out.append(row)
    return out


def summarise(path: str, within: str | None = None, top: int = 25) -> str:
    """A py-spy speedscope profile (``.json`` or ``.json.gz``) as text: the share of samples each function
    holds itself and with what it calls, over every process, or only the samples under a frame whose name
    contains ``within`` (``_label``: label's share)."""
    import collections
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        data = json.load(f)
    frames = data["shared"]["frames"]
    names = [f"{fr['name']} ({fr.get('file', '').split('/')[-1]}:{fr.get('line', '')})" for fr in frames]
    own: collections.Counter = collections.Counter()
    under: collections.Counter = collections.Counter()
    total = 0.0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"]):
            if within and not any(within in frames[i]["name"] for i in stack):
                continue
            total += weight
            own[names[stack[-1]]] += weight
            for i in set(stack):
                under[names[i]] += weight
    lines = [f"{path}: {total:.1f} s of samples" + (f" under {within}" if within else "")]
    for title, counter in (("itself", own), ("with what it calls", under)):
        lines += ["", f"-- {title}"]
        lines += [f"{v / total:6.1%}  {k}" for k, v in counter.most_common(top) if total]
    return "\n".join(lines)


def render(data: dict) -> str:
    lines = [
        f"commit `{data['commit']}`",
        "",
        "| articles | scan wall / CPU s | read / match / align / label: wall s | CPU s | peak PSS (tree) | "
        "peak RSS (one process) | phase peaks PSS MB | load before-after |",
        "|---:|---:|:---|:---|---:|---:|:---|:---|",
    ]
    phases = ("read", "match", "align", "label")
    for r in data["runs"]:
        ph = " / ".join(f"{r['phase_s'].get(k, float('nan')):.1f}" for k in phases)
        cpu = " / ".join(f"{r.get('phase_cpu_s', {}).get(k, float('nan')):.1f}" for k in phases)
        peaks = ", ".join(f"{k} {v:.0f}" for k, v in r["phase_peak_pss_mb"].items())
        lines.append(
            f"| {r['docs']:,} | {r['wall_s']:.1f} / {r['cpu_s']:.1f} | {ph} | {cpu} | "
            f"{r['peak_pss_mb'] / 1024:.2f} GB | {r['peak_rss_mb'] / 1024:.2f} GB | {peaks} | "
            f"{r['load'][0]:.1f}-{r['load'][1]:.1f} |"
        )
    if data.get("exponents"):
        keys = [*(f"{k}_cpu" for k in phases), "scan_cpu", *phases, "scan", "peak"]
        lines += [
            "",
            "| n | read CPU | match CPU | align CPU | label CPU | scan CPU | read wall | match wall | align wall | "
            "label wall | scan wall | peak PSS |",
            "|:---|" + "---:|" * len(keys),
        ]
        for e in data["exponents"]:
            cells = " | ".join(str(e.get(k, "")) for k in keys)
            lines.append(f"| {e['from']:,} → {e['to']:,} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50000,100000", help="comma-separated corpus sizes (fixed pool)")
    ap.add_argument("--corpus", help="scan this one folder instead of the fixed-pool corpora")
    ap.add_argument("--store", help="phase 2 alone on this kept store (``dedup scan --store``)")
    ap.add_argument("--phase2-child", help=argparse.SUPPRESS)
    ap.add_argument("--summarise", help="print a py-spy speedscope profile (.json or .json.gz) as text and exit")
    ap.add_argument("--within", help="with --summarise: only the samples under a frame whose name holds this")
    ap.add_argument("--keep-corpus", default="/tmp/corpora", help="where the fixed-pool corpora are (or go)")
    ap.add_argument("--json", help="write the results here (and the table beside it, .md)")
    ap.add_argument("--every", type=float, default=0.5, help="seconds between memory samples")
    ap.add_argument("--rss-limit", type=float, default=8.0, help="stop a run whose tree passes this (GB)")
    ap.add_argument("--need-gb", type=float, default=2.0, help="free memory a run needs per 100k articles (GB)")
    ap.add_argument("--render", help="print the table of an earlier --json file and exit")
    ap.add_argument("scan_args", nargs="*", help="more options for dedup scan (after --)")
    args = ap.parse_args(argv)
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return
    if args.summarise:
        print(summarise(args.summarise, args.within))
        return
    if args.phase2_child:
        phase2(args.phase2_child)
        return
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    runs = []
    if args.corpus or args.store:
        targets = [(0, Path(args.corpus or args.store))]
    else:
        from benchmarks.timing.throughput import corpus_for

        keep = Path(args.keep_corpus)
        keep.mkdir(parents=True, exist_ok=True)
        targets = []
        for n in [int(s) for s in args.sizes.split(",")]:
            folder, _ = corpus_for(n, 0, keep, keep, 0.5, 50, "fixed")
            targets.append((n, folder))
    for n, folder in targets:
        need = max(1.0, args.need_gb * n / 100_000)
        if available_gb() < need:
            runs.append(
                {"docs": n, "exit": -1, "error": f"not started: {available_gb():.1f} GB free, needs {need:.1f}"}
            )
            continue
        run = {"docs": n, **measure(folder, args.every, args.rss_limit, args.scan_args, store=bool(args.store))}
        runs.append(run)
        print(json.dumps(run), flush=True)
    data = {"commit": commit, "runs": runs, "exponents": exponents([r for r in runs if r["docs"]])}
    table = render({**data, "runs": [r for r in runs if r["exit"] == 0]})
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
        Path(args.json).with_suffix(".md").write_text(table + "\n")


if __name__ == "__main__":
    main()
