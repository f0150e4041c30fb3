"""Whole command against whole command: ``dedup scan DIR -o result.parquet`` against the rensa and datasketch scripts.

    python -m benchmarks.timing.peers --docs 5000 --runs 3 --json benchmarks/results/peers-5k.json
    python -m benchmarks.timing.peers --pipeline rensa DIR       # one peer script alone, its phases as JSON on stdout
    python -m benchmarks.timing.peers --render benchmarks/results/peers-5k.json
    python -m benchmarks.timing.peers --docs 20000 --runs 2 --reference /tmp/main   # older code in the same rounds

Each corpus (``benchmarks.corpora.synth``: ``recurring`` at a fixed rate, ``fixed`` from one pool) is measured
with three whole processes, run in turn A B C A B C … so that each round's ratios are taken under the same load:

* ``dedup``: ``python -m dedup scan DIR -o result.parquet --force -v`` (phases from ``-v``'s ``X took N s`` lines);
* ``rensa``: the folder pipeline a speed-minded user writes with rensa: read each file, word 5-grams, one
  ``RMinHash`` per file, ``RMinHashLSH`` (32 bands of 4 rows: ``throughput.RENSA_BANDS``) query then insert,
  union-find over the matches (Python around Rust), one file at a time so that its memory stays flat;
* ``datasketch``: the same with ``MinHash.bulk`` per 1,000 files and ``MinHashLSH``
  (``benchmarks.timing.throughput.measure_peer``).

Per run: wall, user and system CPU seconds and the peak RSS (``os.wait4``: the largest of the process and the
children it reaped, so dedup's forked workers count), the load average before and after, and each tool's phases.
The ratios are per round (peer ÷ dedup, wall and user + system CPU: above 1 dedup is faster); the summary
quotes their median. ``--reference DIR`` (a checkout of older code, e.g. ``git archive main | tar -x -C DIR``) adds
``dedup-ref``, the same command run with that code in every round, so before and after are paired under the same
load (its ratio, reference ÷ this code, is the speed-up). On a machine whose cores are oversubscribed the CPU ratio
is the steadier one: dedup's two worker processes then get less than two cores, a single-threaded peer its one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.scoring.harness import git_commit, run_timed
from benchmarks.timing.throughput import (
    LSH_THRESHOLD,
    NUM_PERM,
    RENSA_BANDS,
    RENSA_SEED,
    K,
    article_files,
    corpus_for,
    machine,
    measure_peer,
    peer_result,
)

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("dedup", "rensa", "datasketch")
REFERENCE = "dedup-ref"  # ``dedup`` with the ``--reference`` checkout's code
_PHASE = re.compile(r"^dedup: (\w+) took ([0-9.]+) s$")


def rensa_pipeline(folder: Path) -> dict:
    """The rensa folder pipeline, whole: read, word 5-grams, ``RMinHash``, ``RMinHashLSH``, union-find.

    Each file is read and decoded, split on whitespace into word 5-grams (the rensa README's recipe), signed by
    one ``RMinHash`` (128 permutations), queried against the LSH of the files before it and inserted, so each
    matching pair is found once; clusters are the connected components of the matches.
    """
    from rensa import RMinHash, RMinHashLSH

    t = {"read": 0.0, "shingle": 0.0, "sign": 0.0, "lsh": 0.0}
    t_all = time.perf_counter()
    paths = article_files(folder)
    lsh = RMinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM, num_bands=RENSA_BANDS)
    pairs: list[tuple[int, int]] = []
    n_bytes = 0
    for i, p in enumerate(paths):
        t0 = time.perf_counter()
        data = p.read_bytes()
        n_bytes += len(data)
        words = data.decode("utf-8", "replace").split()
        t1 = time.perf_counter()
        grams = [" ".join(words[j : j + K]) for j in range(max(len(words) - K + 1, 1))] if words else []
        t2 = time.perf_counter()
        m = RMinHash(num_perm=NUM_PERM, seed=RENSA_SEED)
        m.update(grams)
        t3 = time.perf_counter()
        pairs.extend((j, i) for j in lsh.query(m))
        lsh.insert(i, m)
        t4 = time.perf_counter()
        t["read"] += t1 - t0
        t["shingle"] += t2 - t1
        t["sign"] += t3 - t2
        t["lsh"] += t4 - t3
    return peer_result(len(paths), n_bytes, pairs, t, t_all)


def _command(tool: str, corpus: Path, out_dir: Path) -> list[str]:
    if tool in ("dedup", REFERENCE):
        out = out_dir / "result.parquet"
        return [sys.executable, "-m", "dedup", "scan", str(corpus), "-o", str(out), "--force", "-v", "--no-progress"]
    return [sys.executable, "-m", "benchmarks.timing.peers", "--pipeline", tool, str(corpus)]


_START = re.compile(r"^dedup: (\w+)(?: \(.*\))?$")  # a phase's first -v line: "dedup: read (20,000 files)"


def _tree_cpu(pid: int, seen: dict[int, tuple[float, float, int]]) -> None:
    """Update ``seen`` with the user and system CPU seconds and minor faults of ``pid`` and its children, as
    ``/proc`` has them now (a worker that has exited keeps its last figures)."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        kids = []
    for q in (pid, *map(int, kids)):
        try:
            f = Path(f"/proc/{q}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        seen[q] = (int(f[11]) / tick, int(f[12]) / tick, int(f[7]))


def _run_phased(cmd: list[str], cwd: Path | None, env: dict[str, str] | None) -> tuple[object, dict]:
    """``run_timed`` for a ``dedup scan -v``: besides wall, CPU and peak from ``wait4``, each phase's CPU
    (user and system of the parent and its workers, polled from ``/proc`` every 50 ms and read at each ``-v``
    line), and the CPU before the first phase (start-up) and after the last (writing the result, exit).
    On a loaded machine a phase's CPU says what it cost where its wall time says little. Linux only: elsewhere
    the phases' CPU is empty."""
    import subprocess
    import threading

    from benchmarks.scoring.harness import Finished

    seen: dict[int, tuple[float, float, int]] = {}
    lock, stop = threading.Lock(), threading.Event()
    marks: list[tuple[str, tuple[float, float, int]]] = []

    def totals() -> tuple[float, float, int]:
        with lock:
            return tuple(sum(v[i] for v in seen.values()) for i in range(3))  # type: ignore[return-value]

    with tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.PIPE, env=env)

        def poll() -> None:
            while not stop.wait(0.05):
                with lock:
                    _tree_cpu(proc.pid, seen)

        on_linux = Path(f"/proc/{proc.pid}/stat").exists()
        poller = threading.Thread(target=poll, daemon=True)
        if on_linux:
            poller.start()
        lines = []
        for raw in proc.stderr:  # type: ignore[union-attr]
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            if on_linux and (_START.match(line) or _PHASE.match(line)):
                with lock:
                    _tree_cpu(proc.pid, seen)
                marks.append((line, totals()))
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t
        stop.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        done = Finished(proc.returncode, out.read().decode(errors="replace"), "\n".join(lines), seconds, usage)
    cpu: dict = {}
    if marks:
        opened: dict[str, tuple[float, float, int]] = {}
        for line, at in marks:
            if m := _PHASE.match(line):
                if m[1] in opened:
                    was = opened.pop(m[1])
                    cpu[m[1]] = {
                        "user_s": round(at[0] - was[0], 2),
                        "sys_s": round(at[1] - was[1], 2),
                        "faults": at[2] - was[2],
                    }
            elif m := _START.match(line):
                opened[m[1]] = at
        first, last = marks[0][1], marks[-1][1]
        cpu["start-up"] = {"user_s": round(first[0], 2), "sys_s": round(first[1], 2), "faults": first[2]}
        cpu["result and exit"] = {
            "user_s": round(max(usage.ru_utime - last[0], 0.0), 2),
            "sys_s": round(max(usage.ru_stime - last[1], 0.0), 2),
            "faults": max(usage.ru_minflt - last[2], 0),
        }
    return done, cpu


def _timed(tool: str, corpus: Path, out_dir: Path, reference: Path | None = None) -> dict:
    """One whole process of ``tool`` on ``corpus``: wall, CPU and peak RSS from ``wait4``, the load, its phases.
    ``dedup-ref`` runs the ``reference`` checkout's code (its folder first on the path, as ``python -m`` puts it)."""
    load_before = os.getloadavg()[0]
    cmd = _command(tool, corpus, out_dir)
    phase_cpu: dict = {}
    if tool == REFERENCE:
        done, phase_cpu = _run_phased(cmd, reference, {**os.environ, "PYTHONPATH": str(reference)})
    elif tool == "dedup":
        done, phase_cpu = _run_phased(cmd, ROOT, None)
    else:
        done = run_timed(cmd, cwd=ROOT)
    out, err, usage = done.stdout, done.stderr, done.usage
    run: dict = {
        "wall_s": round(done.seconds, 3),
        "user_s": round(usage.ru_utime, 3),
        "sys_s": round(usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit": done.returncode,
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    if done.returncode != 0:
        run["error"] = (err.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    elif tool in ("dedup", REFERENCE):
        run["phases"] = {m[1]: float(m[2]) for m in map(_PHASE.match, err.splitlines()) if m}
        run["phase_cpu"] = phase_cpu
    else:
        peer = json.loads(out)
        run["phases"] = {k: round(v, 3) for k, v in peer["stages"].items()}
        run["pairs"], run["clusters"] = peer["pairs"], peer["clusters"]
    return run


def _wall(run: dict) -> float:
    return run["wall_s"]


def _cpu(run: dict) -> float:
    """User and system CPU seconds: on a machine whose cores are oversubscribed, what a run costs whatever
    share of the cores it was given."""
    return run["user_s"] + run["sys_s"]


def measure_corpus(corpus: Path, runs: int, tools: tuple[str, ...] = TOOLS, reference: Path | None = None) -> dict:
    """``runs`` rounds of every tool in turn on one corpus (and ``dedup-ref`` with a ``reference`` checkout);
    per-round ratios peer ÷ dedup."""
    rounds = []
    if reference is not None:
        tools = (*tools, REFERENCE)
    with tempfile.TemporaryDirectory(prefix="peers-") as out_dir:
        _timed("dedup", corpus, Path(out_dir))  # warm-up: the page cache and the on-disk caches
        for _ in range(runs):
            rounds.append({tool: _timed(tool, corpus, Path(out_dir), reference) for tool in tools})
    summary: dict = {}
    for tool in tools:
        ok = [r[tool] for r in rounds if r[tool]["exit"] == 0]
        summary[tool] = {
            key: statistics.median(r[key] for r in ok) if ok else None
            for key in ("wall_s", "user_s", "sys_s", "peak_rss_mb")
        }
        if tool != "dedup":
            for key, of in (("wall_ratio_to_dedup", _wall), ("cpu_ratio_to_dedup", _cpu)):
                ratios = [of(r[tool]) / of(r["dedup"]) for r in rounds]
                summary[tool][key] = {"median": statistics.median(ratios), "all": ratios}
    loads = [x for r in rounds for t in tools for x in r[t]["load_1min"]]
    return {"rounds": rounds, "summary": summary, "load_1min": [min(loads), max(loads)]}


def render(results: dict) -> str:
    """The headline table of a results file: each tool's median wall, CPU, peak RSS, and ratios to dedup."""
    lines = [
        f"commit `{(results['commit'].get('commit') or '?')[:7]}`, {results['runs']} rounds, "
        f"{results['machine']['cores']} cores",
        "",
        "| corpus | tool | wall (median) | user / sys CPU | peak RSS | peer ÷ dedup: wall | CPU | phases (median) "
        "| load |",
        "|:---|:---|---:|---:|---:|---:|---:|:---|:---|",
    ]
    for name, c in results["corpora"].items():
        for tool in (*TOOLS, REFERENCE):
            s = c["summary"].get(tool)
            if not s or s["wall_s"] is None:
                continue
            ratio_txt = "1 | 1"
            if tool != "dedup":
                cpu = statistics.median(_cpu(r[tool]) / _cpu(r["dedup"]) for r in c["rounds"])
                ratio_txt = f"{s['wall_ratio_to_dedup']['median']:.2f}× | {cpu:.2f}×"
            phases = [r[tool].get("phases", {}) for r in c["rounds"] if r[tool]["exit"] == 0]
            keys = list(phases[0]) if phases else []
            lo, hi = c["load_1min"]
            ph = ", ".join(f"{k} {statistics.median(p[k] for p in phases):.2f}" for k in keys)
            cpus = [r[tool].get("phase_cpu") or {} for r in c["rounds"] if r[tool]["exit"] == 0]
            if cpus and all(cpus):
                ph += "; CPU " + ", ".join(
                    f"{k} {statistics.median(p[k]['user_s'] + p[k]['sys_s'] for p in cpus if k in p):.2f}"
                    for k in cpus[0]
                )
            lines.append(
                f"| {name} | {tool} | {s['wall_s']:.2f} s | {s['user_s']:.2f} / {s['sys_s']:.2f} s | "
                f"{s['peak_rss_mb'] / 1024:.2f} GB | {ratio_txt} | {ph} | {lo:.1f}–{hi:.1f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict | None:
    """Measure the corpora (or run one peer pipeline, or render a results file)."""
    ap = argparse.ArgumentParser(description="dedup scan against the rensa and datasketch folder pipelines")
    ap.add_argument("--docs", type=int, default=5000, help="documents per corpus (default 5,000)")
    ap.add_argument("--corpora", default="recurring,fixed", help="any of clean, recurring, fixed")
    ap.add_argument("--runs", type=int, default=3, help="rounds of the three commands (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep-corpus", help="generate corpora into this folder and keep (and reuse) them")
    ap.add_argument("--reference", type=Path, help="a checkout of older code: run as dedup-ref in every round")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--render", help="print the table of an earlier --json file and exit")
    ap.add_argument("--pipeline", nargs=2, metavar=("TOOL", "DIR"), help="run one peer pipeline, JSON on stdout")
    args = ap.parse_args(argv)
    if args.pipeline:
        tool, folder = args.pipeline
        result = rensa_pipeline(Path(folder)) if tool == "rensa" else measure_peer(Path(folder))
        print(json.dumps(result))
        return None
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return None
    work = Path(args.keep_corpus or tempfile.mkdtemp(prefix="peers-corpora-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.reference and not (args.reference / "dedup" / "__init__.py").is_file():
        sys.exit(f"peers: --reference {str(args.reference)!r} holds no dedup/ package")
    results: dict = {"commit": git_commit(), "machine": machine(), "runs": args.runs, "docs": args.docs, "corpora": {}}
    if args.reference:
        results["reference"] = str(args.reference)
    for kind in args.corpora.split(","):
        pool = "fixed" if kind == "fixed" else "epoch"
        corpus, summary = corpus_for(args.docs, args.seed, work, work, 0.0 if kind == "clean" else 0.5, 50, pool)
        measured = measure_corpus(corpus, args.runs, reference=args.reference)
        results["corpora"][f"{kind} {args.docs // 1000}k"] = {"corpus": summary, **measured}
        print(f"{kind}: done", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print(render(results))
    return results


if __name__ == "__main__":
    main()
