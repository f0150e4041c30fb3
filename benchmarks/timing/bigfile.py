"""One huge plain-text file: the scan's peak memory and wall time against a reference checkout, and the same result.

    python -m benchmarks.timing.bigfile --reference /tmp/ref --mb 200 --json benchmarks/results/bigfile-200mb.json
    python -m benchmarks.timing.bigfile --render benchmarks/results/bigfile-200mb.json

Writes ``benchmarks.corpora.adversarial``'s ``bigfile`` (one article of ``--mb`` MB: real news paragraphs, each
followed by a blank line, reshuffled on every pass, so every paragraph recurs and a few hold an emoji, which
makes CPython keep a decoded ``str`` of it at 4 bytes a character), and a smaller one (``--small-mb``, another
seed) with ``--beside`` ordinary articles next to it whose paragraphs it holds, so that folder has pairs. Then,
``--rounds`` times, alternating which goes first, scans the big folder with this checkout and with
``--reference`` (``PYTHONPATH`` set to each, a fresh process: ``dedup scan DIR --format none``), each run's wall
seconds, CPU seconds and peak RSS (``wait4``: the largest of the process and the children it waited for) with the
load average beside it. Last, both folders are scanned once more by each with ``--format json -o``, and the
two results are compared with ``meta.timings`` left out: the report says whether they are byte-identical.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from benchmarks.corpora import adversarial
from benchmarks.scoring.harness import ROOT, git_commit, run_timed, save_results

SCAN = ["--max-file-size", "256MB"]
_ASTRAL = re.compile(rb"[\xf0-\xf4][\x80-\xbf]{3}")


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _env(checkout: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout)}


def scan(checkout: Path, folder: Path, extra: list[str]) -> dict:
    """One ``dedup scan`` of ``folder`` by ``checkout`` in a fresh process: wall, CPU, peak RSS, load."""
    return run_dedup(checkout, ["scan", str(folder), *SCAN, *extra])


def run_dedup(checkout: Path, args: list[str]) -> dict:
    """One ``dedup ARGS`` by ``checkout`` in a fresh process: wall, CPU, peak RSS, load before and after."""
    load = _load()
    done = run_timed([sys.executable, "-m", "dedup", *args], cwd=checkout, env=_env(checkout))
    if done.returncode not in (0, 1):
        raise SystemExit(f"dedup {args[0]} by {checkout} failed ({done.returncode}): {done.stderr[-2000:]}")
    return {
        "wall_s": round(done.seconds, 2),
        "cpu_s": round(done.usage.ru_utime + done.usage.ru_stime, 2),
        "peak_rss_mb": round(done.usage.ru_maxrss / 1024, 1),
        "load": [load, _load()],
    }


def _result(path: Path) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["meta"].pop("timings", None)
    return doc


def describe(folder: Path) -> dict:
    """The folder's big file: its size, paragraphs (blank-line separated) and astral characters (emoji)."""
    data = (folder / "big.txt").read_bytes()
    return {
        "big_bytes": len(data),
        "paragraphs": data.count(b"\n\n"),
        "astral_chars": len(_ASTRAL.findall(data)),
        "files": len(list(folder.iterdir())),
    }


def render(report: dict) -> str:
    rows = [
        "| folder | run | reference: wall / CPU s, peak RSS | this checkout: wall / CPU s, peak RSS | ratio wall, peak "
        "| load |",
        "|:---|---:|:---|:---|:---|:---|",
    ]
    for name, f in report["folders"].items():
        for i, (ref, new) in enumerate(zip(f["reference"], f["ours"], strict=True)):
            rows.append(
                f"| {name} | {i + 1} | {ref['wall_s']:.1f} / {ref['cpu_s']:.1f} s, {ref['peak_rss_mb'] / 1024:.2f} GB "
                f"| {new['wall_s']:.1f} / {new['cpu_s']:.1f} s, {new['peak_rss_mb'] / 1024:.2f} GB "
                f"| ×{new['wall_s'] / ref['wall_s']:.2f}, ×{new['peak_rss_mb'] / ref['peak_rss_mb']:.2f} "
                f"| {ref['load'][0]:.1f}-{new['load'][1]:.1f} |"
            )
    rows.append("")
    for name, f in report["folders"].items():
        rows.append(f"- {name}: {f['about']}; JSON result identical to the reference's: **{f['identical']}**")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", help="a checkout of the code to compare with (e.g. git worktree add DIR main)")
    ap.add_argument("--mb", type=float, default=200, help="size of the big file (MB, 10^6 bytes)")
    ap.add_argument("--small-mb", type=float, default=12, help="size of the smaller file, with articles beside it")
    ap.add_argument("--beside", type=int, default=2, help="ordinary articles beside the smaller file")
    ap.add_argument("--rounds", type=int, default=2, help="alternated scans of the big file by each checkout")
    ap.add_argument("--workdir", help="where the folders go (default: a temporary folder, removed)")
    ap.add_argument("--json", help="write the report here")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier --json and exit")
    args = ap.parse_args(argv)
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return 0
    if not args.reference:
        ap.error("--reference is required")
    ref, ours = Path(args.reference).resolve(), ROOT
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        big, small = work / "big", work / "small"
        adversarial.bigfile(big, args.mb, seed=0)
        adversarial.bigfile(small, args.small_mb, seed=1, beside=args.beside)
        report: dict = {"commit": git_commit(), "reference": str(ref), "folders": {}}
        for name, folder in (("big", big), ("small", small)):
            entry: dict = {"about": describe(folder), "reference": [], "ours": []}
            for r in range(args.rounds if name == "big" else 1):
                order = (("reference", ref), ("ours", ours)) if r % 2 == 0 else (("ours", ours), ("reference", ref))
                for who, checkout in order:
                    entry[who].append(scan(checkout, folder, ["--format", "none"]))
                    print(name, who, entry[who][-1], flush=True)
            outs = {}
            for who, checkout in (("reference", ref), ("ours", ours)):
                outs[who] = work / f"{name}-{who}.json"
                entry[f"json_{who}"] = scan(checkout, folder, ["--format", "json", "-o", str(outs[who])])
            entry["identical"] = _result(outs["reference"]) == _result(outs["ours"])
            entry["pairs"] = len(_result(outs["ours"])["pairs"])
            report["folders"][name] = entry
    save_results(Path(args.json) if args.json else None, report)
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
