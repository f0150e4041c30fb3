"""Wire-reuse accuracy: scan a wire corpus (``benchmarks.corpora.wire``) and score it against its truth.

What is measured (``score(truth, result)``, result = the JSON output contract of ``dedup scan``):

- **derived recall**: of the rewrites and short items holding >= 40 % of their word 5-grams from their
  family's agency versions, the share *paired* (some reported pair, any relation, with any agency version of
  the family; also without ``partial``) and *clustered* (in one cluster with an agency version); overall, by
  reuse share (40–60 %, 60–80 %, >= 80 %), by length (< 150, 150–400, > 400 words outside the template) and
  by role; versions likewise (paired with another version, clustered with the first take);
- **pair precision**: a reported pair is correct when both documents belong to one family (agency versions,
  rewrites and shorts, whatever their reuse); wrong ones are split into *same-event* (an independently
  written story of the family's event with any family member: must be 0), *template* (two different stories
  on one site: by construction they share only the site template, so such pairs should not exist at all) and
  *other*;
- **source**: per family, the predicted cluster holding most of its documents names the first take
  (``first``) or any agency version (``any version``) as its source;
- **paragraphs**: each truth paragraph takes the label of the result paragraphs covering most of its
  characters; story paragraphs (agency, rewrite and short text) labelled ``boilerplate`` (target <= 1 %), and
  boilerplate precision / recall / F1 against the site-template paragraphs;
- **baseline**: a plain datasketch MinHash (128 permutations, word 5-grams of ``text.split()``) with
  ``MinHashLSH(threshold=0.3)``, every LSH candidate taken as a pair, scored the same way.

**Layouts**: ``--layouts meta,plain,wrapped`` generates the same corpus (one seed) in each layout of
``benchmarks.corpora.layouts`` (``meta``: front matter with site and URL, a folder per site; ``plain``: one flat
folder of bare texts under random names; ``wrapped``: plain, hard-wrapped at 72 columns, Windows-1252, CRLF), scans and
scores each, and prints them side by side; the JSON then holds ``metrics`` and ``timings`` per layout.

Usage::

    python -m benchmarks.scoring.wire_accuracy [--families 150] [--seed 0] [--layouts meta[,plain,wrapped]]
                                       [--dir DIR] [--result FILE]
                                       [--scan auto|library|cli] [--json OUT] [--no-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from benchmarks.corpora.layouts import parse_layouts
from benchmarks.corpora.wire import (
    DERIVED,
    LENGTH_BUCKETS,
    REUSE_MIN,
    SHARE_BUCKETS,
    generate,
    length_bucket,
    load_truth,
)
from benchmarks.corpora.wire import share_bucket as _share_bucket
from benchmarks.corpora.wire import summarize as summarize_corpus
from benchmarks.scoring.harness import (
    fmt,
    git_commit,
    layout_results,
    lsh_pairs,
    minhashes,
    run_scan,
    save_results,
)

__all__ = ["baseline_pairs", "lsh_pairs", "main", "minhashes", "print_layouts", "print_report", "score"]

BASELINE_THRESHOLD = 0.3
STORY_ROLES = ("source", "version", "rewrite", "short")


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _rate(hit: int, n: int) -> dict[str, Any]:
    return {"recall": hit / n if n else None, "hit": hit, "n": n}


class _Resolver:
    """Maps a result's document ids (or paths) to truth ids (``site/doc_x.txt``)."""

    def __init__(self, known: dict[str, Any]):
        self.known = known
        self.by_tail = {"/".join(k.split("/")[-2:]): k for k in known}

    def __call__(self, doc_id: Any, path: Any = None) -> str | None:
        for c in (doc_id, path):
            if not c:
                continue
            c = str(c).replace(os.sep, "/")
            if c in self.known:
                return c
            tail = "/".join(c.split("/")[-2:])
            if tail in self.by_tail:
                return self.by_tail[tail]
        return None


# --------------------------------------------------------------------------- scoring


def _pairs_of(result: dict, resolve: _Resolver) -> dict[frozenset[str], str]:
    out: dict[frozenset[str], str] = {}
    for p in result.get("pairs") or []:
        a, b = resolve(p.get("a")), resolve(p.get("b"))
        if a and b and a != b:
            out.setdefault(frozenset((a, b)), str(p.get("relation")))
    return out


def _clusters_of(result: dict, resolve: _Resolver) -> tuple[dict[str, Any], dict[Any, str | None]]:
    assign: dict[str, Any] = {}
    source: dict[Any, str | None] = {}
    if result.get("clusters") is not None:
        for i, c in enumerate(result["clusters"]):
            for m in c.get("members") or []:
                name = resolve(m)
                if name:
                    assign.setdefault(name, i)
            source[i] = resolve(c.get("source"))
        return assign, source
    for d in result.get("documents") or []:
        name = resolve(d.get("id"), d.get("path"))
        if name and d.get("cluster") is not None:
            assign[name] = d["cluster"]
            if d.get("role") == "source":
                source[d["cluster"]] = name
            source.setdefault(d["cluster"], None)
    return assign, source


def _agency(truth: dict) -> dict[int, list[str]]:
    return {f["id"]: list(f["versions"]) for f in truth["families"]}


def _pair_scores(truth: dict, pairs: dict[frozenset[str], str]) -> dict[str, Any]:
    """Correct (same family), same-event, template (same site, different stories) and other wrong pairs."""
    docs = truth["documents"]
    kinds: Counter[str] = Counter()
    by_relation: dict[str, Counter[str]] = defaultdict(Counter)
    for key, rel in pairs.items():
        a, b = sorted(key)
        da, db = docs[a], docs[b]
        same_family = da["family"] is not None and da["family"] == db["family"]
        if same_family and "same-event" not in (da["role"], db["role"]):
            kind = "correct"
        elif same_family:
            kind = "same_event"
        elif da["site"] == db["site"]:
            kind = "template"
        else:
            kind = "other"
        kinds[kind] += 1
        by_relation[rel][kind] += 1
    total = sum(kinds.values())
    non_partial = sum(v for r, c in by_relation.items() if r != "partial" for v in c.values())
    correct_np = sum(c["correct"] for r, c in by_relation.items() if r != "partial")
    return {
        "pairs": total,
        "precision": kinds["correct"] / total if total else 1.0,
        "precision_without_partial": correct_np / non_partial if non_partial else 1.0,
        "correct": kinds["correct"],
        "same_event": kinds["same_event"],
        "template": kinds["template"],
        "other": kinds["other"],
        "by_relation": {r: dict(sorted(c.items())) for r, c in sorted(by_relation.items())},
    }


def _recall(
    truth: dict, pairs: dict[frozenset[str], str], assign: dict[str, Any] | None, exclude: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Recall of derived documents (reuse >= 40 %) with their agency versions: paired and clustered, by bucket."""
    docs = truth["documents"]
    agency = _agency(truth)
    partner: dict[str, set[str]] = defaultdict(set)
    strong: dict[str, set[str]] = defaultdict(set)
    for key, rel in pairs.items():
        a, b = tuple(key)
        partner[a].add(b)
        partner[b].add(a)
        if rel not in exclude:
            strong[a].add(b)
            strong[b].add(a)
    groups: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    below: list[tuple[bool, bool, bool]] = []
    for name, d in docs.items():
        if d["role"] not in DERIVED:
            continue
        vs = agency[d["family"]]
        paired = any(v in partner[name] for v in vs)
        paired_strong = any(v in strong[name] for v in vs)
        clustered = assign is not None and name in assign and any(assign.get(v) == assign[name] for v in vs)
        hit = (paired, paired_strong, clustered)
        if d["reuse"] < REUSE_MIN:
            below.append(hit)
            continue
        for g in (
            "all",
            f"share {_share_bucket(d['reuse'])}",
            f"words {length_bucket(d['words'])}",
            f"role {d['role']}",
        ):
            groups[g].append(hit)

    def block(hits: list[tuple[bool, bool, bool]]) -> dict[str, Any]:
        n = len(hits)
        out = {"n": n}
        for i, k in enumerate(("paired", "paired_linking", "clustered")):
            out[k] = sum(h[i] for h in hits) / n if n else None
        return out

    order = ["all"] + [f"share {b[0]}" for b in SHARE_BUCKETS] + [f"words {b[0]}" for b in LENGTH_BUCKETS]
    order += [f"role {r}" for r in DERIVED]
    out = {g: block(groups[g]) for g in order}
    out["below 40% (not required)"] = block(below)
    return out


def _version_scores(truth: dict, pairs: dict[frozenset[str], str], assign: dict[str, Any]) -> dict[str, Any]:
    partner: dict[str, set[str]] = defaultdict(set)
    for key in pairs:
        a, b = tuple(key)
        partner[a].add(b)
        partner[b].add(a)
    n = paired = clustered = vp = 0
    for f in truth["families"]:
        vs = f["versions"]
        for v in vs[1:]:
            n += 1
            paired += any(o in partner[v] for o in vs if o != v)
            clustered += v in assign and assign.get(vs[0]) == assign[v]
        vp += sum(1 for i, a in enumerate(vs) for b in vs[i + 1 :] if frozenset((a, b)) in pairs)
    total_vp = len(truth["version_pairs"])
    return {
        "versions": n,
        "paired": paired / n if n else None,
        "clustered_with_first_take": clustered / n if n else None,
        "version_pairs_found": vp / total_vp if total_vp else None,
    }


def _same_event_scores(truth: dict, pairs: dict[frozenset[str], str], assign: dict[str, Any]) -> dict[str, Any]:
    docs = truth["documents"]
    fam_docs: dict[int, set[str]] = defaultdict(set)
    for name, d in docs.items():
        if d["family"] is not None and d["role"] != "same-event":
            fam_docs[d["family"]].add(name)
    paired = clustered = 0
    pairs_with_family = 0
    n = 0
    for name, d in docs.items():
        if d["role"] != "same-event":
            continue
        n += 1
        mine = [frozenset((name, o)) for o in fam_docs[d["family"]]]
        k = sum(m in pairs for m in mine)
        pairs_with_family += k
        paired += k > 0
        clustered += name in assign and any(assign.get(o) == assign[name] for o in fam_docs[d["family"]])
    return {"documents": n, "pairs_with_family": pairs_with_family, "documents_paired": paired, "clustered": clustered}


def _source_scores(truth: dict, assign: dict[str, Any], sources: dict[Any, str | None]) -> dict[str, Any]:
    first = anyv = found = split = impure = 0
    fam_of = {name: d["family"] for name, d in truth["documents"].items() if d["role"] in STORY_ROLES}
    for f in truth["families"]:
        members = [m for m in f["versions"] + f["rewrites"] + f["shorts"] if m in assign]
        keys = Counter(assign[m] for m in members)
        if not keys:
            continue
        found += 1
        split += len(keys) > 1
        best = max(keys, key=lambda k: (keys[k], assign.get(f["source"]) == k))
        src = sources.get(best)
        first += src == f["source"]
        anyv += src in f["versions"]
        impure += any(fam_of.get(m, -1) != f["id"] for m, k in assign.items() if k == best)
    n = len(truth["families"])
    return {
        "families": n,
        "clustered": found,
        "first_take": first / n if n else None,
        "any_version": anyv / n if n else None,
        "families_split": split,
        "clusters_with_other_documents": impure,
    }


def _paragraph_scores(truth: dict, result: dict, resolve: _Resolver) -> dict[str, Any] | None:
    got: dict[str, list[tuple[int, int, str]]] = {}
    for d in result.get("documents") or []:
        name = resolve(d.get("id"), d.get("path"))
        if name and d.get("paragraphs") is not None:
            got[name] = [(int(p["start"]), int(p["end"]), str(p.get("label"))) for p in d["paragraphs"]]
    if not got:
        return None
    count: Counter[tuple[str, str]] = Counter()  # (truth kind, predicted label)
    story_bp_by_role: Counter[str] = Counter()
    story_by_role: Counter[str] = Counter()
    for name, d in truth["documents"].items():
        paras = got.get(name, [])
        for p in d["paragraphs"]:
            cover: Counter[str] = Counter()
            for s, e, lab in paras:
                ov = min(e, p["end"]) - max(s, p["start"])
                if ov > 0:
                    cover[lab] += ov
            label = cover.most_common(1)[0][0] if cover else "none"
            kind = p["kind"]
            if kind == "story" and d["role"] in STORY_ROLES:
                story_by_role[d["role"]] += 1
                story_bp_by_role[d["role"]] += label == "boilerplate"
            count[(kind, label)] += 1
    story = sum(story_by_role.values())
    story_bp = sum(story_bp_by_role.values())
    tp = count[("template", "boilerplate")]
    pred = sum(v for (k, lab), v in count.items() if lab == "boilerplate")
    true = sum(v for (k, lab), v in count.items() if k == "template")
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    return {
        "story_paragraphs": story,
        "story_labelled_boilerplate": story_bp,
        "story_boilerplate_share": story_bp / story if story else None,
        "story_boilerplate_share_by_role": {
            r: story_bp_by_role[r] / story_by_role[r] if story_by_role[r] else None for r in STORY_ROLES
        },
        "boilerplate": {"precision": precision, "recall": recall, "f1": _f1(precision, recall), "support": true},
        "labels_by_kind": {
            k: dict(sorted((lab, v) for (kk, lab), v in count.items() if kk == k))
            for k in sorted({k for k, _ in count})
        },
    }


def score(truth: dict, result: dict) -> dict[str, Any]:
    """Score a dedup result (JSON output contract) against a wire corpus truth; see the module docstring."""
    resolve = _Resolver(truth["documents"])
    pairs = _pairs_of(result, resolve)
    assign, sources = _clusters_of(result, resolve)
    return {
        "derived": _recall(truth, pairs, assign, frozenset({"partial"})),
        "versions": _version_scores(truth, pairs, assign),
        "pairs": _pair_scores(truth, pairs),
        "same_event": _same_event_scores(truth, pairs, assign),
        "source": _source_scores(truth, assign, sources),
        "paragraphs": _paragraph_scores(truth, result, resolve),
        "documents": {
            "truth": len(truth["documents"]),
            "result": len(result.get("documents") or []),
            "clusters": len(set(assign.values())),
        },
    }


# --------------------------------------------------------------------------- baseline


def baseline_pairs(folder: Path, names: list[str]) -> dict[frozenset[str], str]:
    """Plain datasketch MinHash-LSH (threshold 0.3, 128 permutations) on word 5-grams of each body."""
    return dict.fromkeys(lsh_pairs(names, minhashes(folder, names), BASELINE_THRESHOLD), "lsh")


def score_baseline(truth: dict, pairs: dict[frozenset[str], str]) -> dict[str, Any]:
    """The baseline's pairs scored as dedup's are (it has no clusters, sources or paragraphs)."""
    return {
        "derived": _recall(truth, pairs, None),
        "pairs": _pair_scores(truth, pairs),
        "same_event": _same_event_scores(truth, pairs, {}),
    }


# --------------------------------------------------------------------------- report


def print_report(metrics: dict, console: Any = None) -> None:
    """The metrics as rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 150)
    base = metrics.get("baseline")
    t = Table(title="derived stories (reuse >= 40 %) found with their agency story", header_style="bold")
    for col in ("group", "n", "paired", "paired w/o partial", "clustered", "MinHash-LSH 0.3 paired"):
        t.add_column(col, justify="left" if col == "group" else "right", no_wrap=True)
    for g, v in metrics["derived"].items():
        b = base["derived"][g]["paired"] if base else None
        t.add_row(g, str(v["n"]), fmt(v["paired"]), fmt(v["paired_linking"]), fmt(v["clustered"]), fmt(b))
    console.print(t)
    p = metrics["pairs"]
    o = Table(title="pairs, versions, sources, paragraphs", header_style="bold")
    o.add_column("metric", no_wrap=True)
    o.add_column("value", justify="right")
    o.add_column("note")
    rel = ", ".join(f"{r} {sum(c.values())}" for r, c in p["by_relation"].items())
    o.add_row("pair precision", fmt(p["precision"]), f"{p['pairs']} pairs ({rel})")
    o.add_row("pair precision w/o partial", fmt(p["precision_without_partial"]), "")
    wrong = f"same-event {p['same_event']}, template {p['template']}, other {p['other']}"
    o.add_row("wrong pairs", str(p["pairs"] - p["correct"]), wrong)
    se = metrics["same_event"]
    note = f"{se['documents_paired']} of {se['documents']} stories paired, {se['clustered']} clustered"
    o.add_row("same-event pairs (target 0)", str(se["pairs_with_family"]), note)
    v = metrics["versions"]
    note = (
        f"{v['versions']} later versions; clustered with first take {fmt(v['clustered_with_first_take'])}, "
        f"version pairs found {fmt(v['version_pairs_found'])}"
    )
    o.add_row("versions paired", fmt(v["paired"]), note)
    s = metrics["source"]
    note = (
        f"{s['families']} families, {s['clustered']} clustered, {s['families_split']} split over clusters, "
        f"{s['clusters_with_other_documents']} clusters hold other documents"
    )
    o.add_row("source = first take", fmt(s["first_take"]), note)
    o.add_row("source = any agency version", fmt(s["any_version"]), "")
    para = metrics["paragraphs"]
    if para:
        note = f"{para['story_labelled_boilerplate']} of {para['story_paragraphs']} (target <= 0.01)"
        o.add_row("story ¶ labelled boilerplate", fmt(para["story_boilerplate_share"]), note)
        bp = para["boilerplate"]
        note = f"P {fmt(bp['precision'])} R {fmt(bp['recall'])}, {bp['support']} template paragraphs"
        o.add_row("boilerplate F1 (template ¶)", fmt(bp["f1"]), note)
    if base:
        bp = base["pairs"]
        note = f"{bp['pairs']} pairs; same-event {bp['same_event']}, template {bp['template']}, other {bp['other']}"
        o.add_row("MinHash-LSH pair precision", fmt(bp["precision"]), note)
    console.print(o)


def _layout_rows(m: dict) -> list[tuple[str, str]]:
    d, p, se, v, s = m["derived"], m["pairs"], m["same_event"], m["versions"], m["source"]
    para = m.get("paragraphs") or {}
    bp = para.get("boilerplate") or {}
    base = m.get("baseline")
    rows = [("derived ≥ 40 % (n)", str(d["all"]["n"])), ("paired (all)", fmt(d["all"]["paired"]))]
    rows += [(f"paired, {g}", fmt(d[g]["paired"])) for g in d if g != "all" and not g.startswith("below")]
    rows += [
        ("paired w/o partial (all)", fmt(d["all"]["paired_linking"])),
        ("clustered (all)", fmt(d["all"]["clustered"])),
        ("versions paired", fmt(v["paired"])),
        ("version pairs found", fmt(v["version_pairs_found"])),
        ("pair precision", fmt(p["precision"])),
        ("wrong pairs: template / other", f"{p['template']} / {p['other']}"),
        ("same-event pairs (target 0)", str(se["pairs_with_family"])),
        ("story ¶ labelled boilerplate", fmt(para.get("story_boilerplate_share"))),
        ("boilerplate F1 (template ¶)", fmt(bp.get("f1"))),
        ("source = first take", fmt(s["first_take"])),
        ("source = any agency version", fmt(s["any_version"])),
    ]
    if base:
        rows += [
            ("MinHash-LSH 0.3 paired (all)", fmt(base["derived"]["all"]["paired"])),
            ("MinHash-LSH pair precision", fmt(base["pairs"]["precision"])),
        ]
    return rows


def print_layouts(by_layout: dict[str, dict], console: Any = None) -> None:
    """The main measures of each layout side by side (one column a layout)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 150)
    t = Table(title="wire reuse by layout", header_style="bold")
    t.add_column("measure", no_wrap=True)
    for layout in by_layout:
        t.add_column(layout, justify="right")
    rows = {layout: _layout_rows(m) for layout, m in by_layout.items()}
    first = next(iter(rows.values()))
    for i, (name, _) in enumerate(first):
        t.add_row(name, *(r[i][1] for r in rows.values()))
    console.print(t)


# --------------------------------------------------------------------------- CLI


def _error(msg: str) -> int:
    print(f"wire_accuracy: error: {json.dumps(msg, ensure_ascii=True)[1:-1]}", file=sys.stderr)
    return 2


def _run_layout(args: argparse.Namespace, layout: str, tmp: str) -> tuple[dict, dict, dict[str, float], str]:
    """Generate (or load), scan, score one layout: truth, metrics, timings, how the scan ran."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if args.dir:
        truth = load_truth(args.dir)
        folder = args.dir
    else:
        folder = Path(tmp) / f"corpus-{layout}"
        truth = generate(folder, args.families, args.seed, layout=layout)
        timings["generate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if args.result:
        try:
            result = json.loads(args.result.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            why = getattr(e, "strerror", None) or e
            raise ValueError(f"{args.result}: cannot read a JSON result ({why})") from None
        if not isinstance(result, dict):
            raise ValueError(f"{args.result}: not a dedup JSON result")
        method = f"file {args.result}"
    else:
        method = args.scan
        result = run_scan(folder, args.scan)
        timings["scan"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    metrics = score(truth, result)
    timings["score"] = time.perf_counter() - t0
    if not args.no_baseline:
        t0 = time.perf_counter()
        names = sorted(truth["documents"])
        metrics["baseline"] = score_baseline(truth, baseline_pairs(Path(folder), names))
        timings["baseline"] = time.perf_counter() - t0
    return truth, metrics, timings, method


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scoring.wire_accuracy", description=__doc__.split("\n\n")[0])
    p.add_argument("--families", type=int, default=150, help="families to generate (default 150)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    p.add_argument(
        "--layouts",
        default=None,
        help="comma-separated layouts to generate and score side by side: meta, plain, wrapped (default meta)",
    )
    p.add_argument("--dir", type=Path, help="score this generated wire corpus instead of a new one")
    p.add_argument("--result", type=Path, help="score this dedup JSON result instead of running a scan")
    p.add_argument("--scan", choices=("auto", "library", "cli"), default="auto", help="how to run dedup")
    p.add_argument("--json", type=Path, help="write the metrics here as JSON")
    p.add_argument("--no-baseline", action="store_true", help="skip the datasketch MinHash-LSH comparison")
    args = p.parse_args(argv)
    try:
        layouts = parse_layouts(args.layouts) if args.layouts else ["meta"]
    except ValueError as e:
        return _error(str(e))
    if (args.dir or args.result) and len(layouts) > 1:
        return _error("--dir and --result score one corpus: give at most one layout")
    if not args.dir and args.families < 1:
        return _error("--families must be at least 1")
    load = {"start": [round(x, 2) for x in os.getloadavg()]}
    by_layout: dict[str, dict] = {}
    timings_by: dict[str, dict[str, float]] = {}
    truths: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="dedup-wire-") as tmp:
        for layout in layouts:
            try:
                truths[layout], by_layout[layout], timings_by[layout], method = _run_layout(args, layout, tmp)
            except (ValueError, RuntimeError) as e:
                return _error(str(e))
    load["end"] = [round(x, 2) for x in os.getloadavg()]
    for layout in layouts:
        truth, timings = truths[layout], timings_by[layout]
        summary = summarize_corpus(truth)
        if len(layouts) > 1:
            print(f"\n== layout {layout}")
        print_report(by_layout[layout])
        print(
            f"corpus: {summary['documents']} documents, {summary['families']} families, seed {truth.get('seed')}, "
            f"layout {truth.get('layout', layout)}, {summary['positives']} derived stories >= 40 %; scan via {method}; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        )
    if len(layouts) > 1:
        print_layouts(by_layout)
    print(f"load {load['start']} -> {load['end']}")
    if args.json:
        truth = truths[layouts[0]]
        summary = summarize_corpus(truth)
        one = len(layouts) == 1 and not args.layouts
        out = {
            "benchmark": "wire_accuracy",
            "corpus": {
                "families": summary["families"],
                "seed": truth.get("seed"),
                "path": str(args.dir) if args.dir else None,
                "summary": summary,
            },
            "scan": method,
            "git": git_commit(),
            "load_average": load,
            **layout_results(layouts, timings_by, by_layout, one=one),
        }
        save_results(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
