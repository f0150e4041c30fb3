"""Phase 1 alone, in one process: CPU an article of reading, featurising and staging a folder's shards.

The walk, then every task of ``pipeline._tasks`` through ``pipeline._run_task`` one after another with one
vocabulary (what a kept worker does, without the pool), into a scratch store that is deleted after. CPU is
``os.times()`` of this process around the tasks (the walk and imports left out). Usage::

    python -m benchmarks.timing.phase1_cpu FOLDER [--profile FILE.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import tempfile
import time
from pathlib import Path

from dedup import pipeline
from dedup.ingest import walk
from dedup.options import ScanOptions
from dedup.phase1.normalise import TokenCache, prepare


def main() -> None:
    """Run phase 1 over the folder and print its CPU (user, sys, per article) and the load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--profile", help="write a cProfile of the tasks here")
    args = parser.parse_args()
    options = ScanOptions(workers=1)
    skipped: list = []
    tasks = list(pipeline._tasks(walk(args.folder, options.ingest), options, skipped))
    prepare()
    root = tempfile.mkdtemp(prefix="phase1-")
    os.makedirs(os.path.join(root, "shards"))
    cache = TokenCache()

    def run() -> None:
        for task in tasks:
            pipeline._run_task(root, task, options, threads=1, cache=cache)

    try:
        t0, w0 = os.times(), time.time()
        if args.profile:
            cProfile.runctx("run()", globals(), {"run": run}, args.profile)
        else:
            run()
        t1, wall = os.times(), time.time() - w0
    finally:
        shutil.rmtree(root, ignore_errors=True)
    n = sum(len(t.entries) for t in tasks)
    user, system = t1.user - t0.user, t1.system - t0.system
    load = Path("/proc/loadavg").read_text().split()[0]
    print(
        f"files {n} user {user:.2f} s sys {system:.2f} s wall {wall:.2f} s "
        f"CPU {(user + system) / max(n, 1) * 1000:.4f} ms an article, load {load}"
    )


if __name__ == "__main__":
    main()
