"""CPU by phase of the whole command ``dedup scan DIR -o result.parquet -v``, this checkout against older code.

    python -m benchmarks.timing.phase_cpu DIR --reference /tmp/main --rounds 2 --json out.json

Each round runs the command once with the reference's code (``--reference``: a checkout of older code, its
kernels built) and once with this checkout's, in turn, each a whole process whose phases' CPU (user + system of
the process and its workers, read from ``/proc`` at each ``-v`` line: ``peers._run_phased``) is the figure that
holds on a shared machine, where walls swing with the load. Prints one JSON object: per run the wall, CPU, peak
RSS, the load before and after, and the phases' CPU (start-up, read, match, align, label, result and exit).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.timing.peers import _run_phased

ROOT = Path(__file__).resolve().parents[2]


def one_run(checkout: Path, folder: Path, out_dir: Path) -> dict:
    """One whole ``dedup scan FOLDER -o out_dir/result.parquet -v`` of ``checkout``'s code."""
    load = os.getloadavg()[0]
    cmd = [sys.executable, "-m", "dedup", "scan", str(folder), "-o", str(out_dir / "result.parquet")]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done, phases = _run_phased([*cmd, "--force", "-v", "--no-progress"], checkout, env)
    if done.returncode != 0:
        raise SystemExit(f"phase_cpu: {checkout}: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    usage = done.usage
    return {
        "wall_s": round(done.seconds, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_gb": round(usage.ru_maxrss / 2**20, 3),
        "load_1min": [round(load, 1), round(os.getloadavg()[0], 1)],
        "phase_cpu": {k: round(v["user_s"] + v["sys_s"], 2) for k, v in phases.items()},
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--reference", type=Path, required=True, help="a checkout of older code (kernels built)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    runs: dict[str, list[dict]] = {"reference": [], "branch": []}
    with tempfile.TemporaryDirectory(prefix="phase-cpu-") as tmp:
        for _ in range(args.rounds):
            for name, checkout in (("reference", args.reference), ("branch", ROOT)):
                runs[name].append(one_run(checkout, args.folder, Path(tmp)))
                print(name, json.dumps(runs[name][-1]), file=sys.stderr)
    medians = {
        name: {k: statistics.median(r["phase_cpu"].get(k, 0.0) for r in rs) for k in rs[0]["phase_cpu"]}
        | {"cpu_s": statistics.median(r["cpu_s"] for r in rs), "wall_s": statistics.median(r["wall_s"] for r in rs)}
        for name, rs in runs.items()
    }
    out = {"folder": str(args.folder), "reference": str(args.reference), "runs": runs, "medians": medians}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(medians))
    return out


if __name__ == "__main__":
    main()
