"""Memory and seconds of writing a scan's JSON from the whole per-article frame and from a cluster's ``StoredFrame``.

    python -m benchmarks.timing.result_write DIR --frame stored --rows 50000

Scans DIR locally into a temporary store, then writes the result's JSON once (``ScanResult.json_chunks``, counted,
not kept) in batches of ``--rows``: with the frame the local scan holds (``--frame whole``: every article's row) or
with the ``distributed.table.StoredFrame`` a Ray scan's result holds (``stored``: the ids, the rows read range by
range from the shards). Reported: the seconds, and the most anonymous memory seen while writing (sampled every 5 ms)
over what the process held before, in MB and per article, so that what writing holds can be told from what grows
with the corpus. One write a process: a second would reuse the pages the allocator kept from the first. Prints one
JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np


def _anon() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon"):
                return int(line.split()[1]) * 1024
    return 0


def _written(result: Any, rows: int) -> dict[str, float]:
    """Seconds and peak anonymous memory over the start of writing ``result``'s JSON in batches of ``rows``."""
    gc.collect()
    base = _anon()
    peak, done = [base], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _anon())
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t = time.perf_counter()
    chars = sum(len(chunk) for chunk in result.json_chunks(rows))
    seconds = time.perf_counter() - t
    done.set()
    thread.join()
    n = len(result.frame)
    return {
        "seconds": seconds,
        "peak_mb": (peak[0] - base) / 1e6,
        "kb_an_article": (peak[0] - base) / n / 1e3,
        "chars": chars,
    }


def main() -> None:
    from dedup.distributed.table import StoredFrame
    from dedup.pipeline import scan

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--frame", choices=("whole", "stored"), default="stored")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="result-write-") as store:
        result = scan(args.folder, store=Path(store) / "store", progress=lambda *a: None)
        result.timings = {}
        fs = result.store
        if args.frame == "stored":
            paths = [str(fs.shard(s).path) for s in fs.shard_names]
            result.frame = StoredFrame(paths, np.asarray(fs.bases), result.frame["chars"].to_numpy())
        out = {"frame": args.frame, "rows": args.rows, "articles": len(result.frame)}
        out |= {"paragraphs": int(result.para_offsets[-1]), **_written(result, args.rows)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
