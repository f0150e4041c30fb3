"""Which way the copying went: the scorer (the corpus: ``benchmarks.corpora.direction``).

``python -m benchmarks.scoring.direction`` generates the corpus in each variant asked for (``plain``: no
metadata; ``meta``: site and URL; ``dated``: site, URL and date), scans it (``dedup.scan``) and reports per kind
of copy: **source accuracy** (the family's original is named the source of the cluster that holds it), how
many of those clusters say the source is known (``source_known``), and over every cluster how many name a
source dated after another member (``dated after``, target 0, only where dates are written).

Usage::

    python -m benchmarks.scoring.direction [--families 60] [--seed 0] [--variants plain,meta,dated] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.corpora.direction import KINDS, VARIANTS, generate
from benchmarks.scoring.harness import git_commit, run_scan, save_results
from dedup.direction import compare_dates, parse_when

__all__ = ["main", "score"]


def score(truth: dict, result: dict) -> dict[str, Any]:
    """Per kind: families, source right, sources said known; over all clusters: sources dated after a member."""
    cluster_of = {m: c for c in result.get("clusters") or [] for m in c["members"]}
    right: Counter[str] = Counter()
    known: Counter[str] = Counter()
    families: Counter[str] = Counter()
    for fam in truth["families"]:
        kind = fam["kind"]
        families[kind] += 1
        c = cluster_of.get(fam["source"])
        if c is not None and c["source"] == fam["source"]:
            right[kind] += 1
        if c is not None and c.get("source_known"):
            known[kind] += 1
    dates = {name: parse_when(d.get("date")) for name, d in truth["documents"].items()}
    later = sum(
        any(compare_dates(dates.get(c["source"]), dates.get(m)) > 0 for m in c["members"])
        for c in result.get("clusters") or []
    )
    kinds = {
        k: {
            "families": families[k],
            "source_accuracy": round(right[k] / families[k], 4) if families[k] else None,
            "source_known": known[k],
        }
        for k in KINDS
    }
    total = sum(families.values())
    return {
        "kinds": kinds,
        "source_accuracy": round(sum(right.values()) / total, 4) if total else None,
        "sources_dated_after_a_member": later,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scoring.direction", description=__doc__.split("\n")[0])
    parser.add_argument("--families", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        print(f"direction: error: unknown variant {', '.join(bad)}: choose from {', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    load = {"start": [round(x, 2) for x in os.getloadavg()]}
    by_variant: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dedup-direction-") as tmp:
        for variant in variants:
            folder = Path(tmp) / variant
            truth = generate(folder, args.families, args.seed, variant)
            t0 = time.perf_counter()
            result = run_scan(folder, "library")
            by_variant[variant] = score(truth, result) | {"scan_seconds": round(time.perf_counter() - t0, 2)}
    load["end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"{'kind':<10}" + "".join(f"{v:>22}" for v in variants))
    for kind in KINDS:
        cells = []
        for v in variants:
            k = by_variant[v]["kinds"][kind]
            cells.append(f"{k['source_accuracy']:.3f} ({k['source_known']}/{k['families']} known)")
        print(f"{kind:<10}" + "".join(f"{c:>22}" for c in cells))
    print(f"{'all':<10}" + "".join(f"{by_variant[v]['source_accuracy']:>22.3f}" for v in variants))
    print(f"{'dated after':<10}" + "".join(f"{by_variant[v]['sources_dated_after_a_member']:>22}" for v in variants))
    print(f"seed {args.seed}, {args.families} families; load {load['start']} -> {load['end']}")
    save_results(
        args.json,
        {
            "benchmark": "direction",
            "corpus": {"families": args.families, "seed": args.seed},
            "scan": "library",
            "git": git_commit(),
            "load_average": load,
            "variants": by_variant,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
