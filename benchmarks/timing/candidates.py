"""Candidates: exact posting lists against MinHash-LSH bands (``scan --candidates exact|lsh``), side by side.

On the accuracy corpus (``benchmarks.corpora.corpus``, scored by ``benchmarks.scoring.accuracy``), the wire
corpus (``benchmarks.corpora.wire``, scored by ``benchmarks.scoring.wire_accuracy``) and the recurring corpus
(``benchmarks.corpora.synth --recurring``, no truth: the exact mode's pairs are the reference), each mode is run
in a fresh process (``--child``) and measured there:

- the scan: wall time, the process's peak RSS, the candidate pairs measured, the pairs found;
- the candidate step alone, on the scan's store, under ``tracemalloc`` (numpy's allocations included): the
  exact mode's posting lists and pair evidence against LSH's banding alone and LSH's whole step (banding,
  then the candidates' shared fingerprints and restricted lists), as bytes an article at its peak: over
  the whole store, and the marginal cost (the peak over every shard less that over the first, per article
  more), which leaves out what the step holds whatever the size;
- recall of the exact mode's pairs, by relation, and the scorers' measures (pair recall and source accuracy
  on the accuracy corpus; derived-copy recall and first-take source on the wire corpus).

Times are ratios to the exact mode of the same run, with the load average printed beside each row: the
machine may be shared. Usage::

    python -m benchmarks.timing.candidates [--docs 3000] [--families 150] [--recurring-docs 10000]
        [--modes exact,lsh-bands,lsh,lsh@0.3] [--seed 0] [--workers N] [--work DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "measure", "pair_recall"]


def _mode(spec: str) -> tuple[str, float]:
    """``lsh@0.3`` -> ("lsh", 0.3); ``exact`` -> ("exact", 0.5); ``lsh-bands`` -> ("lsh-bands", 0.5)."""
    mode, _, threshold = spec.partition("@")
    return mode, float(threshold or 0.5)


def _params(spec: str) -> Any:
    """The ``CandidateParams`` of a mode: ``lsh-bands`` is the LSH mode without its containment sample."""
    from dedup.options import CandidateParams

    mode, threshold = _mode(spec)
    if mode == "lsh-bands":
        return CandidateParams(mode="lsh", threshold=threshold, containment=0.0)
    return CandidateParams(mode=mode, threshold=threshold)


def measure(folder: Path, spec: str, workers: int | None) -> dict[str, Any]:
    """One scan of ``folder`` in candidate mode ``spec``, and its candidate step measured alone (run it in a
    fresh process: the peak RSS is the process's)."""
    import numpy as np

    from dedup import ScanOptions, scan
    from dedup.candidates import find, lsh_pairs
    from dedup.evidence import pair_evidence
    from dedup.featurestore import FeatureStore
    from dedup.phase2 import DocTable
    from dedup.verify import exact_pairs

    options = ScanOptions(workers=workers, candidates=_params(spec))
    mode = options.candidates.mode
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cand-bench-") as tmp:
        t0 = time.perf_counter()
        result = scan(folder, options, store=Path(tmp) / "store")
        seconds = time.perf_counter() - t0
        data = result.to_dict()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        fs = FeatureStore(Path(tmp) / "store")
        table = DocTable(fs.docs())
        shards, bases, vp = list(fs.shards()), fs.bases[:-1], options.verify

        def step(k: int) -> int:
            """The candidate step over the first ``k`` shards."""
            n = int(fs.bases[k])
            sizes, content, has_text = table.sizes[:n], table.content[:n], table.has_text[:n]
            with tempfile.TemporaryDirectory(dir=tmp) as spill:
                c = find(shards[:k], bases[:k], sizes, content, has_text, options, Path(spill))
                if c.evidence is None:
                    exact = exact_pairs(content, has_text)
                    c.evidence = pair_evidence(
                        c.lists, sizes, exact, vp.partial_min_shared, vp.link_share, vp.max_enumerate
                    )
                return len(c.evidence.pairs)

        def banding(k: int) -> int:
            bands, rows = options.candidates.banding(options.num_perm)
            banded = table.sizes[: int(fs.bases[k])] > 0
            with tempfile.TemporaryDirectory(dir=tmp) as work:
                return len(lsh_pairs(shards[:k], bases[:k], banded, bands, rows, 32, Path(work)))

        t0 = time.perf_counter()
        step(len(shards))
        step_seconds = time.perf_counter() - t0
        # Peak bytes over every shard, and over the first alone: the difference per article is the step's
        # cost an article, without what it holds whatever the size (a block of signatures, tables).
        peaks: dict[str, float] = {}
        n_all, n_first = len(table), int(fs.bases[1]) if len(shards) > 1 else 0
        for name, fn in (("step", step), ("banding", banding)) if mode == "lsh" else (("step", step),):
            at = []
            for k in (len(shards), 1):
                tracemalloc.start()
                fn(k)
                at.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
            peaks[name] = at[0] / max(n_all, 1)
            if n_all > n_first:
                peaks[name + "_marginal"] = (at[0] - at[1]) / (n_all - n_first)
        if mode == "lsh":
            peaks.update(_scaled_banding(shards, table.sizes > 0, options, Path(tmp)))
        n = n_all
        shingles = int(np.sum(table.sizes))
    return {
        "mode": spec,
        "articles": n,
        "shingles": shingles,
        "seconds": seconds,
        "peak_rss": rss,
        "load": load,
        "candidates": data["meta"]["candidates"],
        "pairs": len(data["pairs"]),
        "timings": data["meta"]["timings"],
        "step_seconds": step_seconds,
        "step_bytes_per_article": peaks["step"],
        "step_marginal_bytes_per_article": peaks.get("step_marginal"),
        "banding_bytes_per_article": peaks.get("banding"),
        "banding_marginal_bytes_per_article": peaks.get("banding_marginal"),
        "banding_scaled": {k: v for k, v in peaks.items() if k.startswith("scaled")},
        "result": data,
    }


class _Tiled:
    """The signatures of some shards, repeated ``times`` over, each repetition's values XORed with its own
    constant (repetitions never share a band; within one, buckets are the corpus's): a large corpus with
    the bucket structure of a real one, for what banding costs an article."""

    def __init__(self, sig: np.ndarray, times: int) -> None:
        self.sig, self.times, self.n = sig, times, len(sig) * times

    def rows(self, key: str, lo: int, hi: int) -> np.ndarray:
        import numpy as np

        idx = np.arange(lo, hi)
        rep = (idx // len(self.sig)).astype(np.uint32)
        return self.sig[idx % len(self.sig)] ^ (rep * np.uint32(0x9E3779B1))[:, None]


def _scaled_banding(shards: list, banded: np.ndarray, options: Any, tmp: Path, times: int = 30) -> dict[str, float]:
    """Peak bytes of LSH's banding over the corpus's signatures and over ``times`` tiled copies of them
    (``_Tiled``), and the marginal bytes per article between the two."""
    import numpy as np

    from dedup.candidates import lsh_pairs

    sig = np.concatenate([np.asarray(s.rows("signatures", 0, s.n)) for s in shards])[banded]
    bands, rows = options.candidates.banding(options.num_perm)
    at = []
    for k in (1, times):
        tiled = _Tiled(sig, k)
        tracemalloc.start()
        with tempfile.TemporaryDirectory(dir=tmp) as work:
            found = lsh_pairs([tiled], np.zeros(1, np.int64), np.ones(tiled.n, bool), bands, rows, 32, Path(work))
        at.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return {
        "scaled_articles": float(len(sig) * times),
        "scaled_pairs": float(len(found)),
        "scaled_bytes_per_article": at[1] / (len(sig) * times),
        "scaled_marginal_bytes_per_article": (at[1] - at[0]) / (len(sig) * (times - 1)),
    }


def pair_recall(reference: dict, result: dict) -> dict[str, Any]:
    """Share of ``reference``'s pairs (the exact mode's) that ``result`` also lists, by the reference's
    relation; and how many of ``result``'s pairs the reference lacks."""
    ref = {frozenset((p["a"], p["b"])): p["relation"] for p in reference["pairs"]}
    got = {frozenset((p["a"], p["b"])) for p in result["pairs"]}
    out: dict[str, Any] = {"all": sum(p in got for p in ref) / max(len(ref), 1), "extra": len(got - set(ref))}
    for rel in ("exact", "near-duplicate", "contains", "partial"):
        of = [p for p, r in ref.items() if r == rel]
        out[rel] = {"n": len(of), "found": sum(p in got for p in of) / len(of) if of else None}
    return out


def _child(folder: Path, spec: str, workers: int | None) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    try:
        cmd = [sys.executable, "-m", "benchmarks.timing.candidates", "--child", str(folder), spec, str(out)]
        if workers:
            cmd += ["--workers", str(workers)]
        subprocess.run(cmd, check=True)
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def _corpora(work: Path, args: argparse.Namespace) -> list[tuple[str, Path, dict | None]]:
    """(name, folder, truth) of the three corpora, generated into ``work`` unless there already."""
    from benchmarks.corpora.synth import generate_stream

    out = []
    acc, wire, rec = work / "accuracy", work / "wire", work / "recurring"
    for name, folder, module, size in (
        ("accuracy", acc, "benchmarks.corpora.corpus", ["--docs", str(args.docs)]),
        ("wire", wire, "benchmarks.corpora.wire", ["--families", str(args.families)]),
    ):
        truth = work / f"{name}.truth.json"
        if not truth.exists():
            shutil.rmtree(folder, ignore_errors=True)
            subprocess.run(
                [sys.executable, "-m", module, str(folder), *size, "--seed", str(args.seed)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            shutil.move(folder / "truth.json", truth)  # not an input of the scan
        out.append((name, folder, json.loads(truth.read_text())))
    if not rec.exists():
        generate_stream(rec, args.recurring_docs, args.seed, recurring=0.5)
    out.append(("recurring", rec, None))
    return out


def _score(name: str, truth: dict | None, result: dict) -> dict[str, Any]:
    if truth is None:
        return {}
    if name == "accuracy":
        from benchmarks.scoring.accuracy import score

        m = score(truth, result)
        return {
            "pair_recall": m["pairs"]["recall"],
            "pair_precision": m["pairs"]["precision"],
            "source": m["source"]["accuracy"],
        }
    from benchmarks.scoring.wire_accuracy import score

    m = score(truth, result)
    return {
        "derived_paired": m["derived"]["all"]["paired"],
        "pair_precision": m["pairs"]["precision"],
        "source": m["source"]["first_take"],
    }


def _row(name: str, r: dict, ref: dict) -> str:
    rec = r["recall"]

    def found(rel: str) -> str:
        v = rec[rel]["found"]
        return "-" if v is None else f"{v:.2f} ({rec[rel]['n']})"

    s = r["score"]
    scored = ", ".join(f"{k} {v:.3f}" for k, v in s.items()) if s else "-"

    def per(key: str) -> str:
        total, marginal = r[key + "_bytes_per_article"], r[key + "_marginal_bytes_per_article"]
        if total is None:
            return "-"
        return f"{total:.0f}" + ("" if marginal is None else f" / {marginal:.0f}")

    return (
        f"| {name} | {r['mode']} | {r['articles']} | {r['candidates']} | {r['pairs']} | {rec['all']:.3f} | "
        f"{found('near-duplicate')} | {found('contains')} | {found('partial')} | {scored} | "
        f"{r['seconds']:.1f} s ({r['seconds'] / ref['seconds']:.2f}x) | {r['step_seconds']:.2f} s "
        f"({r['step_seconds'] / ref['step_seconds']:.2f}x) | {r['peak_rss'] / 2**20:.0f} MB "
        f"({r['peak_rss'] / ref['peak_rss']:.2f}x) | {per('step')} | {per('banding')} | {r['load']:.1f} |"
    )


HEADER = (
    "| corpus | mode | articles | candidates | pairs | recall of exact's pairs | near-dup | contains | partial | "
    "scorer | scan | candidate step | peak RSS | step B/article (all / marginal) | banding B/article | load |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.timing.candidates", description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=3000, help="accuracy corpus documents (default 3000)")
    p.add_argument("--families", type=int, default=150, help="wire corpus families (default 150)")
    p.add_argument("--recurring-docs", type=int, default=10_000, help="recurring corpus documents (default 10000)")
    p.add_argument(
        "--modes",
        default="exact,lsh-bands,lsh",
        help="exact first, then lsh[@THRESHOLD] or lsh-bands[@THRESHOLD] (the bands alone) (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="scan workers (default: one per core)")
    p.add_argument(
        "--work", type=Path, help="where the corpora go (kept; reused when there): default a temporary folder"
    )
    p.add_argument("--json", type=Path, help="write the measures here")
    p.add_argument("--child", nargs=3, metavar=("FOLDER", "MODE", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        folder, spec, out = args.child
        Path(out).write_text(json.dumps(measure(Path(folder), spec, args.workers)))
        return 0
    specs = args.modes.split(",")
    if specs[0] != "exact":
        p.error("--modes must start with exact (the reference)")
    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="cand-corpora-")
        args.work = Path(tmp.name)
    args.work.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {}
    notes: list[str] = []
    print(HEADER, flush=True)
    try:
        for name, folder, truth in _corpora(args.work, args):
            rows = runs.setdefault(name, [])
            for spec in specs:
                r = _child(folder, spec, args.workers)
                r["recall"] = pair_recall(rows[0]["result"] if rows else r["result"], r["result"])
                r["score"] = _score(name, truth, r["result"])
                rows.append(r)
                print(_row(name, r, rows[0]), flush=True)
                scaled = r.get("banding_scaled")
                if scaled:
                    notes.append(
                        f"{name} {spec}: banding {scaled['scaled_articles']:.0f} articles (the signatures tiled): "
                        f"{scaled['scaled_bytes_per_article']:.0f} B/article at the peak, "
                        f"{scaled['scaled_marginal_bytes_per_article']:.0f} B/article marginal"
                    )
    finally:
        if tmp is not None:
            tmp.cleanup()
    print("\n".join(notes))
    print(f"uptime: {os.getloadavg()}; {os.cpu_count()} cores")
    if args.json:
        for rows in runs.values():
            for r in rows:
                r.pop("result")
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
