"""Query against scan (issue 28): does ``dedup query`` say of an article what ``dedup scan`` says of it?

For each corpus: scan the whole folder; index every article but a sample; query the sample against that
index. Of the scan's pairs of the sampled articles (pairs between two sampled articles left out: neither is
in the index), report the share the query returns with the same relation, those it returns with another
relation, those it misses, and the pairs it returns that the scan does not report (target 0); also how far
the measures (jaccard, a_in_b, b_in_a) of the common pairs are from the scan's, and the query time. The
whole folder holds the other sampled articles too, which can change what the scan says (a story's versions
among them decide what is boilerplate): each query that differs is checked again against a scan of the
index plus that one article (``rechecked``), the property a query promises. And that property is measured
whole (``exact``): one index of every article, each sampled one queried with its own indexed copy left out,
against the whole folder's scan: pairs, measures, passages, paragraph labels and the cluster's source.

The sample: ``--sample`` articles that are in some pair of the scan (so the figure measures something), plus
a quarter as many that are in none (they must stay without pairs). Corpora: the accuracy generator
(``benchmarks.corpora.corpus``, layouts plain and meta), the wire generator (``benchmarks.corpora.wire``, meta and
plain) and
the real news pages of ``../shared/data/aeb`` (``--aeb DIR``).

Usage::

    python -m benchmarks.scoring.query_vs_scan [--docs 600] [--families 60] [--sample 40] [--seed 0]
                                       [--corpora accuracy-plain,accuracy-meta,wire-meta,wire-plain,aeb]
                                       [--aeb DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dedup import ScanOptions, scan
from dedup.index import open_index, service

CORPORA = ("accuracy-plain", "accuracy-meta", "wire-meta", "wire-plain", "aeb")
AEB = Path(__file__).resolve().parents[1] / "data" / "aeb" / "html"  # the real news pages (MIT)


def _make(name: str, out: Path, docs: int, families: int, seed: int, aeb: Path) -> None:
    """Write corpus ``name`` to ``out`` (its truth file removed: it is not an article)."""
    if name.startswith("accuracy-"):
        from benchmarks.corpora.corpus import generate

        generate(out, docs, seed=seed, layout=name.split("-", 1)[1])
    elif name.startswith("wire-"):
        from benchmarks.corpora.wire import generate as wire

        wire(out, families, seed=seed, layout=name.split("-", 1)[1])
    elif name == "aeb":
        out.mkdir(parents=True, exist_ok=True)
        for f in sorted(aeb.iterdir()):
            shutil.copy(f, out / f.name)
    else:
        raise ValueError(f"no corpus {name!r}")
    for truth in out.rglob("truth*.json"):
        truth.unlink()


def _pairs_of(pairs: list[dict], doc: str) -> dict[str, dict]:
    return {(p["b"] if p["a"] == doc else p["a"]): p for p in pairs if doc in (p["a"], p["b"])}


def _source(data: dict, doc: str) -> str | None:
    """The source of ``doc``'s cluster, or None."""
    return next((c["source"] for c in data["clusters"] if doc in c["members"]), None)


def _labels(data: dict, doc: str) -> list[str]:
    d = next(d for d in data["documents"] if d["id"] == doc and not d.get("indexed", False))
    return [p["label"] for p in d["paragraphs"]]


def _passages(pair: dict, doc: str) -> list[tuple[int, int, int, int]]:
    """The pair's passages, ``doc``'s side first."""
    rows = [(q["a_start"], q["a_end"], q["b_start"], q["b_end"]) for q in pair["passages"]]
    return sorted(rows if pair["a"] == doc else [(c, d, a, b) for a, b, c, d in rows])


def _exact(corpus: Path, whole: dict, asked: list, options: ScanOptions, work: Path) -> dict[str, Any]:
    """The property itself: one index of every article, each asked article queried with its own indexed copy
    left out (``exclude_same_id``, as the server's article page asks): the index plus the query is then the
    whole folder, so the answer must be the whole folder's scan of it. Per query: its pairs (partners and
    relations), every measure within 0.03, the passages, its paragraphs' labels and its cluster's source."""
    index = open_index(str(work), service.store_params(options), create=True)
    service.add(index, [corpus], options)
    out = {"queries": len(asked), "pairs": 0, "measures": 0, "passages": 0, "labels": 0, "source": 0}
    worst = 0.0
    for art in asked:
        answer = service.query_articles(index, [art], options, exclude_same_id=True).to_dict()
        want, got = _pairs_of(whole["pairs"], art.id), _pairs_of(answer["pairs"], art.id)
        same = {o: p["relation"] for o, p in want.items()} == {o: p["relation"] for o, p in got.items()}
        out["pairs"] += same
        diffs = [abs(got[o][k] - p[k]) for o, p in want.items() if o in got for k in ("jaccard", "a_in_b", "b_in_a")]
        worst = max([worst, *diffs])
        out["measures"] += same and all(d <= 0.03 for d in diffs)
        out["passages"] += same and all(_passages(p, art.id) == _passages(got[o], art.id) for o, p in want.items())
        out["labels"] += _labels(whole, art.id) == _labels(answer, art.id)
        out["source"] += _source(whole, art.id) == _source(answer, art.id)
    out["max_measure_diff"] = round(worst, 4)
    return out


def _scan_with(corpus: Path, rest: Path, doc: str, folder: Path, options: ScanOptions) -> dict:
    """The scan of the indexed articles (``rest``) plus the one article ``doc`` of ``corpus``."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(rest, folder, copy_function=os.link)
    (folder / doc).parent.mkdir(parents=True, exist_ok=True)
    os.link(corpus / doc, folder / doc)
    out = scan(folder, options).to_dict()
    shutil.rmtree(folder, ignore_errors=True)
    return out


def compare(corpus: Path, sample: int, seed: int, options: ScanOptions, work: Path) -> dict[str, Any]:
    """Scan ``corpus``, index all but a sample, query the sample; the counts described in the module doc."""
    t = time.perf_counter()
    whole = scan(corpus, options).to_dict()
    scan_time = time.perf_counter() - t
    ids = sorted(d["id"] for d in whole["documents"])
    paired = sorted({p[k] for p in whole["pairs"] for k in ("a", "b")})
    unpaired = sorted(set(ids) - set(paired))
    rng = random.Random(seed)
    picked = rng.sample(paired, min(sample, len(paired))) + rng.sample(unpaired, min(sample // 4, len(unpaired)))
    chosen = set(picked)
    rest = work / "rest"
    for doc in ids:
        if doc not in chosen:
            (rest / doc).parent.mkdir(parents=True, exist_ok=True)
            os.link(corpus / doc, rest / doc)
    index = open_index(str(work / "index"), service.store_params(options), create=True)
    service.add(index, [rest], options)
    articles, _ = service.read_sources([corpus], options)
    asked = [a for a in articles if a.id in chosen]
    t = time.perf_counter()
    answers = [service.query_articles(index, [a], options).to_dict() for a in asked]
    query_time = (time.perf_counter() - t) / max(len(asked), 1)
    same = other = missed = extra = total = 0
    worst = 0.0
    examples: list[dict] = []
    recheck = {"queries": 0, "agree": 0}
    for art, answer in zip(asked, answers):
        want = {o: p for o, p in _pairs_of(whole["pairs"], art.id).items() if o not in chosen}
        got = _pairs_of(answer["pairs"], art.id)
        if {o: p["relation"] for o, p in want.items()} != {o: p["relation"] for o, p in got.items()}:
            # The whole folder holds the other sampled articles too: ask a scan of the index plus this one.
            alone = _scan_with(corpus, rest, art.id, work / "alone", options)
            mine = {o: p["relation"] for o, p in _pairs_of(alone["pairs"], art.id).items()}
            recheck["queries"] += 1
            recheck["agree"] += mine == {o: p["relation"] for o, p in got.items()}
        total += len(want)
        for o, p in want.items():
            q = got.get(o)
            if q is None:
                missed += 1
                kind = "missed"
            elif q["relation"] != p["relation"]:
                other += 1
                kind = "relation"
            else:
                same += 1
                kind = None
            if q is not None:
                worst = max(worst, *(abs(q[k] - p[k]) for k in ("jaccard", "a_in_b", "b_in_a")))
            if kind and len(examples) < 10:
                examples.append({"query": art.id, "indexed": o, kind: [p["relation"], q and q["relation"]]})
        for o in set(got) - set(want):
            extra += 1
            if len(examples) < 10:
                examples.append({"query": art.id, "indexed": o, "extra": got[o]["relation"]})
    return {
        "documents": len(ids),
        "sampled": len(asked),
        "scan_pairs": total,
        "same_relation": same,
        "share_same": round(same / total, 4) if total else None,
        "other_relation": other,
        "missed": missed,
        "extra": extra,
        "max_measure_diff": round(worst, 4),
        # Queries whose pairs differ from the whole folder's scan, rescanned as the index plus that query:
        # how many of them return exactly that scan's partners and relations.
        "rechecked": recheck,
        "exact": _exact(corpus, whole, asked, options, work / "everything"),
        "scan_s": round(scan_time, 2),
        "query_ms": round(1000 * query_time, 1),
        "examples": examples,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scoring.query_vs_scan", description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=600, help="accuracy corpora: documents")
    p.add_argument("--families", type=int, default=60, help="wire corpora: story families")
    p.add_argument("--sample", type=int, default=40, help="sampled articles that are in some pair of the scan")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--corpora", default=",".join(CORPORA))
    p.add_argument("--aeb", type=Path, default=AEB, help="folder of the aeb pages")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    options = ScanOptions(workers=1)
    out: dict[str, Any] = {"load": os.getloadavg()[0], "corpora": {}}
    for name in args.corpora.split(","):
        with tempfile.TemporaryDirectory(prefix="query-vs-scan-") as tmp:
            corpus = Path(tmp) / "corpus"
            _make(name, corpus, args.docs, args.families, args.seed, args.aeb)
            work = Path(tmp) / "work"
            work.mkdir()
            r = compare(corpus, args.sample, args.seed, options, work)
        r["load"] = round(os.getloadavg()[0], 2)
        out["corpora"][name] = r
        print(
            f"{name:15} docs {r['documents']:5}  sampled {r['sampled']:3}  scan pairs {r['scan_pairs']:4}  "
            f"same {r['same_relation']:4} ({r['share_same']})  other relation {r['other_relation']}  "
            f"missed {r['missed']}  extra {r['extra']}  max measure diff {r['max_measure_diff']}  "
            f"query {r['query_ms']} ms  load {r['load']}  rechecked {r['rechecked']}\n    exact: {r['exact']}",
            flush=True,
        )
        for e in r["examples"]:
            print("   ", json.dumps(e), flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
