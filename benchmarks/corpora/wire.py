"""Deterministic development corpus of wire reuse: agency story families and the papers' rewrites.

Built from the real English article bodies of ``data/aeb/ground-truth.json`` (MIT licence, see
``data/aeb/LICENSE``), cut into sentences. Each *family* is one agency story:

- **versions** (2–6, site ``wire``, through one day): a first take (the first third to half of the story),
  then a fuller lead (lead reworded, more sentences), updates that add, drop, move and reword sentences
  and sometimes add a new development; one may be a correction that changes a figure or a name from then on.
  The first take is the family's ``source``, later ones are ``version``;
- **rewrites** (2–10, each by a paper site): one version, or two merged, with sentences deleted,
  reordered and reworded (a few words a sentence), the paper's own headline, lead and kicker written from
  *other* real text, sized to land in a chosen reuse-share bucket and length;
- **short** items (0–2, 60–200 words) that take a few consecutive sentences of a version (about half the item);
- one **same-event** story written independently: a different real body whose leading names are replaced by
  the family's, holding one quotation sentence of the family verbatim (it must not pair with the family);
- unrelated **filler** articles on the paper sites, so that each site's template (header, footer, promo
  lines, generated once per site and repeated verbatim on every page of it) surrounds many stories.

Text never recurs across families by accident: sentences of one body found in another body are dropped, each
story takes a body section of its own, and text used a second time (own leads, kickers, fillers once the
bodies run out) is *respun*: words swapped so that no five tokens in a row survive, so such text shares no
word 5-gram with anything else.

Files go to ``DIR/<site domain>/doc_<hex>.txt`` (the folder is the site), each with YAML front matter
(``date``, ``site``, ``url``): the ``meta`` layout. ``--layout plain`` / ``wrapped`` write the same documents
with no metadata, flat, under random names, ``wrapped`` hard-wrapped at 72 columns (see ``benchmarks.corpora.layouts``);
the truth then names the documents by those files. ``DIR/truth.json`` holds per document its family, role,
site, date, words (outside the site template), reuse share and paragraph kinds (``template``, ``story``, ``own``,
``headline``, ``quote``), per family its members, and the positive pairs.

**Reuse share**, with dedup's own tokenisation: the share of the document's
distinct word 5-gram hashes (``dedup.phase1.normalise.tokenise`` + ``dedup.phase1.shingle.shingle``, over the
text outside its site template) found in the union of its family's agency versions (``reuse``); ``reuse_best`` is the
largest share found in one version. Positive pairs: every rewrite and short with ``reuse >= 0.40`` with
the family source, and every two versions of a family.

Usage: ``python -m benchmarks.corpora.wire DIR --families 150 --seed 0 [--layout meta|plain|wrapped]``
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks.corpora.corpus import DATA, cap_sentence, load_bodies, split_sentences
from benchmarks.corpora.layouts import LAYOUTS, hex_name, lay_out, rename, write_text

__all__ = [
    "BENCHMARK",
    "LENGTH_BUCKETS",
    "REUSE_MIN",
    "ROLES",
    "SHARE_BUCKETS",
    "TRUTH_NAME",
    "generate",
    "length_bucket",
    "load_truth",
    "main",
    "share_bucket",
    "summarize",
]

BENCHMARK = "wire"
VERSION = 1
TRUTH_NAME = "truth.json"
ROLES = ("source", "version", "rewrite", "short", "same-event", "filler")
DERIVED = ("rewrite", "short")
KINDS = ("template", "story", "own", "headline", "quote")
REUSE_MIN = 0.40  # a derived document at or above this share must pair with its family
SHARE_BUCKETS = (("40-60%", 0.40, 0.60), ("60-80%", 0.60, 0.80), (">=80%", 0.80, 1.01))
LENGTH_BUCKETS = (("<150", 0, 150), ("150-400", 150, 401), (">400", 401, 1 << 30))
K = 5

UNIT_WORDS = (300, 750)  # a story (or same-event body) is a run of paragraphs of one body of about this size
MIN_UNIT_SENTENCES = 8
FILLERS_PER_FAMILY = 1.5
REWRITE_TARGETS = ((0.12, 0.20, 0.37), (0.30, 0.42, 0.58), (0.29, 0.62, 0.78), (0.29, 0.82, 0.97))  # p, lo, hi
SHORT_TARGET = (0.42, 0.66)
SHORT_WORDS = (60, 200)
WIRE = "wire"
WIRE_DOMAIN = "wire.example"

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")  # close to dedup's words; used only to steer generation
_ENTITY = re.compile(r"\b[A-Z][a-z]+(?:[-'’][A-Za-z]+)?(?:\s+[A-Z][a-z]+(?:[-'’][A-Za-z]+)?){0,2}")
NUMBER_RE = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})*(?:\.\d+)?(?![\w])")
QUOTES_RE = re.compile('["“”]')
_CORE = re.compile(r"^([^\w]*)([A-Za-z][a-z]+)([^\w]*)$")
_STOP = frozenset(
    """The A An In On At But And Or It He She They We I You This That These Those There Here His Her Their Our
    Its If When While As After Before For From With By To Of Not No So Then Now Also However What Who Why How
    Where Which Some Many Most All One Two Three More Last Next Mr Mrs Ms Dr Monday Tuesday Wednesday Thursday
    Friday Saturday Sunday January February March April May June July August September October November
    December Read Share Click Photo Image Getty Images""".split()  # noqa: SIM905
)
_SYNONYMS = {
    "said": "stated",
    "says": "states",
    "told": "informed",
    "big": "large",
    "large": "big",
    "people": "individuals",
    "company": "firm",
    "however": "but",
    "help": "assist",
    "show": "indicate",
    "shows": "indicates",
    "about": "around",
    "start": "begin",
    "began": "started",
    "many": "numerous",
    "also": "too",
    "added": "continued",
    "including": "among them",
    "because": "as",
    "more": "further",
    "major": "key",
    "new": "fresh",
    "announced": "unveiled",
    "according": "pointing",
    "expected": "set",
    "plans": "intends",
    "percent": "per cent",
    "officials": "authorities",
    "government": "administration",
    "week": "week's",
    "year": "twelve months",
    "would": "could",
    "will": "is to",
    "after": "following",
    "before": "prior to",
    "during": "amid",
    "while": "whereas",
    "several": "a number of",
    "important": "significant",
    "recently": "lately",
}
_CITIES = [
    "LONDON",
    "WASHINGTON",
    "PARIS",
    "BERLIN",
    "BRUSSELS",
    "TOKYO",
    "SYDNEY",
    "MADRID",
    "ROME",
    "DUBLIN",
    "TORONTO",
    "CHICAGO",
    "MANCHESTER",
    "EDINBURGH",
    "GENEVA",
    "FRANKFURT",
    "MUMBAI",
    "SINGAPORE",
    "NAIROBI",
] + ["NEW YORK", "LOS ANGELES", "HONG KONG"]  # noqa: SIM905
_FIRST = """Alex Sam Jordan Taylor Morgan Casey Riley Jamie Avery Quinn Rowan Elena Marco Priya Tomas Aisha Lena
Omar Nadia Felix Hana Diego Ingrid Kofi Mei Rafael Sofia Yusuf Clara Mateo Noor Viktor Amara Jonas Leila Hugo
Zara Anton Maya""".split()  # noqa: SIM905
_LAST = """Harper Bennett Okafor Lindqvist Moreau Castillo Novak Fischer Tanaka Adeyemi Rossi Kowalski Haddad Silva
Brennan Dubois Sato Mensah Varga Holm Petrov Ramos Keller Nakamura Osei Laurent Becker Cruz Farrow Quint Marsh
Ellery Vance Whitlock Ashby Draper Sutton Pryce Calloway Hale""".split()  # noqa: SIM905
PAPER_A = """Daily Morning Evening Northern Southern Western Eastern Coastal Valley Capital County Borough City Metro
Highland Lakeside Riverside Midland Harbour Island""".split()  # noqa: SIM905
PAPER_B = """Ledger Courier Dispatch Herald Chronicle Gazette Observer Tribune Post Sentinel Bulletin Register Review
Journal Times Examiner Echo Star Mercury Argus Advertiser Telegraph Mail Express Record""".split()  # noqa: SIM905
_SECTIONS = ("news", "world", "business", "uk-news", "politics", "money", "tech", "science", "health", "sport")
_MONTHS = "Jan Feb March April May June July Aug Sept Oct Nov Dec".split()  # noqa: SIM905
_HEAD_LINES = (
    "{name} | {tagline}",
    "{name} · {section_a} · {section_b} · {section_c} · Puzzles · Subscribe",
    "Menu ☰ {name} | Sign in | Register | Search {domain}",
    "Home › {name} › {section_a}",
    "{name} — {tagline}. Est. {year}",
)
_TAGLINES = (
    "news from {region} since {year}",
    "{region}'s independent voice",
    "the paper for {region}",
    "local news, sport and what's on in {region}",
    "award-winning journalism for {region}",
)
_FOOT_LINES = (
    "Subscribe to {name} from {price} a week and read every story on any device at {domain}/subscribe.",
    "Sign up to the {name} {letter} newsletter: the {region} stories you need, in your inbox every {day}.",
    "Got a story for {name}? Email our newsdesk at news@{domain} or message us on {app}.",
    "© {year2} {name} Media Ltd. All rights reserved. Registered in England no. {company}.",
    "About {name} | Contact us | Advertise with {name} | Privacy notice | Cookie settings | Terms",
    "{name} is a member of the Independent Press Standards Organisation (IPSO); complaints: {domain}/complaints.",
    "Download the {name} app for breaking {region} news alerts — free on iOS and Android.",
    "Comments are closed on this {name} article. Read our community guidelines at {domain}/community.",
)
_REGIONS = """Yorkshire Kent Lancashire Devon Norfolk Cumbria Essex Cheshire Dorset Sussex Surrey Somerset Suffolk
Cornwall Durham Fife Lothian Gwent Antrim Tayside""".split()  # noqa: SIM905
_LETTERS = ("Morning Briefing", "Evening Edition", "Daily Catch-up", "Weekend Read", "Breaking News")
_DAYS = ("morning", "evening", "weekday", "Saturday", "Sunday")
_APPS = ("WhatsApp", "Signal", "Facebook", "X", "Instagram")
_WIRE_HEAD = "WIRE NEWS SERVICE — general news for subscribers"
_WIRE_FOOT = (
    "© 2024 Wire News Service. All rights reserved. Republication or redistribution of Wire content, "
    "including by framing or similar means, is prohibited without prior written consent."
)


# --------------------------------------------------------------------------- text helpers


def word_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def word_grams(tokens: list[str]) -> set[tuple[str, ...]]:
    if len(tokens) < K:
        return {tuple(tokens)} if tokens else set()
    return set(zip(*(tokens[i:] for i in range(K)), strict=False))


def word_count(text: str) -> int:
    return len(text.split())


def length_bucket(words: int) -> str:
    """The length bucket of a document of ``words`` words (outside its site template)."""
    return next(name for name, lo, hi in LENGTH_BUCKETS if lo <= words < hi)


def share_bucket(share: float) -> str | None:
    """The reuse-share bucket, or None below 40 %."""
    return next((name for name, lo, hi in SHARE_BUCKETS if lo <= share < hi), None)


def find_entities(sentences: list[str], n: int = 3) -> list[str]:
    """The most frequent capitalised names of a text (not sentence-initial stop words), most frequent first."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for s in sentences:
        for m in _ENTITY.finditer(s):
            words = [w for w in m.group(0).split() if w not in _STOP]
            if not words:
                continue
            ent = " ".join(words)
            if len(ent) < 4:
                continue
            counts[ent] += 1 + (len(words) > 1)
            first_seen.setdefault(ent, len(first_seen))
    ranked = sorted(counts, key=lambda e: (-counts[e], first_seen[e]))
    out: list[str] = []
    for e in ranked:  # distinct names: skip one contained in a name already taken
        if not any(e in o or o in e for o in out):
            out.append(e)
        if len(out) == n:
            break
    return out


def _replace_word(word: str, new: str) -> str:
    """``word`` with its letters replaced by ``new``, keeping surrounding punctuation and capitalisation."""
    m = _CORE.match(word)
    if not m:
        return new
    if m.group(2)[0].isupper():
        new = new[0].upper() + new[1:]
    return m.group(1) + new + m.group(3)


# --------------------------------------------------------------------------- the text pool


class _Pool:
    """Real sentences: story sections for the families, then a stream of fresh text for everything else.

    A section or sentence is given out verbatim once; after that it is respun (no five tokens in a row kept).
    """

    def __init__(self, rng: random.Random, data: Path):
        self.rng = rng
        bodies = [b for b in load_bodies(str(data)) if b.lang == "en"]
        if not bodies:
            raise ValueError(f"{data}: no English article bodies")
        # Sentences whose 5-grams recur in another body (the benchmark holds some same-event articles).
        owners: dict[tuple[str, ...], set[str]] = defaultdict(set)
        paras = {}
        for b in bodies:
            paras[b.id] = [[s for sent in split_sentences(p) for s in cap_sentence(sent, False)] for p in b.paragraphs]
            for p in paras[b.id]:
                for s in p:
                    for g in word_grams(word_tokens(s)):
                        owners[g].add(b.id)
        units: list[list[str]] = []
        self.loose: list[str] = []
        vocab_lower: set[str] = set()
        vocab_upper: set[str] = set()
        seen: set[tuple[str, ...]] = set()
        for b in bodies:
            kept = []
            for p in paras[b.id]:
                p = [
                    s
                    for s in p
                    if sum(len(owners[g]) > 1 for g in word_grams(word_tokens(s))) < 2 and word_count(s) >= 3
                ]
                p = [s for s in p if len(word_grams(word_tokens(s)) & seen) < 2]  # text a body repeats: once
                for s in p:
                    seen.update(word_grams(word_tokens(s)))
                if p:
                    kept.append(p)
                for s in p:
                    for w in s.split():
                        m = _CORE.match(w)
                        if m and len(m.group(2)) >= 3:
                            (vocab_upper if m.group(2)[0].isupper() else vocab_lower).add(m.group(2))
            target = rng.randint(*UNIT_WORDS)
            cur: list[str] = []
            for p in kept:
                cur += p
                if sum(map(word_count, cur)) >= target:
                    if len(cur) >= MIN_UNIT_SENTENCES:
                        units.append(cur)
                    else:
                        self.loose.extend(cur)
                    cur, target = [], rng.randint(*UNIT_WORDS)
            if sum(map(word_count, cur)) >= 200 and len(cur) >= MIN_UNIT_SENTENCES:
                units.append(cur)
            else:
                self.loose.extend(cur)
        self.units = units
        self.vocab_lower = sorted(w for w in vocab_lower if w not in _STOP)
        self.vocab_upper = sorted(w for w in vocab_upper if w not in _STOP)
        order = list(range(len(units)))
        rng.shuffle(order)
        self.fresh_units = deque(order)  # not yet given out verbatim
        self.stream: deque[str] = deque()
        self.respins = 0

    def respin(self, sentences: list[str]) -> list[str]:
        """The sentences, in order, with words swapped so that no run of five of their tokens survives.

        The run is counted across sentence ends: a 5-gram may span two sentences of the body.
        """
        out, run = [], 0
        for sentence in sentences:
            words = []
            for w in sentence.split(" "):
                k = len(word_tokens(w))
                if k and (run + k > 4 or self.rng.random() < 0.12):
                    m = _CORE.match(w)
                    upper = m.group(2)[0].isupper() if m else w[:1].isupper()
                    pool = self.vocab_upper if upper and self.rng.random() < 0.7 else self.vocab_lower
                    new = self.rng.choice(pool)
                    if m and new.lower() == m.group(2).lower():
                        new = self.rng.choice(pool)
                    words.append(_replace_word(w, new if upper else new.lower()))
                    run = 0
                else:
                    words.append(w)
                    run += k
            out.append(" ".join(words))
        return out

    def unit(self) -> list[str]:
        """A story-sized section of one body: verbatim while any is left, then a respun one."""
        if self.fresh_units:
            return list(self.units[self.fresh_units.popleft()])
        self.respins += 1
        return self.respin(self.rng.choice(self.units))

    def sentences(self, words: int) -> list[str]:
        """Fresh sentences of at least ``words`` words (fewer only if ``words`` <= 0)."""
        out: list[str] = []
        while sum(map(word_count, out)) < words:
            if not self.stream:
                self._refill()
            out.append(self.stream.popleft())
        return out

    def give_back(self, sentences: list[str]) -> None:
        """Return unused fresh sentences to the front of the stream."""
        self.stream.extendleft(reversed(sentences))

    def _refill(self) -> None:
        if self.loose:
            self.stream.extend(self.loose)
            self.loose = []
        elif self.fresh_units:
            self.stream.extend(self.units[self.fresh_units.popleft()])
        else:
            self.respins += 1
            self.stream.extend(self.respin(self.rng.choice(self.units)))


# --------------------------------------------------------------------------- documents


@dataclass
class Site:
    name: str
    domain: str
    head: list[str]
    foot: list[str]
    weight: float
    byline: bool


@dataclass
class _Para:
    text: str
    kind: str  # template | story | own | headline | quote


@dataclass
class _Doc:
    id: str
    family: int | None
    role: str
    site: Site
    date: datetime
    url: str
    paras: list[_Para]
    info: dict = field(default_factory=dict)

    def render(self) -> tuple[str, list[dict]]:
        """File text (front matter, one paragraph a line, blank lines between) and paragraph spans."""
        head = (
            f"---\ndate: {self.date.isoformat()}\nsite: {self.site.domain}\nurl: {self.url}\n"
            f"title: {self.paras_text('headline')[:120]}\n---\n"
        )
        parts, spans, pos = [head], [], len(head)
        for i, p in enumerate(self.paras):
            if i:
                parts.append("\n\n")
                pos += 2
            parts.append(p.text)
            spans.append({"start": pos, "end": pos + len(p.text), "kind": p.kind})
            pos += len(p.text)
        parts.append("\n")
        return "".join(parts), spans

    def paras_text(self, kind: str) -> str:
        return " ".join(p.text for p in self.paras if p.kind == kind).replace("\n", " ")

    def article(self) -> str:
        """The text outside the site template: what reuse shares and word counts are measured on."""
        return "\n\n".join(p.text for p in self.paras if p.kind != "template")


@dataclass
class _Version:
    sentences: list[tuple[int, str]]  # (story sentence index, wording)
    note: str | None
    date: datetime
    doc: _Doc | None = None


class WireGenerator:
    def __init__(self, families: int, seed: int, data: Path):
        self.rng = random.Random(seed)
        self.seed = seed
        self.n_families = families
        self.pool = _Pool(self.rng, data)
        self.docs: list[_Doc] = []
        self.names: set[str] = set()
        self.families: list[dict] = []
        self.wire = Site(WIRE, WIRE_DOMAIN, [_WIRE_HEAD], [_WIRE_FOOT], 1.0, True)
        self.sites = self._sites(min(30, max(8, families // 6)))
        self.year0 = datetime(2024, 1, 1, tzinfo=UTC)

    # ---- helpers

    def _name(self) -> str:
        while True:
            name = f"doc_{self.rng.getrandbits(32):08x}.txt"
            if name not in self.names:
                self.names.add(name)
                return name

    def _person(self) -> str:
        return f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}"

    def _sites(self, n: int) -> list[Site]:
        rng, out, used = self.rng, [], set()
        while len(out) < n:
            a, b = rng.choice(PAPER_A), rng.choice(PAPER_B)
            region = rng.choice(_REGIONS)
            name = f"The {region} {b}" if rng.random() < 0.4 else f"{a} {b}"
            if name in used:
                continue
            used.add(name)
            domain = name.lower().replace("the ", "").replace(" ", "") + rng.choice(
                (".co.uk", ".co.uk", ".com", ".news")
            )
            fill = {
                "name": name,
                "domain": domain,
                "region": region,
                "year": rng.randint(1850, 2005),
                "year2": 2024,
                "price": rng.choice(("£1", "£1.50", "99p", "£2")),
                "letter": rng.choice(_LETTERS),
                "day": rng.choice(_DAYS),
                "app": rng.choice(_APPS),
                "company": rng.randint(100000, 9999999),
            }
            fill["tagline"] = rng.choice(_TAGLINES).format(**fill)
            secs = rng.sample(_SECTIONS, 3)
            fill.update(section_a=secs[0].title(), section_b=secs[1].title(), section_c=secs[2].title())
            templated = rng.random() < 0.7
            head = [t.format(**fill) for t in rng.sample(_HEAD_LINES, rng.randint(1, 2))] if templated else []
            foot = [t.format(**fill) for t in rng.sample(_FOOT_LINES, rng.randint(2, 3))] if templated else []
            out.append(Site(name, domain, head, foot, rng.uniform(0.3, 1.0), rng.random() < 0.5))
        return out

    def _pick_sites(self, n: int) -> list[Site]:
        keys = sorted(range(len(self.sites)), key=lambda i: -(self.rng.random() ** (1.0 / self.sites[i].weight)))
        return [self.sites[i] for i in keys[:n]]

    def _url(self, site: Site, headline: str) -> str:
        slug = "-".join(word_tokens(headline)[:8]) or "story"
        section = self.rng.choice(_SECTIONS)
        return f"https://{site.domain}/{section}/{slug}-{self.rng.randint(10**6, 10**7 - 1)}"

    def _headline_from(self, words: int = 8) -> str:
        s = self.pool.sentences(1)[0]
        ws = [w.strip(".,;:!?\"“”'’()") for w in s.split()[: self.rng.randint(5, words)]]
        return " ".join(w for w in ws if w) or "News"

    def _reword(self, sentence: str, n: int, rng: random.Random) -> str:
        """``n`` words of the sentence replaced: a synonym when one is known, else another word of the texts."""
        words = sentence.split(" ")
        slots = [i for i, w in enumerate(words) if (m := _CORE.match(w)) and len(m.group(2)) >= 3]
        rng.shuffle(slots)
        slots.sort(key=lambda i: _CORE.match(words[i]).group(2).lower() not in _SYNONYMS)  # synonyms first
        for i in slots[:n]:
            core = _CORE.match(words[i]).group(2)
            new = _SYNONYMS.get(core.lower()) or rng.choice(self.pool.vocab_lower)
            words[i] = _replace_word(words[i], new)
        return " ".join(words)

    def _group(self, sentences: list[str], kind: str, most: int) -> list[_Para]:
        out, i = [], 0
        while i < len(sentences):
            n = self.rng.randint(1, most)
            out.append(_Para(" ".join(sentences[i : i + n]), kind))
            i += n
        return out

    def _add(self, doc: _Doc) -> _Doc:
        self.docs.append(doc)
        return doc

    def _page(self, site: Site, body: list[_Para]) -> list[_Para]:
        return [_Para(t, "template") for t in site.head] + body + [_Para(t, "template") for t in site.foot]

    # ---- one family

    def _versions(self, fam: int, story: list[str], day: datetime) -> tuple[list[_Version], int, dict]:
        rng = self.rng
        n = len(story)
        k = rng.choice((2, 3, 3, 4, 4, 5, 6))
        m1 = max(3, min(n - 2, round(n * rng.uniform(0.3, 0.5))))
        ends = sorted(rng.sample(range(m1 + 1, n), min(k - 2, n - m1 - 1))) if k > 2 else []
        ends = [m1] + ends + [n]
        while len(ends) < k:  # very short stories: later versions add nothing new
            ends.insert(-1, ends[-2])
        quoted = [i for i in range(1, m1) if QUOTES_RE.search(story[i]) and 8 <= word_count(story[i]) <= 35]
        plain = [i for i in range(1, m1) if 8 <= word_count(story[i]) <= 35]
        quote = rng.choice(quoted or plain or [1])
        cur = dict(enumerate(story))
        present: list[int] = []
        dropped: set[int] = set()
        correction_at = rng.randrange(1, k) if k >= 3 and rng.random() < 0.6 else None
        versions: list[_Version] = []
        date = day + timedelta(hours=rng.randint(5, 13), minutes=rng.randint(0, 59))
        extra = n
        fixed = {0, quote}
        for v in range(k):
            note = None
            if v == 0:
                present = list(range(m1))
            else:
                date += timedelta(minutes=rng.randint(25, 180))
                present += [i for i in range(ends[v - 1], ends[v]) if i not in dropped]
                if rng.random() < 0.5:
                    cands = [i for i in present if i not in fixed]
                    if cands:
                        d = rng.choice(cands)
                        present.remove(d)
                        dropped.add(d)
                targets = [0] if v == 1 else rng.sample([i for i in present if i != quote], min(2, len(present) - 1))
                for i in targets:
                    cur[i] = self._reword(cur[i], rng.randint(1, 3), rng)
                if rng.random() < 0.3 and len(present) > 6:
                    j = rng.randrange(2, len(present))
                    present.insert(rng.randrange(1, len(present) - 1), present.pop(j))
                if rng.random() < 0.35:  # a new development
                    for s in self.pool.sentences(rng.randint(15, 40)):
                        cur[extra] = s
                        present.insert(rng.randrange(1, len(present) + 1), extra)
                        extra += 1
            if v == correction_at:
                note = self._correct(cur, present, fixed)
            versions.append(_Version([(i, cur[i]) for i in present], note, date))
        return versions, quote, cur

    def _correct(self, cur: dict[int, str], present: list[int], fixed: set[int]) -> str:
        """Change a figure (or else a name) in the current wording, from this version on; the correction note."""
        rng = self.rng
        order = [i for i in present if i not in fixed]
        rng.shuffle(order)
        for i in order:
            m = NUMBER_RE.search(cur[i])
            if m:
                old = m.group(0)
                digits = old.replace(",", "")
                val = float(digits) if "." in digits else int(digits)
                new_val = val + rng.choice((1, 2, 3, 5, 10)) if val < 1000 else val * rng.choice((2, 3)) // 2 + 1
                new = f"{new_val:,}" if "," in old else str(new_val)
                if "." in digits:
                    new = f"{val + rng.choice((0.1, 0.2, 0.5)):.{len(digits.split('.')[1])}f}"
                cur[i] = cur[i][: m.start()] + new + cur[i][m.end() :]
                return f"(Corrects figure in paragraph {present.index(i) + 2} to {new} from {old})"
        ents = find_entities([cur[i] for i in present if i not in fixed], 3)
        if ents:
            old = ents[0]
            parts = old.split()
            new = " ".join(parts[:-1] + [rng.choice([x for x in _LAST if x != parts[-1]])])
            for i in present:
                if i not in fixed:
                    cur[i] = re.sub(rf"\b{re.escape(old)}\b", new, cur[i])
            return f"(Corrects spelling of name to {new} from {old})"
        return "(Corrects paragraph 2)"

    def _agency_doc(self, fam: int, v: int, ver: _Version, headline: str, city: str, reporter: str) -> _Doc:
        rng = self.rng
        sents = [t for _, t in ver.sentences]
        d = ver.date
        dateline = f"{city}, {_MONTHS[d.month - 1]} {d.day} (Wire) - "
        body = [_Para(headline if v == 0 else f"UPDATE {v}-{headline}", "headline")]
        if ver.note:
            body.append(_Para(ver.note, "own"))
        body.append(_Para(f"By {reporter}", "own"))
        body.append(_Para(dateline + sents[0], "story"))
        body += self._group(sents[1:], "story", 2)
        body.append(_Para(f"(Reporting by {reporter}; Editing by {self._person()})", "own"))
        role = "source" if v == 0 else "version"
        url = f"https://{WIRE_DOMAIN}/article/{'-'.join(word_tokens(headline)[:6])}-idUS{rng.getrandbits(40):010X}"
        return self._add(
            _Doc(f"{WIRE_DOMAIN}/{self._name()}", fam, role, self.wire, d, url, self._page(self.wire, body))
        )

    def _derived(
        self,
        fam: int,
        role: str,
        site: Site,
        date: datetime,
        story: list[str],
        target: float,
        own_max: float,
        ents: list[str],
        sources: set[tuple[str, ...]],
        words_range: tuple[int, int] | None = None,
    ) -> _Doc:
        """A paper's item from story sentences: own headline, lead and kicker, rewording, tuned to ``target`` share."""
        rng = random.Random(self.rng.getrandbits(64))
        story_words = sum(map(word_count, story))
        own_cap = int(own_max * story_words) + 20
        if words_range:
            own_cap = min(own_cap, max(0, words_range[1] - story_words - 22))
        own = self.pool.sentences(own_cap)
        own_words = " ".join(own).split()
        head = self._headline_from()
        if ents and rng.random() < 0.6:
            head = f"{rng.choice(ents)}: {head}"
        byline = f"By {self._person()} | {date.day} {_MONTHS[date.month - 1]} 2024" if site.byline else None
        order = list(range(len(story)))
        rng.shuffle(order)
        variants = {i: self._reword(story[i], rng.randint(1, 3), rng) for i in order}
        mid = rng.random() < 0.3 and len(story) >= 4
        split_lead = rng.uniform(0.4, 0.7)
        grouping = [rng.randint(1, 3) for _ in story]

        def build(x: float) -> tuple[list[_Para], int]:
            n_rew = round(min(1.0, 0.9 * x) * len(story)) if role == "rewrite" else 0
            reworded = set(order[:n_rew])
            sents = [variants[i] if i in reworded else s for i, s in enumerate(story)]
            n_own = min(len(own_words), round(x * own_cap))
            if words_range:
                n_own = max(n_own, min(len(own_words), words_range[0] + 2 - story_words - word_count(head)))
            lead_n = round(n_own * split_lead)
            mid_n = round((n_own - lead_n) * 0.4) if mid else 0
            lead, midw, kick = own_words[:lead_n], own_words[lead_n : lead_n + mid_n], own_words[lead_n + mid_n : n_own]
            paras = [_Para(head, "headline")]
            if byline:
                paras.append(_Para(byline, "own"))
            if lead:
                paras.append(_Para(_sentence_of(lead), "own"))
            story_paras, i = [], 0
            for g in grouping:
                if i >= len(sents):
                    break
                story_paras.append(_Para(" ".join(sents[i : i + g]), "story"))
                i += g
            if midw:
                story_paras.insert(max(1, len(story_paras) // 2), _Para(_sentence_of(midw), "own"))
            paras += story_paras
            if kick:
                paras.append(_Para(_sentence_of(kick), "own"))
            return paras, n_own

        def share(paras: list[_Para]) -> float:
            g = word_grams(word_tokens("\n\n".join(p.text for p in paras)))
            return len(g & sources) / max(1, len(g))

        lo, hi = 0.0, 1.0
        best, used = build(0.0)
        if share(best) > target:
            for _ in range(9):
                x = (lo + hi) / 2
                best, used = build(x)
                r = share(best)
                if abs(r - target) < 0.01:
                    break
                if r > target:
                    lo = x
                else:
                    hi = x
        spent = 0
        for j, s in enumerate(own):  # give back the sentences no paragraph used
            if spent >= used:
                self.pool.give_back(own[j:])
                break
            spent += word_count(s)
        return self._add(
            _Doc(f"{site.domain}/{self._name()}", fam, role, site, date, self._url(site, head), self._page(site, best))
        )

    def _family(self, fam: int, story: list[str], other: list[str]) -> None:
        rng = self.rng
        day = self.year0 + timedelta(days=rng.randrange(366))
        versions, quote_idx, _ = self._versions(fam, story, day)
        city = rng.choice(_CITIES)
        reporter = self._person()
        ents = find_entities(story)
        headline = " ".join(w.strip(".,;:!?\"“”'’()") for w in story[0].split()[: rng.randint(6, 9)])
        for v, ver in enumerate(versions):
            ver.doc = self._agency_doc(fam, v, ver, headline, city, reporter)
        sources = set().union(*(word_grams(word_tokens(ver.doc.article())) for ver in versions))
        members = {"source": versions[0].doc.id, "versions": [ver.doc.id for ver in versions]}
        members.update(rewrites=[], shorts=[], same_event=[])

        # Rewrites: one version or two merged, sentences dropped and moved, rewording and own text to a target.
        n_rewrites = rng.randint(2, 10)
        ps, bounds = [t[0] for t in REWRITE_TARGETS], [t[1:] for t in REWRITE_TARGETS]
        for site in self._pick_sites(n_rewrites):
            w = [1 + v for v in range(len(versions))]
            if len(versions) >= 2 and rng.random() < 0.25:
                a, b = sorted(rng.sample(range(len(versions)), 2))
                based = [a, b]
                seen = dict(versions[b].sentences)
                seen.update(dict(versions[a].sentences))  # the earlier version's wording where both have it
                order = [i for i, _ in versions[b].sentences]
                order += [i for i, _ in versions[a].sentences if i not in set(order)]
                sents = [(i, seen[i]) for i in sorted(order, key=lambda i: (i >= len(story), i))]
            else:
                based = [rng.choices(range(len(versions)), w)[0]]
                sents = list(versions[based[0]].sentences)
            size = rng.random()
            total = sum(word_count(t) for _, t in sents)
            if size < 0.25:  # a brief: the first sentences only
                keep_words, kept, acc = rng.randint(60, 120), [], 0
                for item in sents:
                    if acc >= keep_words:
                        break
                    kept.append(item)
                    acc += word_count(item[1])
            else:
                share_kept = rng.uniform(0.4, 0.75) if size < 0.6 else rng.uniform(0.75, 1.0)
                kept = [sents[0]] + [s for s in sents[1:] if rng.random() < share_kept]
                if total * share_kept < 60:
                    kept = sents
            if len(kept) > 3 and rng.random() < 0.6:  # reorder: move one or two sentences
                for _ in range(rng.randint(1, 2)):
                    j = rng.randrange(1, len(kept))
                    kept.insert(rng.randrange(1, len(kept)), kept.pop(j))
            if rng.random() < 0.15 and len(kept) > 2:  # the lead not first
                kept.insert(1, kept.pop(0))
            p = rng.choices(range(len(ps)), ps)[0]
            target = rng.uniform(*bounds[p])
            date = max(versions[i].date for i in based) + timedelta(minutes=rng.randint(20, 20 * 60))
            doc = self._derived(fam, "rewrite", site, date, [t for _, t in kept], target, 2.2, ents, sources)
            doc.info = {"based_on": [versions[i].doc.id for i in based], "target": round(target, 3)}
            members["rewrites"].append(doc.id)

        # Short items: a few consecutive sentences of a version, about as much own text.
        for site in self._pick_sites(rng.choice((0, 1, 1, 2))):
            vi = rng.randrange(len(versions))
            sents = [t for _, t in versions[vi].sentences]
            want, taken = rng.randint(35, 95), []
            tail = np.cumsum([word_count(t) for t in reversed(sents)])[::-1]  # words from each sentence on
            latest = max([i for i in range(len(sents)) if tail[i] >= want] or [0])
            start = 0 if rng.random() < 0.6 else rng.randint(0, latest)
            for t in sents[start:]:
                if sum(map(word_count, taken)) >= want or sum(map(word_count, taken)) + word_count(t) > 150:
                    break
                taken.append(t)
            if not taken:
                taken = [sents[0]]
            target = rng.uniform(*SHORT_TARGET)
            date = versions[vi].date + timedelta(minutes=rng.randint(10, 8 * 60))
            doc = self._derived(fam, "short", site, date, taken, target, 1.6, ents, sources, SHORT_WORDS)
            doc.info = {"based_on": [versions[vi].doc.id], "target": round(target, 3)}
            members["shorts"].append(doc.id)

        # The same event written independently: another body, the family's names, one of its quotations.
        theirs = find_entities(other)
        for old, new in zip(theirs, ents, strict=False):
            other = [re.sub(rf"\b{re.escape(old)}\b", new, s) for s in other]
        quote = dict(versions[0].sentences)[quote_idx]
        keep_words, taken = rng.randint(200, 500), []
        for s in other:  # long enough that the quotation (and the names) stay well under the pairing shares
            if sum(map(word_count, taken)) >= keep_words and _share(taken + [quote], sources) < 0.1:
                break
            taken.append(s)
        paras = self._group(taken, "own", 3)
        paras.insert(rng.randint(1, min(3, len(paras))), _Para(quote, "quote"))
        site = self._pick_sites(1)[0]
        head = f"{ents[0]}: {self._headline_from()}" if ents else self._headline_from()
        date = versions[0].date + timedelta(minutes=rng.randint(-300, 600))
        body = [_Para(head, "headline")] + paras
        doc = self._add(
            _Doc(
                f"{site.domain}/{self._name()}",
                fam,
                "same-event",
                site,
                date,
                self._url(site, head),
                self._page(site, body),
            )
        )
        doc.info = {"quote": quote, "names": ents}
        members["same_event"].append(doc.id)
        self.families.append({"id": fam, "names": ents, "city": city, "quote": quote, **members})

    def _filler(self) -> None:
        rng = self.rng
        site = self._pick_sites(1)[0]
        sents = self.pool.sentences(rng.randint(120, 600))
        head = self._headline_from()
        date = self.year0 + timedelta(days=rng.randrange(366), minutes=rng.randrange(24 * 60))
        body = [_Para(head, "headline")] + self._group(sents, "own", 3)
        self._add(
            _Doc(
                f"{site.domain}/{self._name()}",
                None,
                "filler",
                site,
                date,
                self._url(site, head),
                self._page(site, body),
            )
        )

    def run(self) -> None:
        # Real text goes to the stories first, then to the same-event bodies; the rest is respun.
        stories = [self.pool.unit() for _ in range(self.n_families)]
        others = [self.pool.unit() for _ in range(self.n_families)]
        for fam in range(self.n_families):
            self._family(fam, stories[fam], others[fam])
        for _ in range(round(FILLERS_PER_FAMILY * self.n_families)):
            self._filler()


def _share(sentences: list[str], sources: set[tuple[str, ...]]) -> float:
    g = word_grams(word_tokens("\n\n".join(sentences)))
    return len(g & sources) / max(1, len(g))


def _sentence_of(words: list[str]) -> str:
    """Words cut from running text as one paragraph, closed with a full stop when it ends mid-sentence."""
    text = " ".join(words).strip()
    if text and text[-1] not in '.!?"”’)':
        text = text.rstrip(",;:—-– ") + "."
    return text


# --------------------------------------------------------------------------- truth


def _shingle_sets(texts: list[str]) -> list[np.ndarray]:
    """Distinct word 5-gram hashes of each text, with dedup's own tokenisation and shingling."""
    from dedup.phase1.normalise import tokenise
    from dedup.phase1.shingle import shingle

    sh = shingle(tokenise(texts), K)
    return [np.unique(sh.hashes[sh.doc(i)]) for i in range(len(texts))]


def _truth(gen: WireGenerator, texts: dict[str, str], spans: dict[str, list[dict]]) -> dict:
    docs = gen.docs
    sets = _shingle_sets([d.article() for d in docs])
    index = {d.id: i for i, d in enumerate(docs)}
    documents: dict[str, dict] = {}
    positives: list[dict] = []
    version_pairs: list[dict] = []
    for fam in gen.families:
        vsets = [sets[index[v]] for v in fam["versions"]]
        union = np.unique(np.concatenate(vsets))
        fam_docs = fam["versions"] + fam["rewrites"] + fam["shorts"] + fam["same_event"]
        for name in fam_docs:
            s = sets[index[name]]
            n = max(1, len(s))
            per_version = [float(np.isin(s, v).sum() / n) for v in vsets]
            doc = docs[index[name]]
            if doc.role in ("source", "version"):
                reuse = float(np.isin(s, vsets[0]).sum() / n)  # versions: against the first take
            else:
                reuse = float(np.isin(s, union).sum() / n)
            best = int(np.argmax(per_version))
            doc.info.update(
                reuse=round(reuse, 4), reuse_best=round(per_version[best], 4), best_version=fam["versions"][best]
            )
            if doc.role in DERIVED and reuse >= REUSE_MIN:
                positives.append({"a": name, "b": fam["source"], "reuse": round(reuse, 4)})
        vs = fam["versions"]
        version_pairs += [{"a": vs[i], "b": vs[j]} for i in range(len(vs)) for j in range(i + 1, len(vs))]
    for d in docs:
        page_words = word_count(" ".join(p.text for p in d.paras))
        documents[d.id] = {
            "family": d.family,
            "role": d.role,
            "site": d.site.domain,
            "date": d.date.isoformat(),
            "words": word_count(d.article()),
            "page_words": page_words,
            "shingles": int(len(sets[index[d.id]])),
            **d.info,
            "paragraphs": spans[d.id],
        }
    return {
        "benchmark": BENCHMARK,
        "version": VERSION,
        "seed": gen.seed,
        "families_asked": gen.n_families,
        "reuse_min": REUSE_MIN,
        "documents": dict(sorted(documents.items())),
        "families": gen.families,
        "positives": sorted(positives, key=lambda p: p["a"]),
        "version_pairs": version_pairs,
        "sites": {s.domain: {"name": s.name, "templated": bool(s.head or s.foot)} for s in [gen.wire, *gen.sites]},
    }


def _cross_family(gen: WireGenerator, sets: list[np.ndarray]) -> int:
    """Largest number of word 5-grams outside the templates that one document shares with another family's."""
    fam = np.array([-1 - i if d.family is None else d.family for i, d in enumerate(gen.docs)], dtype=np.int64)
    hashes = np.concatenate(sets)
    owner = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    order = np.lexsort((fam[owner], hashes))
    h, f = hashes[order], fam[owner][order]
    new_hash = np.r_[True, h[1:] != h[:-1]]
    group = np.cumsum(new_hash) - 1
    n_fams = np.bincount(group, weights=np.r_[True, (h[1:] != h[:-1]) | (f[1:] != f[:-1])])
    shared = n_fams[group] > 1
    counts = np.bincount(owner[order][shared], minlength=len(sets))
    return int(counts.max()) if len(counts) else 0


# --------------------------------------------------------------------------- entry points


def _prepare(out: Path) -> None:
    """Make ``out`` ready: create it, or clear an earlier wire corpus; refuse a folder holding anything else."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    entries = list(out.iterdir())
    if not entries:
        return
    truth = out / TRUTH_NAME
    try:
        earlier = json.loads(truth.read_text(encoding="utf-8")).get("benchmark") == BENCHMARK
    except (OSError, ValueError, AttributeError):
        earlier = False
    if not earlier:
        raise FileExistsError(f"{out}: not empty and not an earlier wire corpus; refusing to write into it")
    for p in entries:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def generate(
    out_dir: str | Path, families: int = 150, seed: int = 0, *, data: str | Path = DATA, layout: str = "meta"
) -> dict:
    """Write a wire corpus of ``families`` story families to ``out_dir`` and return its truth (see module doc).

    One seed gives the same documents in every ``layout``; only how they are written differs.
    """
    if families < 1:
        raise ValueError("families must be at least 1")
    if layout not in LAYOUTS:
        raise ValueError(f"no such layout {layout!r}: choose from {', '.join(LAYOUTS)}")
    gen = WireGenerator(int(families), int(seed), Path(data))
    gen.run()
    texts, spans = {}, {}
    for d in gen.docs:
        texts[d.id], spans[d.id] = d.render()
    truth = _truth(gen, texts, spans)
    truth["cross_family_max_shared_shingles"] = _cross_family(gen, _shingle_sets([d.article() for d in gen.docs]))
    truth["respun_sections"] = gen.pool.respins
    if layout != "meta":
        texts, truth = _plain(gen, truth, layout)
    truth["layout"] = layout
    out = Path(out_dir)
    _prepare(out)
    for name in sorted(texts):
        write_text(out / name, texts[name], layout)
    with open(out / TRUTH_NAME, "w", encoding="utf-8", newline="\n") as f:
        f.write(_dump(truth))
    return truth


def _plain(gen: WireGenerator, truth: dict, layout: str) -> tuple[dict[str, str], dict]:
    """The documents written plain or wrapped, and the truth renamed to their files, spans to their text."""
    rng = random.Random(f"wire-layout-{gen.seed}")  # not the generator's: the documents stay the same
    used: set[str] = set()
    names = {d.id: hex_name(rng, used) for d in gen.docs}
    texts: dict[str, str] = {}
    truth = rename(truth, names)
    for d in gen.docs:
        name = names[d.id]
        texts[name], spans = lay_out([p.text for p in d.paras], layout, rng)
        truth["documents"][name]["paragraphs"] = [
            {"start": a, "end": b, "kind": p.kind} for (a, b), p in zip(spans, d.paras, strict=True)
        ]
    truth["documents"] = dict(sorted(truth["documents"].items()))
    return texts, truth


def _dump(truth: dict) -> str:
    """truth.json with one document, family or pair a line: readable and diff-friendly."""

    def dumps(x: object) -> str:
        return json.dumps(x, ensure_ascii=False, separators=(",", ":"))

    lists = ("documents", "families", "positives", "version_pairs")
    head = {k: v for k, v in truth.items() if k not in lists}
    parts = [dumps(head)[:-1]]
    parts.append(',\n"documents":{\n' + ",\n".join(f"{dumps(k)}:{dumps(v)}" for k, v in truth["documents"].items()))
    for key in lists[1:]:
        parts.append(f'}},\n"{key}":[\n' if key == "families" else f'],\n"{key}":[\n')
        parts.append(",\n".join(dumps(x) for x in truth[key]))
    parts.append("]}\n")
    return "".join(parts)


def load_truth(folder: str | Path) -> dict:
    """The truth of a generated wire corpus; ValueError with a one-line reason if it is not one."""
    path = Path(folder) / TRUTH_NAME
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"{path}: {e.strerror or e}") from None
    except ValueError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(truth, dict) or truth.get("benchmark") != BENCHMARK:
        raise ValueError(f"{path}: not the truth of a wire corpus")
    return truth


def summarize(truth: dict) -> dict:
    """Counts describing a wire corpus: documents by role, sites, reuse and length buckets of derived items."""
    docs = truth["documents"].values()
    derived = [d for d in docs if d["role"] in DERIVED]
    shares = Counter(share_bucket(d["reuse"]) or "<40%" for d in derived)
    lengths = Counter(length_bucket(d["words"]) for d in derived if d["reuse"] >= REUSE_MIN)
    same = [d["reuse"] for d in docs if d["role"] == "same-event"]
    shorts = [d["words"] for d in docs if d["role"] == "short"]
    return {
        "documents": len(truth["documents"]),
        "families": len(truth["families"]),
        "roles": dict(sorted(Counter(d["role"] for d in docs).items())),
        "sites": len(truth["sites"]),
        "templated_sites": sum(s["templated"] for s in truth["sites"].values()),
        "positives": len(truth["positives"]),
        "version_pairs": len(truth["version_pairs"]),
        "derived_by_share": {k: shares[k] for k in ("<40%", *(b[0] for b in SHARE_BUCKETS))},
        "positives_by_length": {b[0]: lengths[b[0]] for b in LENGTH_BUCKETS},
        "short_words": [min(shorts), max(shorts)] if shorts else None,
        "same_event_reuse_max": max(same) if same else None,
        "cross_family_max_shared_shingles": truth.get("cross_family_max_shared_shingles"),
        "respun_sections": truth.get("respun_sections"),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.corpora.wire", description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir", type=Path, help="where to write <site>/doc_*.txt and truth.json (empty or earlier)")
    p.add_argument("--families", type=int, default=150, help="agency story families (default 150)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--layout", choices=LAYOUTS, default="meta", help="how files are written (default meta)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        truth = generate(args.out_dir, args.families, args.seed, layout=args.layout)
    except (FileExistsError, ValueError) as e:
        print(f"wire: error: {json.dumps(str(e), ensure_ascii=True)[1:-1]}", file=sys.stderr)
        return 2
    info = summarize(truth)
    info["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
