"""Phase 2's match, step by step, on a kept feature store: wall and CPU seconds (workers included).

    python -m benchmarks.timing.match_steps store CORPUS STORE     # phase 1 once, into STORE (kept)
    python -m benchmarks.timing.match_steps match STORE [--json F]  # posting lists, pair evidence, verify, ...
    python -m benchmarks.timing.match_steps match STORE --plain     # the same with every list stored plainly

CPU seconds count this process and its finished worker processes (``RUSAGE_CHILDREN``), so they
hold on a machine other jobs share, where wall seconds do not; beside them, this process's peak RSS by the
end of each step (where match's memory goes). The steps are phase 2's own
(``phase2.match`` and ``cluster.cluster``), timed where ``match`` calls them, so this measures
whatever code is importable as ``dedup`` (run it under ``PYTHONPATH=OLD_CHECKOUT`` for a "before").
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def store(corpus: str, root: str) -> None:
    """Phase 1 of ``dedup scan`` over ``corpus`` into a store at ``root`` (which must not exist)."""
    from dedup import pipeline
    from dedup.featurestore import FeatureStore
    from dedup.options import ScanOptions, store_params

    options = ScanOptions()
    fs = FeatureStore(root, params=store_params(options), create=True)
    names, _ = pipeline.ingest(fs, corpus, options, lambda *a: None)
    fs.commit(names)


def match_steps(root: str, plain: bool = False) -> dict:
    """Each step of phase 2's match over the store at ``root``: (wall, CPU) seconds, and the counts. The big
    lists are stored by family as ``candidates.find`` stores them, or (``plain``) every list plainly."""
    import numpy as np

    import dedup.phase2 as phase2
    from dedup.cluster import cluster
    from dedup.evidence import doc_bits, list_fingerprints, posting_lists
    from dedup.featurestore import FeatureStore
    from dedup.options import ScanOptions, store_params
    from dedup.verify import CLUSTERING

    options = ScanOptions()
    fs = FeatureStore(root, params=store_params(options))
    steps: dict[str, list[float]] = {}
    peak: dict[str, float] = {}  # this process's peak RSS (MB) by the end of each step
    mark = [time.perf_counter(), _cpu()]

    def tick(name: str) -> None:
        wall, cpu = time.perf_counter(), _cpu()
        steps[name] = [round(wall - mark[0], 2), round(cpu - mark[1], 2)]
        peak[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        mark[:] = [wall, cpu]

    evidence: dict[str, int] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            out = fn(*args, **kwargs)
            tick(name)
            if name == "pair_evidence":  # what the evidence holds: entries per (pair, list), per (pair, family)
                evidence.update(
                    {
                        "pairs": len(out.pairs),
                        "list_entries": len(out.entry_pair),
                        "family_entries": len(getattr(out, "family", ())),
                        "corrections": len(getattr(out, "minus_pair", ())),
                    }
                )
            return out

        return run

    table = phase2.DocTable(fs.docs())
    n = len(table)
    with tempfile.TemporaryDirectory(dir=fs.root) as work:
        spill = Path(work)
        above = None if plain else options.verify.max_enumerate
        lists = posting_lists(list(fs.shards()), fs.bases[:-1], n, spill, group_above=above)
        tick("posting_lists")

        def boilerplate_of(mask: np.ndarray) -> phase2.Boilerplate:
            return phase2.Boilerplate(list_fingerprints(spill, lists, mask), doc_bits(n), lists.holders(mask, n))

        saved = phase2.pair_evidence, phase2.verify
        phase2.pair_evidence = timed("pair_evidence", phase2.pair_evidence)
        phase2.verify = timed("verify", phase2.verify)
        try:
            m = phase2.match(fs, table, lists, boilerplate_of, options)
        finally:
            phase2.pair_evidence, phase2.verify = saved
        tick("boilerplate")
        cluster(m.table, m.pairs, CLUSTERING, m.syndicated, m.excerpt, m.site)
        tick("cluster")
    sizes = lists.sizes()
    big = sizes > options.verify.max_enumerate
    return {
        "docs": n,
        "lists": len(lists),
        "members": int(sizes.sum()),
        "stored_members": lists.stored_members(),
        "families": len(lists.families) if lists.families is not None else None,
        "big_lists": int(big.sum()),
        "big_members": int(sizes[big].sum()),
        "candidates": int(m.candidates),
        "pairs": int(m.pairs.height),
        "evidence": evidence,
        "steps_wall_cpu": steps,
        "match_cpu": round(sum(v[1] for v in steps.values()), 2),
        "peak_rss_mb_by_step": peak,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("store", help="phase 1 once, into a kept store")
    s.add_argument("corpus")
    s.add_argument("store")
    m = sub.add_parser("match", help="time match's steps on a kept store")
    m.add_argument("store")
    m.add_argument("--json", help="also write the figures here")
    m.add_argument("--plain", action="store_true", help="store every list plainly (no families): the before")
    args = ap.parse_args(argv)
    if args.mode == "store":
        if Path(args.store).exists():
            sys.exit(f"match_steps: {args.store} exists; give a new folder")
        store(args.corpus, args.store)
        return
    out = match_steps(args.store, args.plain)
    print(json.dumps(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
