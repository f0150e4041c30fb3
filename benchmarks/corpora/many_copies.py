"""Many copies of one text in a plain folder: the generator (the scorer: ``benchmarks.scoring.many_copies``).

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
phrases do in news; and one long page (a digest, a live page: 1,000-4,000 words of other real text) per four
cases, holding a verbatim excerpt (30-60 % of the story) of each of 3-6 cases' sources.

Everything is written plain (``benchmarks.corpora.layouts``: no metadata, one flat folder, random names; ``wrapped``
also on request; ``meta`` for comparison: the same files with front matter giving each copier a site of its
own, a case's copies on distinct sites, the source dated first). ``truth.json`` gives per document its case,
role, category, words and ``share``: the share of its word 5-grams (lower-cased word tokens) found in its
case's source, measured on the generated text.

Generate a corpus alone with ``python -m benchmarks.scoring.many_copies --generate DIR [--cases 10] [--seed 0]
[--layout plain]``; the scorer's doc says what is measured on it.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.corpora.corpus import DATA
from benchmarks.corpora.layouts import flat_names, front_matter, lay_out, write_text
from benchmarks.corpora.wire import (
    NUMBER_RE,
    PAPER_A,
    PAPER_B,
    QUOTES_RE,
    WireGenerator,
    find_entities,
    word_count,
    word_grams,
    word_tokens,
)

__all__ = ["BENCHMARK", "CATEGORIES", "Corpus", "generate", "summarize"]

BENCHMARK = "many_copies"
TRUTH_NAME = "truth.json"
CATEGORIES = ("cut-paste", "light", "heavy")
COPIES = (3, 50)
INDEPENDENT = (1, 3)
FILLERS_PER_CASE = 2
DIGESTS_PER_CASE = 0.25  # long pages holding excerpts of several cases
DIGEST_CASES = (3, 6)
STOCK_LINES = 4


def _share(text: str, source: set[tuple[str, ...]]) -> float:
    g = word_grams(word_tokens(text))
    return len(g & source) / max(1, len(g))


def _merge(a: str, b: str) -> str:
    """Two sentences made one: ``a`` without its full stop, ``, and`` and ``b`` (its first letter lower-cased)."""
    a = a.rstrip()
    if a.endswith("."):
        a = a[:-1]
    if b[:1].isupper() and not b[1:2].isupper() and not b.startswith("I "):
        b = b[0].lower() + b[1:]
    return f"{a}, and {b}"


class Corpus:
    """Documents (dicts numbered ``n`` in order) made of real text: the wire generator's pool, rewording,
    grouping and sites, and a random stream of one seed."""

    def __init__(self, seed: int, data: Path):
        self.gen = WireGenerator(1, seed, data)
        self.rng = random.Random(seed)
        self.docs: list[dict] = []

    def _add(self, **fields: Any) -> dict:
        doc = {"n": len(self.docs), **fields}
        self.docs.append(doc)
        return doc


class _Cases(Corpus):
    """The documents of the corpus as (id, case, role, category, paragraphs) before they are laid out."""

    def __init__(self, cases: int, seed: int, data: Path):
        super().__init__(seed, data)
        self.n_cases = cases
        self.cases: list[dict] = []

    def _doc(self, case: int | None, role: str, category: str | None, paras: list[str]) -> dict:
        return self._add(case=case, role=role, category=category, paras=paras)

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
            if merged and rng.random() < 0.2 and word_count(merged[-1]) + word_count(s) < 60:
                merged[-1] = _merge(merged[-1], s)
            else:
                merged.append(s)
        own = self._own(round(sum(map(word_count, merged)) * rng.uniform(0.2, 0.5)))
        if stock and rng.random() < 0.3:
            own.append(rng.choice(stock))
        for s in own:
            merged.insert(rng.randint(1, len(merged)), s)
        return [self._headline()] + self._grouped(merged)

    def _independent(self, story: list[str], other: list[str], quote: str, ents: list[str]) -> list[str]:
        """Another real body on "the same event": the case's names and numbers, and its one quotation."""
        rng = self.rng
        for old, new in zip(find_entities(other), ents, strict=False):
            other = [re.sub(rf"\b{re.escape(old)}\b", new, s) for s in other]
        numbers = [m.group(0) for s in story for m in NUMBER_RE.finditer(s)]
        if numbers:
            cycle = iter(numbers * 50)
            other = [NUMBER_RE.sub(lambda m: next(cycle, m.group(0)), s) for s in other]
        keep, taken = rng.randint(200, 450), []
        for s in other:
            if sum(map(word_count, taken)) >= keep:
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
            if 8 <= word_count(s) <= 25:
                stock.append(s)
        lo, hi = COPIES
        for case, story in enumerate(stories):
            paras = self._sentence_groups(story)
            ents = find_entities(story)
            quoted = [s for s in story[1:] if QUOTES_RE.search(s) and 8 <= word_count(s) <= 40]
            quote = rng.choice(quoted or [s for s in story[1:] if word_count(s) >= 8] or story[-1:])
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
        self.digests: list[dict] = []
        for _ in range(max(1, round(DIGESTS_PER_CASE * self.n_cases))):
            self._digest(stories)

    def _digest(self, stories: list[list[str]]) -> None:
        """A long page (a digest, a live page) of other real text holding verbatim excerpts of 3-6 cases' stories."""
        rng = self.rng
        picked = sorted(rng.sample(range(len(stories)), min(len(stories), rng.randint(*DIGEST_CASES))))
        body = [self._headline()]
        for k in picked:
            body += self._grouped(self.gen.pool.sentences(rng.randint(250, 700)))
            story = stories[k]
            size = max(3, round(len(story) * rng.uniform(0.3, 0.6)))
            start = rng.randint(0, max(0, len(story) - size))
            body += self._grouped(story[start : start + size])
        body += self._grouped(self.gen.pool.sentences(rng.randint(250, 700)))
        n = self._doc(None, "digest", None, body)["n"]
        self.digests.append({"n": n, "cases": picked})

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
    c = _Cases(int(cases), int(seed), Path(data))
    c.run()
    out, rng, names = flat_names(out_dir, BENCHMARK, layout, f"many-copies-layout-{seed}", len(c.docs))
    src_grams = {case["case"]: word_grams(word_tokens("\n".join(c.docs[case["source"]]["paras"]))) for case in c.cases}
    heads = _front_matter(c, rng) if layout == "meta" else {}
    full_text = {d["n"]: "\n".join(d["paras"]) for d in c.docs}
    digest_grams = {g["n"]: word_grams(word_tokens(full_text[g["n"]])) for g in c.digests}
    in_digest = {g["n"]: g["cases"] for g in c.digests}
    documents = {}
    for d, name in zip(c.docs, names, strict=True):
        text, spans = lay_out(d["paras"], layout, rng, heads.get(d["n"], ""))
        write_text(out / name, text, layout)
        full = "\n".join(d["paras"])
        documents[name] = {
            "case": d["case"],
            "role": d["role"],
            "category": d["category"],
            "words": word_count(full),
            "share": round(_share(full, src_grams[d["case"]]), 4) if d["case"] is not None else None,
            **({"cases": in_digest[d["n"]]} if d["n"] in in_digest else {}),
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
        "digests": [
            {
                "name": names[g["n"]],
                "cases": g["cases"],
                "source_share": [
                    round(_share(full_text[c.cases[k]["source"]], digest_grams[g["n"]]), 4) for k in g["cases"]
                ],
            }
            for g in c.digests
        ],
        "stock_lines": c.stock,
    }
    (out / TRUTH_NAME).write_text(json.dumps(truth, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    return truth


def _front_matter(c: _Cases, rng: random.Random) -> dict[int, str]:
    """For the ``meta`` layout: per document a front matter with date, site and URL; a case's copies on distinct
    sites (as many sites as the largest case needs), the source first in time."""
    n_sites = COPIES[1] + INDEPENDENT[1] + 1
    sites = [f"{rng.choice(PAPER_A).lower()}{rng.choice(PAPER_B).lower()}{i}.example" for i in range(n_sites)]
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
        out[n] = front_matter(date.isoformat(), site, url)
    return out


# --------------------------------------------------------------------------- summary


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
