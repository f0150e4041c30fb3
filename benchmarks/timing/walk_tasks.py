"""The walk of a folder alone: the local walk (with phase 1's grouping) in this process against the walk as tasks on a
two-node Ray cluster started here (``dedup.distributed.walk``), and whether both give the same files in the same order.

    python -m benchmarks.timing.walk_tasks /tmp/walk/synth-200000 /tmp/walk/flat-200000

The walk as tasks is timed twice on the same cluster: the first also starts the nodes' worker processes.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import tempfile
import time

from dedup.distributed.local import local_cluster
from dedup.ingest import walk
from dedup.options import ScanOptions
from dedup.pipeline import _group, _tasks


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+")
    args = ap.parse_args(argv)
    options = ScanOptions()
    with local_cluster(2, 1, 256) as address:
        from dedup.distributed import connect

        executor = connect(address)
        for folder in args.folders:
            t = time.perf_counter()
            local = list(_tasks(walk(folder, options.ingest), options, []))
            local_s = time.perf_counter() - t
            runs = []
            for _ in range(2):
                work = tempfile.mkdtemp(prefix="walk-bench-")
                try:
                    t = time.perf_counter()
                    walked = executor.walk(folder, options.ingest, functools.partial(_group, options=options), work)
                    runs.append(round(time.perf_counter() - t, 2))
                    ids = [e.id for g in walked.groups for e in g.load().entries]
                finally:
                    shutil.rmtree(work)
            same = ids == [e.id for task in local for e in task.entries]
            print(
                json.dumps(
                    {
                        "folder": folder,
                        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                        "local_walk_s": round(local_s, 2),
                        "walk_as_tasks_s": runs,
                        "groups": [len(local), len(walked.groups)],
                        "same_order": same,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
