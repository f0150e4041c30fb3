"""Press releases run by several sites, inside the sites' templates, in a plain folder (issue 19).

Each *release* is a section of a real article body of ``data/aeb/`` (MIT licence, verbatim) issued by a
company: every release of one issuer ends with the issuer's "About" paragraph and media-contact line (real
text, the same on each of its releases, as in real releases). A release is run by 3–10 sites, each copy
trimmed or extended the way sites do: the site's own headline, sometimes its own lead, quotes added
(``"…," said …``), the last paragraphs cut, rarely the first one. Each site has a template (header and
navigation lines, footer, from ``benchmarks.wire``'s site generator) on every page, and a "related stories"
block of 3–5 of the site's recent headlines (so those lines recur on some of its pages, not all); beside the
releases each site runs other articles (other real text) in the same template, so the template recurs around
unrelated texts as real chrome does.

Written plain by default (``benchmarks.layouts``; ``wrapped`` and ``meta``, with front matter naming the site,
for comparison). ``truth.json``: per document its release (or none), site, issuer, role (``copy``, ``article``)
and paragraph kinds (``template``, ``related``, ``release``, ``about``, ``own``, ``headline``); per release its
copies; ``positives``: every two copies of a release that share at least 40 % of the smaller one's word
5-grams (lower-cased word tokens of the text outside the template and related block, measured on the
generated text).

The scorer (``python -m benchmarks.press_release``) scans the folder (``dedup.scan``) and reports the
positives' recall (a pair, any relation), pair precision (a pair is right when both are copies of one
release; wrong ones split into same site, same issuer and other), the labels of release and template
paragraphs, and checks on a sample of positives that ``dedup diff A B`` alone and ``dedup diff A B --corpus
DIR`` (the real CLI, in a subprocess) give the same relation, beside the scan's.

Usage::

    python -m benchmarks.press_release [--releases 30] [--seed 0] [--layouts plain,wrapped,meta]
                                       [--diff-sample 8] [--json OUT]
    python -m benchmarks.press_release --generate DIR [--releases 30] [--seed 0] [--layout plain]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.accuracy import run_scan
from benchmarks.corpus import DATA
from benchmarks.layouts import LAYOUTS, hex_name, lay_out, parse_layouts, write_text
from benchmarks.many_copies import label_shares
from benchmarks.wire import _Generator, _grams, _Site, _tokens, _words
from benchmarks.wire_accuracy import _git_commit

__all__ = ["SHARE_MIN", "generate", "main", "score"]

BENCHMARK = "press_release"
TRUTH_NAME = "truth.json"
SHARE_MIN = 0.40
RUNS = (3, 10)
RELEASES_PER_ISSUER = 3
ARTICLES_PER_RELEASE = 4
RELATED_POOL = 10
_RELATED_HEADS = ("Related stories", "More from {name}", "Most read", "You may also like", "Trending now")
_TITLES = ("chief executive", "chief financial officer", "managing director", "head of research", "spokesperson")


class _Releases:
    def __init__(self, releases: int, seed: int, data: Path):
        self.gen = _Generator(1, seed, data)  # the wire generator's real-text pool, sites and grouping
        self.rng = random.Random(seed)
        self.n = releases
        self.docs: list[dict] = []
        self.releases: list[dict] = []
        self.sites = self._sites(min(40, max(RUNS[1] + 2, releases // 2)))

    def _sites(self, n: int) -> list[_Site]:
        """Templated sites only (wire's generator leaves some bare), with a pool of related-story headlines."""
        out: list[_Site] = []
        seen: set[str] = set()
        while len(out) < n:
            site = self.gen._sites(1)[0]
            if site.domain in seen or not (site.head and site.foot):
                continue
            seen.add(site.domain)
            site.related = [self.gen._headline_from(10) for _ in range(RELATED_POOL)]  # type: ignore[attr-defined]
            site.related_head = self.rng.choice(_RELATED_HEADS).format(name=site.name)  # type: ignore[attr-defined]
            out.append(site)
        return out

    def _page(self, site: _Site, body: list[tuple[str, str]]) -> list[tuple[str, str]]:
        rng = self.rng
        related = [(site.related_head, "related")]  # type: ignore[attr-defined]
        related += [(h, "related") for h in rng.sample(site.related, rng.randint(3, 5))]  # type: ignore[attr-defined]
        head = [(t, "template") for t in site.head]
        return head + body + related + [(t, "template") for t in site.foot]

    def _doc(self, release: int | None, issuer: int | None, role: str, site: _Site, paras: list[tuple[str, str]]):
        self.docs.append(
            {"n": len(self.docs), "release": release, "issuer": issuer, "role": role, "site": site, "paras": paras}
        )
        return len(self.docs) - 1

    def run(self) -> None:
        rng, gen, pool = self.rng, self.gen, self.gen.pool
        texts = [pool.unit() for _ in range(self.n)]
        n_issuers = max(1, round(self.n / RELEASES_PER_ISSUER))
        issuers = []
        for i in range(n_issuers):
            about = " ".join(pool.sentences(rng.randint(40, 70)))
            contact = f"Media contact: {gen._person()}, press office, +44 20 {rng.randint(1000, 9999)} {i:04d}"
            issuers.append({"about": "About the company: " + about, "contact": contact})
        for r, sents in enumerate(texts):
            issuer = r % n_issuers
            release = [(p.text, "release") for p in gen._group(sents, "release", 2)]
            release += [(issuers[issuer]["about"], "about"), (issuers[issuer]["contact"], "about")]
            copies = []
            for site in rng.sample(self.sites, rng.randint(*RUNS)):
                body = list(release)
                if rng.random() < 0.5:  # the last paragraphs cut (the About block goes with them)
                    body = body[: len(body) - rng.randint(1, max(1, len(body) // 2))]
                if rng.random() < 0.15 and len(body) > 3:  # the first paragraph cut
                    body = body[1:]
                if rng.random() < 0.4:  # quotes added
                    for _ in range(rng.randint(1, 2)):
                        said = f"{gen._person()}, {rng.choice(_TITLES)}"
                        quote = pool.sentences(rng.randint(12, 30))
                        q = " ".join(quote).rstrip(".")
                        body.insert(rng.randint(1, len(body)), (f'"{q}," said {said}.', "own"))
                if rng.random() < 0.5:  # the site's own lead
                    body.insert(0, (" ".join(pool.sentences(rng.randint(20, 50))), "own"))
                body.insert(0, (gen._headline_from(), "headline"))
                copies.append(self._doc(r, issuer, "copy", site, self._page(site, body)))
            self.releases.append({"release": r, "issuer": issuer, "copies": copies})
        for _ in range(ARTICLES_PER_RELEASE * self.n):
            site = rng.choice(self.sites)
            body = [(gen._headline_from(), "headline")]
            body += [(p.text, "own") for p in gen._group(pool.sentences(rng.randint(150, 600)), "own", 3)]
            self._doc(None, None, "article", site, self._page(site, body))


def _front(site: _Site, rng: random.Random) -> str:
    date = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(366), minutes=rng.randrange(1440))
    url = f"https://{site.domain}/news/{rng.getrandbits(40):010x}"
    return f"---\ndate: {date.isoformat()}\nsite: {site.domain}\nurl: {url}\n---\n"


def generate(out_dir: str | Path, releases: int = 30, seed: int = 0, *, layout: str = "plain", data: Path = DATA):
    """Write a press-release corpus to ``out_dir`` (empty, or an earlier one) and return its truth."""
    if releases < 1:
        raise ValueError("releases must be at least 1")
    if layout not in LAYOUTS:
        raise ValueError(f"no such layout {layout!r}")
    g = _Releases(int(releases), int(seed), Path(data))
    g.run()
    out = Path(out_dir)
    _prepare(out)
    rng = random.Random(f"press-release-layout-{seed}")
    used: set[str] = set()
    names = [hex_name(rng, used) for _ in g.docs]
    documents = {}
    grams = []
    for d, name in zip(g.docs, names, strict=True):
        text, spans = lay_out([t for t, _ in d["paras"]], "plain" if layout == "meta" else layout, rng)
        if layout == "meta":
            head = _front(d["site"], rng)
            text, spans = head + text, [(a + len(head), b + len(head)) for a, b in spans]
        write_text(out / name, text, layout)
        article = "\n".join(t for t, k in d["paras"] if k not in ("template", "related"))
        grams.append(_grams(_tokens(article)))
        documents[name] = {
            "release": d["release"],
            "issuer": d["issuer"],
            "role": d["role"],
            "site": d["site"].domain,
            "words": _words(article),
            "paragraphs": [{"start": a, "end": b, "kind": k} for (a, b), (_, k) in zip(spans, d["paras"], strict=True)],
        }
    positives, below = [], 0
    for rel in g.releases:
        cs = rel["copies"]
        for i, a in enumerate(cs):
            for b in cs[i + 1 :]:
                shared = len(grams[a] & grams[b]) / max(1, min(len(grams[a]), len(grams[b])))
                if shared >= SHARE_MIN:
                    positives.append({"a": names[a], "b": names[b], "share": round(shared, 4)})
                else:
                    below += 1
    truth = {
        "benchmark": BENCHMARK,
        "seed": seed,
        "layout": layout,
        "share_min": SHARE_MIN,
        "documents": dict(sorted(documents.items())),
        "releases": [{**r, "copies": [names[i] for i in r["copies"]]} for r in g.releases],
        "positives": positives,
        "copy_pairs_below_share": below,
        "sites": len(g.sites),
    }
    (out / TRUTH_NAME).write_text(json.dumps(truth, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    return truth


def _prepare(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    entries = list(out.iterdir())
    if not entries:
        return
    try:
        ours = json.loads((out / TRUTH_NAME).read_text(encoding="utf-8")).get("benchmark") == BENCHMARK
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours or any(not p.is_file() for p in entries):
        raise FileExistsError(f"{out}: not empty and not an earlier {BENCHMARK} corpus; refusing to write into it")
    for p in entries:
        p.unlink()


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
    for pair in rel:
        a, b = sorted(pair)
        da, db = docs.get(a), docs.get(b)
        if da is None or db is None:
            continue
        if da["release"] is not None and da["release"] == db["release"]:
            kinds["correct"] += 1
        elif da["site"] == db["site"]:
            kinds["same site"] += 1
        elif da["issuer"] is not None and da["issuer"] == db["issuer"]:
            kinds["same issuer"] += 1
        else:
            kinds["other"] += 1
    total = sum(kinds.values())
    return {
        "positives": len(found),
        "recall": sum(found) / len(found) if found else None,
        "positive_relations": dict(sorted(by_relation.items())),
        "pairs": total,
        "precision": kinds["correct"] / total if total else 1.0,
        "wrong": {k: v for k, v in sorted(kinds.items()) if k != "correct"},
        "paragraph_labels": label_shares(truth, result, lambda d, p: p["kind"]),
    }


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


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def summarize(truth: dict) -> dict[str, Any]:
    docs = truth["documents"].values()
    return {
        "documents": len(truth["documents"]),
        "releases": len(truth["releases"]),
        "sites": truth["sites"],
        "roles": dict(sorted(Counter(d["role"] for d in docs).items())),
        "copies_per_release": sorted(len(r["copies"]) for r in truth["releases"]),
        "positives": len(truth["positives"]),
        "copy_pairs_below_share": truth["copy_pairs_below_share"],
    }


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
        return _fmt(m["score"]["paragraph_labels"].get(kind, {}).get(label, 0.0))

    rows = [
        ("positive pairs", [str(m["score"]["positives"]) for m in ms]),
        ("recall (paired, any relation)", [_fmt(m["score"]["recall"]) for m in ms]),
        ("pair precision", [_fmt(m["score"]["precision"]) for m in ms]),
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
    p = argparse.ArgumentParser(prog="python -m benchmarks.press_release", description=__doc__.split("\n\n")[0])
    p.add_argument("--releases", type=int, default=30, help="press releases, each run by 3-10 sites (default 30)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    p.add_argument("--layouts", default="plain", help="plain, wrapped and/or meta, comma-separated (default plain)")
    p.add_argument("--diff-sample", type=int, default=8, help="positives checked with dedup diff (default 8; 0: none)")
    p.add_argument("--generate", type=Path, metavar="DIR", help="only write the corpus to DIR")
    p.add_argument("--layout", default="plain", choices=LAYOUTS, help="with --generate")
    p.add_argument("--json", type=Path, help="write the metrics here as JSON")
    args = p.parse_args(argv)
    if args.generate:
        truth = generate(args.generate, args.releases, args.seed, layout=args.layout)
        print(json.dumps(summarize(truth), indent=1))
        return 0
    try:
        layouts = parse_layouts(args.layouts)
    except ValueError as e:
        print(f"press_release: error: {e}", file=sys.stderr)
        return 2
    load = {"start": [round(x, 2) for x in os.getloadavg()]}
    by_layout: dict[str, dict] = {}
    timings: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="dedup-press-") as tmp:
        for layout in layouts:
            tm: dict[str, float] = {}
            t0 = time.perf_counter()
            folder = Path(tmp) / layout
            truth = generate(folder, args.releases, args.seed, layout=layout)
            tm["generate"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            result = run_scan(folder, "library")
            tm["scan"] = time.perf_counter() - t0
            m: dict[str, Any] = {"score": score(truth, result)}
            if args.diff_sample > 0:
                t0 = time.perf_counter()
                m["diff"] = diff_check(truth, result, folder, args.diff_sample, args.seed)
                tm["diff"] = time.perf_counter() - t0
            by_layout[layout] = m
            timings[layout] = {k: round(v, 3) for k, v in tm.items()}
    load["end"] = [round(x, 2) for x in os.getloadavg()]
    summary = summarize(truth)
    print_report(by_layout)
    print(
        f"corpus: {summary['documents']} documents, {summary['releases']} releases on {summary['sites']} sites, "
        f"seed {args.seed}, {summary['positives']} positive pairs; timings {timings}; "
        f"load {load['start']} -> {load['end']}"
    )
    if args.json:
        out = {
            "benchmark": BENCHMARK,
            "corpus": {"releases": args.releases, "seed": args.seed, "summary": summary},
            "scan": "library",
            "git": _git_commit(),
            "load_average": load,
            "layouts": layouts,
            "timings": timings,
            "metrics": by_layout,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
