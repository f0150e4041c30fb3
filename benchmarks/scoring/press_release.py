"""Press releases run by several sites: the scorer (the corpus: ``benchmarks.corpora.press_release``).

``python -m benchmarks.scoring.press_release`` generates the corpus in each layout asked for, scans the folder
(``dedup.scan``) and reports the positives' recall (a pair, any relation), pair precision (a pair is right when
both are copies of one release; wrong ones split into same site, same issuer and other, and by relation; also
without ``partial``), the labels of release and template paragraphs, and checks on a sample of positives that
``dedup diff A B`` alone and ``dedup diff A B --corpus DIR`` (the real CLI, in a subprocess) give the same
relation, beside the scan's.

Usage::

    python -m benchmarks.scoring.press_release [--releases 30] [--seed 0] [--layouts plain,wrapped,meta]
                                               [--diff-sample 8] [--json OUT]
    python -m benchmarks.scoring.press_release --generate DIR [--releases 30] [--seed 0] [--layout plain]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.corpora.press_release import BENCHMARK, generate, summarize
from benchmarks.scoring.harness import add_layout_args, fmt, label_shares, run_scorer

__all__ = ["generate", "main", "score"]


# --------------------------------------------------------------------------- scoring


def _relations(result: dict) -> dict[frozenset[str], str]:
    return {
        frozenset((str(p["a"]), str(p["b"]))): str(p.get("relation"))
        for p in result.get("pairs") or []
        if p.get("a") is not None and p.get("b") is not None and p["a"] != p["b"]
    }


def score(truth: dict, result: dict) -> dict[str, Any]:
    """Recall of the positives, pair precision, labels of release and template paragraphs."""
    docs = truth["documents"]
    rel = _relations(result)
    found = [frozenset((p["a"], p["b"])) in rel for p in truth["positives"]]
    by_relation = Counter(rel.get(frozenset((p["a"], p["b"])), "none") for p in truth["positives"])
    kinds: Counter[str] = Counter()
    wrong_relations: Counter[str] = Counter()
    for pair, relation in rel.items():
        a, b = sorted(pair)
        da, db = docs.get(a), docs.get(b)
        if da is None or db is None:
            continue
        if da["release"] is not None and da["release"] == db["release"]:
            kind = "correct"
        elif da["site"] == db["site"]:
            kind = "same site"
        elif da["issuer"] is not None and da["issuer"] == db["issuer"]:
            kind = "same issuer"
        else:
            kind = "other"
        kinds[kind] += 1
        if kind != "correct":
            wrong_relations[relation] += 1
    total = sum(kinds.values())
    not_partial = total - sum(1 for r in rel.values() if r == "partial")
    return {
        "positives": len(found),
        "recall": sum(found) / len(found) if found else None,
        "positive_relations": dict(sorted(by_relation.items())),
        "pairs": total,
        "precision": kinds["correct"] / total if total else 1.0,
        "precision_without_partial": (kinds["correct"] - _correct_partial(rel, docs)) / not_partial
        if not_partial
        else 1.0,
        "wrong": {k: v for k, v in sorted(kinds.items()) if k != "correct"},
        "wrong_relations": dict(sorted(wrong_relations.items())),
        "paragraph_labels": label_shares(truth, result, lambda d, p: p["kind"]),
    }


def _correct_partial(rel: dict[frozenset[str], str], docs: dict) -> int:
    """Pairs of two copies of one release that the result calls ``partial``."""
    n = 0
    for pair, relation in rel.items():
        a, b = sorted(pair)
        if relation == "partial" and a in docs and b in docs:
            n += docs[a]["release"] is not None and docs[a]["release"] == docs[b]["release"]
    return n


def _diff(folder: Path, a: str, b: str, corpus: bool) -> str:
    exe = shutil.which("dedup")
    cmd = [exe] if exe else [sys.executable, "-m", "dedup"]
    cmd += ["diff", a, b, "--format", "json", "--no-progress", "-q"]
    if corpus:
        cmd += ["--corpus", "."]
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", cwd=folder)
    try:
        return str(json.loads(proc.stdout).get("relation") or "none")
    except (json.JSONDecodeError, AttributeError):
        return f"error (exit {proc.returncode}): {proc.stderr.strip()[-200:]}"


def diff_check(truth: dict, result: dict, folder: Path, sample: int, seed: int) -> dict[str, Any]:
    """On ``sample`` positives: the relation of ``dedup diff A B``, of ``... --corpus DIR`` and of the scan."""
    rel = _relations(result)
    pos = truth["positives"]
    picked = random.Random(seed).sample(pos, min(sample, len(pos)))
    rows = []
    for p in picked:
        alone, ctx = _diff(folder, p["a"], p["b"], False), _diff(folder, p["a"], p["b"], True)
        scan = rel.get(frozenset((p["a"], p["b"])), "none")
        rows.append({"a": p["a"], "b": p["b"], "share": p["share"], "alone": alone, "corpus": ctx, "scan": scan})
    return {
        "sample": len(rows),
        "alone_equals_corpus": sum(r["alone"] == r["corpus"] for r in rows),
        "corpus_equals_scan": sum(r["corpus"] == r["scan"] for r in rows),
        "pairs": rows,
    }


# --------------------------------------------------------------------------- report and CLI


def print_report(by_layout: dict[str, dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 150)
    t = Table(title="press releases: copies sharing >= 40 % of the smaller's 5-grams", header_style="bold")
    t.add_column("measure", no_wrap=True)
    for layout in by_layout:
        t.add_column(layout, justify="right")
    ms = list(by_layout.values())

    def lab(m: dict, kind: str, label: str) -> str:
        return fmt(m["score"]["paragraph_labels"].get(kind, {}).get(label, 0.0))

    rows = [
        ("positive pairs", [str(m["score"]["positives"]) for m in ms]),
        ("recall (paired, any relation)", [fmt(m["score"]["recall"]) for m in ms]),
        ("pair precision", [fmt(m["score"]["precision"]) for m in ms]),
        ("pair precision w/o partial", [fmt(m["score"]["precision_without_partial"]) for m in ms]),
        ("wrong pairs", [str(m["score"]["wrong"] or 0) for m in ms]),
        ("release ¶ chars labelled boilerplate", [lab(m, "release", "boilerplate") for m in ms]),
        ("about ¶ chars labelled boilerplate", [lab(m, "about", "boilerplate") for m in ms]),
        ("template ¶ chars labelled boilerplate", [lab(m, "template", "boilerplate") for m in ms]),
        ("related ¶ chars labelled boilerplate", [lab(m, "related", "boilerplate") for m in ms]),
        (
            "diff alone = diff --corpus (sample)",
            [f"{m['diff']['alone_equals_corpus']}/{m['diff']['sample']}" if m.get("diff") else "—" for m in ms],
        ),
        (
            "diff --corpus = scan (sample)",
            [f"{m['diff']['corpus_equals_scan']}/{m['diff']['sample']}" if m.get("diff") else "—" for m in ms],
        ),
    ]
    for name, vals in rows:
        t.add_row(name, *vals)
    console.print(t)
    for layout, m in by_layout.items():
        console.print(f"[bold]{layout}[/]: relations of the positives {m['score']['positive_relations']}")
        if m.get("diff"):
            seen = Counter((r["alone"], r["corpus"], r["scan"]) for r in m["diff"]["pairs"])
            console.print("  diff alone / diff --corpus / scan: " + ", ".join(f"{k} ×{v}" for k, v in seen.items()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scoring.press_release", description=__doc__.split("\n\n")[0])
    p.add_argument("--releases", type=int, default=30, help="press releases, each run by 3-10 sites (default 30)")
    p.add_argument("--diff-sample", type=int, default=8, help="positives checked with dedup diff (default 8; 0: none)")
    add_layout_args(p)
    args = p.parse_args(argv)

    def measure(truth: dict, folder: Path, result: dict, tm: dict[str, float]) -> dict:
        m: dict[str, Any] = {"score": score(truth, result)}
        if args.diff_sample > 0:
            t0 = time.perf_counter()
            m["diff"] = diff_check(truth, result, folder, args.diff_sample, args.seed)
            tm["diff"] = time.perf_counter() - t0
        return m

    return run_scorer(args, BENCHMARK, {"releases": args.releases}, generate, summarize, measure, print_report)


if __name__ == "__main__":
    sys.exit(main())
