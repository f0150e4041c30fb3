"""The CPU an add costs ``dedup serve`` beside its queries: the writer's commit of one article and each worker's
new snapshot after it (``serve.app.snapshot``), then the first query on that snapshot, in one process.

The index is copied first as hard links (shards never change; the copy's manifest is its own), so the index
given is left as it was. Receipts are on, as in the server (``shards.use_receipts``). Run as a script so that
the ``dedup`` imported is whichever ``PYTHONPATH`` names (a reference checkout, or this one)::

    PYTHONPATH=$PWD python benchmarks/timing/snapshot_cost.py --corpus C --index IX [--adds 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from query_cost import held_out  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--adds", type=int, default=20)
    ap.add_argument("--warm", type=int, default=30, help="queries before the adds (the snapshot's caches warm)")
    args = ap.parse_args(argv)

    from dedup.index import open_index, shards
    from dedup.index.service import add_articles, query_articles
    from dedup.ingest.reader import read_upload
    from dedup.options import ScanOptions
    from dedup.serve.app import snapshot

    options = ScanOptions(workers=1)
    tmp = Path(tempfile.mkdtemp(prefix="snapshot-cost-"))
    try:
        copy = tmp / "index"
        subprocess.run(["cp", "-al", str(args.index), str(copy)], check=True)
        shards.use_receipts(tmp / "receipts")
        files = held_out(args.corpus, 0, 100, 300)
        articles = [read_upload(f.name, f.read_bytes(), "text", None) for f in files]
        writer = open_index(str(copy))
        writer.merge_after_append = False  # the server merges after answering, once no add waits
        reader = snapshot(str(copy), None)
        for art in articles[: args.warm]:
            query_articles(reader, [art], options)
        add_ms, snap_ms, first_ms = [], [], []
        for i in range(args.adds):
            art = articles[100 + i]
            art = dataclasses.replace(art, id=f"snapshot-cost-{i}-{art.id}")
            c = time.process_time()
            add_articles(writer, [art], options)
            add_ms.append(time.process_time() - c)
            c = time.process_time()
            reader = snapshot(str(copy), reader)
            snap_ms.append(time.process_time() - c)
            c = time.process_time()
            query_articles(reader, [articles[i]], options)
            first_ms.append(time.process_time() - c)
        med = lambda v: round(float(np.median(v)) * 1000, 2)  # noqa: E731
        out = {
            "dedup": sys.modules["dedup"].__file__,
            "adds": args.adds,
            "shards_after": len(reader.shard_names),
            "writer_add_cpu_ms_median": med(add_ms[1:]),  # the first add opens the writer's caches
            "snapshot_cpu_ms_median": med(snap_ms),
            "first_query_cpu_ms_median": med(first_ms),
            "loadavg": os.getloadavg(),
        }
    finally:
        shards.use_receipts(None)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
