"""Deterministic generator of labelled syndication corpora for the accuracy benchmark.

Originals are real article bodies from the Article Extraction Benchmark
(``data/aeb/ground-truth.json``, MIT licence), each used once as it is. When
a corpus needs more originals than there are bodies, new ones are assembled
from sentences of a body and topically close bodies of its language (drawn
from per-body shuffled streams, capped per donor) with words swapped for
words of the donors so that no five tokens in a row survive: a sentence then
recurs in no other document verbatim, and two originals share at most short
phrases, never a passage. These recombined originals read as word salad on
the same topic; for a shingle-based detector they are distinct articles.

Each original with copies is republished by fictitious *sites*. A site has a
template generated once (header lines, footer, legal disclaimer, promos,
newsletter prompt, formatting habits) that recurs verbatim on every one of
its reposts; each repost adds its own headline, byline, share counts, intro,
related links and comments (in short phrases around words of the article, so
they do not recur across articles), and edits the copied body the way republishers
do (leading paragraphs dropped, a paragraph removed or moved, two merged,
lines re-wrapped, quotes and spaces changed, a few words edited, truncation
ending in a "Continue reading" line).

Everything comes from ``random.Random(seed)`` (and numpy for the topical
neighbours), so one seed gives byte-identical files and truth.

Layouts: the files carry no metadata (no front matter, one flat folder, names that say nothing
of site or role), so the default layout is ``plain``. ``--layout meta`` writes the same texts under a
front matter giving each document's date, site (a copy's site; for an original, its publisher) and URL;
``--layout wrapped`` hard-wraps every line longer than 72 columns at spaces, with CRLF line ends, in
Windows-1252 where the text fits it (else UTF-8); unspaced scripts keep their long lines. The truth's
offsets follow: a paragraph (a line before wrapping) spans all its wrapped lines.

Usage: ``python -m benchmarks.corpora.corpus OUT_DIR --docs N --seed S [--layout plain|meta|wrapped]``
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from benchmarks.corpora.layouts import LAYOUTS, front_matter, read_written

__all__ = [
    "LABELS",
    "TRUTH_NAME",
    "check_corpus",
    "generate",
    "is_generated_name",
    "main",
    "paragraph_spans",
    "read_text",
    "summarize",
]

DATA = Path(__file__).resolve().parents[1] / "data" / "aeb" / "ground-truth.json"
TRUTH_NAME = "truth.json"
LABELS = ("syndicated", "wrapper", "boilerplate", "original")
VERSION = 1

COPY_SHARE = 0.35  # share of documents that are copies
CRLF_SHARE = 0.04  # share of documents written with \r\n line ends
MIN_WORDS = 80  # shorter bodies are not used as originals
MIN_CJK_CHARS = 250  # ... or, for unspaced scripts, fewer characters than this
MAX_SENTENCE_WORDS = 45  # longer sentences are cut into pieces before reuse
DONOR_SHARE = 0.3  # a recombined original takes at most this share of a body's sentences ...
RECOMBINED_SHARE = 0.35  # ... and at most this share of its own words from one body
RESPIN_RUN = 4  # recombined originals keep at most this many consecutive tokens of a body ...
RESPIN_RATE = 0.1  # ... and swap about this share of the other content words too
FRESH_TRIES = 8  # candidates for a per-repost line before the last one is taken anyway
FRESH_SHARED = 0.2  # share of a line's words allowed in 5-grams already used about two other articles
BOILERPLATE_MIN_REPOSTS = 3
COPIES_PER_SOURCE = ((1, 0.45), (2, 0.25), (3, 0.15), (4, 0.08), (5, 0.05), (6, 0.02))

_DOC_NAME = re.compile(r"doc_[0-9a-f]{8}\.txt")
_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # what str.splitlines() splits on
# Trimmed from paragraph ends: whitespace as str.strip() knows it, and invisible format characters.
_EDGE = "".join(chr(i) for i in range(0x3001) if chr(i).isspace()) + "\u200b\u200c\u200d\u2060\ufeff\xad"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff66-\uff9f]")
_SENT_END = re.compile(r"[.!?…]+[\"”’»)\]]*\s+|[。！？]+[」』）)]*")
_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
_LONG_WORD = re.compile(r"\b[a-zà-ÿа-яё]{6,}\b")  # keyword candidates (Latin and Cyrillic words)
_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")
_ENTITY = re.compile(
    r"\b[A-ZА-ЯЁ][\w’'&.-]*[\w](?:\s+(?:of\s+|de\s+|the\s+)?[A-ZА-ЯЁ][\w’'&.-]*[\w]){0,2}",
)
_QUOTE_TO_STRAIGHT = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})


# --------------------------------------------------------------------------- text helpers


def read_text(path: Path) -> str:
    """A document's text exactly as the truth offsets index it."""
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every non-blank line of ``text``, trimmed of surrounding whitespace.

    Lines are what ``str.splitlines()`` separates; the generator never writes
    any line break but ``\\n`` and ``\\r\\n``, so splitting on ``\\n`` agrees.
    """
    spans = []
    pos = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            spans.append((pos + lead, pos + lead + len(stripped)))
        pos += len(line) + 1
    return spans


def is_generated_name(name: str) -> bool:
    """True for the file names this generator writes."""
    return name == TRUTH_NAME or _DOC_NAME.fullmatch(name) is not None


def _clean(text: str) -> str:
    """One paragraph: no line breaks inside, no whitespace or invisible characters at the ends."""
    return _BREAKS.sub(" ", text).strip(_EDGE)


def _is_cjk(text: str) -> bool:
    letters = len(_LETTER.findall(text))
    return letters > 0 and len(_CJK.findall(text)) > 0.3 * letters


def _size(text: str) -> int:
    """Rough word count that also works for unspaced scripts (two characters a word)."""
    cjk = len(_CJK.findall(text))
    return len(text.split()) + cjk // 2


def _norm_tokens(text: str) -> list[str]:
    return text.replace("\xa0", " ").translate(_QUOTE_TO_STRAIGHT).split()


def split_sentences(paragraph: str) -> list[str]:
    out, pos = [], 0
    for m in _SENT_END.finditer(paragraph):
        piece = _clean(paragraph[pos : m.end()])
        if piece:
            out.append(piece)
        pos = m.end()
    tail = _clean(paragraph[pos:])
    if tail:
        out.append(tail)
    return out


def cap_sentence(sentence: str, cjk: bool) -> list[str]:
    """Cut a very long sentence into pieces so no reused unit is a long passage."""
    if cjk:
        if len(sentence) <= 2 * MAX_SENTENCE_WORDS:
            return [sentence]
        step = 2 * MAX_SENTENCE_WORDS
        return [p for p in (_clean(sentence[i : i + step]) for i in range(0, len(sentence), step)) if p]
    words = sentence.split(" ")
    if len(words) <= MAX_SENTENCE_WORDS:
        return [sentence]
    step = max(20, MAX_SENTENCE_WORDS * 2 // 3)
    return [p for p in (_clean(" ".join(words[i : i + step])) for i in range(0, len(words), step)) if p]


# --------------------------------------------------------------------------- source bodies


@dataclass(frozen=True)
class Body:
    id: str
    pub: str
    paragraphs: tuple[str, ...]
    sentences: tuple[str, ...]
    cjk: bool
    lang: str  # a rough guess: en, de, fr, es, pt, it, nl, ru (any Cyrillic), cjk or other


_STOPWORDS = {
    "en": "the and of to in that is for with was",
    "de": "der die und das ist nicht mit sich des auf",
    "fr": "le la les et des est une dans pour que",
    "es": "el la los las y en que por una para",
    "pt": "o a os as e que do da em para",
    "it": "il la di che e per una sono del della",
    "nl": "de het een en van is dat op te niet",
}
_STOPWORDS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}


def _language(text: str, cjk: bool) -> str:
    if cjk:
        return "cjk"
    if len(_CYRILLIC.findall(text)) > 0.3 * max(1, len(_LETTER.findall(text))):
        return "ru"
    words = [w.lower() for w in _WORD.findall(text)]
    scores = {lang: sum(w in stop for w in words) / max(1, len(words)) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] > 0.05 else "other"


@lru_cache(maxsize=4)
def load_bodies(path: str) -> tuple[Body, ...]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    bodies = []
    for body_id in sorted(data):
        raw = data[body_id].get("articleBody") or ""
        paragraphs = tuple(p for p in (_clean(line) for line in raw.split("\n")) if p)
        text = " ".join(paragraphs)
        cjk = _is_cjk(text)
        if _size(text) < MIN_WORDS or (cjk and len(text) < MIN_CJK_CHARS):
            continue
        sentences = tuple(s for p in paragraphs for sent in split_sentences(p) for s in cap_sentence(sent, cjk))
        pub = urlsplit(data[body_id].get("url") or "").netloc.removeprefix("www.") or "the original publisher"
        bodies.append(Body(body_id, pub, paragraphs, sentences, cjk, _language(text, cjk)))
    return tuple(bodies)


def _tokens_for_topic(body: Body) -> list[str]:
    text = " ".join(body.paragraphs).lower()
    if body.cjk:
        chars = _CJK.findall(text)
        return [a + b for a, b in zip(chars, chars[1:], strict=False)]
    return [w for w in _WORD.findall(text) if len(w) > 3 and not w.isdigit()]


@lru_cache(maxsize=4)
def _neighbours(path: str, k: int = 8) -> tuple[tuple[int, ...], ...]:
    """For each body, the indices of its ``k`` most similar bodies (TF-IDF cosine, same language)."""
    bodies = load_bodies(path)
    docs = [Counter(_tokens_for_topic(b)) for b in bodies]
    vocab = {t: i for i, t in enumerate(sorted({t for d in docs for t in d}))}
    m = np.zeros((len(bodies), len(vocab)), dtype=np.float32)
    for i, d in enumerate(docs):
        for t, c in d.items():
            m[i, vocab[t]] = 1.0 + math.log(c)
    df = (m > 0).sum(axis=0)
    m *= np.log((1 + len(bodies)) / (1 + df)).astype(np.float32) + 1.0
    m /= np.linalg.norm(m, axis=1, keepdims=True) + 1e-9
    sim = m @ m.T
    script = [b.lang for b in bodies]
    out = []
    for i in range(len(bodies)):
        order = np.argsort(-sim[i], kind="stable")
        out.append(tuple(int(j) for j in order if j != i and script[j] == script[i])[:k])
    return tuple(out)


_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SHORT_WORDS = ("a", "an", "of", "to", "in", "on", "at", "by", "as", "or", "is", "it", "we", "he", "so", "up", "if")


@lru_cache(maxsize=4)
def _keyword_weights(path: str) -> tuple[dict[str, float], float, frozenset[str]]:
    """Inverse document frequency of keyword candidates over the bodies, the weight of unseen words,
    and the candidates too common to be topical (in a fifth of the bodies or more)."""
    df: Counter[str] = Counter()
    bodies = load_bodies(path)
    for body in bodies:
        df.update(set(_LONG_WORD.findall(" ".join(body.paragraphs).lower())))
    n = len(bodies)
    idf = {w: math.log((1 + n) / (1 + c)) for w, c in df.items()}
    return idf, math.log(1 + n), frozenset(w for w, c in df.items() if c >= 0.2 * n)


@lru_cache(maxsize=4)
def _vocab(path: str) -> tuple[dict[tuple[bool, str], tuple[str, ...]], ...]:
    """Per body: its words of three or more letters, keyed by (capitalised, last two letters) and (capitalised, "")."""
    out = []
    for body in load_bodies(path):
        groups: dict[tuple[bool, str], set[str]] = {}
        for p in body.paragraphs:
            for w in _TOKEN.findall(p):
                if len(w) >= 3 and w.isalpha():
                    cap = w[0].isupper()
                    groups.setdefault((cap, w[-2:].lower()), set()).add(w)
                    groups.setdefault((cap, ""), set()).add(w)
        out.append({k: tuple(sorted(v)) for k, v in groups.items()})
    return tuple(out)


# --------------------------------------------------------------------------- phrase banks

_STOP_ENTITIES = frozenset(
    """The A An In On At But And Or It He She They We I You This That These Those There Here His Her
    Their Our Its If When While As After Before For From With By To Of Not No Yes So Then Now Also
    However What Who Why How Where Which Some Many Most All One Two Three More Last Next Mr Mrs Ms Dr
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June
    July August September October November December Photo Image Getty Images Read Share Click""".split()  # noqa: SIM905
)
_STOP_KEYWORDS = frozenset(
    """about after again against already although another around because before being between
    could during either enough every first further having itself little might other others should
    since something still their there these thing things those though through under until which
    while would years people before whether including without according really around always become
    called almost another second really""".split()  # noqa: SIM905
)

_FIRST = """Alex Sam Jordan Taylor Morgan Casey Riley Jamie Avery Quinn Rowan Elena Marco Priya Tomas Aisha
Lena Omar Nadia Felix Hana Diego Ingrid Kofi Mei Rafael Sofia Yusuf Clara Mateo Noor Viktor Amara Jonas
Leila Hugo Zara Anton Maya""".split()  # noqa: SIM905
_LAST = """Harper Bennett Okafor Lindqvist Moreau Castillo Novak Fischer Tanaka Adeyemi Rossi Kowalski Haddad
Silva Brennan Dubois Sato Mensah Varga Holm Petrov Ramos Keller Nakamura Osei Laurent Becker Cruz Farrow
Quint Marsh Ellery Vance Whitlock Ashby Draper Sutton Pryce Calloway Hale""".split()  # noqa: SIM905

_SITE_A = """Daily Morning Evening Metro National Global Coastal Valley Capital Northern Southern Pacific Atlantic
Independent Weekly Digital Open Civic Urban Prairie Harbor Summit Union Liberty Frontier Riverside Midland
Lakeside Highland Central""".split()  # noqa: SIM905
_SITE_B = """Ledger Courier Dispatch Herald Chronicle Gazette Observer Tribune Post Sentinel Wire Bulletin
Register Review Digest Journal Times Examiner Monitor Beacon Report Signal Record Leader Standard""".split()  # noqa: SIM905
_TLDS = (".com", ".com", ".net", ".news", ".co.uk", ".org", ".info")
_SECTIONS = """News World Business Tech Science Politics Culture Sport Health Money Opinion Lifestyle Local
Markets Entertainment Travel Auto Media Crypto Education""".split()  # noqa: SIM905
_MONTHS = "January February March April May June July August September October November December".split()  # noqa: SIM905

_TAGLINES = (
    "{site} — independent news since {founded}",
    "{site} · News that matters, every day",
    "{site}: the stories behind the headlines",
    "Welcome to {site}, your source for {section} news",
    "{site} | {domain}",
    "{site} — reader-funded journalism from {domain}",
)
_NAVS = (
    "Home · {s1} · {s2} · {s3} · Subscribe · Log in",
    "Menu | Search {site} | Sign in | Subscribe",
    "Latest · {s1} · {s2} · Video · Podcasts · {site} Newsletters",
    "☰ Sections   {s1}   {s2}   {s3}   More on {domain}",
)
_BREADCRUMBS = (
    "Home › {site} › {section}",
    "{site} / {section} / {sub}",
    "{site} » {section}",
    "You are here: {site} » {section} » {sub}",
)
_BYLINES = (
    "By {author} | {date}",
    "{author} · {date} · {minutes} min read",
    "Posted on {date} by {author}",
    "By {author}, {role} — {date}",
    "Published {date} | Written by {author}",
)
_ROLES = ("Staff Writer", "Contributor", "Senior Editor", "News Desk", "Correspondent", "Guest Author")
_SHARES = (
    "{n} shares",
    "Shares: {n} | Comments: {m}",
    "♥ {n} · 💬 {m}",
    "Share this article: Facebook · X · LinkedIn · Email · {site}",
    "{n} people shared this · {m} comments",
    "Share on Facebook ({n}) · Share on X ({m})",
)
# Text written per repost (headline, intro, comments) and per site and article (the titles and
# teasers of its related-links lists) keeps at most about four words in a row without a word of the
# article (slots {e}, {e2}, {k}, {k2}, {pub}, {site}), and the generator rejects lines whose word
# 5-grams already occur in lines about two or more other articles: a shingle-based detector sees
# them as the republisher's own words, not as boilerplate shared across the corpus.
_VERBS = (
    "weighs",
    "eyes",
    "faces",
    "rethinks",
    "doubles down on",
    "backs",
    "warns over",
    "responds to",
    "bets on",
    "pushes back on",
    "rules out",
    "draws fire over",
    "moves on",
    "cools on",
    "takes aim at",
    "digs in on",
    "is split over",
    "quietly drops",
    "revives",
    "bows to",
)
_HEADLINES = (
    "{e} {verb} {k}",
    "{k}: {e} {verb} {k2}",
    "Why {e} {verb} {k}",
    "{e} vs {e2}: the {k} fight",
    "{e}, {k} and {k2}",
    "What {k} means for {e}",
    "How {k} caught up with {e}",
    "The {k} problem at {e}",
    "{e} {verb} {k} as {k2} looms",
    "{e2} and {e} split on {k}",
    "After {k}, {e} {verb} {k2}",
    "Explained: {e} and {k}",
    "{e} {verb} {k}, {e2} {verb2} {k2}",
    "{k} at {e}: what now?",
)
_HEADLINE_STYLES = ("plain", "plain", "suffix", "section", "upper", "breaking")
_OPENERS = ("This week,", "Once again,", "So far,", "For now,", "Today,", "Meanwhile,", "Still,", "Lately,", "", "", "")
_INTRO = (
    "{o} {e} {verb} {k}.",
    "{o} {k} is testing {e}.",
    "{o} {k} now hangs over {e}.",
    "{o} {e2} {verb} {k}, and {e} {verb2} {k2}.",
    "We look at {e}, {k} and {k2}.",
    "Readers asked about {k} and {e}.",
    "{e} says little about {k}; {e2} {verb} {k2}.",
    "Expect more on {e} and {k}.",
    "Below, {pub} on {e} and {k}.",
    "It started with {k}; now {e} {verb} {k2}.",
    "For {e}, {k} is {adj}.",
    "{k} keeps coming up at {e}.",
    "The {k} story reached {e}.",
    "Here, {pub} explains {k} at {e}.",
    "{site} follows {e} and {k} closely.",
    "{e} and {k}: our pick from {pub}.",
    "Some context on {k} first.",
    "{k2} matters too.",
    "{o} all eyes on {e} and {k}.",
    "{e2} {verb} {k2}; {e} {verb2} {k}.",
)
_ADJECTIVES = ("pivotal", "personal", "unfinished", "familiar", "urgent", "awkward", "costly", "overdue", "risky")
_ATTRIBUTIONS = (
    "Source: {pub} | {site}",
    "{site} via {pub}",
    "Originally on {pub} · {site}",
    "From {pub}, via {site}",
    "Republished from {pub} by {site}",
)
_CONTINUES = (
    "Continue at {pub} · {site}",
    "{site}: read on at {pub}",
    "More at {pub} ({site})",
    "Read the rest on {pub} · {site}",
    "Continue reading on {site} …",
    "Read more… ({site})",
)
_PROMOS = (
    "Subscribe to {site} for just {price} a month and get unlimited access to every story.",
    "Download the {site} app for breaking news alerts on iOS and Android.",
    "Support independent journalism: become a {site} member today.",
    "ADVERTISEMENT — {domain} is supported by readers like you.",
    "Follow {site} on social media for the latest {section} updates.",
    "Got a tip? Email the {site} newsroom at tips@{domain}.",
    "Listen to the {site} {section} podcast, new episodes every {day}.",
    "Try {site} Premium free for 30 days. Cancel anytime.",
    "Read {site} without ads — upgrade your account at {domain}/premium.",
    "Join the {site} community and comment on today's top {section} stories.",
)
_READ_ALSO = ("Read also: {title}", "RELATED: {title}", "See also → {title}", "More on this: {title}")
_NEWSLETTERS = (
    "Sign up for the {site} {name} newsletter — the day's essential {section} stories, delivered every {day}.",
    "Get {site} {name} in your inbox. Enter your email address to subscribe; you can unsubscribe at any time.",
    "Never miss a story: join {count} readers who get the {site} {name} briefing by email.",
)
_NEWSLETTER_NAMES = ("Morning Brief", "Evening Edition", "Daily Digest", "Weekend Read", "First Look", "Insider")
_RELATED_HEADERS = (
    "Related stories on {site}",
    "More from {site}",
    "You may also like — {site}",
    "Recommended by {site}",
    "Trending on {domain}",
)
_MORE_HEADERS = ("Top stories from {site} this week", "Elsewhere on {domain}", "Don't miss these {site} reads")
_BULLETS = ("• ", "- ", "→ ", "» ", "")
_TEASERS = (
    "{e} {verb} {k}; {e2} {verb2} {k2}.",
    "On {k}: {e} and {e2}.",
    "{e} {verb} {k}. {k2} next?",
    "Our take on {e} and {k}.",
    "{k}, {k2} and {e}, explained.",
    "Why {k} matters to {e}.",
)
_COMMENT_HEADERS = (
    "{n} comments on {site}",
    "Comments ({n}) · {site}",
    "Join the {site} conversation — {n} comments",
    "{site} reader comments: {n}",
)
_REACTIONS = (
    "Wow.",
    "Agreed.",
    "Hmm.",
    "Great piece.",
    "Not convinced.",
    "Finally.",
    "Interesting.",
    "Thanks.",
    "Sad.",
    "Typical.",
    "Exactly.",
    "Nope.",
    "",
)
_COMMENTS = (
    "{e} {verb} {k} again?",
    "Nobody mentions {k}.",
    "What about {e2}?",
    "{k} was always the issue for {e}.",
    "My {rel} works near {e}.",
    "{e} and {k}, again.",
    "Follow the {k} money.",
    "I doubt {e} cares about {k}.",
    "{k} at {e}? Unsurprising.",
    "Remember {k2} at {e2}?",
    "Ask {e2} about {k}.",
    "Good on {site} for covering {k}.",
)
_RELATIVES = ("neighbour", "cousin", "sister", "friend", "boss", "uncle")
_USER_A = ("quiet", "urban", "lucky", "brave", "old", "night", "sunny", "rusty", "blue", "north", "happy", "wild")
_USER_B = ("fox", "reader", "owl", "walker", "critic", "pilot", "gardener", "hawk", "cyclist", "baker", "fan")
_DISCLAIMER = (
    "The views and opinions expressed in this article are those of the original author and do not "
    "necessarily reflect the official policy or position of {site}.",
    "This article is republished from its original source for informational purposes only.",
    "Nothing on {domain} constitutes financial, legal, medical or investment advice; consult a qualified "
    "professional before making any decision.",
    "{site} makes no representations as to the accuracy, completeness or timeliness of any information "
    "on this site and will not be liable for any errors or omissions.",
    "All trademarks, logos and brand names are the property of their respective owners.",
    "{site} may receive a commission when readers buy through links on this page.",
    "Copyright © {year} {site}. All rights reserved; this material may not be published, broadcast, "
    "rewritten or redistributed without permission.",
    "If you believe any content on {domain} infringes your rights, contact our editors at legal@{domain} "
    "and we will respond promptly.",
    "Comments are moderated and must follow the {site} community guidelines.",
    "Images and quotations are used under fair use for the purpose of news reporting.",
    "{site} is not responsible for the content of external websites linked from this article.",
    "By continuing to use {domain} you agree to our terms of service and privacy policy.",
)
_FOOTERS = (
    "© {year} {site}. All rights reserved.",
    "About {site} · Contact · Privacy policy · Terms of use · Cookie settings · {domain}",
    "{site} is a trading name of {site} Media Group Ltd. Registered office: {n} {street} Street.",
    "Back to top ↑ · {domain} · Advertise with {site}",
)
_STREETS = ("Harbour", "Market", "King", "Station", "Mill", "Chapel", "Bridge", "Park")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_INSERT_WORDS_EN = ("also", "reportedly", "now", "still", "recently", "indeed", "already", "even")
_INSERT_WORDS_RU = ("также", "уже", "ещё", "сейчас")
_SYNONYMS = {
    "said": "stated",
    "says": "states",
    "big": "large",
    "people": "individuals",
    "company": "firm",
    "however": "but",
    "buy": "purchase",
    "help": "assist",
    "show": "indicate",
    "about": "around",
    "start": "begin",
    "began": "started",
    "get": "obtain",
    "many": "numerous",
    "told": "informed",
}


# --------------------------------------------------------------------------- data model


@dataclass
class _Original:
    paragraphs: list[str]
    pub: str
    cjk: bool
    lang: str
    entities: list[str]
    keywords: list[str]
    name: str = ""
    n_copies: int = 0
    para_spans: list[tuple[int, int]] = field(default_factory=list)
    copied: set[int] = field(default_factory=set)


@dataclass
class _Site:
    name: str
    domain: str
    kind: str  # bare | light | full
    sections: list[str]
    authors: list[str]
    fixed_head: list[str]
    fixed_foot: list[str]
    disclaimer: str | None
    disclaimer_top: bool
    promos: list[str]
    newsletter: str
    related_header: str
    more_header: str
    comment_header: str
    breadcrumb: str
    byline: str
    share: str
    headline_style: str
    continue_line: str
    attribution: str
    bullet: str
    date_format: int
    quote_style: str  # keep | straight | curly
    nbsp: str  # none | numbers | random
    hard_wrap: int  # 0 = no, else the column
    style: str  # paragraph separators: blank | single | mixed | blocks
    weight: float
    copies: list[str] = field(default_factory=list)
    reposts: list[_Original] = field(default_factory=list)


@dataclass
class _Item:
    """A stretch of copied text: source paragraphs first..last, source chars b_start..b_end."""

    text: str
    first: int
    last: int
    b_start: int
    b_end: int
    trim: int = 0  # trailing characters of the copy that are not in the source (an added "…")
    lines: list[str] | None = None


class _Writer:
    """Builds one document's text and records every paragraph's offsets as it goes."""

    def __init__(self, rng: random.Random, style: str, crlf: bool):
        self.rng = rng
        self.style = style
        self.nl = "\r\n" if crlf else "\n"
        self.chunks: list[str] = []
        self.pos = 0
        self.paras: list[list] = []  # [start, end, label, text]
        self.region: str | None = None

    def _emit(self, s: str) -> None:
        self.chunks.append(s)
        self.pos += len(s)

    def _gap(self, region: str, single: bool = False) -> None:
        if self.region is None:
            return
        if not single:
            if self.style == "blank":
                single = False
            elif self.style == "single":
                single = True
            elif self.style == "mixed":
                single = self.rng.random() < 0.5
            else:  # blocks: header and footer lines tight, blank lines around and inside the body
                single = region == self.region and region != "body"
        self._emit(self.nl if single else self.nl * 2)

    def line(self, text: str, label: str, region: str = "body", single: bool = False) -> tuple[int, int]:
        if not text or _clean(text) != text:
            raise AssertionError(f"not a clean paragraph: {text!r}")
        self._gap(region, single)
        start = self.pos
        self._emit(text)
        self.paras.append([start, self.pos, label, text])
        self.region = region
        return start, self.pos

    def text(self) -> str:
        return "".join(self.chunks) + self.nl


# --------------------------------------------------------------------------- generation


class _Generator:
    def __init__(self, n_docs: int, seed: int, data: Path):
        self.rng = random.Random(seed)
        self.seed = seed
        self.n_docs = n_docs
        self.bodies = load_bodies(str(data))
        self.neigh = _neighbours(str(data))
        self.vocab = _vocab(str(data))
        self.idf, self.idf_unseen, self.common_words = _keyword_weights(str(data))
        self._tokens: dict[str, tuple[tuple[int, int, bool], ...]] = {}
        self.grams: dict[tuple[str, ...], set] = {}
        self.site_titles: dict[tuple[str, str], tuple[str, str]] = {}
        if not self.bodies:
            raise ValueError(f"{data}: no usable article bodies")
        langs = Counter(b.lang for b in self.bodies)
        # Languages with enough bodies to recombine without reusing most of their sentences.
        self.spaced = [i for i, b in enumerate(self.bodies) if b.lang not in ("cjk", "other") and langs[b.lang] >= 20]
        self.same_lang = {lang: [i for i, b in enumerate(self.bodies) if b.lang == lang] for lang in langs}
        self.names: set[str] = set()
        self.streams: dict[int, list[str]] = {}
        self.cursors: dict[int, int] = {}
        self.used_template_lines: set[str] = set()
        self.texts: dict[str, str] = {}
        self.docs: dict[str, dict] = {}
        self.spans: list[dict] = []

    # ---- helpers

    def _name(self) -> str:
        while True:
            name = f"doc_{self.rng.getrandbits(32):08x}.txt"
            if name not in self.names:
                self.names.add(name)
                return name

    def _fill(self, template: str, o: _Original | None = None, site: _Site | None = None, **extra) -> str:
        rng = self.rng
        values = dict(extra)
        if o is not None:
            ents = o.entities or ["the story"]
            e = rng.choice(ents[:4])
            values.setdefault("e", e)
            values.setdefault("e2", rng.choice([x for x in ents[:6] if x != e] or [e]))
            keys = o.keywords[:6] or ["the news"]
            k = rng.choice(keys)
            values.setdefault("k", k)
            values.setdefault("k2", rng.choice([x for x in o.keywords[:8] if x != k] or [k]))
            values.setdefault("pub", o.pub)
        if site is not None:
            values.setdefault("site", site.name)
            values.setdefault("domain", site.domain)
            values.setdefault("section", rng.choice(site.sections))
        values.setdefault("verb", rng.choice(_VERBS))
        values.setdefault("verb2", rng.choice(_VERBS))
        values.setdefault("day", rng.choice(_DAYS))
        values.setdefault("o", rng.choice(_OPENERS))
        values.setdefault("adj", rng.choice(_ADJECTIVES))
        values.setdefault("rel", rng.choice(_RELATIVES))
        out = re.sub(r"\s+", " ", template.format(**values)).strip()
        return _clean(out[:1].upper() + out[1:])

    def _fresh(self, make, owner: object) -> str:
        """A line from ``make()`` whose word 5-grams are not already common in lines about other articles.

        Up to ``FRESH_TRIES`` candidates; a candidate is taken when at most
        ``FRESH_SHARED`` of its words lie in 5-grams already used by two or more
        other owners (articles, or sites for their per-site titles).
        """
        grams_of = self.grams
        for attempt in range(FRESH_TRIES):
            line = make()
            words = _WORD.findall(line.casefold())
            grams = [tuple(words[i : i + 5]) for i in range(len(words) - 4)]
            covered = [False] * len(words)
            for i, g in enumerate(grams):
                owners = grams_of.get(g)
                if owners and len(owners - {owner}) >= 2:
                    covered[i : i + 5] = [True] * 5
            if sum(covered) <= FRESH_SHARED * len(words) or attempt == FRESH_TRIES - 1:
                for g in grams:
                    owners = grams_of.setdefault(g, set())
                    if len(owners) < 3:
                        owners.add(owner)
                return line
        raise AssertionError("unreachable")

    def _date(self, fmt: int) -> str:
        rng = self.rng
        y, m, d = rng.randint(2018, 2024), rng.randint(1, 12), rng.randint(1, 28)
        hh, mm = rng.randint(0, 23), rng.randint(0, 59)
        if fmt == 0:
            return f"{_MONTHS[m - 1]} {d}, {y}"
        if fmt == 1:
            return f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}"
        if fmt == 2:
            return f"{d:02d}/{m:02d}/{y}"
        return f"{d} {_MONTHS[m - 1][:3]} {y}, {hh:02d}:{mm:02d} GMT"

    # ---- originals

    def _terms(self, paragraphs: list[str], cjk: bool) -> tuple[list[str], list[str]]:
        text = " ".join(paragraphs)
        counts: Counter[str] = Counter()
        first: dict[str, int] = {}
        for m in _ENTITY.finditer(text):
            ent = re.sub(r"['’]s$", "", m.group().strip(" .'’-"))
            words = ent.split()
            before = text[max(0, m.start() - 4) : m.start()].rstrip()[-1:]
            if len(words) == 1 and (not before or before in ".!?:;\"“”'’—-–…)"):
                continue  # a capitalised word opening a sentence is not evidence of a name
            while words and re.split(r"['’]", words[0])[0] in _STOP_ENTITIES:
                words = words[1:]
            ent = " ".join(words)
            if len(ent) < 3 or len(ent) > 40 or ent in _STOP_ENTITIES:
                continue
            counts[ent] += 1
            first.setdefault(ent, m.start())
        entities = sorted(counts, key=lambda x: (-counts[x], first[x]))[:8]
        if cjk:
            entities = [e for e in entities if e.isascii()] or entities
        words = Counter(_LONG_WORD.findall(text.lower()))
        idf, unseen, common = self.idf, self.idf_unseen, self.common_words
        score = {w: c * idf.get(w, unseen) for w, c in words.items() if w not in common}
        keywords = [w for w in sorted(score, key=lambda w: (-score[w], w)) if w not in _STOP_KEYWORDS]
        keywords = [w for w in keywords if w.capitalize() not in counts][:8]
        if not entities:
            entities = [k.capitalize() for k in keywords[:3]] or ["This story"]
        if not keywords:
            keywords = ["the news", "the latest developments"]
        return entities, keywords

    def _original(self, paragraphs: list[str], body: Body) -> _Original:
        entities, keywords = self._terms(paragraphs, body.cjk)
        return _Original(list(paragraphs), body.pub, body.cjk, body.lang, entities, keywords)

    def _take(self, body_index: int, avoid: set[str]) -> str | None:
        """The next sentence of a body's endless shuffled stream (reshuffled each pass) not in ``avoid``."""
        stream = self.streams.setdefault(body_index, [])
        for _ in range(len(self.bodies[body_index].sentences) + 1):
            cur = self.cursors.get(body_index, 0)
            if cur >= len(stream):
                stream[:] = list(self.bodies[body_index].sentences)
                self.rng.shuffle(stream)
                cur = 0
            self.cursors[body_index] = cur + 1
            if stream[cur] not in avoid:
                return stream[cur]
        return None

    def _respin(self, sentences: list[str], donors: list[int]) -> str:
        """The sentences as one paragraph, with words swapped for words of the donors.

        Sentences are reused by several recombined originals; verbatim, they
        would make those originals share passages (and look like boilerplate
        to a detector). So every run of ``RESPIN_RUN`` unchanged tokens is
        broken (content words preferred) and about ``RESPIN_RATE`` of the other
        content words change too; a swapped word has the same capitalisation
        and, where the donors have one, the same last two letters.
        """
        rand = self.rng.random
        parts = []
        run = 0
        for sentence in sentences:
            tokens = self._tokens.get(sentence) or self._tokenise(sentence)
            out = []
            pos = 0
            for start, end, kind, key in tokens:
                if run >= RESPIN_RUN or (kind == 1 and (run >= RESPIN_RUN - 1 or rand() < RESPIN_RATE)):
                    out.append(sentence[pos:start])
                    out.append(self._swap(sentence[start:end], kind, key, donors))
                    pos = end
                    run = 0
                else:
                    run += 1
            out.append(sentence[pos:])
            parts.append("".join(out))
        return " ".join(parts)

    def _tokenise(self, sentence: str) -> tuple:
        """(start, end, kind, key) of each token; kind 1: word of 3+ letters, 2: has digits, 0: other."""
        tokens = []
        for m in _TOKEN.finditer(sentence):
            w = m.group()
            if len(w) >= 3 and w.isalpha():
                tokens.append((m.start(), m.end(), 1, (w[0].isupper(), w[-2:].lower())))
            else:
                tokens.append((m.start(), m.end(), 2 if any(c.isdigit() for c in w) else 0, None))
        self._tokens[sentence] = out = tuple(tokens)
        return out

    def _swap(self, w: str, kind: int, key: tuple[bool, str] | None, donors: list[int]) -> str:
        """A different word in place of ``w``."""
        rand = self.rng.random
        if kind == 1 and key is not None:
            vocab = self.vocab
            low = w.lower()
            for k in (key, (key[0], "")):
                for _ in range(3):
                    pool = vocab[donors[int(rand() * len(donors))]].get(k)
                    if pool:
                        new = pool[int(rand() * len(pool))]
                        if new.lower() != low:
                            return new.upper() if w.isupper() else new
            return w[::-1] if w[::-1].lower() != low else w + "s"
        if kind == 2:
            chars = list(w)
            for i, c in enumerate(chars):
                if c.isdigit():
                    chars[i] = str(int(rand() * 10) if i or c == "0" else 1 + int(rand() * 9))
            new = "".join(chars)
            return new if new != w else w + "0"
        low = w.lower()
        choices = [x for x in _SHORT_WORDS if x != low and len(x) == len(low)] or [x for x in _SHORT_WORDS if x != low]
        new = choices[int(rand() * len(choices))]
        return new.capitalize() if w[:1].isupper() else new

    def _recombined(self, base_index: int) -> _Original:
        """A new article: paragraphs of 1-4 sentences, each from one of several topically close bodies.

        Sentences come from each donor's shuffled stream, so sentences that were
        adjacent in a body are not adjacent here (except by chance). No donor
        gives more than ``DONOR_SHARE`` of its sentences nor more than
        ``RECOMBINED_SHARE`` of the new text, so the new article neither
        contains a body nor is contained in one; more donors join as needed.
        """
        rng = self.rng
        base = self.bodies[base_index]
        target = min(1000, max(120, int(rng.lognormvariate(math.log(380), 0.4))))
        reserve = list(self.neigh[base_index])
        rng.shuffle(reserve)
        donors = [base_index] + reserve[:3]
        reserve = reserve[3:]
        taken: Counter[int] = Counter()  # sentences per donor
        words: Counter[int] = Counter()  # words per donor
        used: set[str] = set()
        paragraphs: list[str] = []
        size = 0
        while size < target:
            open_ = [
                d
                for d in donors
                if taken[d] < DONOR_SHARE * len(self.bodies[d].sentences) and words[d] < RECOMBINED_SHARE * target
            ]
            if not open_:
                extra = reserve.pop() if reserve else rng.choice(self.same_lang[base.lang])
                if extra not in donors:
                    donors.append(extra)
                continue
            d = rng.choice(open_)
            room = max(1, int(DONOR_SHARE * len(self.bodies[d].sentences)) - taken[d])
            sentences = []
            for _ in range(min(room, rng.choice((1, 2, 2, 2, 3, 3, 4)))):
                sentence = self._take(d, used)
                if sentence is None:
                    break
                used.add(sentence)
                sentences.append(sentence)
            taken[d] += max(1, len(sentences))
            paragraph = _clean(self._respin(sentences, donors))
            if paragraph:
                paragraphs.append(paragraph)
                size += _size(paragraph)
                words[d] += _size(paragraph)
        return self._original(paragraphs, base)

    def _originals(self, n: int) -> list[_Original]:
        """The real bodies first (shuffled); then recombined ones, based on spaced-script bodies in turn.

        Bodies of languages with few bodies (all but English in aeb) cannot be
        recombined without reusing most of their sentences, so they appear only
        as themselves.
        """
        order = list(range(len(self.bodies)))
        self.rng.shuffle(order)
        out = [self._original(list(self.bodies[i].paragraphs), self.bodies[i]) for i in order[:n]]
        bases = [i for i in order if i in self.spaced]
        for j in range(n - len(out)):
            out.append(self._recombined(bases[j % len(bases)]))
        return out

    # ---- sites

    def _unique(self, line: str, site_name: str) -> str:
        """Template lines are unique to their site, so boilerplate is a per-site property."""
        if line in self.used_template_lines:
            line = f"{line} ({site_name})"
        self.used_template_lines.add(line)
        return line

    def _sites(self, n_sites: int) -> list[_Site]:
        rng = self.rng
        names: set[str] = set()
        sites = []
        n_bare = max(1, round(0.1 * n_sites))
        kinds = ["bare"] * n_bare + ["light"] * round(0.3 * n_sites)
        kinds += ["full"] * (n_sites - len(kinds))
        rng.shuffle(kinds)
        for kind in kinds:
            while True:
                a, b = rng.choice(_SITE_A), rng.choice(_SITE_B)
                name = rng.choice((f"The {a} {b}", f"{a} {b}", f"{b}{rng.choice(('Hub', 'Now', 'Daily', ' 24'))}"))
                if name not in names:
                    names.add(name)
                    break
            slug = re.sub(r"[^a-z0-9]", "", name.lower().removeprefix("the "))
            domain = slug + rng.choice(_TLDS)
            sections = rng.sample(_SECTIONS, rng.randint(3, 5))
            s = _Site(
                name=name,
                domain=domain,
                kind=kind,
                sections=sections,
                authors=[f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(rng.randint(2, 6))],
                fixed_head=[],
                fixed_foot=[],
                disclaimer=None,
                disclaimer_top=rng.random() < 0.25,
                promos=[],
                newsletter="",
                related_header="",
                more_header="",
                comment_header=rng.choice(_COMMENT_HEADERS),
                breadcrumb=rng.choice(_BREADCRUMBS),
                byline=rng.choice(_BYLINES),
                share=rng.choice(_SHARES),
                headline_style=rng.choice(_HEADLINE_STYLES),
                continue_line=rng.choice(_CONTINUES),
                attribution=rng.choice(_ATTRIBUTIONS),
                bullet=rng.choice(_BULLETS),
                date_format=rng.randrange(4),
                quote_style=rng.choice(("keep", "keep", "straight", "curly")),
                nbsp=rng.choice(("none", "none", "numbers", "random")),
                hard_wrap=rng.choice((60, 72, 80)) if rng.random() < 0.1 else 0,
                style=rng.choice(("blank", "single", "mixed", "blocks")),
                weight=rng.uniform(0.6, 1.6),
            )
            ctx = {
                "founded": rng.randint(1950, 2015),
                "year": rng.randint(2019, 2024),
                "price": f"${rng.choice((1, 2, 3, 4, 5))}.{rng.choice(('00', '49', '99'))}",
                "name": rng.choice(_NEWSLETTER_NAMES),
                "count": f"{rng.randint(5, 900) * 100:,}",
                "n": rng.randint(1, 250),
                "street": rng.choice(_STREETS),
                "s1": sections[0],
                "s2": sections[1],
                "s3": sections[2],
            }
            if kind != "bare":
                s.promos = [
                    self._unique(self._fill(p, site=s, **ctx), name) for p in rng.sample(_PROMOS, rng.randint(3, 6))
                ]
                s.newsletter = self._unique(self._fill(rng.choice(_NEWSLETTERS), site=s, **ctx), name)
                s.related_header = self._unique(self._fill(rng.choice(_RELATED_HEADERS), site=s, **ctx), name)
                s.more_header = self._unique(self._fill(rng.choice(_MORE_HEADERS), site=s, **ctx), name)
                heads = [_TAGLINES, _NAVS] if kind == "full" else [_TAGLINES]
                s.fixed_head = [self._unique(self._fill(rng.choice(h), site=s, **ctx), name) for h in heads]
                feet = rng.sample(_FOOTERS, 2 if kind == "full" else 1)
                s.fixed_foot = [self._unique(self._fill(f, site=s, **ctx), name) for f in feet]
                if kind == "full" or rng.random() < 0.5:
                    s.disclaimer = self._unique(self._disclaimer(s, ctx), name)
            sites.append(s)
        return sites

    def _disclaimer(self, site: _Site, ctx: dict) -> str:
        rng = self.rng
        target = rng.randint(40, 120)
        sentences = [self._fill(t, site=site, **ctx) for t in _DISCLAIMER]
        rng.shuffle(sentences)
        chosen: list[str] = []
        words = 0
        for sent in sentences:
            n = len(sent.split())
            if words + n > 120:
                continue
            chosen.append(sent)
            words += n
            if words >= target:
                break
        return " ".join(chosen)

    # ---- documents

    def _write_source(self, o: _Original, role: str | None) -> None:
        w = _Writer(self.rng, self.rng.choice(("blank", "blank", "single", "mixed")), self.rng.random() < CRLF_SHARE)
        o.para_spans = [w.line(p, "original") for p in o.paragraphs]
        self.texts[o.name] = w.text()
        self.docs[o.name] = {"role": role, "site": None, "paragraphs": w.paras}

    def _edit_body(self, o: _Original, site: _Site) -> tuple[list[_Item], list[str]]:
        """The copied body as items, and the names of the edits made to it."""
        rng = self.rng
        items = [_Item(p, i, i, s, e) for i, (p, (s, e)) in enumerate(zip(o.paragraphs, o.para_spans, strict=True))]
        truncated = False
        edits: list[str] = []
        total = sum(len(it.text) for it in items)
        if rng.random() < 0.15 and (len(items) >= 3 or total > 600):
            truncated = True
            edits.append("truncated")
            goal = rng.uniform(0.4, 0.7) * total
            kept, acc = [], 0
            for it in items:
                if acc + len(it.text) <= goal or not kept:
                    kept.append(it)
                    acc += len(it.text)
                else:
                    cut = self._cut(it, int(goal - acc))
                    if cut is not None:
                        kept.append(cut)
                    break
            items = kept
        if len(items) >= 5 and rng.random() < 0.2:
            items = items[rng.randint(1, 2) :]
            edits.append("lead_dropped")
        if len(items) >= 4 and rng.random() < 0.2:
            del items[rng.randrange(1, len(items) - 1)]
            edits.append("paragraph_removed")
        if len(items) >= 3 and rng.random() < 0.15:
            k = rng.randrange(len(items) - 1)
            a, b = items[k], items[k + 1]
            if b.first == a.last + 1 and not a.trim:
                joiner = "" if o.cjk else " "
                items[k : k + 2] = [_Item(a.text + joiner + b.text, a.first, b.last, a.b_start, b.b_end, b.trim)]
                edits.append("paragraphs_merged")
        if len(items) >= 4 and rng.random() < 0.12:
            k = rng.randrange(len(items) - (1 if truncated else 0))
            it = items.pop(k)
            choices = [m for m in range(len(items) + (0 if truncated else 1)) if abs(m - k) >= 1 and m != k]
            items.insert(rng.choice(choices) if choices else k, it)
            edits.append("paragraph_moved")
        # Edits below leave a truncation mark ("…") alone, so the copied part still ends where it did.
        marks = [it.text[len(it.text) - it.trim :] for it in items]
        texts = [self._retype(it.text[: len(it.text) - it.trim], site) for it in items]
        if site.quote_style != "keep" or site.nbsp != "none":
            retyped = [t != it.text[: len(it.text) - it.trim] for t, it in zip(texts, items, strict=True)]
            if any(retyped):
                edits.append("typography")
        if rng.random() < 0.45:
            before = list(texts)
            for _ in range(rng.randint(1, 5)):
                k = rng.randrange(len(texts))
                texts[k] = self._edit_words(texts[k], o)
            if texts != before:
                edits.append("words_edited")
        wrap_all = site.hard_wrap and rng.random() < 0.7
        rewrap = set(range(len(items))) if wrap_all else set()
        if not wrap_all and rng.random() < 0.15:
            rewrap = set(rng.sample(range(len(items)), min(len(items), rng.randint(1, 3))))
        for k, it in enumerate(items):
            lines = (
                self._rewrap(texts[k], site.hard_wrap or rng.choice((0, 60, 72)), o.cjk) if k in rewrap else [texts[k]]
            )
            lines[-1] += marks[k]
            it.text, it.lines = "\n".join(lines), lines
        if any(len(it.lines or ()) > 1 for it in items):
            edits.append("rewrapped")
        return items, edits

    def _cut(self, it: _Item, room: int) -> _Item | None:
        """The first part of a paragraph (at a sentence or word boundary), or None if too little fits."""
        text = it.text
        if room < 40 or room >= len(text) - 10:
            return None
        ends = [m.end() for m in _SENT_END.finditer(text) if 30 <= m.end() <= room]
        if ends and self.rng.random() < 0.6:
            prefix = _clean(text[: ends[-1]])
            return _Item(prefix, it.first, it.last, it.b_start, it.b_start + len(prefix))
        space = text.rfind(" ", 20, room)
        if space < 0:
            return None
        prefix = _clean(text[:space])
        if not prefix or not prefix[-1].isalnum():
            return None
        mark = self.rng.choice(("…", "...", " […]"))
        return _Item(prefix + mark, it.first, it.last, it.b_start, it.b_start + len(prefix), trim=len(mark))

    def _retype(self, text: str, site: _Site) -> str:
        """Length-preserving typographic changes: quote style and no-break spaces."""
        rng = self.rng
        if site.quote_style == "straight":
            text = text.translate(_QUOTE_TO_STRAIGHT)
        elif site.quote_style == "curly":
            chars = list(text)
            for i, c in enumerate(chars):
                before = chars[i - 1] if i else " "
                if c == '"':
                    chars[i] = "“" if before.isspace() or before in "([" else "”"
                elif c == "'":
                    chars[i] = "‘" if before.isspace() or before in "([" else "’"
            text = "".join(chars)
        if site.nbsp == "numbers":
            text = re.sub(r"(?<=\d) (?=\w)", "\xa0", text)
        elif site.nbsp == "random" and rng.random() < 0.7:
            chars = list(text)
            for i in range(1, len(chars) - 1):
                if chars[i] == " " and rng.random() < 0.04:
                    chars[i] = "\xa0"
            text = "".join(chars)
        return text

    def _edit_words(self, text: str, o: _Original) -> str:
        """Edit, insert or delete one interior word; the first and last words stay as they are."""
        rng = self.rng
        words = text.split(" ")
        if len(words) < 6:
            return text
        i = rng.randrange(1, len(words) - 1)
        if not words[i]:
            return text
        op = rng.random()
        if op < 0.35 and len(words) >= 8:
            del words[i]
        elif op < 0.65 and o.lang in ("en", "ru"):
            words.insert(i, rng.choice(_INSERT_WORDS_EN if o.lang == "en" else _INSERT_WORDS_RU))
        else:
            w = words[i]
            if w.lower() in _SYNONYMS:
                rep = _SYNONYMS[w.lower()]
                words[i] = rep.capitalize() if w[:1].isupper() else rep
            elif len(w) >= 5 and w.isalpha():
                j = rng.randrange(1, len(w) - 2)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
            elif any(c.isdigit() for c in w):
                words[i] = re.sub(r"\d", lambda m: str((int(m.group()) + 1) % 10), w, count=1)
            else:
                del words[i]
        out = " ".join(words)
        return out if _clean(out) == out and out else text

    def _rewrap(self, text: str, width: int, cjk: bool) -> list[str]:
        """Split one paragraph into lines: at sentence ends (width 0) or hard-wrapped at ``width``."""
        if cjk:
            width = width // 2 or 30
            return [p for p in (_clean(text[i : i + width]) for i in range(0, len(text), width)) if p]
        if width == 0:
            lines, pos = [], 0
            for m in _SENT_END.finditer(text):
                if m.end() - pos > 25 and len(text) - m.end() > 25:
                    lines.append(_clean(text[pos : m.end()]))
                    pos = m.end()
            lines.append(_clean(text[pos:]))
            lines = [x for x in lines if x]
            if len(lines) > 1:
                return lines
            width = 72
        lines, cur = [], ""
        for word in text.split(" "):
            if cur and len(cur) + 1 + len(word) > width:
                lines.append(cur)
                cur = word
            else:
                cur = f"{cur} {word}" if cur else word
        lines.append(cur)
        return [x for x in (_clean(line) for line in lines) if x]

    def _site_title(self, site: _Site, o: _Original) -> tuple[str, str]:
        """The title and teaser a site shows for one of its reposts in its link lists (fixed per site)."""
        key = (site.domain, o.name)
        if key not in self.site_titles:
            owner = ("site", site.domain)
            title = self._fresh(lambda: self._fill(self.rng.choice(_HEADLINES), o, site), owner)
            teaser = self._fresh(lambda: self._fill(self.rng.choice(_TEASERS), o, site), owner)
            self.site_titles[key] = (title, teaser)
        return self.site_titles[key]

    def _headline(self, o: _Original, site: _Site, section: str) -> str:
        h = self._fresh(lambda: self._fill(self.rng.choice(_HEADLINES), o, site), o.name)
        style = site.headline_style
        if style == "suffix":
            h = f"{h} | {site.name}"
        elif style == "section":
            h = f"{section.upper()}: {h}"
        elif style == "upper":
            h = h.upper()
        elif style == "breaking" and self.rng.random() < 0.3:
            h = f"BREAKING: {h}"
        return h

    def _intro(self, o: _Original, site: _Site) -> str:
        """One intro paragraph in the republisher's words: two to four short sentences about the article."""
        rng = self.rng
        n = rng.choice((2, 2, 3, 3, 4))
        return self._fresh(lambda: " ".join(self._fill(rng.choice(_INTRO), o, site) for _ in range(n)), o.name)

    def _comment(self, o: _Original, site: _Site) -> str:
        rng = self.rng

        def make() -> str:
            said = " ".join(self._fill(rng.choice(_COMMENTS), o, site) for _ in range(rng.randint(1, 2)))
            return f"{rng.choice(_REACTIONS)} {said}".strip()

        return self._fresh(make, o.name)

    def _user(self) -> str:
        rng = self.rng
        return f"{rng.choice(_USER_A)}{rng.choice(_USER_B)}{rng.randint(1, 999)}"

    def _byline(self, site: _Site, fill) -> str:
        rng = self.rng
        line = site.byline.replace("{author}", rng.choice(site.authors)).replace("{role}", rng.choice(_ROLES))
        return fill(line.replace("{date}", self._date(site.date_format)))

    def _wrapper(self, o: _Original, site: _Site, items: list[_Item], section: str, fill) -> dict[str, list[str]]:
        """The repost's own lines, grown piece by piece until they reach a drawn share of the body."""
        rng = self.rng
        pieces: dict[str, list[str]] = {
            k: [] for k in ("crumb", "headline", "byline", "share", "attr", "intro", "promo", "mid")
        }
        pieces.update({k: [] for k in ("news", "related", "more", "comments")})
        if site.kind == "bare":
            return pieces
        body_chars = sum(len(it.text) for it in items)
        ratio = rng.uniform(0.02, 0.5) if site.kind == "light" else 0.1 + 2.9 * rng.random() ** 1.7
        budget = ratio * body_chars
        pieces["headline"] = [self._headline(o, site, section)]
        used = len(pieces["headline"][0]) + sum(len(x) for x in site.fixed_head + site.fixed_foot)
        used += len(site.disclaimer or "")
        options = ["crumb", "byline", "share", "attr", "intro", "intro", "promo", "news", "related", "mid"]
        if site.kind == "full":
            options += ["intro", "intro", "promo", "related", "more", "comments", "comments"]
        rng.shuffle(options)
        while used < budget and options:
            opt = options.pop()
            if pieces[opt] and opt not in ("intro", "promo"):
                continue
            added: list[str] = []
            if opt == "crumb":
                added = [fill(site.breadcrumb)]
            elif opt == "byline":
                added = [self._byline(site, fill)]
            elif opt == "share":
                n = int(math.exp(rng.uniform(2, 9)))
                added = [fill(site.share.replace("{n}", f"{n:,}").replace("{m}", str(rng.randint(0, 1 + n // 5))))]
            elif opt == "attr":
                added = [fill(site.attribution)]
            elif opt == "intro" and len(pieces["intro"]) < 4:
                added = [self._intro(o, site)]
            elif opt in ("promo", "mid"):
                left = [p for p in site.promos if p not in pieces["promo"] and p not in pieces["mid"]]
                others = [x for x in site.reposts if x is not o]
                if opt == "mid" and others:
                    title = self._site_title(site, rng.choice(others))[0]
                    left.append(rng.choice(_READ_ALSO).format(title=title))
                added = [rng.choice(left)] if left else []
            elif opt == "news":
                added = [site.newsletter]
            elif opt == "related":
                others = [x for x in site.reposts if x is not o]
                picks = rng.sample(others, min(len(others), rng.randint(3, 8)))
                added = [site.related_header] + [site.bullet + self._site_title(site, x)[0] for x in picks]
                added = added if picks else []
            elif opt == "more":
                others = [x for x in site.reposts if x is not o]
                added = [site.more_header] if others else []
                for x in rng.sample(others, min(len(others), rng.randint(2, 5))):
                    added += list(self._site_title(site, x))
            elif opt == "comments":
                n = rng.randint(2, 12)
                added = [fill(site.comment_header.replace("{n}", str(n + rng.randint(0, 40))))]
                for _ in range(n):
                    added += [f"{self._user()} · {rng.randint(1, 23)} hours ago", self._comment(o, site)]
            pieces[opt].extend(added)
            used += sum(len(x) for x in added)
        if not pieces["byline"] and rng.random() < 0.5:
            pieces["byline"] = [self._byline(site, fill)]
        return pieces

    def _write_copy(self, o: _Original, site: _Site) -> None:
        rng = self.rng
        name = self._name()
        items, edits = self._edit_body(o, site)
        truncated = "truncated" in edits
        section = rng.choice(site.sections)
        sub = rng.choice([s for s in _SECTIONS if s != section])
        minutes = max(1, _size(" ".join(it.text for it in items)) // 230)

        def fill(t: str) -> str:
            return self._fill(t, o, site, section=section, sub=sub, minutes=minutes)

        pieces = self._wrapper(o, site, items, section, fill)
        head = site.fixed_head + pieces["crumb"] + pieces["headline"] + pieces["byline"] + pieces["share"]
        foot: list[str] = []
        top_attr = rng.random() < 0.5
        if top_attr:
            head += pieces["attr"]
        if site.disclaimer and site.disclaimer_top:
            head.append(site.disclaimer)
        head += pieces["intro"]
        if truncated:
            foot.append(fill(site.continue_line))
        if not top_attr:
            foot += pieces["attr"]
        foot += pieces["promo"] + pieces["news"] + pieces["related"] + pieces["more"]
        if site.disclaimer and not site.disclaimer_top:
            foot.append(site.disclaimer)
        foot += pieces["comments"] + site.fixed_foot

        w = _Writer(rng, site.style, rng.random() < CRLF_SHARE)
        for line in head:
            w.line(line, "wrapper", "head")
        mid_at = rng.randrange(1, len(items)) if pieces["mid"] and len(items) >= 2 else -1
        # Spans: maximal runs of items that are adjacent in the copy and consecutive in the source.
        runs: list[list[tuple[int, int, _Item]]] = []
        for k, it in enumerate(items):
            if k == mid_at:
                for line in pieces["mid"]:
                    w.line(line, "wrapper", "body")
            assert it.lines
            start, end = w.line(it.lines[0], "syndicated", "body")
            for extra in it.lines[1:]:
                _, end = w.line(extra, "syndicated", "body", single=True)
            prev = runs[-1][-1][2] if runs and k != mid_at else None
            whole = prev is not None and not prev.trim and prev.b_end == o.para_spans[prev.last][1]
            if whole and it.first == prev.last + 1:
                runs[-1].append((start, end - it.trim, it))
            else:
                runs.append([(start, end - it.trim, it)])
        for line in foot:
            w.line(line, "wrapper", "foot")
        for run in runs:
            self.spans.append(
                {
                    "a": name,
                    "b": o.name,
                    "a_start": run[0][0],
                    "a_end": run[-1][1],
                    "b_start": run[0][2].b_start,
                    "b_end": run[-1][2].b_end,
                }
            )
        for it in items:
            o.copied.update(range(it.first, it.last + 1))
        self.texts[name] = w.text()
        self.docs[name] = {
            "role": "copy",
            "site": site.domain,
            "source": o.name,
            "edits": edits,
            "paragraphs": w.paras,
        }
        site.copies.append(name)

    # ---- the whole corpus

    def run(self) -> dict:
        rng = self.rng
        n_copies = round(COPY_SHARE * self.n_docs) if self.n_docs >= 2 else 0
        n_orig = self.n_docs - n_copies
        n_sites = min(20, max(8, round(math.sqrt(self.n_docs) / 2.75)))
        originals = self._originals(n_orig)
        for o in originals:
            o.name = self._name()
        sites = self._sites(n_sites)
        # How many copies each original gets: whole draws until the copy budget is spent.
        left = n_copies
        ks, ps = zip(*COPIES_PER_SOURCE, strict=True)
        for o in rng.sample(originals, len(originals)):
            if left <= 0:
                break
            o.n_copies = min(left, rng.choices(ks, ps)[0], len(sites))
            left -= o.n_copies
        if left > 0:  # tiny corpora: spread what is left over
            for o in originals:
                extra = min(left, len(sites) - o.n_copies)
                o.n_copies += extra
                left -= extra
        for o in originals:
            self._write_source(o, "source" if o.n_copies else None)
        reposts: list[tuple[_Original, _Site]] = []
        for o in originals:
            if o.n_copies:  # distinct sites, more often the busier ones
                keys = sorted(range(len(sites)), key=lambda i: -(rng.random() ** (1.0 / sites[i].weight)))
                for i in keys[: o.n_copies]:
                    sites[i].reposts.append(o)
                    reposts.append((o, sites[i]))
        for o, site in reposts:
            self._write_copy(o, site)
        # Labels of sources: paragraphs copied by at least one copy are syndicated.
        for o in originals:
            for i in o.copied:
                self.docs[o.name]["paragraphs"][i][2] = "syndicated"
        # Boilerplate: a copy's own line that recurs verbatim on >= 3 of its site's reposts.
        for site in sites:
            seen: Counter[str] = Counter()
            for name in site.copies:
                seen.update({p[3] for p in self.docs[name]["paragraphs"] if p[2] == "wrapper"})
            for name in site.copies:
                for p in self.docs[name]["paragraphs"]:
                    if p[2] == "wrapper" and seen[p[3]] >= BOILERPLATE_MIN_REPOSTS:
                        p[2] = "boilerplate"
        return self._truth(originals)

    def _truth(self, originals: list[_Original]) -> dict:
        clustered = sorted(o.name for o in originals if o.n_copies)
        cluster_id = {name: i for i, name in enumerate(clustered)}
        members: dict[str, list[str]] = {name: [name] for name in clustered}
        for name, doc in self.docs.items():
            if doc["role"] == "copy":
                members[doc["source"]].append(name)
        documents = {}
        for name in sorted(self.docs):
            doc = self.docs[name]
            src = name if doc["role"] == "source" else doc.get("source")
            documents[name] = {
                "cluster": cluster_id[src] if src is not None else None,
                "role": doc["role"],
                "site": doc["site"],
                **({"edits": doc["edits"]} if "edits" in doc else {}),
                "paragraphs": [{"start": s, "end": e, "label": lab} for s, e, lab, _ in doc["paragraphs"]],
            }
        clusters = [{"id": cluster_id[s], "source": s, "members": sorted(members[s])} for s in clustered]
        spans = sorted(self.spans, key=lambda s: (s["a"], s["a_start"]))
        return {
            "version": VERSION,
            "seed": self.seed,
            "n_docs": len(documents),
            "documents": documents,
            "clusters": clusters,
            "spans": spans,
        }


# --------------------------------------------------------------------------- checks


def _check(truth: dict, texts: dict[str, str]) -> list[str]:
    problems: list[str] = []
    docs = truth["documents"]
    lines = truth.get("layout", "plain") == "plain"  # other layouts: a paragraph is not a line
    if set(docs) != set(texts):
        problems.append("documents in truth and on disk differ")
    for name, doc in docs.items():
        text = texts.get(name)
        if text is None:
            continue
        got = [(p["start"], p["end"]) for p in doc["paragraphs"]]
        if lines and paragraph_spans(text) != got:
            problems.append(f"{name}: paragraph offsets do not match the text's lines")
        if any(text[a:b] != text[a:b].strip() or a == b for a, b in got):
            problems.append(f"{name}: an empty or untrimmed paragraph")
        for p in doc["paragraphs"]:
            if p["label"] not in LABELS:
                problems.append(f"{name}: unknown label {p['label']!r}")
        labels = {p["label"] for p in doc["paragraphs"]}
        if doc["role"] is None and labels - {"original"}:
            problems.append(f"{name}: unclustered document with labels {sorted(labels)}")
        if doc["role"] == "source" and labels - {"original", "syndicated"}:
            problems.append(f"{name}: source with labels {sorted(labels)}")
        if doc["role"] == "copy" and "syndicated" not in labels:
            problems.append(f"{name}: copy without syndicated paragraphs")
    for c in truth["clusters"]:
        roles = sorted(docs[m]["role"] for m in c["members"])
        if roles != ["copy"] * (len(roles) - 1) + ["source"] or docs[c["source"]]["role"] != "source":
            problems.append(f"cluster {c['id']}: roles {roles}")
        if any(docs[m]["cluster"] != c["id"] for m in c["members"]):
            problems.append(f"cluster {c['id']}: members disagree on their cluster")
    for s in truth["spans"]:
        a, b = texts.get(s["a"]), texts.get(s["b"])
        if a is None or b is None:
            problems.append(f"span {s['a']}–{s['b']}: unknown document")
            continue
        if docs[s["a"]]["cluster"] is None or docs[s["a"]]["cluster"] != docs[s["b"]]["cluster"]:
            problems.append(f"span {s['a']}–{s['b']}: documents are not in one cluster")
        ta, tb = a[s["a_start"] : s["a_end"]], b[s["b_start"] : s["b_end"]]
        if not ta or not tb or ta != ta.strip() or tb != tb.strip():
            problems.append(f"span {s['a']}@{s['a_start']}: empty or untrimmed slice")
            continue
        wa, wb = _norm_tokens(ta), _norm_tokens(tb)
        if _is_cjk(ta[:200]):  # unspaced script: re-wrapping may cut anywhere, compare characters
            wa, wb = list("".join(wa)), list("".join(wb))
        same_ends = wa[0] == wb[0] and wa[-1] == wb[-1] if wa and wb else False
        common = sum((Counter(wa) & Counter(wb)).values())
        longest = max(len(wa), len(wb))
        if not same_ends or (common < 0.75 * longest and longest - common > 8):
            problems.append(f"span {s['a']}@{s['a_start']}: copy and source slices differ ({ta[:40]!r} / {tb[:40]!r})")
        starts = {p["start"] for p in docs[s["a"]]["paragraphs"] if p["label"] == "syndicated"}
        if s["a_start"] not in starts:
            problems.append(f"span {s['a']}@{s['a_start']}: does not start at a syndicated paragraph")
        bstarts = {p["start"] for p in docs[s["b"]]["paragraphs"] if p["label"] == "syndicated"}
        if s["b_start"] not in bstarts:
            problems.append(f"span {s['a']}@{s['a_start']}: source side does not start at a syndicated paragraph")
    return problems


def check_corpus(out_dir: str | Path) -> list[str]:
    """Re-read a generated corpus and list every inconsistency between files and truth (empty: all good)."""
    out = Path(out_dir)
    with open(out / TRUTH_NAME, encoding="utf-8") as f:
        truth = json.load(f)
    texts = {p.name: read_written(p) for p in sorted(out.glob("doc_*.txt"))}
    return _check(truth, texts)


# --------------------------------------------------------------------------- public entry points


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    foreign = [p.name for p in out.iterdir() if p.is_symlink() or not p.is_file() or not is_generated_name(p.name)]
    if foreign:
        shown = ", ".join(sorted(foreign)[:5]) + (" …" if len(foreign) > 5 else "")
        raise FileExistsError(f"{out}: not empty and holds files this generator did not write ({shown}); refusing")
    for p in out.iterdir():  # an earlier corpus of ours: replace it whole
        p.unlink()


def _dump_truth(truth: dict) -> str:
    """truth.json with one document, cluster or span a line: fast to write, readable, diff-friendly."""

    def dumps(x) -> str:
        return json.dumps(x, ensure_ascii=False, separators=(",", ":"))

    head = {k: v for k, v in truth.items() if k not in ("documents", "clusters", "spans")}
    parts = [dumps(head)[:-1] + ',\n"documents":{\n']
    parts.append(",\n".join(f"{dumps(k)}:{dumps(v)}" for k, v in truth["documents"].items()))
    parts.append('},\n"clusters":[\n' + ",\n".join(dumps(c) for c in truth["clusters"]))
    parts.append('],\n"spans":[\n' + ",\n".join(dumps(s) for s in truth["spans"]) + "]}\n")
    return "".join(parts)


def generate(
    out_dir: str | Path, n_docs: int, seed: int = 0, *, data: str | Path = DATA, layout: str = "plain"
) -> dict:
    """Write a labelled corpus of ``n_docs`` documents to ``out_dir`` and return its truth.

    ``layout``: ``plain`` (no metadata), ``meta`` or ``wrapped`` (see the module doc); one seed gives the same
    documents in each. Raises FileExistsError if ``out_dir`` holds anything but an earlier corpus
    of this generator (which is replaced).
    """
    if n_docs < 1:
        raise ValueError("n_docs must be at least 1")
    if layout not in LAYOUTS:
        raise ValueError(f"no such layout {layout!r}: choose from {', '.join(LAYOUTS)}")
    out = Path(out_dir)
    gen = _Generator(int(n_docs), int(seed), Path(data))
    truth = gen.run()
    problems = _check(truth, gen.texts)
    texts = gen.texts
    if layout != "plain":
        texts, truth = _relayout(gen, truth, layout)
        problems += _check(truth, texts)
    if problems:
        raise RuntimeError("generated corpus failed its self-check:\n" + "\n".join(problems[:20]))
    _prepare(out)
    for name in sorted(texts):
        encoding = "utf-8"
        if layout == "wrapped" and _fits_1252(texts[name]):
            encoding = "cp1252"
        with open(out / name, "w", encoding=encoding, newline="") as f:
            f.write(texts[name])
    with open(out / TRUTH_NAME, "w", encoding="utf-8", newline="\n") as f:
        f.write(_dump_truth(truth))
    return truth


WRAP_WIDTH = 72


def _fits_1252(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _wrap_lines(text: str) -> tuple[str, list[int]]:
    """Every line longer than ``WRAP_WIDTH`` broken at spaces (the space becomes the break), CRLF line ends;
    and where each character of ``text`` (and its end) went."""
    out: list[str] = []
    where = [0] * (len(text) + 1)
    pos = new = 0
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        breaks: set[int] = set()
        start = 0
        while len(line) - start > WRAP_WIDTH:
            cut = line.rfind(" ", start + 1, start + WRAP_WIDTH + 1)
            if cut < 0:
                cut = line.find(" ", start + WRAP_WIDTH + 1)
            if cut < 0:
                break
            breaks.add(cut)
            start = cut + 1
        for i, ch in enumerate(line):
            where[pos + i] = new
            if i in breaks:
                out.append("\r\n")
                new += 2
            else:
                out.append(ch)
                new += 1
        for i in range(len(line), len(raw) + 1):  # the line's own \r, and its \n
            if pos + i < len(where):
                where[pos + i] = new
        pos += len(raw) + 1
        out.append("\r\n")
        new += 2
    text_out = "".join(out)[:-2]  # the last piece had no \n after it
    where[len(text)] = len(text_out)
    return text_out, where


def _relayout(gen: _Generator, truth: dict, layout: str) -> tuple[dict[str, str], dict]:
    """The texts with front matter (``meta``) or hard-wrapped (``wrapped``), and the truth's offsets moved."""
    rng = random.Random(f"corpus-layout-{gen.seed}")
    moves: dict[str, Callable[[int], int]] = {}
    texts: dict[str, str] = {}
    if layout == "meta":
        publishers = [f"{rng.choice(_PUBLISHER_WORDS)}{i}.example" for i in range(20)]
        dates: dict[str, datetime] = {}
        for c in truth["clusters"]:
            dates[c["source"]] = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(366))
        for name in sorted(gen.texts):
            doc = truth["documents"][name]
            site = doc["site"] or rng.choice(publishers)
            src = truth["clusters"][doc["cluster"]]["source"] if doc["cluster"] is not None else None
            if doc["role"] == "copy":
                date = dates[src] + timedelta(minutes=rng.randint(30, 4 * 24 * 60))
            else:
                date = dates.get(name) or datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(366))
            url = f"https://{site}/news/{rng.getrandbits(40):010x}"
            head = front_matter(date.isoformat(), site, url)
            texts[name] = head + gen.texts[name]
            moves[name] = partial(operator.add, len(head))
    else:
        for name, text in gen.texts.items():
            texts[name], where = _wrap_lines(text)
            moves[name] = where.__getitem__

    def end(name: str, i: int) -> int:  # an exclusive end: just after the last character
        return moves[name](i - 1) + 1 if i else 0

    docs = {}
    for name, doc in truth["documents"].items():
        paras = [{**p, "start": moves[name](p["start"]), "end": end(name, p["end"])} for p in doc["paragraphs"]]
        docs[name] = {**doc, "paragraphs": paras}
    spans = [
        {
            **s,
            "a_start": moves[s["a"]](s["a_start"]),
            "a_end": end(s["a"], s["a_end"]),
            "b_start": moves[s["b"]](s["b_start"]),
            "b_end": end(s["b"], s["b_end"]),
        }
        for s in truth["spans"]
    ]
    return texts, {**truth, "layout": layout, "documents": docs, "spans": spans}


_PUBLISHER_WORDS = ("daily", "herald", "courier", "gazette", "observer", "tribune", "review", "journal", "times")


def summarize(truth: dict, texts: dict[str, str] | None = None) -> dict:
    """Counts describing a corpus: documents, roles, cluster sizes, labels, sites."""
    docs = truth["documents"]
    roles = Counter(d["role"] or "unclustered" for d in docs.values())
    labels = Counter(p["label"] for d in docs.values() for p in d["paragraphs"])
    sizes = Counter(len(c["members"]) for c in truth["clusters"])
    out = {
        "documents": len(docs),
        "roles": dict(sorted(roles.items())),
        "clusters": len(truth["clusters"]),
        "cluster_sizes": {str(k): v for k, v in sorted(sizes.items())},
        "sites": len({d["site"] for d in docs.values() if d.get("site")}),
        "spans": len(truth["spans"]),
        "paragraph_labels": dict(sorted(labels.items())),
    }
    if texts is not None:
        ratios = []
        for d in docs.values():
            if d["role"] != "copy":
                continue
            chars = Counter()
            for p in d["paragraphs"]:
                chars[p["label"] == "syndicated"] += p["end"] - p["start"]
            ratios.append(chars[False] / max(1, chars[True]))
        if ratios:
            q = np.quantile(ratios, [0.0, 0.25, 0.5, 0.75, 0.9, 1.0])
            out["wrapper_to_copied_chars"] = dict(
                zip(("min", "p25", "median", "p75", "p90", "max"), (round(float(x), 3) for x in q), strict=True)
            )
            out["copies_without_wrapper"] = sum(r == 0 for r in ratios)
        crlf = sum("\r\n" in t for t in texts.values())
        out["crlf_documents"] = crlf
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.corpora.corpus", description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir", type=Path, help="where to write doc_*.txt and truth.json (empty or an earlier corpus)")
    p.add_argument("--docs", type=int, default=1000, help="number of documents (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--layout", choices=LAYOUTS, default="plain", help="how files are written (default plain)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        truth = generate(args.out_dir, args.docs, args.seed, layout=args.layout)
    except (FileExistsError, ValueError) as e:
        print(f"corpus: error: {e}", file=sys.stderr)
        return 2
    texts = {name: read_written(args.out_dir / name) for name in truth["documents"]}
    info = summarize(truth, texts)
    info["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
