"""CPU seconds of phase 2's align and label steps over a whole scan, in one process, against older code.

    python -m benchmarks.timing.align_cpu DIR --reference /tmp/main --rounds 3

Each round runs ``dedup scan DIR -o result.parquet --workers 1`` once with this checkout's code and once with the
reference's (``--reference``: a checkout of older code), in turn, each in its own process with the steps below
wrapped in ``time.process_time`` counters: a worker-free scan keeps every step in the one process, and CPU time
is the figure that holds on a loaded machine (wall time does not). Steps: ``phase2._align_batch`` (all of a
batch's alignment: reading its articles, ``Loaded``, the passages and the position features), ``Loaded`` (the
articles' tokens and shingles, in align and label), ``phase2._label_batch`` and ``label.label_batch``; with
this branch's code also ``align.Batch`` and ``align._align_chunk``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = {
    "phase2": ("_align_batch", "_label_batch", "Loaded", "position", "positions"),
    "align": ("Batch", "_align_chunk"),
}


def _counted() -> None:
    """Run the scan given after ``--run`` in this process with the steps wrapped; the totals go to stderr."""
    import atexit

    import dedup.align
    import dedup.phase2

    totals: dict[str, float] = {}

    def wrap(module, name: str) -> None:
        inner = getattr(module, name)

        def counted(*args, **kwargs):
            start = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.process_time() - start

        setattr(module, name, counted)

    for module, names in ((dedup.phase2, STEPS["phase2"]), (dedup.align, STEPS["align"])):
        for name in names:
            if hasattr(module, name):
                wrap(module, name)
    atexit.register(lambda: print("STEPS " + json.dumps(totals) + " FROM " + dedup.__file__, file=sys.stderr))
    from dedup.cli import main

    main(sys.argv[sys.argv.index("--run") + 1 :])


def _one(code: Path, corpus: Path, out: Path) -> dict:
    """One scan with ``code`` on the path: its steps' CPU seconds and the whole process's."""
    # This file run by its path from a scratch folder: only ``code`` is on the path to import dedup from.
    env = dict(os.environ, PYTHONPATH=str(code))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--run", "scan", str(corpus), "-o", str(out)]
    cmd += ["--force", "--no-progress", "-q", "--workers", "1"]
    load = os.getloadavg()[0]
    before = os.times()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, cwd=out.parent)
    after = os.times()
    line = next(x for x in proc.stderr.splitlines() if x.startswith("STEPS "))
    found, _, origin = line[6:].partition(" FROM ")
    if not origin.startswith(str(code)):
        raise SystemExit(f"align_cpu: the scan imported dedup from {origin}, not from {code}")
    steps = {k: round(v, 3) for k, v in json.loads(found).items()}
    cpu = after.children_user + after.children_system - before.children_user - before.children_system
    return {"steps": steps, "process_cpu_s": round(cpu, 2), "load": load}


def main(argv: list[str] | None = None) -> dict:
    """Alternate this code and the reference's for ``--rounds`` rounds; print the rounds and the medians."""
    ap = argparse.ArgumentParser(description="CPU of align and label steps, this code against a reference")
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--reference", type=Path, required=True, help="a checkout of older code")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    here = Path(__file__).resolve().parents[2]
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            rounds.append(
                {
                    name: _one(code, args.corpus, Path(tmp) / "r.parquet")
                    for name, code in (("this", here), ("reference", args.reference))
                }
            )
    summary = {
        who: {step: statistics.median(r[who]["steps"][step] for r in rounds) for step in rounds[0][who]["steps"]}
        | {"process_cpu_s": statistics.median(r[who]["process_cpu_s"] for r in rounds)}
        for who in ("this", "reference")
    }
    result = {"corpus": str(args.corpus), "reference": str(args.reference), "rounds": rounds, "median": summary}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    if "--run" in sys.argv:
        _counted()
    else:
        main()
