"""``dedup index add`` of one huge text file: its peak memory and time beside ``dedup scan`` of the same file.

    python -m benchmarks.timing.index_bigfile --mb 200 --json benchmarks/results/index-bigfile-200mb.json

Writes ``benchmarks.corpora.adversarial``'s ``bigfile`` (one article of ``--mb`` MB: real news paragraphs, each
followed by a blank line, a few with an emoji, which makes CPython keep a decoded ``str`` of it at 4 bytes a
character), then, ``--rounds`` times, runs in a fresh process each (``PYTHONPATH`` at the checkout): ``dedup
index add FOLDER --index NEW`` and ``dedup scan FOLDER --format none``, by this checkout and by ``--reference``
when given; each run's wall seconds, CPU seconds and peak RSS (``wait4``: the largest of the process and the
children it waited for), the load average beside it. The file read whole as one ``str`` would be ``4 x mb``
MB (an emoji in it): a peak well under that is the add reading it segment by segment, as the scan does.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from benchmarks.corpora import adversarial
from benchmarks.scoring.harness import ROOT, git_commit, save_results
from benchmarks.timing.bigfile import run_dedup

SIZE = ["--max-file-size", "1GB"]


def render(report: dict) -> str:
    rows = ["| code | command | round | wall / CPU s | peak RSS | load |", "|:---|:---|---:|:---|---:|:---|"]
    for r in report["runs"]:
        rows.append(
            f"| {r['code']} | {r['command']} | {r['round']} | {r['wall_s']:.1f} / {r['cpu_s']:.1f} s "
            f"| {r['peak_rss_mb'] / 1024:.2f} GB | {r['load'][0]:.1f}-{r['load'][1]:.1f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=200, help="size of the file (MB, 10^6 bytes)")
    ap.add_argument("--reference", help="another checkout run beside this one (e.g. git worktree add DIR main)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--workdir", help="where the folder and indexes go (default: a temporary folder, removed)")
    ap.add_argument("--json", help="write the report here")
    args = ap.parse_args(argv)
    codes = [("this", ROOT)] + ([("reference", Path(args.reference).resolve())] if args.reference else [])
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        folder = work / "big"
        about = adversarial.bigfile(folder, args.mb, seed=0)
        report: dict = {"commit": git_commit(), "file": about, "runs": []}
        for r in range(args.rounds):
            for who, checkout in codes if r % 2 == 0 else codes[::-1]:
                for command in ("index add", "scan"):
                    index = work / "index"
                    shutil.rmtree(index, ignore_errors=True)
                    extra = ["index", "add", str(folder), "--index", str(index), "-q"] if command == "index add" else []
                    extra = extra or ["scan", str(folder), "--format", "none", "--no-progress"]
                    got = {"code": who, "command": command, "round": r + 1, **run_dedup(checkout, [*extra, *SIZE])}
                    report["runs"].append(got)
                    print(got, flush=True)
    save_results(Path(args.json) if args.json else None, report)
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
