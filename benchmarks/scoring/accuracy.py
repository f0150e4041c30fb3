"""Accuracy benchmark: scan a labelled corpus with dedup and score the result against its truth.

``score(truth, result)`` compares a scan result (the JSON output contract of
``dedup scan --format json``) with the truth written by ``benchmarks.corpora.corpus``:

- pairs: pairwise clustering precision / recall / F1 (document pairs that share
  a cluster in the truth vs in the result);
- clusters: adjusted Rand index and B-cubed precision / recall / F1, every
  unclustered document counting as its own cluster;
- source: share of true clusters whose best-overlapping predicted cluster
  names the true source as its source;
- paragraphs: per-label precision / recall / F1, paragraphs matched by
  (document, start, end), plus "wrapper+boilerplate" counted as one class;
- passages: character-level precision / recall of the shared passages of each
  true copy–source pair, PAN text-alignment style (Potthast et al. 2010), both
  per pair and per case, with granularity and plagdet;
- copies: share of true copies found in their source's predicted cluster, by
  wrapper size and by the edits the generator made (diagnostics);
- relations: predicted pairs per relation, and how many join one true cluster.

Paragraph and passage metrics are None when the result has no paragraphs or
no passages at all.

Layouts: ``--layouts plain,meta,wrapped`` generates the same corpus in each layout of
``benchmarks.corpora.corpus`` (``plain``: the files as always, no metadata; ``meta``: front matter with date, site
and URL; ``wrapped``: lines hard-wrapped at 72 columns, CRLF, Windows-1252), scores each, and prints the main
measures side by side; the JSON then holds ``metrics`` and ``timings`` per layout. A true paragraph takes the
label of the predicted paragraph that covers most of its characters, so a reader that joins the lines of a
hard-wrapped paragraph (or splits one) is scored on its labels.

Usage::

    python -m benchmarks.scoring.accuracy [--docs 3000] [--seed 0] [--layouts plain[,meta,wrapped]] [--corpus DIR]
                                  [--result FILE] [--scan auto|library|cli] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LABELS", "print_report", "result_from_truth", "score", "main"]

LABELS = ("syndicated", "wrapper", "boilerplate", "original")

Interval = tuple[int, int]


# --------------------------------------------------------------------------- small helpers


def _prf(tp: float, n_pred: float, n_true: float) -> dict[str, float]:
    """Precision, recall and F1; precision is 1.0 when nothing was predicted and nothing was due."""
    precision = tp / n_pred if n_pred else (1.0 if not n_true else 0.0)
    recall = tp / n_true if n_true else 1.0
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall)}


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _comb2(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int64)
    return x * (x - 1) // 2


def _merge(intervals: list[Interval]) -> list[Interval]:
    out: list[list[int]] = []
    for s, e in sorted(iv for iv in intervals if iv[1] > iv[0]):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _length(intervals: list[Interval]) -> int:
    return sum(e - s for s, e in intervals)


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Intersection of two merged, sorted interval lists."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _overlap(a: Interval, b: Interval) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


class _Resolver:
    """Maps the ids a result uses to truth document names (exact id, else file name of id or path)."""

    def __init__(self, truth_docs: dict[str, Any]):
        self.known = truth_docs

    def __call__(self, doc_id: Any, path: Any = None) -> str | None:
        for candidate in (doc_id, path):
            if not candidate:
                continue
            candidate = str(candidate)
            if candidate in self.known:
                return candidate
            name = Path(candidate).name
            if name in self.known:
                return name
        return None


# --------------------------------------------------------------------------- clustering metrics


def _predicted_clusters(result: dict, resolve: _Resolver) -> tuple[dict[str, tuple], dict[tuple, str | None]]:
    """Predicted cluster key of each clustered document, and each cluster's source."""
    assign: dict[str, tuple] = {}
    source: dict[tuple, str | None] = {}
    clusters = result.get("clusters")
    if clusters is not None:
        for i, c in enumerate(clusters):
            key = ("p", i)
            members = [m for m in (resolve(x) for x in c.get("members") or []) if m is not None]
            for m in members:
                assign.setdefault(m, key)
            source[key] = resolve(c.get("source"))
        return assign, source
    for doc in result.get("documents") or []:  # no cluster list: fall back on the documents' own fields
        name = resolve(doc.get("id"), doc.get("path"))
        if name is None or doc.get("cluster") is None:
            continue
        key = ("p", doc["cluster"])
        assign[name] = key
        if doc.get("role") == "source":
            source[key] = name
        source.setdefault(key, None)
    return assign, source


def _labels(docs: list[str], assign: dict[str, Any]) -> np.ndarray:
    keys: dict[Any, int] = {}
    out = np.empty(len(docs), dtype=np.int64)
    for i, d in enumerate(docs):
        k = assign.get(d)
        out[i] = keys.setdefault(("single", d) if k is None else k, len(keys))
    return out


def _cluster_scores(t: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    n = len(t)
    if n == 0:
        return {"pairs": _prf(0, 0, 0), "ari": 1.0, "bcubed": _prf(0, 0, 0)}
    joint = t * (int(p.max()) + 1) + p
    _, first, n_ij = np.unique(joint, return_index=True, return_counts=True)
    ti, pj = t[first], p[first]
    a = np.bincount(t)  # true cluster sizes
    b = np.bincount(p)  # predicted cluster sizes
    sum_ij = int(_comb2(n_ij).sum())
    sum_a = int(_comb2(a).sum())
    sum_b = int(_comb2(b).sum())
    pairs = _prf(sum_ij, sum_b, sum_a)
    pairs.update({"true_pairs": sum_a, "predicted_pairs": sum_b, "correct_pairs": sum_ij})
    total = n * (n - 1) / 2
    expected = sum_a * sum_b / total if total else 0.0
    maximum = (sum_a + sum_b) / 2
    ari = 1.0 if maximum == expected else (sum_ij - expected) / (maximum - expected)
    sq = n_ij.astype(np.float64) ** 2
    bp = float((sq / b[pj]).sum() / n)
    br = float((sq / a[ti]).sum() / n)
    return {"pairs": pairs, "ari": float(ari), "bcubed": {"precision": bp, "recall": br, "f1": _f1(bp, br)}}


def _source_scores(truth: dict, assign: dict[str, tuple], sources: dict[tuple, str | None]) -> dict[str, Any]:
    correct = found = total = 0
    for c in truth["clusters"]:
        members = c["members"]
        if len(members) < 2:
            continue
        total += 1
        overlap = Counter(assign[m] for m in members if m in assign)
        if not overlap:
            continue
        true_src = c["source"]
        best = max(overlap, key=lambda k: (overlap[k], assign.get(true_src) == k, -k[1]))
        if assign.get(true_src) != best:
            continue
        found += 1
        correct += sources.get(best) == true_src
    return {
        "accuracy": correct / total if total else 1.0,
        "correct": correct,
        "clusters": total,
        "found": found,  # best-overlapping predicted cluster holds the true source
        "accuracy_when_found": correct / found if found else None,
    }


def _copy_scores(truth: dict, assign: dict[str, tuple]) -> dict[str, dict[str, float | int]]:
    """Share of true copies found in the predicted cluster of their source, by kind of copy.

    Kinds: all; wrapper size relative to the copied text (none, <0.5, 0.5-1.5, >=1.5);
    each edit the generator made (truth ``edits``), or "no edits".
    """
    docs = truth["documents"]
    source_of = {c["id"]: c["source"] for c in truth["clusters"]}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for name, d in sorted(docs.items()):
        if d["role"] != "copy":
            continue
        src = source_of[d["cluster"]]
        hit = name in assign and assign[name] == assign.get(src)
        chars = Counter()
        for p in d["paragraphs"]:
            chars[p["label"] == "syndicated"] += p["end"] - p["start"]
        ratio = chars[False] / max(1, chars[True])
        size = "none" if ratio == 0 else "<0.5" if ratio < 0.5 else "0.5-1.5" if ratio < 1.5 else ">=1.5"
        kinds = ["all", f"wrapper {size}"] + [f"edit {e}" for e in d.get("edits") or ["none"]]
        for kind in kinds:
            counts[kind][0] += hit
            counts[kind][1] += 1
    return {k: {"recall": h / n, "copies": n} for k, (h, n) in sorted(counts.items())}


# --------------------------------------------------------------------------- paragraph metrics


def _paragraph_scores(truth: dict, result: dict, resolve: _Resolver) -> dict[str, Any] | None:
    docs = result.get("documents") or []
    if not any("paragraphs" in d for d in docs):
        return None
    want: dict[tuple[str, int, int], str] = {}
    for name, d in truth["documents"].items():
        for p in d["paragraphs"]:
            want[(name, p["start"], p["end"])] = p["label"]
    spans: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for d in docs:
        name = resolve(d.get("id"), d.get("path"))
        if name is None:
            continue
        for p in d.get("paragraphs") or []:
            spans[name].append((int(p["start"]), int(p["end"]), str(p.get("label"))))
    # Each true paragraph takes the label of the predicted paragraph that covers most of its characters, so
    # a reader that paragraphs a text otherwise (hard-wrapped lines joined) is scored on its labels, not its
    # spans; where the spans agree this is an exact match.
    got: dict[tuple[str, int, int], str] = {}
    for name, start, end in want:
        best, label = 0, None
        for s, e, lab in spans.get(name, ()):
            overlap = min(e, end) - max(s, start)
            if overlap > best:
                best, label = overlap, lab
        if label is not None:
            got[(name, start, end)] = label
    predicted = sum(len(v) for v in spans.values())

    def per_class(merge: dict[str, str]) -> dict[str, dict[str, float]]:
        w = Counter(merge.get(v, v) for v in want.values())
        g = Counter(merge.get(v, v) for v in got.values())
        tp = Counter(
            merge.get(v, v) for k, v in want.items() if k in got and merge.get(got[k], got[k]) == merge.get(v, v)
        )
        out = {}
        for label in dict.fromkeys(merge.get(x, x) for x in LABELS):
            out[label] = _prf(tp[label], g[label], w[label]) | {"support": w[label], "predicted": g[label]}
        return out

    labels = per_class({})
    merged = per_class({"wrapper": "wrapper+boilerplate", "boilerplate": "wrapper+boilerplate"})
    agree = sum(1 for k, v in want.items() if got.get(k) == v)
    return {
        "labels": labels,
        "wrapper+boilerplate": merged["wrapper+boilerplate"],
        "macro_f1": float(np.mean([labels[x]["f1"] for x in LABELS])),
        "accuracy": agree / len(want) if want else 1.0,
        "paragraphs": len(want),
        "unmatched_truth": sum(1 for k in want if k not in got),
        "predicted_paragraphs": predicted,
    }


# --------------------------------------------------------------------------- passage metrics


def _passage_scores(truth: dict, result: dict, resolve: _Resolver) -> dict[str, Any] | None:
    pairs = result.get("pairs") or []
    if not any("passages" in p for p in pairs):
        return None
    predicted: dict[frozenset[str], list[tuple[str, dict]]] = defaultdict(list)
    for p in pairs:
        a, b = resolve(p.get("a")), resolve(p.get("b"))
        if a is None or b is None or a == b:
            continue
        predicted[frozenset((a, b))].append((a, p))
    spans: dict[tuple[str, str], list[tuple[Interval, Interval]]] = defaultdict(list)
    for s in truth["spans"]:
        spans[(s["a"], s["b"])].append(((s["a_start"], s["a_end"]), (s["b_start"], s["b_end"])))

    pair_p, pair_r = [], []
    micro_inter = micro_pred = micro_true = 0
    case_p, case_r, gran = [], [], []
    for (copy, src), cases in sorted(spans.items()):
        # Predicted passages of this pair, oriented as (copy interval, source interval).
        passages: list[tuple[Interval, Interval]] = []
        for a, p in predicted.get(frozenset((copy, src)), []):
            for q in p.get("passages") or []:
                ra, rb = (int(q["a_start"]), int(q["a_end"])), (int(q["b_start"]), int(q["b_end"]))
                passages.append((ra, rb) if a == copy else (rb, ra))
        t_c, t_s = _merge([c for c, _ in cases]), _merge([s for _, s in cases])
        r_c, r_s = _merge([c for c, _ in passages]), _merge([s for _, s in passages])
        inter = _length(_intersect(t_c, r_c)) + _length(_intersect(t_s, r_s))
        n_true, n_pred = _length(t_c) + _length(t_s), _length(r_c) + _length(r_s)
        pair_r.append(inter / n_true if n_true else 1.0)
        if n_pred:
            pair_p.append(inter / n_pred)
        micro_inter, micro_pred, micro_true = micro_inter + inter, micro_pred + n_pred, micro_true + n_true
        # PAN case level: a passage detects a case when they overlap in both documents.
        for rc, rs in passages:
            size = (rc[1] - rc[0]) + (rs[1] - rs[0])
            if size <= 0:
                continue
            hit = sum(_overlap(c, rc) + _overlap(s, rs) for c, s in cases if _overlap(c, rc) and _overlap(s, rs))
            case_p.append(hit / size)
        for c, s in cases:
            found = [(rc, rs) for rc, rs in passages if _overlap(c, rc) and _overlap(s, rs)]
            size = (c[1] - c[0]) + (s[1] - s[0])
            covered = _length(_merge([(max(c[0], rc[0]), min(c[1], rc[1])) for rc, _ in found]))
            covered += _length(_merge([(max(s[0], rs[0]), min(s[1], rs[1])) for _, rs in found]))
            case_r.append(covered / size if size else 1.0)
            if found:
                gran.append(len(found))

    def block(p: list[float], r: list[float]) -> dict[str, float]:
        precision = float(np.mean(p)) if p else 0.0
        recall = float(np.mean(r)) if r else 1.0
        return {"precision": precision, "recall": recall, "f1": _f1(precision, recall)}

    granularity = float(np.mean(gran)) if gran else 1.0
    by_pair = block(pair_p, pair_r)
    by_case = block(case_p, case_r)
    truth_pairs = {frozenset(k) for k in spans}
    return {
        **by_pair,
        "granularity": granularity,
        "plagdet": by_pair["f1"] / math.log2(1 + granularity),
        "pairs": len(spans),
        "pairs_with_passages": len(pair_p),
        "micro": _prf(micro_inter, micro_pred, micro_true),
        "cases": {
            **by_case,
            "plagdet": by_case["f1"] / math.log2(1 + granularity),
            "cases": len(case_r),
            "passages": len(case_p),
        },
        "other_pairs_with_passages": sum(
            1 for k, v in predicted.items() if k not in truth_pairs and any(p.get("passages") for _, p in v)
        ),
    }


# --------------------------------------------------------------------------- score


def score(truth: dict, result: dict) -> dict[str, Any]:
    """Score a dedup result (JSON output contract) against a corpus truth; see the module docstring."""
    docs = sorted(truth["documents"])
    resolve = _Resolver(truth["documents"])
    result_docs = result.get("documents")
    seen = {resolve(d.get("id"), d.get("path")) for d in result_docs or []}
    assign, sources = _predicted_clusters(result, resolve)
    true_assign = {name: ("t", d["cluster"]) for name, d in truth["documents"].items() if d["cluster"] is not None}
    clusters = _cluster_scores(_labels(docs, true_assign), _labels(docs, assign))
    relations: dict[str, dict[str, int]] = {}
    for p in result.get("pairs") or []:
        a, b = resolve(p.get("a")), resolve(p.get("b"))
        rel = relations.setdefault(str(p.get("relation")), {"pairs": 0, "same_true_cluster": 0})
        rel["pairs"] += 1
        if a in true_assign and true_assign.get(a) == true_assign.get(b):
            rel["same_true_cluster"] += 1
    return {
        "documents": {
            "truth": len(docs),
            "result": len(result_docs) if result_docs is not None else None,
            "missing": sum(1 for d in docs if d not in seen) if result_docs is not None else None,
            "unknown": sum(1 for d in result_docs or [] if resolve(d.get("id"), d.get("path")) is None),
        },
        "clusters": {
            "truth": len(truth["clusters"]),
            "predicted": len(set(assign.values())),
            "ari": clusters["ari"],
            "bcubed": clusters["bcubed"],
        },
        "pairs": clusters["pairs"],
        "source": _source_scores(truth, assign, sources),
        "copies": _copy_scores(truth, assign),
        "paragraphs": _paragraph_scores(truth, result, resolve),
        "passages": _passage_scores(truth, result, resolve),
        "relations": dict(sorted(relations.items())),
    }


def result_from_truth(truth: dict) -> dict:
    """The result a perfect scanner would give (JSON output contract); for tests and sanity checks."""
    documents = [
        {"id": name, "path": name, "cluster": d["cluster"], "role": d["role"], "paragraphs": d["paragraphs"]}
        for name, d in sorted(truth["documents"].items())
    ]
    clusters = [{"id": c["id"], "source": c["source"], "members": list(c["members"])} for c in truth["clusters"]]
    grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for s in truth["spans"]:
        grouped[(s["a"], s["b"])].append({k: s[k] for k in ("a_start", "a_end", "b_start", "b_end")})
    pairs = [
        {"a": a, "b": b, "relation": "contains", "jaccard": None, "a_in_b": None, "b_in_a": None, "passages": ps}
        for (a, b), ps in sorted(grouped.items())
    ]
    return {"documents": documents, "clusters": clusters, "pairs": pairs}


# --------------------------------------------------------------------------- running a scan


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.4f}"
    return str(x)


def print_report(metrics: dict, console: Any = None) -> None:
    """The metrics as a rich table (P, R, F1 and a short note per row)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    t = Table(title="dedup accuracy", header_style="bold")
    t.add_column("metric", no_wrap=True)
    for col in ("P", "R", "F1"):
        t.add_column(col, justify="right", no_wrap=True)
    t.add_column("note")

    def row(name: str, m: dict | None, note: str = "") -> None:
        if m is None:
            t.add_row(name, "—", "—", "—", note)
        else:
            t.add_row(name, _fmt(m["precision"]), _fmt(m["recall"]), _fmt(m["f1"]), note)

    pairs, cl, src = metrics["pairs"], metrics["clusters"], metrics["source"]
    row("pairs", pairs, f"{pairs['predicted_pairs']} predicted, {pairs['true_pairs']} true")
    row("B-cubed", cl["bcubed"], f"ARI {cl['ari']:.4f}")
    t.add_row("source", "", "", _fmt(src["accuracy"]), f"{src['correct']} of {src['clusters']} clusters")
    para = metrics["paragraphs"]
    if para is None:
        row("¶ labels", None, "result has no paragraphs")
    else:
        for label in LABELS:
            row(f"¶ {label}", para["labels"][label], f"{para['labels'][label]['support']} paragraphs")
        row("¶ wrapper+boilerplate", para["wrapper+boilerplate"], f"accuracy {para['accuracy']:.4f}")
    pas = metrics["passages"]
    if pas is None:
        row("passages", None, "result has no passages")
    else:
        row("passages/pair", pas, f"gran {pas['granularity']:.3f}, plagdet {pas['plagdet']:.4f}")
        row("passages/case", pas["cases"], f"plagdet {pas['cases']['plagdet']:.4f}")
    console.print(t)
    copies = metrics.get("copies") or {}
    if copies:
        c = Table(title="copies in their source's cluster", header_style="bold")
        c.add_column("kind of copy", no_wrap=True)
        c.add_column("copies", justify="right")
        c.add_column("recall", justify="right")
        for kind, v in copies.items():
            c.add_row(kind, str(v["copies"]), _fmt(v["recall"]))
        console.print(c)
    d = metrics["documents"]
    console.print(
        f"documents: {d['truth']} in truth, {d['result']} in result, {d['missing']} missing, {d['unknown']} unknown; "
        f"clusters: {cl['predicted']} predicted, {cl['truth']} true",
        highlight=False,
    )


# --------------------------------------------------------------------------- CLI


def print_layouts(by_layout: dict[str, dict], console: Any = None) -> None:
    """The main measures of each layout side by side."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    t = Table(title="dedup accuracy by layout", header_style="bold")
    t.add_column("measure", no_wrap=True)
    for layout in by_layout:
        t.add_column(layout, justify="right")

    def f1(m: dict | None) -> str:
        return _fmt(m["f1"]) if m else "—"

    rows: list[tuple[str, Any]] = [
        ("pairs P", lambda m: _fmt(m["pairs"]["precision"])),
        ("pairs R", lambda m: _fmt(m["pairs"]["recall"])),
        ("pairs F1", lambda m: _fmt(m["pairs"]["f1"])),
        ("B-cubed F1", lambda m: _fmt(m["clusters"]["bcubed"]["f1"])),
        ("ARI", lambda m: _fmt(m["clusters"]["ari"])),
        ("source accuracy", lambda m: _fmt(m["source"]["accuracy"])),
    ]
    rows += [
        (f"¶ {lab} F1", lambda m, lab=lab: f1((m["paragraphs"] or {}).get("labels", {}).get(lab))) for lab in LABELS
    ]
    rows += [
        ("¶ wrapper+boilerplate F1", lambda m: f1((m["paragraphs"] or {}).get("wrapper+boilerplate"))),
        ("passages/case plagdet", lambda m: _fmt(m["passages"]["cases"]["plagdet"]) if m["passages"] else "—"),
    ]
    for name, get in rows:
        t.add_row(name, *(get(m) for m in by_layout.values()))
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.corpora import corpus as corpus_mod
    from benchmarks.corpora.layouts import parse_layouts, read_written
    from benchmarks.scoring.harness import layout_results, library_scan, run_scan, save_results

    p = argparse.ArgumentParser(prog="python -m benchmarks.scoring.accuracy", description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=3000, help="documents to generate (default 3000)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    p.add_argument("--layouts", default=None, help="comma-separated: plain, meta, wrapped (default plain)")
    p.add_argument("--corpus", type=Path, help="score this generated corpus (with truth.json) instead of a new one")
    p.add_argument("--result", type=Path, help="score this dedup JSON result instead of running a scan")
    p.add_argument("--json", type=Path, help="write the metrics here as JSON")
    p.add_argument(
        "--scan",
        choices=("auto", "library", "cli"),
        default="auto",
        help="run dedup as a library (dedup.scan) or as the command line; auto: library when importable",
    )
    args = p.parse_args(argv)
    try:
        layouts = parse_layouts(args.layouts) if args.layouts else ["plain"]
    except ValueError as e:
        print(f"accuracy: error: {e}", file=sys.stderr)
        return 2
    if (args.corpus or args.result) and len(layouts) > 1:
        print("accuracy: error: --corpus and --result score one corpus: give at most one layout", file=sys.stderr)
        return 2

    by_layout: dict[str, dict] = {}
    timings_by: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="dedup-accuracy-") as tmp:
        for layout in layouts:
            timings: dict[str, float] = {}
            t0 = time.perf_counter()
            if args.corpus:
                folder = args.corpus
                if not (folder / corpus_mod.TRUTH_NAME).is_file():
                    print(f"accuracy: error: {folder / corpus_mod.TRUTH_NAME}: no such file", file=sys.stderr)
                    return 2
                with open(folder / corpus_mod.TRUTH_NAME, encoding="utf-8") as f:
                    truth = json.load(f)
            else:
                folder = Path(tmp) / f"corpus-{layout}"
                truth = corpus_mod.generate(folder, args.docs, args.seed, layout=layout)
                timings["generate"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            if args.result:
                with open(args.result, encoding="utf-8") as f:
                    result, method = json.load(f), f"file {args.result}"
            else:
                method = args.scan if args.scan != "auto" else ("library" if library_scan() else "cli")
                result = run_scan(folder, method)
                timings["scan"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            by_layout[layout] = score(truth, result)
            timings["score"] = time.perf_counter() - t0
            timings_by[layout] = timings
            texts = {name: read_written(folder / name) for name in truth["documents"]}
            summary = corpus_mod.summarize(truth, texts)

    for layout, metrics in by_layout.items():
        if len(layouts) > 1:
            print(f"\n== layout {layout}")
        print_report(metrics)
        print(
            f"corpus: {summary['documents']} documents, {summary['clusters']} clusters, seed {truth.get('seed')}, "
            f"layout {layout}; scan via {method}; " + ", ".join(f"{k} {v:.2f}s" for k, v in timings_by[layout].items())
        )
    if len(layouts) > 1:
        print_layouts(by_layout)
    if args.json:
        one = not args.layouts  # asked the old way: the old schema; with --layouts: per layout
        out = {
            "benchmark": "accuracy",
            "corpus": {
                "docs": summary["documents"],
                "seed": truth.get("seed"),
                "path": str(args.corpus) if args.corpus else None,
                "summary": summary,
            },
            "scan": method,
            **layout_results(layouts, timings_by, by_layout, one=one),
        }
        save_results(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
