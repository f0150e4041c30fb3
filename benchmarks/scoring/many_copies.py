"""Many copies of one text in a plain folder: the scorer (the corpus: ``benchmarks.corpora.many_copies``).

``python -m benchmarks.scoring.many_copies`` generates the corpus in each layout asked for, scans the folder
with ``dedup.scan`` and reports per category the share of derivatives paired with their source (any relation:
exact, near-duplicate, contains, partial) and clustered with it, the same for each (long page, source of an
excerpt it holds) as ``digest``, the independent texts paired with their case (must be 0) and pair precision;
the same for a datasketch pipeline (word 5-grams of ``text.split()``, 128 permutations, every ``MinHashLSH``
candidate a pair) at thresholds 0.1 … 0.9, with datasketch's best threshold per category (the highest recall
among thresholds that pair no independent text; else the fewest such pairs).

Usage::

    python -m benchmarks.scoring.many_copies [--cases 10] [--seed 0] [--layouts plain[,wrapped]] [--json OUT]
    python -m benchmarks.scoring.many_copies --generate DIR [--cases 10] [--seed 0] [--layout plain]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from benchmarks.corpora.many_copies import BENCHMARK, CATEGORIES, generate, summarize
from benchmarks.scoring.harness import add_layout_args, fmt, label_shares, lsh_pairs, minhashes, run_scorer

__all__ = ["GROUPS", "THRESHOLDS", "generate", "main", "score", "score_lsh"]

GROUPS = ("all", *CATEGORIES, "digest")  # "all": the derivatives; "digest": (long page, source) pairs
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
NUM_PERM = 128


# --------------------------------------------------------------------------- scoring


def _pairs(result: dict) -> set[frozenset[str]]:
    return {
        frozenset((str(p["a"]), str(p["b"])))
        for p in result.get("pairs") or []
        if p.get("a") is not None and p.get("b") is not None and p["a"] != p["b"]
    }


def _clusters(result: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, c in enumerate(result.get("clusters") or []):
        for m in c.get("members") or []:
            out.setdefault(str(m), i)
    return out


def _cases_of(doc: dict) -> set[int]:
    """The cases a document belongs to: its own, or (a digest) those it holds excerpts of."""
    return {doc["case"]} if doc["case"] is not None else set(doc.get("cases", ()))


def score_pairs(truth: dict, pairs: set[frozenset[str]], assign: dict[str, Any] | None = None) -> dict[str, Any]:
    """Per category the derivatives paired (and clustered) with their source; independents paired; precision."""
    docs = truth["documents"]
    hits: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    indep_pairs = indep_docs = 0
    for case in truth["cases"]:
        src = case["source"]
        for d in case["derivatives"]:
            paired = frozenset((d, src)) in pairs
            clustered = assign is not None and d in assign and assign.get(src) == assign[d]
            for g in (docs[d]["category"], "all"):
                hits[g].append((paired, clustered))
        family = [src, *case["derivatives"]]
        for i in case["independent"]:
            k = sum(frozenset((i, f)) in pairs for f in family)
            indep_pairs += k
            indep_docs += k > 0
    for g in truth.get("digests", []):  # a long page with an excerpt of each of its cases' sources
        for k in g["cases"]:
            src = truth["cases"][k]["source"]
            clustered = assign is not None and g["name"] in assign and assign.get(src) == assign[g["name"]]
            hits["digest"].append((frozenset((g["name"], src)) in pairs, clustered))
    correct = wrong = 0
    wrong_kinds: Counter[str] = Counter()
    for pair in pairs:
        a, b = sorted(pair)
        da, db = docs.get(a), docs.get(b)
        if da is None or db is None:
            continue
        same = bool(_cases_of(da) & _cases_of(db))
        if same and "independent" not in (da["role"], db["role"]):
            correct += 1
        else:
            wrong += 1
            roles = "+".join(sorted((da["role"], db["role"])))
            wrong_kinds[("same case: " if same else "") + roles] += 1
    out: dict[str, Any] = {}
    for g in GROUPS:
        h = hits[g]
        out[g] = {
            "n": len(h),
            "paired": sum(x[0] for x in h) / len(h) if h else None,
            "clustered": (sum(x[1] for x in h) / len(h) if h else None) if assign is not None else None,
        }
    n_indep = sum(len(c["independent"]) for c in truth["cases"])
    out["independent"] = {"n": n_indep, "documents_paired": indep_docs, "pairs_with_case": indep_pairs}
    total = correct + wrong
    out["pairs"] = {
        "pairs": total,
        "correct": correct,
        "precision": correct / total if total else 1.0,
        "wrong": dict(sorted(wrong_kinds.items())),
    }
    return out


def score(truth: dict, result: dict) -> dict[str, Any]:
    """dedup's result (JSON output contract) against the truth; with the relations of source pairs and labels."""
    pairs = _pairs(result)
    out = score_pairs(truth, pairs, _clusters(result))
    relations: dict[str, Counter[str]] = defaultdict(Counter)
    by_pair = {frozenset((str(p["a"]), str(p["b"]))): str(p.get("relation")) for p in result.get("pairs") or []}
    for case in truth["cases"]:
        for d in case["derivatives"]:
            rel = by_pair.get(frozenset((d, case["source"])), "none")
            relations[truth["documents"][d]["category"]][rel] += 1
    out["source_pair_relations"] = {c: dict(sorted(relations[c].items())) for c in CATEGORIES}
    out["paragraph_labels"] = label_shares(truth, result, lambda d, p: d["category"] or d["role"])
    return out


def score_lsh(truth: dict, folder: Path, thresholds: tuple[float, ...] = THRESHOLDS) -> dict[str, Any]:
    """The datasketch pipeline at each threshold, and per category its best threshold (see module doc)."""
    names = sorted(truth["documents"])
    hashes = minhashes(folder, names, NUM_PERM)
    sweep = {f"{t:.1f}": score_pairs(truth, lsh_pairs(names, hashes, t, NUM_PERM)) for t in thresholds}
    best = {}
    for g in GROUPS:

        def key(t: str, g: str = g) -> tuple[int, float]:
            return (-sweep[t]["independent"]["pairs_with_case"], sweep[t][g]["paired"] or 0.0)

        t = max(sweep, key=key)
        best[g] = {
            "threshold": float(t),
            "paired": sweep[t][g]["paired"],
            "independent_pairs": sweep[t]["independent"]["pairs_with_case"],
            "precision": sweep[t]["pairs"]["precision"],
        }
    return {"num_perm": NUM_PERM, "thresholds": sweep, "best": best}


# --------------------------------------------------------------------------- report and CLI


def print_report(by_layout: dict[str, dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 150)
    t = Table(title="derivatives paired with their source (any relation)", header_style="bold")
    t.add_column("category", no_wrap=True)
    t.add_column("n", justify="right")
    for layout in by_layout:
        t.add_column(f"dedup {layout}", justify="right")
        t.add_column(f"clustered {layout}", justify="right")
    t.add_column("datasketch best (threshold)", justify="right")
    first = next(iter(by_layout.values()))
    for g in GROUPS:
        row = [g, str(first["dedup"][g]["n"])]
        for m in by_layout.values():
            row += [fmt(m["dedup"][g]["paired"]), fmt(m["dedup"][g]["clustered"])]
        b = first["datasketch"]["best"][g]
        row.append(f"{fmt(b['paired'])} ({b['threshold']:.1f})")
        t.add_row(*row)
    ind = ["independent texts paired (target 0)", str(first["dedup"]["independent"]["n"])]
    for m in by_layout.values():
        ind += [str(m["dedup"]["independent"]["documents_paired"]), ""]
    ind.append(str(first["datasketch"]["best"]["all"]["independent_pairs"]))
    t.add_row(*ind)
    prec = ["pair precision", ""]
    for m in by_layout.values():
        prec += [fmt(m["dedup"]["pairs"]["precision"]), ""]
    prec.append(fmt(first["datasketch"]["best"]["all"]["precision"]))
    t.add_row(*prec)
    console.print(t)
    s = Table(title="datasketch MinHashLSH sweep (first layout): paired with source / independent docs paired")
    s.add_column("threshold")
    for g in GROUPS:
        s.add_column(g, justify="right")
    s.add_column("independent", justify="right")
    s.add_column("precision", justify="right")
    for th, m in first["datasketch"]["thresholds"].items():
        s.add_row(
            th,
            *(fmt(m[g]["paired"]) for g in GROUPS),
            str(m["independent"]["documents_paired"]),
            fmt(m["pairs"]["precision"]),
        )
    console.print(s)
    for layout, m in by_layout.items():
        console.print(
            f"[bold]{layout}[/]: relation of the derivative–source pair: {m['dedup']['source_pair_relations']}"
        )
        console.print(f"  paragraph labels (share of characters): {m['dedup']['paragraph_labels']}")
        if m["dedup"]["pairs"]["wrong"]:
            console.print(f"  wrong pairs: {m['dedup']['pairs']['wrong']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scoring.many_copies", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=10, help="source texts, each with 3-50 derivatives (default 10)")
    add_layout_args(p)
    args = p.parse_args(argv)

    def measure(truth: dict, folder: Path, result: dict, tm: dict[str, float]) -> dict:
        t0 = time.perf_counter()
        out = {"dedup": score(truth, result), "datasketch": score_lsh(truth, folder)}
        tm["score"] = time.perf_counter() - t0
        return out

    return run_scorer(args, BENCHMARK, {"cases": args.cases}, generate, summarize, measure, print_report)


if __name__ == "__main__":
    sys.exit(main())
