"""A deterministic, streamed news corpus of any size, for throughput runs.

The text is drawn from the real article bodies in ``data/aeb/ground-truth.json``:
words follow their empirical unigram distribution (with their punctuation and
Unicode quotes as found), sentence and paragraph lengths look like news, and a
long tail of proper nouns, numbers and one-off tokens makes the vocabulary keep
growing with the corpus as real news does (Heaps' law). It is not grammatical:
throughput depends on the statistics of the text (token lengths, vocabulary
size and growth, document lengths, how many documents are copies), not on its
meaning.

About one document in five is a republished copy of a recent original, wrapped
in one of a few dozen sites' header and footer and lightly edited, so the index,
verify and cluster stages do real work.

With ``recurring > 0`` text also recurs across *unrelated* articles, as it does
in real news (``recurring = 0``, the default, writes exactly the corpus of
earlier versions): a share ``recurring`` of each original's sentences is
replaced by sentences of a shared pool (real sentences of the aeb bodies, split
on sentence boundaries), sized so each pooled sentence appears in about
``recurrence`` (default 50) unrelated originals; some originals also carry a
pooled real paragraph, a stock phrase ("The company did not immediately respond
to a request for comment.", agency credits) or a boilerplate paragraph common to
many pages; about one page in 500 is 10-50x the mean length; and some copies are
new versions of a story, with more words reworded. The pool is fixed per epoch of
``EPOCH_BLOCKS`` blocks, so a pooled sentence's recurrence does not grow with the
corpus (stock phrases and boilerplate paragraphs do, as in real news). When the
real sentences run out, later epochs reuse them with every fourth word swapped
(a different phase and draw per reuse), so no 5-gram survives between reuses.

With ``pool = "fixed"`` (the **fixed-pool** corpus) there are no epochs: every block draws
from one pool holding every real sentence and paragraph once, as an archive keeps
repeating the same stock lines and agency boilerplate, so a pooled sentence's holders
grow in proportion to the corpus (~35 originals at 20k documents, ~175 at 100k, ~1,750
at 1M), and originals have 8-20 paragraphs.

Documents are generated in independent blocks of ``BLOCK`` documents, each from
its own seed, so the output is the same whatever the number of worker
processes, and memory stays flat at any size. Files go to
``out_dir/NNNN/NNNNNNNN.txt``, ``BLOCK`` per folder, with YAML front matter
carrying a publication date.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data" / "aeb" / "ground-truth.json"
BLOCK = 1000
COPY_RATE = 0.2
N_SITES = 40
N_NAMES = 200_000
RARE_RATE = 0.003  # share of tokens that are one-off strings (typos, codes, rare names)
MEAN_WORDS = 520  # ~4 KB per document with front matter

# Recurring text (only with ``recurring > 0``).
DEFAULT_RECURRING = 0.5  # share of an original's sentences taken from the shared pool
DEFAULT_RECURRENCE = 50  # unrelated originals each pooled sentence appears in
EPOCH_BLOCKS = 5  # blocks sharing one pool: a "news period" of 5,000 documents
SLOTS_PER_ARTICLE = 32.0  # mean sentences after the headline per original, long pages included (measured)
PARAS_PER_ARTICLE = 12.4  # mean paragraph breaks after the headline per original, long pages included
PARA_SHARE = 0.1  # per paragraph break and unit of ``recurring``: chance to insert a pooled paragraph
STOCK_RATE = 0.4  # originals ending a paragraph with a stock phrase
BOILER_RATE = 0.03  # originals ending with a boilerplate paragraph
LONG_RATE = 0.002  # originals 10-50x the usual length
VERSION_RATE = 0.3  # copies that are new versions (2-5% of the words reworded)
POOLS = ("epoch", "fixed")  # a pool per epoch (constant recurrence), or one pool for the whole corpus
FIXED_PARAGRAPHS = (8, 20)  # paragraphs per original in the fixed-pool corpus (inclusive)

STOCK_PHRASES = (
    "The company did not immediately respond to a request for comment.",
    "A spokesperson declined to comment.",
    "The details of the agreement were not disclosed.",
    "This story has been updated with additional information.",
    "Officials did not respond to requests for comment on Friday.",
    "The Associated Press contributed to this report.",
    "The investigation is ongoing, police said.",
    "Shares of the company fell in after-hours trading.",
    "It was not immediately clear what prompted the decision.",
    "Representatives for the White House did not return a request for comment.",
    "No one was injured, according to the fire department.",
    "Analysts had expected a smaller loss for the quarter.",
    "The statement did not say when the work would be completed.",
    "Police have asked anyone with information to contact them.",
    "The ministry did not give further details.",
    "Reuters could not independently verify the report.",
    "The figures are subject to revision.",
    "An earlier version of this article misstated the date of the meeting.",
    "Markets in Asia were mixed on Monday morning.",
    "Follow us on Twitter for the latest updates.",
    "Additional reporting by staff writers.",
    "The White House declined to comment on the report.",
    "The lawsuit seeks unspecified damages.",
    "The company said it was cooperating fully with the authorities.",
    "Weather forecasters expect conditions to improve later in the week.",
    "The full list of nominees will be announced next month.",
    "Tickets go on sale on Friday at 10 a.m.",
    "The cause of the fire is under investigation.",
    "Neither side responded to requests for comment.",
    "The government has denied the allegations.",
    "Prices may vary by region.",
    "The report was first published by the Financial Times.",
    "(Reporting by staff; Editing by the news desk)",
    "(Writing by the Washington bureau; Editing by the world desk)",
    "Copyright 2020 The Associated Press. All rights reserved.",
    "This material may not be published, broadcast, rewritten or redistributed.",
    "Sign up for our daily newsletter to get the top stories in your inbox.",
    "Click here to read the full report.",
    "Terms of the deal were not disclosed.",
    "The study was published in the journal Nature.",
)
BOILER_PARAGRAPHS = (
    "About the agency: we are a global news organisation providing business, financial, national and international "
    "news to professionals via desktop terminals, the world's media organisations, industry events and directly to "
    "consumers. Our reporters work in more than 200 locations worldwide.",
    "We use cookies to personalise content and ads, to provide social media features and to analyse our traffic. We "
    "also share information about your use of our site with our social media, advertising and analytics partners, who "
    "may combine it with other information that you have provided to them.",
    "Our standards: the Trust Principles. Corrections and clarifications are published as soon as they are confirmed. "
    "If you believe a story contains an error, please contact the standards editor with the article's address and a "
    "description of the problem.",
    "If you or someone you know is struggling, help is available. Call or text the crisis line at any hour of the day "
    "or night, or chat online with a trained counsellor. Calls are free and confidential.",
    "Get the best of our journalism delivered to you. Subscribe now for unlimited access to news, analysis and opinion "
    "from our reporters around the world, with your first month free. Cancel at any time.",
    "This article is part of a series on climate, energy and the environment, supported by a grant from a private "
    "foundation. The foundation has no say over the content of our reporting, which remains fully independent.",
)

_SEPS = (" ", ", ", ". ", ".\n\n")
_SYLLABLES = [
    "ka",
    "ri",
    "to",
    "mi",
    "na",
    "be",
    "lo",
    "sa",
    "vi",
    "de",
    "ran",
    "tel",
    "mor",
    "gan",
    "ste",
    "fan",
    "ol",
    "iv",
    "er",
    "al",
    "ex",
    "an",
    "dra",
    "jo",
    "han",
    "nes",
    "ma",
    "rie",
    "lu",
    "cas",
    "pe",
    "tro",
    "va",
    "nov",
    "ski",
    "berg",
    "stein",
    "wood",
    "field",
    "ton",
    "ley",
    "ham",
    "mond",
    "ford",
    "wick",
    "sen",
    "son",
    "ez",
    "ia",
]


def real_bodies() -> list[str]:
    with open(DATA, encoding="utf-8") as f:
        return [v["articleBody"] for v in json.load(f).values()]


@lru_cache(maxsize=1)
def _model() -> dict:
    """Vocabulary tables built once per process from the real bodies."""
    words: dict[str, int] = {}
    for body in real_bodies():
        for w in body.split():
            w = w.strip(".")
            if w:
                words[w] = words.get(w, 0) + 1
    real = sorted(words, key=lambda w: (-words[w], w))
    real_p = np.array([words[w] for w in real], dtype=np.float64)
    rng = np.random.default_rng(12345)
    syl = np.array(_SYLLABLES, dtype=object)
    n_syl = rng.integers(2, 5, size=N_NAMES)
    picks = rng.integers(0, len(syl), size=int(n_syl.sum()))
    names, pos = [], 0
    for n in n_syl.tolist():
        names.append("".join(syl[picks[pos : pos + n]]).capitalize())
        pos += n
    numbers = [str(x) for x in range(1900, 2031)] + [f"{x / 10:.1f}" for x in range(1, 1000)]
    numbers += [f"${x}" for x in range(1, 500)] + [f"{x}%" for x in range(1, 100)]
    tail = list(dict.fromkeys(names + numbers))
    # Zipf weights for the tail, together 8% of all word draws.
    tail_p = 1.0 / np.arange(1, len(tail) + 1) ** 1.05
    tail_p *= real_p.sum() * 0.08 / 0.92 / tail_p.sum()
    vocab = real + tail
    p = np.concatenate([real_p, tail_p])
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    # Every surface form with each separator, lower and capitalised: token id * 8 + variant.
    table = np.empty(len(vocab) * 8, dtype=object)
    for i, w in enumerate(vocab):
        cap = w[:1].upper() + w[1:]
        for s, sep in enumerate(_SEPS):
            table[i * 8 + s] = w + sep
            table[i * 8 + 4 + s] = cap + sep
    sites = []
    for s in range(N_SITES):
        r = np.random.default_rng([777, s])
        name = " ".join(str(x) for x in r.choice(tail[:5000], size=2)) + " News"
        promo = " ".join(str(x) for x in r.choice(real[:3000], size=int(r.integers(15, 40))))
        disclaimer = " ".join(str(x) for x in r.choice(real[:3000], size=int(r.integers(30, 80))))
        sites.append(
            (
                f"{name} / World / Business\n\n",
                f"\n\nSubscribe to {name}: {promo}.\n\n© {name}. {disclaimer}.\n",
            )
        )
    return {"cdf": cdf, "table": table, "sites": sites, "n_vocab": len(vocab), "real": real}


_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def _rare_tokens(rng: np.random.Generator, n: int) -> list[str]:
    lengths = rng.integers(5, 12, size=n)
    letters = _LETTERS[rng.integers(0, 26, size=int(lengths.sum()))].tobytes().decode("ascii")
    ends = np.cumsum(lengths).tolist()
    return [letters[e - ln : e] + " " for e, ln in zip(ends, lengths.tolist())]


def _article(
    rng: np.random.Generator,
    m: dict,
    pool: Pool | None = None,
    scale: float = 1.0,
    used: list | None = None,
    paragraphs: tuple[int, int] | None = None,
) -> str:
    """An original; with ``pool`` some of its sentences and paragraphs come from the shared pool;
    with ``paragraphs`` (lo, hi) it has lo to hi paragraphs after the headline (as sentences allow)."""
    n_words = int(np.clip(rng.lognormal(np.log(MEAN_WORDS), 0.45), 40, 6000))
    if scale != 1.0:
        n_words = int(n_words * scale)
    ids = np.searchsorted(m["cdf"], rng.random(n_words), side="right")
    ids = np.minimum(ids, m["n_vocab"] - 1)
    # Sentences of ~20 words, paragraphs of 1-4 sentences, the first line a headline.
    sent_end = rng.random(n_words) < 1 / 20
    para_end = sent_end & (rng.random(n_words) < 0.4)
    comma = ~sent_end & (rng.random(n_words) < 0.06)
    variant = np.where(para_end, 3, np.where(sent_end, 2, np.where(comma, 1, 0)))
    headline = min(int(rng.integers(6, 14)), n_words - 1)
    variant[headline - 1] = 3
    starts = np.zeros(n_words, dtype=bool)
    starts[0] = True
    if paragraphs is not None:  # paragraph breaks at a chosen number of the sentence ends
        ends = np.flatnonzero(variant[headline:-1] >= 2) + headline
        want = int(rng.integers(paragraphs[0], paragraphs[1] + 1)) - 1
        variant[ends] = 2
        variant[rng.permutation(ends)[:want]] = 3
    starts[1:] = variant[:-1] >= 2
    variant[-1] = 2
    tokens = m["table"][ids * 8 + variant + 4 * starts].tolist()
    n_rare = rng.binomial(n_words, RARE_RATE)
    if n_rare:
        for pos, tok in zip(rng.integers(1, n_words - 1, size=n_rare).tolist(), _rare_tokens(rng, n_rare)):
            if variant[pos] == 0 and not starts[pos]:
                tokens[pos] = tok
    suffix = ""
    if pool is not None:
        suffix = _splice_pool(rng, pool, tokens, variant, starts, used if used is not None else [])
    return "".join(tokens).rstrip(" ") + suffix + "\n"


# --------------------------------------------------------------------------- recurring text

_NEXT = r"(?=[\"“‘(\[]?[A-ZÀ-ÖØ-ÞА-Я])"  # not digits: "Dec. 11" is no sentence end
_SENTENCE_END = re.compile(rf"(?<=[.!?…])\s+{_NEXT}|(?<=[.!?…][\"”’)\]])\s+{_NEXT}|(?<=[。！？])")
_CORE = re.compile(r"^(\W*)(\w+)(.*)$", re.S)


@lru_cache(maxsize=1)
def _real_units() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Real sentences and paragraphs of the aeb bodies, split on sentence boundaries.

    About 15% of the 2-5-sentence paragraphs (chosen by a CRC of their text) are pooled
    whole; the sentences of all other paragraphs (6-80 words, or CJK of 20+ characters)
    are pooled one by one, so no text is in both pools.
    """
    sentences: list[str] = []
    paragraphs: list[str] = []
    for body in real_bodies():
        for para in re.split(r"\n+", body):
            para = para.strip()
            if not para:
                continue
            parts = [x.strip() for x in _SENTENCE_END.split(para) if x.strip()]
            n_words = len(para.split())
            if 2 <= len(parts) <= 5 and 30 <= n_words <= 150 and zlib.crc32(para.encode()) % 100 < 15:
                paragraphs.append(para)
                continue
            for x in parts:
                n = len(x.split())
                if "http" in x or "www." in x:
                    continue
                if 6 <= n <= 80 or (n < 3 and len(x) >= 20):
                    sentences.append(x)
    return tuple(dict.fromkeys(sentences)), tuple(dict.fromkeys(paragraphs))


@dataclass(frozen=True)
class Pool:
    """The shared text of one epoch: pooled sentences and paragraphs, with their global unit numbers."""

    epoch: int
    sentences: tuple[str, ...]
    paragraphs: tuple[str, ...]
    sentence_ids: tuple[int, ...]  # global unit number of each sentence (epoch * size + j)
    paragraph_ids: tuple[int, ...]
    recurring: float


def pool_sizes(recurring: float, recurrence: float) -> tuple[int, int]:
    """Pooled sentences and paragraphs per epoch so each recurs in ~``recurrence`` originals."""
    originals = EPOCH_BLOCKS * BLOCK * (1 - COPY_RATE)
    n_sent = max(1, round(originals * SLOTS_PER_ARTICLE * recurring / recurrence))
    n_para = max(1, round(originals * PARAS_PER_ARTICLE * recurring * PARA_SHARE / recurrence))
    return n_sent, n_para


def _reworded(text: str, generation: int, rng: np.random.Generator, real: list[str]) -> str:
    """Generation 0: the text as it is; later ones swap every fourth word (phase by generation).

    Every run of five words holds a swapped word, so reuses share no word 5-gram with the
    original or (bar coinciding draws) with each other. Capitalisation and punctuation stay.
    """
    if generation == 0:
        return text
    words = text.split(" ")
    picks = rng.integers(0, 3000, size=len(words)).tolist()
    for i in range((generation - 1) % 4, len(words), 4):
        match = _CORE.match(words[i])
        new = real[picks[i]]
        if match is None:
            words[i] = new
            continue
        lead, core, rest = match.groups()
        if core[:1].isupper():
            new = new[:1].upper() + new[1:]
        words[i] = lead + new + rest
    return " ".join(words)


@lru_cache(maxsize=4)
def _pool(seed: int, epoch: int, recurring: float, recurrence: float) -> Pool:
    """The pool of an epoch: the next slice of an endless sequence of real units (reworded on reuse)."""
    sentences, paragraphs = _real_units()
    real = _model()["real"]
    n_sent, n_para = pool_sizes(recurring, recurrence)
    out = []
    for units, size, kind in ((sentences, n_sent, 0), (paragraphs, n_para, 1)):
        texts, ids = [], []
        perms: dict[int, np.ndarray] = {}
        for q in range(epoch * size, (epoch + 1) * size):
            generation, k = divmod(q, len(units))
            if generation not in perms:
                perms[generation] = np.random.default_rng([seed, 31, kind, generation]).permutation(len(units))
            rng = np.random.default_rng([seed, 37, kind, q])
            texts.append(_reworded(units[int(perms[generation][k])], generation, rng, real))
            ids.append(q)
        out.append((tuple(texts), tuple(ids)))
    return Pool(epoch, out[0][0], out[1][0], out[0][1], out[1][1], recurring)


@lru_cache(maxsize=2)
def _fixed_pool(seed: int, recurring: float) -> Pool:
    """One pool for the whole corpus: every real sentence and paragraph once (order by ``seed``)."""
    sentences, paragraphs = _real_units()
    perm_s = np.random.default_rng([seed, 41, 0]).permutation(len(sentences)).tolist()
    perm_p = np.random.default_rng([seed, 41, 1]).permutation(len(paragraphs)).tolist()
    return Pool(
        0,
        tuple(sentences[i] for i in perm_s),
        tuple(paragraphs[i] for i in perm_p),
        tuple(range(len(sentences))),
        tuple(range(len(paragraphs))),
        recurring,
    )


def _splice_pool(
    rng: np.random.Generator, pool: Pool, tokens: list[str], variant: np.ndarray, starts: np.ndarray, used: list
) -> str:
    """Replace sentences by pooled ones, insert pooled paragraphs, a stock phrase and boilerplate, in place.

    ``tokens`` are the article's words with their separators; ``variant`` says how each word
    ends (0 space, 1 comma, 2 sentence, 3 paragraph); ``starts`` marks sentence starts.
    The pooled units used are appended to ``used`` as (kind, number); the return value is
    the text to append after the last sentence (a boilerplate paragraph, or nothing).
    """
    first = np.flatnonzero(starts)
    last = np.append(first[1:] - 1, len(tokens) - 1)
    pick = rng.random(len(first)) < pool.recurring
    pick[0] = False  # the headline stays the article's own
    which = rng.integers(0, len(pool.sentences), size=len(first))
    for s, e, j in zip(first[pick].tolist(), last[pick].tolist(), which[pick].tolist()):
        sep = "\n\n" if variant[e] == 3 else " "
        tokens[s] = pool.sentences[j] + sep
        tokens[s + 1 : e + 1] = [""] * (e - s)
        used.append(("s", pool.sentence_ids[j]))
    breaks = np.flatnonzero(variant[:-1] == 3)
    if len(breaks) > 1:
        add = breaks[1:][rng.random(len(breaks) - 1) < pool.recurring * PARA_SHARE]
        for pos in add.tolist():
            j = int(rng.integers(0, len(pool.paragraphs)))
            tokens[pos] = tokens[pos] + pool.paragraphs[j] + "\n\n"
            used.append(("p", pool.paragraph_ids[j]))
    if rng.random() < STOCK_RATE:
        weights = 1.0 / np.arange(1, len(STOCK_PHRASES) + 1)
        j = int(rng.choice(len(STOCK_PHRASES), p=weights / weights.sum()))
        ends = [e for e in np.flatnonzero(variant >= 2).tolist() if tokens[e]]
        pos = ends[int(rng.integers(0, len(ends)))]
        if tokens[pos].endswith("\n\n"):
            tokens[pos] = tokens[pos][:-2] + " " + STOCK_PHRASES[j] + "\n\n"
        else:
            tokens[pos] = tokens[pos].rstrip(" ") + " " + STOCK_PHRASES[j] + " "
        used.append(("stock", j))
    if rng.random() < BOILER_RATE:
        j = int(rng.integers(0, len(BOILER_PARAGRAPHS)))
        used.append(("boiler", j))
        return "\n\n" + BOILER_PARAGRAPHS[j]
    return ""


_WORD = re.compile(r"\S+")


def _copy(rng: np.random.Generator, m: dict, body: str, version: bool = False) -> tuple[str, str]:
    """A republished copy: a site's wrapper around the body, with a few words edited and maybe the end cut.

    A ``version`` (a later edit of the story) rewords 2-5% of the words instead of up to 1%.
    """
    kind = "version" if version else "copy"
    words = body.split(" ")
    hi = max(2, len(words) // 100)
    n_edits = int(len(words) * rng.uniform(0.02, 0.05)) if version else int(rng.integers(0, hi))
    for pos in rng.integers(0, len(words), size=n_edits).tolist():
        if "\n" not in words[pos]:
            words[pos] = m["table"][int(rng.integers(0, 2000)) * 8]
            words[pos] = words[pos].rstrip(" ")
    text = " ".join(words)
    if rng.random() < 0.3:  # cut after the first half or more of the paragraphs
        paras = text.split("\n\n")
        keep = max(1, int(len(paras) * rng.uniform(0.5, 0.9)))
        text = "\n\n".join(paras[:keep]).rstrip() + "\n"
        kind = "truncated"
    if rng.random() < 0.7:
        head, foot = m["sites"][int(rng.integers(0, len(m["sites"])))]
        text = head + text.rstrip("\n") + foot
        kind = "wrapped-" + kind
    return text, kind


def _date(rng: np.random.Generator, base_day: int) -> tuple[int, str]:
    day = base_day + int(rng.integers(0, 3))
    d = np.datetime64("2020-01-01") + np.timedelta64(day, "D")
    return day, f"{d}T{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:00"


def generate_block(
    out_dir: str,
    block: int,
    n_docs: int,
    seed: int,
    recurring: float = 0.0,
    recurrence: float = DEFAULT_RECURRENCE,
    pool_kind: str = "epoch",
) -> dict:
    """Write documents ``block * BLOCK`` onwards (``n_docs`` of them); return their bytes, truth and pool use.

    ``recurring = 0`` writes the clean corpus (the same bytes as before recurring text existed);
    ``pool_kind`` "epoch" a pool per epoch, "fixed" one pool for all (see the module).
    """
    m = _model()
    rng = np.random.default_rng([seed, block])
    folder = Path(out_dir) / f"{block:04d}"
    folder.mkdir(parents=True, exist_ok=True)
    pool = None
    if recurring > 0:
        fixed = pool_kind == "fixed"
        pool = _fixed_pool(seed, recurring) if fixed else _pool(seed, block // EPOCH_BLOCKS, recurring, recurrence)
    shape = FIXED_PARAGRAPHS if pool is not None and pool_kind == "fixed" else None
    originals: list[tuple[int, int, str]] = []
    truth, n_bytes = [], 0
    used: list[tuple[str, int]] = []  # pooled units per original, for recurrence counts
    for j in range(n_docs):
        doc = block * BLOCK + j
        if originals and rng.random() < COPY_RATE:
            src_doc, src_day, body = originals[int(rng.integers(max(0, len(originals) - 200), len(originals)))]
            version = pool is not None and rng.random() < VERSION_RATE
            text, kind = _copy(rng, m, body, version)
            day, date = _date(rng, src_day + 1)
            truth.append([doc, src_doc, kind])
        else:
            if pool is None:
                text = _article(rng, m)
            else:
                scale = float(rng.uniform(10, 50)) if rng.random() < LONG_RATE else 1.0
                mine: list[tuple[str, int]] = []
                text = _article(rng, m, pool, scale, mine, shape)
                used.extend(set(mine))  # an article counts once per unit
            day, date = _date(rng, block // 2)
            originals.append((doc, day, text))
            truth.append([doc, doc, "long" if pool is not None and scale != 1.0 else "original"])
        data = f"---\ndate: {date}\n---\n{text}".encode()
        n_bytes += len(data)
        with open(folder / f"{doc:08d}.txt", "wb") as f:
            f.write(data)
    return {"bytes": n_bytes, "truth": truth, "used": [f"{k}:{u}" for k, u in used]}


def generate_stream(
    out_dir: str | os.PathLike[str],
    n_docs: int,
    seed: int = 0,
    workers: int | None = None,
    recurring: float = 0.0,
    recurrence: float = DEFAULT_RECURRENCE,
    pool: str = "epoch",
) -> dict:
    """Write ``n_docs`` documents under ``out_dir`` (created; must not exist or be empty).

    Returns a summary: documents, bytes, documents by kind, seconds, and with
    ``recurring > 0`` how often the pooled units recur (``recurrence``: originals per
    pooled sentence and paragraph, mean and percentiles; originals carrying each stock
    phrase and boilerplate paragraph). ``pool``: "epoch" or "fixed" (see the module).
    """
    if not 0 <= recurring <= 1:
        raise ValueError(f"recurring must be within [0, 1], got {recurring!r}")
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
    if recurrence <= 0:
        raise ValueError(f"recurrence must be positive, got {recurrence!r}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; refusing to write into it")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    blocks = [
        (str(out), b, min(BLOCK, n_docs - b * BLOCK), seed, recurring, recurrence, pool)
        for b in range(-(-n_docs // BLOCK))
    ]
    workers = workers or min(os.cpu_count() or 1, 4)
    kinds: dict[str, int] = {}
    counts: Counter[str] = Counter()
    n_bytes = 0

    def add(r: dict) -> None:
        nonlocal n_bytes
        n_bytes += r["bytes"]
        for _, _, kind in r["truth"]:
            kinds[kind] = kinds.get(kind, 0) + 1
        counts.update(r["used"])

    if workers > 1 and len(blocks) > 1:
        with ProcessPoolExecutor(workers) as executor:
            for r in executor.map(generate_block, *zip(*blocks), chunksize=4):
                add(r)
    else:
        for args in blocks:
            add(generate_block(*args))
    summary = {"docs": n_docs, "bytes": n_bytes, "kinds": kinds, "seconds": time.perf_counter() - t0, "seed": seed}
    if recurring > 0:
        summary["recurring"] = recurring
        summary["pool"] = pool
        if pool == "epoch":
            summary["recurrence_target"] = recurrence
        summary["recurrence"] = recurrence_stats(counts)
    return summary


def recurrence_stats(counts: Counter[str]) -> dict:
    """Originals per pooled unit (mean, median, p10, p90, max) by kind, and per stock phrase and boilerplate."""
    out: dict = {}
    for kind, name in (("s", "sentences"), ("p", "paragraphs")):
        c = np.array([v for k, v in counts.items() if k.startswith(kind + ":")], dtype=np.float64)
        if len(c):
            q = np.percentile(c, [10, 50, 90])
            out[name] = {
                "units": len(c),
                "mean": float(c.mean()),
                "p10": float(q[0]),
                "median": float(q[1]),
                "p90": float(q[2]),
                "max": int(c.max()),
            }
    out["stock_phrases"] = {STOCK_PHRASES[int(k[6:])]: v for k, v in counts.most_common() if k.startswith("stock:")}
    out["boilerplate"] = sum(v for k, v in counts.items() if k.startswith("boiler:"))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument(
        "--recurring",
        type=float,
        default=0.0,
        help=f"share of each original's sentences from the shared pool (0: the clean corpus; e.g. {DEFAULT_RECURRING})",
    )
    ap.add_argument(
        "--recurrence", type=float, default=DEFAULT_RECURRENCE, help="unrelated originals per pooled sentence"
    )
    ap.add_argument(
        "--recurring-pool",
        choices=POOLS,
        default="epoch",
        help="epoch: a pool per 5,000 documents (a sentence recurs ~--recurrence times at any size); "
        "fixed: one pool of every real sentence (its holders grow with the corpus; 8-20 paragraphs an original)",
    )
    args = ap.parse_args(argv)
    try:
        summary = generate_stream(
            args.out_dir, args.docs, args.seed, args.workers, args.recurring, args.recurrence, args.recurring_pool
        )
    except (FileExistsError, ValueError) as e:
        raise SystemExit(f"synth: {e}") from None
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
