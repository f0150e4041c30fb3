"""Many copies of one text in a plain folder (issue 19): generator and scorer.

Each *case* is one real story (a section of an article body of ``data/aeb/``, MIT licence, verbatim) reused
by 3–50 *derivatives* (log-uniform, so some cases have dozens), each in one revision category:

- ``cut-paste``: a contiguous excerpt (a run of sentences) or a few whole paragraphs, verbatim; half of them
  under a headline or intro line of the copier's own;
- ``light``: the whole story, a few words changed in most sentences (synonyms, else other words of the
  texts), 10–25 % of the sentences dropped;
- ``heavy``: 30–50 % of the sentences dropped, the rest reordered by blocks, 2–5 words changed a sentence,
  some pairs of sentences merged into one, and own sentences (other real text) added, 20–50 % of the length.

Beside them, 1–3 texts per case written *independently* on the same event: another real body whose leading
names and numbers are replaced by the case's, holding ONE quotation sentence of the story verbatim (the same
quotation in all of them): they must pair with nothing of the case. And unrelated *fillers* (other real
text), a few real sentences recurring as stock lines in many unrelated fillers and heavy rewrites, as stock
phrases do in news.

Everything is written plain (``benchmarks.layouts``: no metadata, one flat folder, random names; ``wrapped``
also on request; ``meta`` for comparison: the same files with front matter giving each copier a site of its
own, a case's copies on distinct sites, the source dated first). ``truth.json`` gives per document its case,
role, category, words and ``share``: the share of its word 5-grams (lower-cased word tokens) found in its
case's source, measured on the generated text.

The scorer (``python -m benchmarks.many_copies``) scans the folder with ``dedup.scan`` and reports per category
the share of derivatives paired with their source (any relation: exact, near-duplicate, contains, partial) and
clustered with it, the independent texts paired with their case (must be 0) and pair precision; the same for a
datasketch pipeline (word 5-grams of ``text.split()``, 128 permutations, every ``MinHashLSH`` candidate a pair)
at thresholds 0.1 … 0.9, with datasketch's best threshold per category (the highest recall among thresholds
that pair no independent text; else the fewest such pairs).

Usage::

    python -m benchmarks.many_copies [--cases 10] [--seed 0] [--layouts plain[,wrapped]] [--json OUT]
    python -m benchmarks.many_copies --generate DIR [--cases 10] [--seed 0] [--layout plain]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.accuracy import run_scan
from benchmarks.corpus import DATA
from benchmarks.layouts import LAYOUTS, hex_name, lay_out, parse_layouts, write_text
from benchmarks.wire import _NUMBER, _PAPER_A, _PAPER_B, _QUOTES, _entities, _Generator, _grams, _tokens, _words
from benchmarks.wire_accuracy import _git_commit, lsh_pairs, minhashes

__all__ = ["CATEGORIES", "THRESHOLDS", "generate", "main", "score", "score_lsh"]

BENCHMARK = "many_copies"
TRUTH_NAME = "truth.json"
CATEGORIES = ("cut-paste", "light", "heavy")
COPIES = (3, 50)
INDEPENDENT = (1, 3)
FILLERS_PER_CASE = 2
STOCK_LINES = 4
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
NUM_PERM = 128


def _share(text: str, source: set[tuple[str, ...]]) -> float:
    g = _grams(_tokens(text))
    return len(g & source) / max(1, len(g))


def _merge(a: str, b: str) -> str:
    """Two sentences made one: ``a`` without its full stop, ``, and`` and ``b`` (its first letter lower-cased)."""
    a = a.rstrip()
    if a.endswith("."):
        a = a[:-1]
    if b[:1].isupper() and not b[1:2].isupper() and not b.startswith("I "):
        b = b[0].lower() + b[1:]
    return f"{a}, and {b}"


class _Cases:
    """The documents of the corpus as (id, case, role, category, paragraphs) before they are laid out."""

    def __init__(self, cases: int, seed: int, data: Path):
        self.gen = _Generator(1, seed, data)  # the wire generator's real-text pool, rewording and grouping
        self.rng = random.Random(seed)
        self.n_cases = cases
        self.docs: list[dict] = []
        self.cases: list[dict] = []

    def _doc(self, case: int | None, role: str, category: str | None, paras: list[str]) -> dict:
        doc = {"n": len(self.docs), "case": case, "role": role, "category": category, "paras": paras}
        self.docs.append(doc)
        return doc

    def _headline(self) -> str:
        return self.gen._headline_from()

    def _own(self, words: int) -> list[str]:
        return self.gen.pool.sentences(words)

    def _grouped(self, sentences: list[str], most: int = 3) -> list[str]:
        return [p.text for p in self.gen._group(sentences, "story", most)]

    def _cut_paste(self, story: list[str], paras: list[list[str]]) -> list[str]:
        rng = self.rng
        if rng.random() < 0.5 and len(paras) >= 3:  # a few whole paragraphs
            k = rng.randint(2, min(4, len(paras) - 1))
            picked = sorted(rng.sample(range(len(paras)), k))
            out = [" ".join(paras[i]) for i in picked]
        else:  # a contiguous excerpt: a run of sentences, re-paragraphed
            n = len(story)
            size = max(3, round(n * rng.uniform(0.25, 0.8)))
            start = rng.randint(0, max(0, n - size))
            out = self._grouped(story[start : start + size])
        if rng.random() < 0.5:
            out = [self._headline()] + out
        if rng.random() < 0.25:
            out.insert(1 if len(out) > 1 else 0, " ".join(self._own(rng.randint(12, 30))))
        return out

    def _light(self, story: list[str], paras: list[list[str]]) -> list[str]:
        rng = self.rng
        drop = rng.uniform(0.10, 0.25)
        out = [self._headline()]
        for p in paras:
            kept = [
                self.gen._reword(s, rng.randint(1, 3), rng) if rng.random() < 0.8 else s
                for j, s in enumerate(p)
                if not (rng.random() < drop and (p is not paras[0] or j))
            ]
            if kept:
                out.append(" ".join(kept))
        return out

    def _heavy(self, story: list[str], stock: list[str]) -> list[str]:
        rng = self.rng
        kept = [s for j, s in enumerate(story) if j == 0 or rng.random() >= rng.uniform(0.3, 0.5)]
        blocks, i = [], 0  # reorder by blocks of 1-3 sentences, the lead stays first
        while i < len(kept):
            k = rng.randint(1, 3)
            blocks.append(kept[i : i + k])
            i += k
        rest = blocks[1:]
        rng.shuffle(rest)
        sents = [s for b in [blocks[0], *rest] for s in b]
        sents = [self.gen._reword(s, rng.randint(2, 5), rng) for s in sents]
        merged: list[str] = []
        for s in sents:
            if merged and rng.random() < 0.2 and _words(merged[-1]) + _words(s) < 60:
                merged[-1] = _merge(merged[-1], s)
            else:
                merged.append(s)
        own = self._own(round(sum(map(_words, merged)) * rng.uniform(0.2, 0.5)))
        if stock and rng.random() < 0.3:
            own.append(rng.choice(stock))
        for s in own:
            merged.insert(rng.randint(1, len(merged)), s)
        return [self._headline()] + self._grouped(merged)

    def _independent(self, story: list[str], other: list[str], quote: str, ents: list[str]) -> list[str]:
        """Another real body on "the same event": the case's names and numbers, and its one quotation."""
        rng = self.rng
        for old, new in zip(_entities(other), ents, strict=False):
            other = [re.sub(rf"\b{re.escape(old)}\b", new, s) for s in other]
        numbers = [m.group(0) for s in story for m in _NUMBER.finditer(s)]
        if numbers:
            cycle = iter(numbers * 50)
            other = [_NUMBER.sub(lambda m: next(cycle, m.group(0)), s) for s in other]
        keep, taken = rng.randint(200, 450), []
        for s in other:
            if sum(map(_words, taken)) >= keep:
                break
            taken.append(s)
        paras = self._grouped(taken)
        paras.insert(rng.randint(1, min(3, len(paras))), quote)
        head = f"{ents[0]}: {self._headline()}" if ents else self._headline()
        return [head] + paras

    def run(self) -> None:
        rng, pool = self.rng, self.gen.pool
        stories = [pool.unit() for _ in range(self.n_cases)]
        others = [[pool.unit() for _ in range(INDEPENDENT[1])] for _ in range(self.n_cases)]
        stock: list[str] = []
        while len(stock) < STOCK_LINES:  # stock lines: real sentences of 8-25 words
            s = pool.sentences(1)[0]
            if 8 <= _words(s) <= 25:
                stock.append(s)
        lo, hi = COPIES
        for case, story in enumerate(stories):
            paras = self._sentence_groups(story)
            ents = _entities(story)
            quoted = [s for s in story[1:] if _QUOTES.search(s) and 8 <= _words(s) <= 40]
            quote = rng.choice(quoted or [s for s in story[1:] if _words(s) >= 8] or story[-1:])
            source = self._doc(case, "source", None, [self._headline()] + [" ".join(p) for p in paras])
            n = round(math.exp(rng.uniform(math.log(lo), math.log(hi + 0.999)) - 0.499))
            n = max(lo, min(hi, n))
            members = []
            for _ in range(n):
                cat = rng.choice(CATEGORIES)
                if cat == "cut-paste":
                    body = self._cut_paste(story, paras)
                elif cat == "light":
                    body = self._light(story, paras)
                else:
                    body = self._heavy(story, stock)
                members.append(self._doc(case, "derivative", cat, body)["n"])
            indep = [
                self._doc(case, "independent", None, self._independent(story, o, quote, ents))["n"]
                for o in others[case][: rng.randint(*INDEPENDENT)]
            ]
            self.cases.append(
                {"case": case, "source": source["n"], "derivatives": members, "independent": indep, "quote": quote}
            )
        for _ in range(FILLERS_PER_CASE * self.n_cases):
            sents = pool.sentences(rng.randint(150, 600))
            for s in rng.sample(stock, rng.randint(0, 2)):
                sents.insert(rng.randint(0, len(sents)), s)
            self._doc(None, "filler", None, [self._headline()] + self._grouped(sents))
        self.stock = stock

    def _sentence_groups(self, story: list[str]) -> list[list[str]]:
        out, i = [], 0
        while i < len(story):
            k = self.rng.randint(1, 3)
            out.append(story[i : i + k])
            i += k
        return out


def generate(out_dir: str | Path, cases: int = 10, seed: int = 0, *, layout: str = "plain", data: Path = DATA) -> dict:
    """Write a many-copies corpus to ``out_dir`` (empty, or an earlier one) and return its truth."""
    if cases < 1:
        raise ValueError("cases must be at least 1")
    if layout not in LAYOUTS:
        raise ValueError(f"no such layout {layout!r}")
    c = _Cases(int(cases), int(seed), Path(data))
    c.run()
    out = Path(out_dir)
    _prepare(out)
    rng = random.Random(f"many-copies-layout-{seed}")
    used: set[str] = set()
    names = [hex_name(rng, used) for _ in c.docs]
    src_grams = {case["case"]: _grams(_tokens("\n".join(c.docs[case["source"]]["paras"]))) for case in c.cases}
    heads = _front_matter(c, rng) if layout == "meta" else {}
    documents = {}
    for d, name in zip(c.docs, names, strict=True):
        text, spans = lay_out(d["paras"], "plain" if layout == "meta" else layout, rng)
        if layout == "meta":  # the same text under front matter naming its site (a site per copier)
            head = heads[d["n"]]
            text, spans = head + text, [(a + len(head), b + len(head)) for a, b in spans]
        write_text(out / name, text, layout)
        full = "\n".join(d["paras"])
        documents[name] = {
            "case": d["case"],
            "role": d["role"],
            "category": d["category"],
            "words": _words(full),
            "share": round(_share(full, src_grams[d["case"]]), 4) if d["case"] is not None else None,
            "paragraphs": [{"start": a, "end": b} for a, b in spans],
        }
    truth = {
        "benchmark": BENCHMARK,
        "seed": seed,
        "layout": layout,
        "documents": dict(sorted(documents.items())),
        "cases": [
            {
                "case": k["case"],
                "source": names[k["source"]],
                "derivatives": [names[i] for i in k["derivatives"]],
                "independent": [names[i] for i in k["independent"]],
                "quote": k["quote"],
            }
            for k in c.cases
        ],
        "stock_lines": c.stock,
    }
    (out / TRUTH_NAME).write_text(json.dumps(truth, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    return truth


def _front_matter(c: _Cases, rng: random.Random) -> dict[int, str]:
    """For the ``meta`` layout: per document a front matter with date, site and URL; a case's copies on distinct
    sites (as many sites as the largest case needs), the source first in time."""
    n_sites = COPIES[1] + INDEPENDENT[1] + 1
    sites = [f"{rng.choice(_PAPER_A).lower()}{rng.choice(_PAPER_B).lower()}{i}.example" for i in range(n_sites)]
    site_of: dict[int, str] = {}
    day: dict[int, datetime] = {}
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for k in c.cases:
        order = rng.sample(sites, len(sites))
        t0 = base + timedelta(days=rng.randrange(366), hours=rng.randrange(6, 12))
        for i, n in enumerate([k["source"], *k["derivatives"], *k["independent"]]):
            site_of[n] = order[i]
            day[n] = t0 + timedelta(minutes=0 if i == 0 else rng.randint(30, 3 * 24 * 60))
    out = {}
    for d in c.docs:
        n = d["n"]
        site = site_of.get(n) or rng.choice(sites)
        date = day.get(n) or base + timedelta(days=rng.randrange(366))
        url = f"https://{site}/news/{rng.getrandbits(40):010x}"
        out[n] = f"---\ndate: {date.isoformat()}\nsite: {site}\nurl: {url}\n---\n"
    return out


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
    correct = wrong = 0
    wrong_kinds: Counter[str] = Counter()
    for pair in pairs:
        a, b = sorted(pair)
        da, db = docs.get(a), docs.get(b)
        if da is None or db is None:
            continue
        same = da["case"] is not None and da["case"] == db["case"]
        if same and "independent" not in (da["role"], db["role"]):
            correct += 1
        else:
            wrong += 1
            roles = "+".join(sorted((da["role"], db["role"])))
            wrong_kinds[("same case: " if same else "") + roles] += 1
    out: dict[str, Any] = {}
    for g in ("all", *CATEGORIES):
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


def label_shares(truth: dict, result: dict, group: Callable[[dict, dict], str]) -> dict[str, dict[str, float]]:
    """Share of the characters of the truth's paragraphs per label dedup gave them, per ``group(doc, paragraph)``."""
    got: dict[str, list[tuple[int, int, str]]] = {}
    for d in result.get("documents") or []:
        if d.get("paragraphs") is not None:
            got[str(d.get("id"))] = [(int(p["start"]), int(p["end"]), str(p.get("label"))) for p in d["paragraphs"]]
    chars: dict[str, Counter[str]] = defaultdict(Counter)
    for name, d in truth["documents"].items():
        for p in d["paragraphs"]:
            g = group(d, p)
            for s, e, lab in got.get(name, []):
                ov = min(e, p["end"]) - max(s, p["start"])
                if ov > 0:
                    chars[g][lab] += ov
    return {
        g: {lab: round(v / max(1, sum(c.values())), 4) for lab, v in sorted(c.items())}
        for g, c in sorted(chars.items())
    }


def score_lsh(truth: dict, folder: Path, thresholds: tuple[float, ...] = THRESHOLDS) -> dict[str, Any]:
    """The datasketch pipeline at each threshold, and per category its best threshold (see module doc)."""
    names = sorted(truth["documents"])
    hashes = minhashes(folder, names, NUM_PERM)
    sweep = {f"{t:.1f}": score_pairs(truth, lsh_pairs(names, hashes, t, NUM_PERM)) for t in thresholds}
    best = {}
    for g in ("all", *CATEGORIES):

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


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def summarize(truth: dict) -> dict[str, Any]:
    docs = truth["documents"].values()
    shares: dict[str, list[float]] = defaultdict(list)
    for d in docs:
        if d["role"] == "derivative":
            shares[d["category"]].append(d["share"])
    return {
        "documents": len(truth["documents"]),
        "cases": len(truth["cases"]),
        "roles": dict(sorted(Counter(d["role"] for d in docs).items())),
        "derivatives_per_case": sorted(len(c["derivatives"]) for c in truth["cases"]),
        "share_by_category": {
            c: {"min": min(v), "median": sorted(v)[len(v) // 2], "max": max(v)} for c, v in sorted(shares.items()) if v
        },
        "independent_share_max": max((d["share"] for d in docs if d["role"] == "independent"), default=None),
    }


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
    for g in ("all", *CATEGORIES):
        row = [g, str(first["dedup"][g]["n"])]
        for m in by_layout.values():
            row += [_fmt(m["dedup"][g]["paired"]), _fmt(m["dedup"][g]["clustered"])]
        b = first["datasketch"]["best"][g]
        row.append(f"{_fmt(b['paired'])} ({b['threshold']:.1f})")
        t.add_row(*row)
    ind = ["independent texts paired (target 0)", str(first["dedup"]["independent"]["n"])]
    for m in by_layout.values():
        ind += [str(m["dedup"]["independent"]["documents_paired"]), ""]
    ind.append(str(first["datasketch"]["best"]["all"]["independent_pairs"]))
    t.add_row(*ind)
    prec = ["pair precision", ""]
    for m in by_layout.values():
        prec += [_fmt(m["dedup"]["pairs"]["precision"]), ""]
    prec.append(_fmt(first["datasketch"]["best"]["all"]["precision"]))
    t.add_row(*prec)
    console.print(t)
    s = Table(title="datasketch MinHashLSH sweep (first layout): paired with source / independent docs paired")
    s.add_column("threshold")
    for g in ("all", *CATEGORIES):
        s.add_column(g, justify="right")
    s.add_column("independent", justify="right")
    s.add_column("precision", justify="right")
    for th, m in first["datasketch"]["thresholds"].items():
        s.add_row(
            th,
            *(_fmt(m[g]["paired"]) for g in ("all", *CATEGORIES)),
            str(m["independent"]["documents_paired"]),
            _fmt(m["pairs"]["precision"]),
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
    p = argparse.ArgumentParser(prog="python -m benchmarks.many_copies", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=10, help="source texts, each with 3-50 derivatives (default 10)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    p.add_argument("--layouts", default="plain", help="plain, wrapped and/or meta, comma-separated (default plain)")
    p.add_argument("--generate", type=Path, metavar="DIR", help="only write the corpus to DIR")
    p.add_argument("--layout", default="plain", choices=LAYOUTS, help="with --generate")
    p.add_argument("--json", type=Path, help="write the metrics here as JSON")
    args = p.parse_args(argv)
    if args.generate:
        truth = generate(args.generate, args.cases, args.seed, layout=args.layout)
        print(json.dumps(summarize(truth), indent=1))
        return 0
    try:
        layouts = parse_layouts(args.layouts)
    except ValueError as e:
        print(f"many_copies: error: {e}", file=sys.stderr)
        return 2
    load = {"start": [round(x, 2) for x in os.getloadavg()]}
    by_layout: dict[str, dict] = {}
    timings: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="dedup-many-") as tmp:
        for layout in layouts:
            tm: dict[str, float] = {}
            t0 = time.perf_counter()
            folder = Path(tmp) / layout
            truth = generate(folder, args.cases, args.seed, layout=layout)
            tm["generate"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            result = run_scan(folder, "library")
            tm["scan"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            by_layout[layout] = {"dedup": score(truth, result), "datasketch": score_lsh(truth, folder)}
            tm["score"] = time.perf_counter() - t0
            timings[layout] = {k: round(v, 3) for k, v in tm.items()}
    load["end"] = [round(x, 2) for x in os.getloadavg()]
    summary = summarize(truth)
    print_report(by_layout)
    print(
        f"corpus: {summary['documents']} documents, {summary['cases']} cases, seed {args.seed}, derivatives per case "
        f"{summary['derivatives_per_case']}; timings {timings}; load {load['start']} -> {load['end']}"
    )
    if args.json:
        out = {
            "benchmark": BENCHMARK,
            "corpus": {"cases": args.cases, "seed": args.seed, "summary": summary},
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
