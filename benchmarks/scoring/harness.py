"""The one harness every scorer shares: run a scan, lay a corpus out in each layout, score, save the results.

A scorer (``benchmarks.scoring.accuracy``, ``wire_accuracy``, ``many_copies``, ``press_release``) generates a
corpus with ``benchmarks.corpora``, scans it with ``run_scan``, scores the scan's JSON against the corpus's
truth and writes its results with ``save_results`` (the commit that ran them from ``git_commit``, the
per-layout schema from ``layout_results``). The plain-folder scorers do all of that through ``run_scorer``.
``minhashes`` and ``lsh_pairs`` are the datasketch baseline the scorers put beside dedup.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.corpora.layouts import LAYOUTS, parse_layouts, read_written

__all__ = [
    "BASELINE_PERM",
    "add_layout_args",
    "body_start",
    "each_layout",
    "fmt",
    "git_commit",
    "label_shares",
    "layout_results",
    "library_scan",
    "lsh_pairs",
    "minhashes",
    "run_scan",
    "run_scorer",
    "run_timed",
    "save_results",
]

BASELINE_PERM = 128
ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- timing a whole process


@dataclass(frozen=True)
class Finished:
    """A whole process run to its end: its exit code, its output as text, wall seconds and ``wait4``'s resource
    usage (``ru_maxrss`` in KB: the largest of the process and the children it waited for; ``ru_utime``,
    ``ru_stime``)."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    usage: Any


def run_timed(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Finished:
    """Run ``cmd`` to its end, timed, with its own resource usage. Its output goes to temporary files: a pipe
    read only after the end would block a process that writes more than the pipe's buffer. ``cwd`` None keeps
    this process's (``python -m`` puts the working directory first on the path, before ``PYTHONPATH``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return Finished(proc.returncode, stdout, stderr, seconds, usage)


# --------------------------------------------------------------------------- running a scan


def library_scan() -> Callable[..., Any] | None:
    """``dedup.scan`` when the library is importable, else None."""
    try:
        from dedup import scan
    except ImportError:
        return None
    return scan


def run_scan(corpus_dir: str | Path, method: str = "auto") -> dict:
    """Scan a folder with dedup and return the JSON output contract as a dict.

    ``method``: "library" (``dedup.scan(path).to_dict()``), "cli" (``dedup scan
    DIR --format json`` in a subprocess) or "auto" (the library when
    importable, else the command line).
    """
    scan = library_scan() if method in ("auto", "library") else None
    if scan is not None:
        result = scan(Path(corpus_dir))
        return result.to_dict() if hasattr(result, "to_dict") else result
    if method == "library":
        raise RuntimeError("dedup.scan is not importable")
    exe = shutil.which("dedup")
    cmd = [exe] if exe else [sys.executable, "-m", "dedup"]
    cmd += ["scan", str(corpus_dir), "--format", "json", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"dedup scan failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}") from None


def each_layout(
    layouts: list[str],
    make: Callable[[Path, str], dict],
    measure: Callable[[dict, Path, dict, dict[str, float]], dict],
) -> tuple[dict[str, dict], dict[str, dict[str, float]], dict, dict[str, list[float]]]:
    """Per layout: ``make(folder, layout)`` writes the corpus and returns its truth, ``dedup.scan`` reads it,
    and ``measure(truth, folder, result, timings)`` scores it. Returns metrics and timings per layout, the last
    truth and the load average at the start and end."""
    load = {"start": [round(x, 2) for x in os.getloadavg()]}
    metrics: dict[str, dict] = {}
    timings: dict[str, dict[str, float]] = {}
    truth: dict = {}
    with tempfile.TemporaryDirectory(prefix="dedup-layouts-") as tmp:
        for layout in layouts:
            tm: dict[str, float] = {}
            t0 = time.perf_counter()
            folder = Path(tmp) / layout
            truth = make(folder, layout)
            tm["generate"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            result = run_scan(folder, "library")
            tm["scan"] = time.perf_counter() - t0
            metrics[layout] = measure(truth, folder, result, tm)
            timings[layout] = {k: round(v, 3) for k, v in tm.items()}
    load["end"] = [round(x, 2) for x in os.getloadavg()]
    return metrics, timings, truth, load


# --------------------------------------------------------------------------- results


def git_commit() -> dict[str, Any]:
    """The checkout's HEAD and whether ``dedup/`` has uncommitted changes: which code a result file measured."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "dedup"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dedup_dirty": None}
    return {"commit": head.stdout.strip() or None, "dedup_dirty": bool(dirty.stdout.strip())}


def save_results(path: Path | None, out: dict) -> None:
    """Write a scorer's results as indented JSON (nothing without a path), and say so."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def layout_results(
    layouts: list[str], timings: dict[str, dict[str, float]], metrics: dict[str, dict], *, one: bool
) -> dict:
    """The ``layouts``/``timings``/``metrics`` of a results file: per layout, or (``one``: a scorer asked the old
    way, without ``--layouts``) the first layout's, in the schema of the results written before layouts."""
    rounded = {lay: {k: round(v, 3) for k, v in t.items()} for lay, t in timings.items()}
    first = layouts[0]
    return {
        "layouts": layouts,
        "timings": rounded[first] if one else rounded,
        "metrics": metrics[first] if one else metrics,
    }


def fmt(x: Any, digits: int = 3) -> str:
    """A metric for a table: ``—`` for None, floats to ``digits`` places."""
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


# --------------------------------------------------------------------------- scoring


def label_shares(truth: dict, result: dict, group: Callable[[dict, dict], str]) -> dict[str, dict[str, float]]:
    """Share of the characters of the truth's paragraphs per label dedup gave them, per ``group(doc, paragraph)``."""
    got: dict[str, list[tuple[int, int, str]]] = {}
    for d in result.get("documents") or []:
        if d.get("paragraphs") is not None:
            got[str(d.get("id"))] = [(int(p["start"]), int(p["end"]), str(p.get("label"))) for p in d["paragraphs"]]
    chars: dict[str, Counter[str]] = defaultdict(Counter)
    for name, d in truth["documents"].items():
        for p in d["paragraphs"]:
            g = group(d, p)
            for s, e, lab in got.get(name, []):
                ov = min(e, p["end"]) - max(s, p["start"])
                if ov > 0:
                    chars[g][lab] += ov
    return {
        g: {lab: round(v / max(1, sum(c.values())), 4) for lab, v in sorted(c.items())}
        for g, c in sorted(chars.items())
    }


def body_start(text: str) -> int:
    """Where the text after a leading ``---`` front-matter block starts (0 without one)."""
    if not text.startswith("---\n"):
        return 0
    end = text.find("\n---\n", 3)
    return end + 5 if end >= 0 else 0


def minhashes(folder: Path, names: list[str], num_perm: int = BASELINE_PERM) -> list:
    """datasketch MinHashes (``num_perm`` permutations) of the word 5-grams of ``text.split()`` of each file's body."""
    from datasketch import MinHash

    sets = []
    for name in names:
        text = read_written(folder / name)
        words = text[body_start(text) :].split()
        if len(words) < 5:
            sets.append([" ".join(words).encode("utf-8")] if words else [b""])
        else:
            sets.append([" ".join(words[i : i + 5]).encode("utf-8") for i in range(len(words) - 4)])
    return MinHash.bulk(sets, num_perm=num_perm)


def lsh_pairs(names: list[str], hashes: list, threshold: float, num_perm: int = BASELINE_PERM) -> set[frozenset[str]]:
    """Every candidate pair of a ``MinHashLSH(threshold)`` over the MinHashes (each document queried)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    with lsh.insertion_session() as session:
        for name, m in zip(names, hashes, strict=True):
            session.insert(name, m)
    out: set[frozenset[str]] = set()
    for name, m in zip(names, hashes, strict=True):
        out.update(frozenset((name, other)) for other in lsh.query(m) if other != name)
    return out


# --------------------------------------------------------------------------- the plain-folder scorers' CLI


def add_layout_args(p: argparse.ArgumentParser) -> None:
    """The options shared by the plain-folder scorers: seed, layouts, a corpus alone, JSON results."""
    p.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    p.add_argument("--layouts", default="plain", help="plain, wrapped and/or meta, comma-separated (default plain)")
    p.add_argument("--generate", type=Path, metavar="DIR", help="only write the corpus to DIR")
    p.add_argument("--layout", default="plain", choices=LAYOUTS, help="with --generate: its layout")
    p.add_argument("--json", type=Path, help="write the metrics here as JSON")


def run_scorer(
    args: argparse.Namespace,
    benchmark: str,
    size: dict[str, int],
    generate: Callable[..., dict],
    summarize: Callable[[dict], dict],
    measure: Callable[[dict, Path, dict, dict[str, float]], dict],
    report: Callable[[dict[str, dict]], None],
) -> int:
    """The body of a plain-folder scorer's ``main``: ``--generate`` only writes a corpus; else each layout is
    generated (``generate(folder, *size.values(), seed, layout=...)``), scanned and measured, the report
    printed and the results saved."""
    if args.generate:
        print(json.dumps(summarize(generate(args.generate, *size.values(), args.seed, layout=args.layout)), indent=1))
        return 0
    try:
        layouts = parse_layouts(args.layouts)
    except ValueError as e:
        print(f"{benchmark}: error: {e}", file=sys.stderr)
        return 2
    by_layout, timings, truth, load = each_layout(
        layouts, lambda folder, layout: generate(folder, *size.values(), args.seed, layout=layout), measure
    )
    summary = summarize(truth)
    report(by_layout)
    print(f"corpus: {json.dumps(summary)}; seed {args.seed}; timings {timings}; load {load['start']} -> {load['end']}")
    save_results(
        args.json,
        {
            "benchmark": benchmark,
            "corpus": {**size, "seed": args.seed, "summary": summary},
            "scan": "library",
            "git": git_commit(),
            "load_average": load,
            **layout_results(layouts, timings, by_layout, one=False),
        },
    )
    return 0
