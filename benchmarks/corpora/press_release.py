"""Press releases run by several sites, inside the sites' templates, in a plain folder: the generator.

Each *release* is a section of a real article body of ``data/aeb/`` (MIT licence, verbatim) issued by a
company: every release of one issuer ends with the issuer's "About" paragraph and media-contact line (real
text, the same on each of its releases, as in real releases). A release is run by 3–10 sites, each copy
trimmed or extended the way sites do: the site's own headline, sometimes its own lead, quotes added
(``"…," said …``), the last paragraphs cut, rarely the first one. Each site has a template (header and
navigation lines, footer, from ``benchmarks.corpora.wire``'s site generator) on every page, and a "related stories"
block of 3–5 of the site's recent headlines (so those lines recur on some of its pages, not all); beside the
releases each site runs other articles (other real text) in the same template, so the template recurs around
unrelated texts as real chrome does.

Written plain by default (``benchmarks.corpora.layouts``; ``wrapped`` and ``meta``, with front matter naming the site,
for comparison). ``truth.json``: per document its release (or none), site, issuer, role (``copy``, ``article``)
and paragraph kinds (``template``, ``related``, ``release``, ``about``, ``own``, ``headline``); per release its
copies; ``positives``: every two copies of a release that share at least 40 % of the smaller one's word
5-grams (lower-cased word tokens of the text outside the template and related block, measured on the
generated text).

The scorer is ``benchmarks.scoring.press_release``; a corpus alone: ``python -m benchmarks.scoring.press_release
--generate DIR [--releases 30] [--seed 0] [--layout plain]``.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.corpora.corpus import DATA
from benchmarks.corpora.layouts import flat_names, front_matter, lay_out, write_text
from benchmarks.corpora.many_copies import Corpus
from benchmarks.corpora.wire import Site, word_count, word_grams, word_tokens

__all__ = ["BENCHMARK", "SHARE_MIN", "generate", "summarize"]

BENCHMARK = "press_release"
TRUTH_NAME = "truth.json"
SHARE_MIN = 0.40
RUNS = (3, 10)
RELEASES_PER_ISSUER = 3
ARTICLES_PER_RELEASE = 4
RELATED_POOL = 10
_RELATED_HEADS = ("Related stories", "More from {name}", "Most read", "You may also like", "Trending now")
_TITLES = ("chief executive", "chief financial officer", "managing director", "head of research", "spokesperson")


class _Releases(Corpus):
    def __init__(self, releases: int, seed: int, data: Path):
        super().__init__(seed, data)
        self.n = releases
        self.releases: list[dict] = []
        self.sites = self._sites(min(40, max(RUNS[1] + 2, releases // 2)))

    def _sites(self, n: int) -> list[Site]:
        """Templated sites only (wire's generator leaves some bare), with a pool of related-story headlines."""
        out: list[Site] = []
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

    def _page(self, site: Site, body: list[tuple[str, str]]) -> list[tuple[str, str]]:
        rng = self.rng
        related = [(site.related_head, "related")]  # type: ignore[attr-defined]
        related += [(h, "related") for h in rng.sample(site.related, rng.randint(3, 5))]  # type: ignore[attr-defined]
        head = [(t, "template") for t in site.head]
        return head + body + related + [(t, "template") for t in site.foot]

    def _doc(self, release: int | None, issuer: int | None, role: str, site: Site, paras: list) -> int:
        return self._add(release=release, issuer=issuer, role=role, site=site, paras=paras)["n"]

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


def _front(site: Site, rng: random.Random) -> str:
    date = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(366), minutes=rng.randrange(1440))
    return front_matter(date.isoformat(), site.domain, f"https://{site.domain}/news/{rng.getrandbits(40):010x}")


def generate(out_dir: str | Path, releases: int = 30, seed: int = 0, *, layout: str = "plain", data: Path = DATA):
    """Write a press-release corpus to ``out_dir`` (empty, or an earlier one) and return its truth."""
    if releases < 1:
        raise ValueError("releases must be at least 1")
    g = _Releases(int(releases), int(seed), Path(data))
    g.run()
    out, rng, names = flat_names(out_dir, BENCHMARK, layout, f"press-release-layout-{seed}", len(g.docs))
    documents = {}
    grams = []
    for d, name in zip(g.docs, names, strict=True):
        head = _front(d["site"], rng) if layout == "meta" else ""
        text, spans = lay_out([t for t, _ in d["paras"]], layout, rng, head)
        write_text(out / name, text, layout)
        article = "\n".join(t for t, k in d["paras"] if k not in ("template", "related"))
        grams.append(word_grams(word_tokens(article)))
        documents[name] = {
            "release": d["release"],
            "issuer": d["issuer"],
            "role": d["role"],
            "site": d["site"].domain,
            "words": word_count(article),
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


# --------------------------------------------------------------------------- summary


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
