"""Reprints through noise: the accuracy and wire corpora with every copy passed through the noise model, scored.

For each seed the clean corpus is generated once (``benchmarks.corpora.corpus``: ``--docs`` documents;
``benchmarks.corpora.wire``: ``--families`` story families), then for each rate a copy of it is written with
every copy (the accuracy corpus's ``copy``, the wire corpus's ``rewrite`` and ``short``; never a source, an
agency version, a same-event story or a filler) passed through ``benchmarks.corpora.noise`` at that rate, its
truth carried to the noisy text; dedup scans it (``dedup.scan``) and the corpus's own scorer scores it:

- **accuracy** (``benchmarks.scoring.accuracy.score``): pair precision / recall / F1 over the clusters (every
  pair of documents in one predicted cluster that is not one true cluster is a false pair: independent
  originals on one topic included), passage character F1 and plagdet, the paragraph labels' F1 (``wrapper``,
  ``wrapper`` + ``boilerplate``, ``syndicated``) and source accuracy;
- **wire** (``benchmarks.scoring.wire_accuracy.score``): recall of the rewrites and shorts holding ≥ 40 % of
  their family's word 5-grams (clean; *paired* with an agency version), pair precision (a pair outside one
  family, or with the family's independent same-event story, is false), their F1, same-event pairs (must be
  0), boilerplate F1 on the site templates, source = first take.

Beside each rate, in the same run and on the same noisy files, the datasketch MinHash-LSH folder pipeline
(word 5-grams of ``text.split()``, 128 permutations; ``benchmarks.scoring.harness.minhashes``/``lsh_pairs``)
at thresholds 0.02, 0.05, 0.1 … 0.9, and its best: on the accuracy corpus its candidate pairs joined into clusters
(union-find) and scored by the same pair F1; on the wire corpus its pairs scored as dedup's are. The best
threshold is chosen per run on the truth (an upper bound for the baseline).

Variants (``--variant``, see ``benchmarks.corpora.noise``): ``letters`` (OCR confusions, insertions,
deletions, merged and split words; rates in % of letters touched), ``substitutions`` (one-for-one confusions
only), ``ocr-lines`` (``letters`` and lines hard-wrapped at 60–70 columns with hyphenated words, interior lines
dropped), ``paraphrase`` (rates in % of words changed: 40 keeps 60 % of the words).

Usage::

    python -m benchmarks.scoring.noise [--corpora accuracy,wire] [--variant letters] [--rates 0,1,3,5,10]
                                       [--seeds 0,1,2] [--docs 300] [--families 20] [--layout plain|meta|wrapped]
                                       [--thresholds 0.02,0.05,0.1,...,0.9] [--no-baseline] [--json OUT]
    python -m benchmarks.scoring.noise --generate DIR ...   # only write the clean and noisy corpora
    python -m benchmarks.scoring.noise --render benchmarks/results/noise-letters-….json   # its tables, Markdown
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean
from typing import Any

from benchmarks.corpora import corpus as accuracy_corpus
from benchmarks.corpora import wire as wire_corpus
from benchmarks.corpora.noise import VARIANTS, noise_corpus
from benchmarks.scoring import accuracy, wire_accuracy
from benchmarks.scoring.harness import fmt, git_commit, lsh_pairs, minhashes, run_scan, save_results

__all__ = [
    "CORPORA",
    "aggregate",
    "baseline_sweep",
    "main",
    "markdown",
    "run_rate",
    "summarize_accuracy",
    "summarize_wire",
]

CORPORA = ("accuracy", "wire")
DEFAULT_LAYOUT = {"accuracy": "plain", "wire": "meta"}
DEFAULT_RATES = {"paraphrase": "0,20,40,60"}
THRESHOLDS = (0.02, 0.05, *(round(0.1 * i, 1) for i in range(1, 10)))  # low ones: the best under heavy noise
NUM_PERM = 128


# --------------------------------------------------------------------------- what each run reports


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _label_f1(m: dict, label: str) -> float | None:
    para = m.get("paragraphs")
    if not para:
        return None
    return (para["wrapper+boilerplate"] if label == "wrapper+boilerplate" else para["labels"][label])["f1"]


def summarize_accuracy(m: dict) -> dict[str, Any]:
    """The headline figures of an accuracy-corpus score."""
    pairs = m["pairs"]
    rel = m.get("relations") or {}
    passages = m.get("passages") or {}
    return {
        "pair_precision": pairs["precision"] if pairs["predicted_pairs"] else None,  # None: nothing predicted
        "pair_recall": pairs["recall"],
        "pair_f1": pairs["f1"],
        "false_pairs": pairs["predicted_pairs"] - pairs["correct_pairs"],
        "reported_pairs_outside_one_true_cluster": sum(v["pairs"] - v["same_true_cluster"] for v in rel.values()),
        "bcubed_f1": m["clusters"]["bcubed"]["f1"],
        "passage_f1": passages.get("f1"),
        "passage_plagdet": passages.get("plagdet"),
        "wrapper_f1": _label_f1(m, "wrapper"),
        "wrapper_boilerplate_f1": _label_f1(m, "wrapper+boilerplate"),
        "syndicated_f1": _label_f1(m, "syndicated"),
        "source_accuracy": m["source"]["accuracy"],
    }


def summarize_wire(m: dict) -> dict[str, Any]:
    """The headline figures of a wire-corpus score."""
    recall = m["derived"]["all"]["paired"] or 0.0
    precision = m["pairs"]["precision"]
    para = m.get("paragraphs") or {}
    return {
        "pair_precision": precision if m["pairs"]["pairs"] else None,  # None: nothing predicted
        "pair_recall": recall,
        "pair_f1": _f1(precision, recall),
        "false_pairs": m["pairs"]["pairs"] - m["pairs"]["correct"],
        "same_event_pairs": m["same_event"]["pairs_with_family"],
        "clustered": m["derived"]["all"]["clustered"],
        "versions_paired": m["versions"]["paired"],
        "boilerplate_f1": (para.get("boilerplate") or {}).get("f1"),
        "story_boilerplate_share": para.get("story_boilerplate_share"),
        "source_first_take": m["source"]["first_take"],
    }


def _union_find(names: list[str], pairs: set[frozenset[str]]) -> list[list[str]]:
    parent = {n: n for n in names}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        a, b = tuple(p)
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(root(n), []).append(n)
    return [g for g in groups.values() if len(g) > 1]


def baseline_sweep(kind: str, truth: dict, folder: Path, thresholds: tuple[float, ...]) -> dict[str, Any]:
    """The datasketch MinHash-LSH pipeline at each threshold, scored like dedup, and its best threshold."""
    names = sorted(truth["documents"])
    hashes = minhashes(folder, names, NUM_PERM)
    sweep: dict[str, dict[str, Any]] = {}
    for t in thresholds:
        pairs = lsh_pairs(names, hashes, t, NUM_PERM)
        if kind == "accuracy":
            clusters = [{"source": None, "members": g} for g in _union_find(names, pairs)]
            m = accuracy.score(truth, {"clusters": clusters})["pairs"]
            row = {"precision": m["precision"], "recall": m["recall"], "f1": m["f1"], "pairs": len(pairs)}
        else:
            m = wire_accuracy.score_baseline(truth, dict.fromkeys(pairs, "lsh"))
            p, r = m["pairs"]["precision"], m["derived"]["all"]["paired"] or 0.0
            row = {"precision": p, "recall": r, "f1": _f1(p, r), "pairs": len(pairs)}
            row["same_event_pairs"] = m["same_event"]["pairs_with_family"]
        sweep[f"{t:g}"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
    best = max(sweep, key=lambda k: (sweep[k]["f1"], -float(k)))
    return {"num_perm": NUM_PERM, "best_threshold": float(best), "best": sweep[best], "thresholds": sweep}


# --------------------------------------------------------------------------- running


def _generate(kind: str, folder: Path, size: int, seed: int, layout: str) -> dict:
    if kind == "accuracy":
        return accuracy_corpus.generate(folder, size, seed, layout=layout)
    return wire_corpus.generate(folder, size, seed, layout=layout)


def run_rate(
    kind: str,
    clean: Path,
    truth: dict,
    noisy: Path,
    rate: float,
    seed: int,
    variant: str,
    thresholds: tuple[float, ...] | None,
) -> dict[str, Any]:
    """Write the noisy corpus at ``rate`` (a fraction), scan and score it, and the baseline beside it."""
    t0 = time.perf_counter()
    noisy_truth = noise_corpus(clean, truth, noisy, rate, seed, variant)
    timings = {"noise": time.perf_counter() - t0}
    t0 = time.perf_counter()
    result = run_scan(noisy, "library")
    timings["scan"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if kind == "accuracy":
        metrics = accuracy.score(noisy_truth, result)
        summary = summarize_accuracy(metrics)
    else:
        metrics = wire_accuracy.score(noisy_truth, result)
        summary = summarize_wire(metrics)
    timings["score"] = time.perf_counter() - t0
    out: dict[str, Any] = {"rate": rate, "seed": seed, "noise": noisy_truth["noise"], "summary": summary}
    if thresholds:
        t0 = time.perf_counter()
        out["baseline"] = baseline_sweep(kind, noisy_truth, noisy, thresholds)
        timings["baseline"] = time.perf_counter() - t0
    out["timings"] = {k: round(v, 3) for k, v in timings.items()}
    out["metrics"] = metrics
    return out


def aggregate(runs: list[dict]) -> dict[str, Any]:
    """Per rate (in %): the mean over the seeds of each headline figure (and its min and max), and the baseline's."""
    by_rate: dict[float, list[dict]] = {}
    for r in runs:
        by_rate.setdefault(r["rate"], []).append(r)
    out: dict[str, Any] = {}
    for rate, rs in sorted(by_rate.items()):
        row: dict[str, Any] = {"seeds": [r["seed"] for r in rs]}
        for key in rs[0]["summary"]:
            vals = [r["summary"][key] for r in rs if r["summary"][key] is not None]
            row[key] = round(mean(vals), 4) if vals else None
            if vals and isinstance(vals[0], float):
                row[f"{key}_min"], row[f"{key}_max"] = round(min(vals), 4), round(max(vals), 4)
        row["letters_touched"] = round(mean(r["noise"]["letters_touched"] for r in rs), 4)
        row["words_kept"] = round(mean(r["noise"]["words_kept"] for r in rs), 4)
        if all("baseline" in r for r in rs):
            row["baseline_best_f1"] = round(mean(r["baseline"]["best"]["f1"] for r in rs), 4)
            row["baseline_best_thresholds"] = [r["baseline"]["best_threshold"] for r in rs]
        row["scan_seconds"] = round(mean(r["timings"]["scan"] for r in rs), 2)
        out[f"{rate * 100:g}"] = row  # keyed by the rate in %
    return out


def _columns(kind: str, variant: str) -> list[str]:
    """The summary table's column heads, one per cell of ``_cells``."""
    unit = "words changed" if variant == "paraphrase" else "letter rate"
    cols = [unit, "words kept" if variant == "paraphrase" else "letters touched", "pair P", "pair R", "pair F1"]
    if kind == "accuracy":
        cols += ["false pairs", "passage char F1", "wrapper F1", "wrapper+boilerplate F1", "source"]
    else:
        cols += ["false pairs", "same-event pairs", "boilerplate F1", "source = first take"]
    return cols + ["datasketch best pair F1 (thresholds)", "scan s"]


def _cells(kind: str, variant: str, rate: str, row: dict[str, Any]) -> list[str]:
    """One rate's row of the summary (the mean over the seeds; recall with its min–max when the seeds differ)."""
    r = fmt(row["pair_recall"])
    if row.get("pair_recall_min") is not None and row["pair_recall_min"] != row["pair_recall_max"]:
        r += f" ({fmt(row['pair_recall_min'])}–{fmt(row['pair_recall_max'])})"
    cells = [f"{rate} %", fmt(row["words_kept" if variant == "paraphrase" else "letters_touched"])]
    cells += [fmt(row["pair_precision"]), r, fmt(row["pair_f1"]), fmt(row["false_pairs"], 1)]
    if kind == "accuracy":
        cells += [fmt(row["passage_f1"]), fmt(row["wrapper_f1"]), fmt(row["wrapper_boilerplate_f1"])]
        cells.append(fmt(row["source_accuracy"]))
    else:
        cells += [fmt(row["same_event_pairs"], 1), fmt(row["boilerplate_f1"]), fmt(row["source_first_take"])]
    if "baseline_best_f1" in row:
        thr = ", ".join(f"{x:g}" for x in row["baseline_best_thresholds"])
        cells.append(f"{fmt(row['baseline_best_f1'])} ({thr})")
    else:
        cells.append("—")
    cells.append(f"{row['scan_seconds']:.1f}")
    return cells


def print_summary(kind: str, variant: str, agg: dict[str, Any]) -> None:
    """One row per rate: the mean over the seeds."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 260)
    t = Table(title=f"{kind} corpus, {variant}: mean over seeds", header_style="bold")
    for c in _columns(kind, variant):
        t.add_column(c, justify="right", no_wrap=True)
    for rate, row in agg.items():
        t.add_row(*_cells(kind, variant, rate, row))
    console.print(t)


def markdown(data: dict) -> str:
    """The summary of a results file as Markdown tables (one per corpus), for benchmarks/README.md."""
    variant = data["variant"]
    data = {**data, "summary": {kind: aggregate(runs) for kind, runs in data["runs"].items()}}
    lines: list[str] = []
    commit = (data.get("git") or {}).get("commit") or "?"
    load = data.get("load_average") or {}
    for kind, agg in data["summary"].items():
        seeds = ",".join(str(x) for x in data["seeds"])
        size = f"{data['sizes'][kind]} {'documents' if kind == 'accuracy' else 'families'}"
        lines.append(
            f"**{kind}** corpus, {size}, layout {data['layouts'][kind]}, variant `{variant}`, seeds {seeds} "
            f"(mean; min–max of pair recall), commit `{commit[:7]}`, load {load.get('start')} → {load.get('end')}:"
        )
        lines.append("")
        head = _columns(kind, variant)
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(":---" if i == 0 else "---:" for i in range(len(head))) + "|")
        lines += ["| " + " | ".join(_cells(kind, variant, rate, row)) + " |" for rate, row in agg.items()]
        lines.append("")
    return "\n".join(lines)


def _error(msg: str) -> int:
    print(f"noise: error: {json.dumps(msg, ensure_ascii=True)[1:-1]}", file=sys.stderr)
    return 2


def _numbers(text: str, what: str, cast: type) -> list:
    try:
        out = [cast(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{what}: not a comma-separated list of numbers: {text!r}") from None
    if not out:
        raise ValueError(f"{what}: empty")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scoring.noise", description=__doc__.split("\n\n")[0])
    p.add_argument("--corpora", default="accuracy,wire", help="accuracy and/or wire (default both)")
    p.add_argument("--variant", default="letters", choices=VARIANTS, help="the noise (default letters)")
    p.add_argument("--rates", help="rates in %% (default 0,1,3,5,10; paraphrase: %% of words changed, 0,20,40,60)")
    p.add_argument("--seeds", default="0,1,2", help="corpus and noise seeds (default 0,1,2)")
    p.add_argument("--docs", type=int, default=300, help="accuracy corpus documents (default 300)")
    p.add_argument("--families", type=int, default=20, help="wire corpus families (default 20)")
    p.add_argument("--layout", choices=("plain", "meta", "wrapped"), help="default: accuracy plain, wire meta")
    p.add_argument("--thresholds", default=",".join(f"{t:g}" for t in THRESHOLDS), help="datasketch sweep")
    p.add_argument("--no-baseline", action="store_true", help="skip the datasketch sweep")
    p.add_argument("--generate", type=Path, metavar="DIR", help="only write the clean and noisy corpora to DIR")
    p.add_argument("--json", type=Path, help="write the runs and their summary here")
    p.add_argument("--render", type=Path, metavar="JSON", help="print a results file's summary as Markdown")
    args = p.parse_args(argv)
    if args.render:
        try:
            print(markdown(json.loads(args.render.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError) as e:
            return _error(f"{args.render}: not a noise results file ({getattr(e, 'strerror', None) or e!r})")
        return 0
    try:
        kinds = [k.strip() for k in args.corpora.split(",") if k.strip()]
        if not kinds or set(kinds) - set(CORPORA):
            raise ValueError(f"--corpora: choose from {', '.join(CORPORA)}")
        rates = [
            r / 100 for r in _numbers(args.rates or DEFAULT_RATES.get(args.variant, "0,1,3,5,10"), "--rates", float)
        ]
        if any(not 0 <= r <= 1 for r in rates):
            raise ValueError("--rates: each between 0 and 100")
        seeds = _numbers(args.seeds, "--seeds", int)
        thresholds = tuple(_numbers(args.thresholds, "--thresholds", float))
        if any(not 0 < t < 1 for t in thresholds):
            raise ValueError("--thresholds: each strictly between 0 and 1")
        if args.docs < 1 or args.families < 1:
            raise ValueError("--docs and --families must be at least 1")
    except ValueError as e:
        return _error(str(e))
    size = {"accuracy": args.docs, "wire": args.families}
    load = {"start": [round(x, 2) for x in os.getloadavg()]}
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dedup-noise-") as tmp:
        root = args.generate or Path(tmp)
        for kind in kinds:
            layout = args.layout or DEFAULT_LAYOUT[kind]
            for seed in seeds:
                base = root / f"{kind}-seed{seed}"
                clean = base / "clean"
                if args.generate and base.exists():
                    return _error(f"{base}: exists; --generate writes into new folders")
                truth = _generate(kind, clean, size[kind], seed, layout)
                for rate in rates:
                    noisy = base / f"{args.variant}-{rate * 100:g}"
                    if args.generate:
                        nt = noise_corpus(clean, truth, noisy, rate, seed, args.variant)
                        print(f"{noisy}: {nt['noise']['documents']} documents noised, {json.dumps(nt['noise'])}")
                        continue
                    run = run_rate(
                        kind, clean, truth, noisy, rate, seed, args.variant, None if args.no_baseline else thresholds
                    )
                    run["layout"] = layout
                    runs[kind].append(run)
                    s = run["summary"]
                    print(
                        f"{kind} seed {seed} rate {rate * 100:g} %: pair P {fmt(s['pair_precision'])} "
                        f"R {fmt(s['pair_recall'])} F1 {fmt(s['pair_f1'])}; "
                        + (f"datasketch best F1 {fmt(run['baseline']['best']['f1'])}; " if "baseline" in run else "")
                        + f"scan {run['timings']['scan']:.1f}s; load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                    shutil.rmtree(noisy, ignore_errors=True)
                if not args.generate:
                    shutil.rmtree(base, ignore_errors=True)
    load["end"] = [round(x, 2) for x in os.getloadavg()]
    if args.generate:
        return 0
    summary = {kind: aggregate(rs) for kind, rs in runs.items()}
    for kind in kinds:
        print_summary(kind, args.variant, summary[kind])
    print(f"{time.perf_counter() - t_all:.0f} s in all; load {load['start']} -> {load['end']}")
    save_results(
        args.json,
        {
            "benchmark": "noise",
            "variant": args.variant,
            "rates": rates,
            "seeds": seeds,
            "sizes": {k: size[k] for k in kinds},
            "layouts": {k: args.layout or DEFAULT_LAYOUT[k] for k in kinds},
            "scan": "library",
            "git": git_commit(),
            "load_average": load,
            "summary": summary,
            "runs": runs,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
