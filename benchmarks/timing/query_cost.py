"""The CPU of one served query, in one process: ``service.query_articles`` on held-out articles one at a time.

What ``dedup serve`` does per ``POST /api/query`` minus HTTP and parsing: a preloaded snapshot of the index,
each article alone. Prints wall and CPU percentiles (first and second pass), writes every answer as JSON
(timings dropped) so two versions of the code can be compared byte for byte, and optionally a pyinstrument
profile of the last pass or (``--steps``) the CPU per query of each of the query's main steps in it, both
versions' steps timed by this script's wrappers, and (``--sizes``) what drives each query's cost: its
fingerprints' holders, its partners and their fingerprints, the neighbourhood phase 2 runs on.

Run as a script so that the ``dedup`` imported is whichever ``PYTHONPATH`` names (a reference checkout of
another commit, or this one)::

    PYTHONPATH=/tmp/query-ref python benchmarks/timing/query_cost.py --corpus C --index IX --answers ref.jsonl
    PYTHONPATH=$PWD python benchmarks/timing/query_cost.py --corpus C --index IX --answers new.jsonl \\
        --profile profile.txt

The held-out articles are those ``benchmarks.timing.serve`` held out with the same ``--seed``, ``--adds`` and
``--held-out-queries`` (its index was built without them); ``--count`` of them are queried.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np


def held_out(corpus: Path, seed: int, adds: int, held: int) -> list[Path]:
    """The articles ``benchmarks.timing.serve`` queries with ``--held-out-queries held`` (same draw)."""
    files = sorted(corpus.rglob("*.txt"))
    sample = random.Random(seed).sample(files, adds + held)
    return sample[adds:]


def _pct(values: list[float]) -> dict:
    a = np.asarray(values) * 1000
    return {q: round(float(np.percentile(a, int(q[1:]))), 2) for q in ("p50", "p90", "p99")} | {
        "mean": round(float(a.mean()), 2),
        "total_s": round(float(a.sum()) / 1000, 2),
    }


# The steps ``--steps`` times, as (module, function): the query's phase 1, its holders' look-ups, the
# candidates, phase 2 on the neighbourhood (``_answer_step``, with ``analyse_lists`` and ``_lists`` in it).
STEPS = (
    ("dedup.index.service", "extract_with"),
    ("dedup.index.service", "_holders"),
    ("dedup.index.service", "_partner_holders"),  # the partners' look-up, before their ``_holders``
    ("dedup.index.service", "_candidates"),
    ("dedup.index.service", "_partner_fingerprints"),
    ("dedup.index.service", "_answer_step"),
    ("dedup.index.service", "_lists"),
    ("dedup.index.service", "analyse_lists"),
    # inside analyse_lists (phase 2's steps, as ``dedup.phase2`` calls them)
    ("dedup.phase2", "match"),
    ("dedup.phase2", "verify"),
    ("dedup.phase2", "pair_spread"),
    ("dedup.phase2", "cluster"),
    ("dedup.phase2", "_align"),
    ("dedup.phase2", "_directions"),
    ("dedup.phase2", "_restrict"),
    ("dedup.phase2", "_label"),
    # the answer's dict (``QueryResult.to_dict``, the scan's ``ScanResult.to_dict`` in it)
    ("dedup.index.service", "QueryResult.to_dict"),
    ("dedup.result", "ScanResult.to_dict"),
)


def _time_steps(totals: dict[str, float]) -> None:
    """Wrap each of ``STEPS`` (where this code has it) to add its CPU seconds to ``totals[name]``."""
    import importlib

    for module, name in STEPS:
        owner = importlib.import_module(module)
        *path, attr = name.split(".")
        for part in path:  # a method: ``Class.method``
            owner = getattr(owner, part, None)
        fn = getattr(owner, attr, None)
        if fn is None:
            continue

        def timed(*a, _fn=fn, _name=name, **k):
            c = time.process_time()
            try:
                return _fn(*a, **k)
            finally:
                totals[_name] = totals.get(_name, 0.0) + time.process_time() - c

        setattr(owner, attr, timed)


def _track_sizes(current: dict) -> None:
    """Wrap the query's steps to note, in ``current`` (emptied by the caller before each query), the sizes that
    drive its cost: the query's fingerprints, their listed holders and those held too widely to list (the first
    ``_holders`` call), the partners, their fingerprints, the later look-ups' holders, the neighbourhood phase 2
    runs on (rows)."""
    from dedup.index import service

    def wrap(name: str, note) -> None:
        fn = getattr(service, name)

        def noted(*a, _fn=fn, **k):
            out = _fn(*a, **k)
            note(a, out)
            return out

        setattr(service, name, noted)

    def holders(a: tuple, out: tuple) -> None:
        current.setdefault("holders", []).append((len(a[1]), len(out[1]), int(out[2].sum())))

    wrap("_holders", holders)
    wrap("_candidates", lambda a, out: current.__setitem__("partners", len(out)))
    wrap("_partner_fingerprints", lambda a, out: current.__setitem__("partner_fps", [len(x) for x in out]))
    wrap("_answer_step", lambda a, out: current.__setitem__("rows", len(out[1].refs)))


def _sizes_report(rows: list[dict], cpu: list[float]) -> dict:
    """Percentiles of each size over the queries, its correlation with the query's CPU, the slowest queries."""
    got = {
        "query_fingerprints": [r["holders"][0][0] if r.get("holders") else 0 for r in rows],
        "query_holders": [r["holders"][0][1] if r.get("holders") else 0 for r in rows],
        "query_too_wide": [r["holders"][0][2] if r.get("holders") else 0 for r in rows],
        "partners": [r.get("partners", 0) for r in rows],
        "partner_fingerprints": [sum(r.get("partner_fps", [])) for r in rows],
        "partner_holders": [sum(h[1] for h in r.get("holders", [])[1:]) for r in rows],
        "neighbourhood_rows": [r.get("rows", 0) for r in rows],
    }
    c = np.asarray(cpu) * 1000
    out: dict = {}
    for name, values in got.items():
        v = np.asarray(values, dtype=float)
        out[name] = {q: round(float(np.percentile(v, int(q[1:]))), 1) for q in ("p50", "p90", "p99")}
        out[name] |= {"mean": round(float(v.mean()), 1), "max": int(v.max())}
        if v.std() > 0 and c.std() > 0:
            out[name]["correlation_with_cpu"] = round(float(np.corrcoef(v, c)[0, 1]), 2)
    slowest = np.argsort(-c, kind="stable")[:5].tolist()
    out["slowest"] = [{"cpu_ms": round(float(c[i]), 1)} | {k: got[k][i] for k in got} for i in slowest]
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--adds", type=int, default=100)
    ap.add_argument("--held-out-queries", type=int, default=300)
    ap.add_argument("--count", type=int, default=200, help="held-out articles queried, each once a pass")
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--answers", type=Path, help="write each answer (JSON, timings dropped) a line")
    ap.add_argument("--profile", type=Path, help="pyinstrument text profile of the last pass")
    ap.add_argument(
        "--steps", action="store_true", help="CPU per query of each step of the query (``STEPS``), last pass"
    )
    ap.add_argument(
        "--sizes",
        action="store_true",
        help="what drives each query's cost, last pass: its fingerprints' holders, partners, their fingerprints, "
        "the neighbourhood's rows (percentiles, correlation with the CPU, the slowest queries)",
    )
    args = ap.parse_args(argv)

    from dedup.index import open_index
    from dedup.index.service import query_articles
    from dedup.ingest.model import Article
    from dedup.ingest.reader import read_upload
    from dedup.options import ScanOptions

    options = ScanOptions(workers=1)
    index = open_index(args.index)
    index.preload()
    files = held_out(args.corpus, args.seed, args.adds, args.held_out_queries)[: args.count]
    articles = [read_upload(f.name, f.read_bytes(), "text", None) for f in files]
    assert all(isinstance(a, Article) for a in articles)
    out: dict = {"queries": len(articles), "loadavg_before": os.getloadavg(), "dedup": sys.modules["dedup"].__file__}
    lines: list[str] = []
    changed = 0  # answers of a later pass that differ from the first pass's
    steps: dict[str, float] = {}
    current: dict = {}
    sizes: list[dict] = []
    for p in range(args.passes):
        if args.steps and p == args.passes - 1:
            _time_steps(steps)
        if args.sizes and p == args.passes - 1:
            _track_sizes(current)
        profiler = None
        if args.profile and p == args.passes - 1:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        wall, cpu = [], []
        for art in articles:
            current.clear()
            t, c = time.perf_counter(), time.process_time()
            answer = query_articles(index, [art], options).to_dict()
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - t)
            if current:
                sizes.append(dict(current))
            answer["meta"].pop("timings", None)
            line = json.dumps(answer, sort_keys=True)
            if p == 0:
                lines.append(line)
            elif line != lines[len(wall) - 1]:  # what is kept across queries changes no answer
                changed += 1
        if profiler is not None:
            profiler.stop()
            args.profile.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
        out[f"pass{p + 1}"] = {"wall_ms": _pct(wall), "cpu_ms": _pct(cpu)}
    if sizes:
        out["sizes"] = _sizes_report(sizes, cpu)
    if steps:
        out["steps_cpu_ms_per_query"] = {k: round(v * 1000 / len(articles), 2) for k, v in steps.items()}
    out["answers_changed_after_first_pass"] = changed
    out["loadavg_after"] = os.getloadavg()
    if args.answers:
        args.answers.write_text("\n".join(lines) + "\n")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
