"""A seeded noise model for copies: OCR errors, broken lines and light paraphrase, with an exact offset map.

``noise(text, rate, seed, variant)`` returns a :class:`Noisy`: the noisy text and, for every boundary ``b``
(0 … ``len(text)``) of the clean text, where a span starting at ``b`` starts (``starts[b]``) and where a span
ending at ``b`` ends (``ends[b]``) in the noisy text. A truth span ``(s, e)`` (a passage, a paragraph, a
wrapper) becomes ``noisy.span(s, e) == (starts[s], ends[e])``: it covers exactly the noisy characters made from
the clean characters inside it, plus letters inserted at its edges; characters made from a clean range that
straddles its edge (``rn`` → ``m`` across it) are taken in whole. Both maps are non-decreasing and
``starts[b] <= ends[b]``. ``origin`` gives, for each noisy character, the clean range ``[lo, hi)`` it was made
from (``lo == hi``: inserted at that boundary), what the tests check the maps against.

Variants (``rate`` 0 is the identity in each):

- ``letters``: each letter (``str.isalpha``) is *touched* with probability ``rate`` (a 5 % rate: about 5 % of
  the letters touched), and a touched letter gets one operation, drawn with these weights:

  ===============  ======  =========================================================================
  operation        weight  what it does
  ===============  ======  =========================================================================
  ``confuse``      0.65    an OCR confusion: ``rn``→``m``, ``cl``→``d``, ``li``→``h``, ``vv``→``w``,
                           ``ri``/``in``→``n``/``m`` when the letter starts such a pair, else one of the
                           letter's look-alikes (``e``→``c``, ``l``→``1``/``i``, ``o``→``0``, ``s``→``5``,
                           ``h``→``b``, ``u``→``n``, ``m``→``rn``, ``d``→``cl``, ``O``→``0``, ``S``→``5``…,
                           :data:`CONFUSIONS`); a letter with none (other scripts) loses its accent, or
                           becomes another letter of the same text
  ``delete``       0.10    the letter is dropped (a word never loses all its letters: then a confusion)
  ``insert``       0.10    a letter is inserted after it (itself doubled, or ``i``/``l``/``r``/``t``)
  ``merge``        0.075   the single space after the letter's word is dropped (two words merged);
                           a confusion where the word is not followed by a single space and another word
  ``split``        0.075   a space is inserted after the letter, inside its word; a confusion at a word's
                           last letter
  ===============  ======  =========================================================================

- ``substitutions``: only one-for-one confusions (lengths unchanged, offsets unchanged): the noise of the
  issue's first measurement.
- ``ocr-lines``: ``letters``, then every line longer than the page width (drawn per document, 60–70 columns)
  hard-wrapped the way a newspaper column is set: at a space, or inside a word of 7 letters or more with
  ``-`` and a line break (the text's own line break, ``\\r\\n`` or ``\\n``), leaving at least 2 letters before
  and 3 after the break; then each wrapped line that is neither the first nor the last line of its clean line
  is dropped with probability ``rate / 2`` (a column line lost; paragraphs never vanish, their first and last
  words stay).
- ``paraphrase``: ``rate`` is the share of the words *changed* (words kept = ``1 - rate``); see
  :func:`paraphrase`.

Everything comes from ``random.Random`` seeded with ``(seed, variant, rate)``: one seed gives the same noisy
text. Line breaks are never created or removed by ``letters`` or ``paraphrase`` (edits never cross a line), so
a document keeps its paragraphs.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "CONFUSIONS",
    "LETTER_MIX",
    "PAIR_CONFUSIONS",
    "SYNONYMS",
    "VARIANTS",
    "Noisy",
    "compose",
    "NOISED_ROLES",
    "identity",
    "noise",
    "noise_corpus",
    "number_words",
    "paraphrase",
]

VARIANTS = ("letters", "substitutions", "ocr-lines", "paraphrase")
# The documents of a generated corpus that noise_corpus passes through the model: the copies, never a source.
NOISED_ROLES = {"accuracy": ("copy",), "wire": ("rewrite", "short")}
LETTER_MIX = (("confuse", 0.65), ("delete", 0.10), ("insert", 0.10), ("merge", 0.075), ("split", 0.075))
WIDTH = (60, 70)  # the page width of ocr-lines, drawn per document
HYPHEN_MIN_WORD = 7  # words at least this long may be split across lines
LINE_DROP = 0.5  # ocr-lines drops an interior wrapped line with probability rate * LINE_DROP

# One clean letter → what OCR reads instead (several: one is drawn).
CONFUSIONS: dict[str, tuple[str, ...]] = {
    "a": ("o", "e", "u"),
    "b": ("h", "6", "lo"),
    "c": ("e", "o"),
    "d": ("cl", "a"),
    "e": ("c", "o"),
    "f": ("t", "l"),
    "g": ("q", "9"),
    "h": ("b", "li", "n"),
    "i": ("l", "1", "j"),
    "j": ("i",),
    "k": ("lc", "h"),
    "l": ("1", "i", "I"),
    "m": ("rn", "nn"),
    "n": ("u", "ri"),
    "o": ("0", "c", "e"),
    "p": ("q", "o"),
    "q": ("g",),
    "r": ("n", "t"),
    "s": ("5", "e"),
    "t": ("f", "l", "1"),
    "u": ("n", "ii", "v"),
    "v": ("y", "u"),
    "w": ("vv",),
    "x": ("k",),
    "y": ("v",),
    "z": ("2",),
    "A": ("4",),
    "B": ("8", "R"),
    "C": ("G", "("),
    "D": ("O",),
    "E": ("F",),
    "F": ("E", "P"),
    "G": ("C", "6"),
    "H": ("N",),
    "I": ("l", "1"),
    "J": ("I",),
    "K": ("R",),
    "L": ("I",),
    "M": ("N",),
    "N": ("M",),
    "O": ("0", "Q"),
    "P": ("F", "R"),
    "Q": ("O",),
    "R": ("B", "P"),
    "S": ("5", "8"),
    "T": ("I", "7"),
    "U": ("V", "O"),
    "V": ("U",),
    "W": ("VV",),
    "X": ("K",),
    "Y": ("V",),
    "Z": ("2",),
}
# Two clean letters read as one glyph (or another pair), tried first when a touched letter starts one.
PAIR_CONFUSIONS: dict[str, str] = {"rn": "m", "cl": "d", "li": "h", "vv": "w", "ri": "n", "in": "m", "ii": "u"}
_INSERTS = "ilrt"

# Light paraphrase: word → replacements (the table is read both ways where the replacement is one word).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "said": ("stated", "told reporters"),
    "says": ("states",),
    "told": ("informed",),
    "announced": ("unveiled", "disclosed"),
    "about": ("around", "roughly"),
    "after": ("following",),
    "before": ("prior to", "ahead of"),
    "because": ("since", "as"),
    "but": ("however",),
    "also": ("additionally",),
    "many": ("numerous", "several"),
    "big": ("large",),
    "large": ("big",),
    "small": ("little",),
    "show": ("indicate",),
    "shows": ("indicates",),
    "showed": ("indicated",),
    "help": ("assist",),
    "helped": ("assisted",),
    "buy": ("purchase",),
    "bought": ("purchased",),
    "start": ("begin",),
    "started": ("began",),
    "begin": ("start",),
    "end": ("finish",),
    "ended": ("finished",),
    "get": ("obtain",),
    "got": ("obtained",),
    "make": ("create",),
    "made": ("created",),
    "use": ("employ",),
    "used": ("employed",),
    "need": ("require",),
    "needs": ("requires",),
    "needed": ("required",),
    "try": ("attempt",),
    "tried": ("attempted",),
    "people": ("individuals", "residents"),
    "city": ("town",),
    "company": ("firm",),
    "companies": ("firms",),
    "country": ("nation",),
    "government": ("administration",),
    "official": ("spokesperson",),
    "officials": ("authorities",),
    "first": ("initial",),
    "last": ("final",),
    "more": ("additional",),
    "increase": ("rise",),
    "increased": ("rose",),
    "decrease": ("drop",),
    "decreased": ("fell",),
    "important": ("significant",),
    "major": ("key",),
    "several": ("a number of",),
    "however": ("but",),
    "while": ("whereas",),
    "during": ("throughout",),
    "near": ("close to",),
    "around": ("about",),
    "almost": ("nearly",),
    "nearly": ("almost",),
    "quickly": ("rapidly",),
    "often": ("frequently",),
    "report": ("study",),
    "reported": ("noted",),
    "according": ("per",),
    "expected": ("anticipated",),
    "plan": ("proposal",),
    "plans": ("proposals",),
    "week": ("seven days",),
    "month": ("four weeks",),
    "children": ("kids",),
    "car": ("vehicle",),
    "cars": ("vehicles",),
    "house": ("home",),
    "job": ("position",),
    "jobs": ("positions",),
    "money": ("funds",),
    "price": ("cost",),
    "prices": ("costs",),
    "problem": ("issue",),
    "problems": ("issues",),
    "question": ("query",),
    "answer": ("reply",),
    "place": ("location",),
    "area": ("region",),
    "team": ("squad",),
    "game": ("match",),
    "win": ("victory",),
    "won": ("secured",),
    "lost": ("was defeated in",),
    "leader": ("head",),
    "president": ("head of state",),
    "minister": ("secretary",),
    "police": ("officers",),
    "killed": ("slain",),
    "died": ("passed away",),
    "hospital": ("medical centre",),
    "new": ("fresh",),
    "old": ("former",),
    "recent": ("latest",),
    "recently": ("lately",),
    "currently": ("at present",),
    "now": ("currently",),
    "today": ("this day",),
    "very": ("highly",),
    "really": ("truly",),
    "think": ("believe",),
    "thinks": ("believes",),
    "believe": ("think",),
    "want": ("wish",),
    "wants": ("wishes",),
    "wanted": ("wished",),
    "give": ("provide",),
    "gave": ("provided",),
    "find": ("discover",),
    "found": ("discovered",),
    "keep": ("retain",),
    "allow": ("permit",),
    "allowed": ("permitted",),
    "include": ("comprise",),
    "including": ("among them",),
    "between": ("among",),
    "enough": ("sufficient",),
    "however,": ("but",),
    "and": ("as well as",),
    "with": ("along with",),
}
_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_PRONOUNS = {"i": "he", "we": "they", "my": "his", "our": "their", "me": "him", "us": "them", "am": "was"}
_PRONOUNS |= {"will": "would", "is": "was", "are": "were", "can": "could", "has": "had", "have": "had"}
_STARTERS = frozenset(
    [
        "the",
        "a",
        "an",
        "in",
        "on",
        "at",
        "for",
        "as",
        "after",
        "when",
        "while",
        "if",
        "some",
        "many",
        "this",
        "that",
        "these",
        "those",
        "it",
        "he",
        "she",
        "they",
        "we",
        "there",
        "but",
        "and",
        "so",
        "then",
        "however",
        "one",
        "two",
        "its",
        "his",
        "her",
        "their",
        "our",
    ]
)
_LINE = re.compile(r"[^\r\n]+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_NUMBER = re.compile(r"(?<![\w.,:/-])\d{1,3}(?:,\d{3})*(?![\w/-])(?![.,:]\d)")  # not 1.5, 18:59, 1993
_SENTENCE = re.compile(r"[^.!?]+[.!?]+[\"”’)]*(?=\s|$)")
_QUOTE_SAID = re.compile(
    r"[\"“](?P<q>[^\"“”]{12,}?)[,.]?[\"”],? (?P<who>(?:[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,2}|he|she|they)) "
    r"(?P<verb>said|says|added|told [\w ]{2,20}?)(?P<end>[.,])"
)
_SAID_QUOTE = re.compile(
    r"(?P<who>(?:[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,2}|He|She|They)) (?P<verb>said|says|added):? "
    r"[\"“](?P<q>[^\"“”]{12,}?)(?P<end>[.!?]?)[\"”]"
)


# --------------------------------------------------------------------------- the offset map


@dataclass(frozen=True)
class Noisy:
    """A noisy text and its exact offset map from the clean text (see the module docstring)."""

    text: str
    starts: np.ndarray  # int64, len(clean) + 1: where a span starting at clean boundary b starts
    ends: np.ndarray  # int64, len(clean) + 1: where a span ending at clean boundary b ends
    origin: np.ndarray  # int64 (len(text), 2): the clean range [lo, hi) each noisy character was made from
    ops: Counter[str] = field(default_factory=Counter)  # operations done, by name
    letters: int = 0  # letters of the clean text
    words: int = 0  # words of the clean text
    changed_words: int = 0  # paraphrase: clean words changed (not kept)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The noisy span of the clean span ``[start, end)``."""
        return int(self.starts[start]), int(self.ends[end])

    @property
    def touched(self) -> float:
        """Share of the clean letters an operation touched (``letters`` variants)."""
        n = sum(v for k, v in self.ops.items() if k in dict(LETTER_MIX))
        return n / self.letters if self.letters else 0.0

    @property
    def kept(self) -> float:
        """Share of the clean words left unchanged (paraphrase; 1.0 for the letter variants)."""
        return 1.0 - self.changed_words / self.words if self.words else 1.0


Edit = tuple[int, int, str]  # replace clean [start, end) by the string (start == end: an insertion)


def identity(text: str) -> Noisy:
    """The text unchanged, with the identity map."""
    b = np.arange(len(text) + 1, dtype=np.int64)
    origin = np.stack([b[:-1], b[1:]], axis=1) if text else np.zeros((0, 2), dtype=np.int64)
    return Noisy(text, b, b.copy(), origin, letters=sum(c.isalpha() for c in text))


def _apply(text: str, edits: list[Edit]) -> Noisy:
    """Apply sorted, non-overlapping edits (insertions may sit at an edit's start); the maps and origins."""
    n = len(text)
    starts = np.empty(n + 1, dtype=np.int64)
    ends = np.empty(n + 1, dtype=np.int64)
    starts_set = np.zeros(n + 1, dtype=bool)
    out: list[str] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    pos = cur = 0

    def keep(upto: int) -> None:
        nonlocal pos, cur
        if upto < cur:
            raise ValueError("edits overlap")
        k = upto - cur
        b = np.arange(cur, upto, dtype=np.int64)
        span = np.arange(pos, pos + k, dtype=np.int64)
        # boundaries cur..upto-1 start there; boundaries cur+1..upto end there
        fresh = ~starts_set[cur:upto]
        starts[cur:upto][fresh] = span[fresh]
        starts_set[cur:upto] = True
        ends[cur + 1 : upto + 1] = span + 1
        out.append(text[cur:upto])
        lo.append(b)
        hi.append(b + 1)
        pos += k
        cur = upto

    ends[0] = 0
    for s, e, r in edits:
        keep(s)
        if not starts_set[s]:
            starts[s] = pos
            starts_set[s] = True
        if e > s + 1:
            starts[s + 1 : e] = pos
            starts_set[s + 1 : e] = True
            ends[s + 1 : e] = pos + len(r)
        out.append(r)
        lo.append(np.full(len(r), s, dtype=np.int64))
        hi.append(np.full(len(r), e, dtype=np.int64))
        pos += len(r)
        if e == s:  # an insertion: a span ending at s takes it in
            ends[s] = pos
        else:
            ends[e] = pos
        cur = e
    keep(n)
    if not starts_set[n]:
        starts[n] = pos
    origin = np.stack([np.concatenate(lo), np.concatenate(hi)], axis=1) if pos else np.zeros((0, 2), np.int64)
    return Noisy("".join(out), starts, ends, origin)


def compose(first: Noisy, second: Noisy) -> Noisy:
    """``second`` (made from ``first.text``) mapped back to ``first``'s clean text."""
    m = len(first.text)
    starts, ends = second.starts[first.starts], second.ends[first.ends]
    if len(second.text):
        lo2, hi2 = second.origin[:, 0], second.origin[:, 1]
        olo = np.append(first.origin[:, 0], len(first.starts) - 1)  # clean boundary before each first char
        ohi = np.insert(first.origin[:, 1], 0, 0)  # clean boundary after each first char (index shifted by 1)
        lo = olo[lo2]
        hi = np.where(hi2 > lo2, ohi[hi2], lo)
        # an insertion inside a range first made from several clean characters belongs to that range
        inside = (hi2 == lo2) & (lo2 > 0) & (lo2 < m)
        if inside.any():
            idx = lo2[inside]
            same = (first.origin[idx - 1] == first.origin[idx]).all(axis=1)
            lo_in, hi_in = lo[inside], hi[inside]
            lo_in[same] = first.origin[idx[same], 0]
            hi_in[same] = first.origin[idx[same], 1]
            lo[inside], hi[inside] = lo_in, hi_in
        origin = np.stack([lo, hi], axis=1)
    else:
        origin = np.zeros((0, 2), dtype=np.int64)
    return Noisy(
        second.text,
        starts,
        ends,
        origin,
        first.ops + second.ops,
        first.letters,
        first.words or second.words,
        first.changed_words + second.changed_words,
    )


# --------------------------------------------------------------------------- letters


def _confusion(text: str, i: int, rng: random.Random, alphabet: list[str]) -> Edit:
    c = text[i]
    pair = text[i : i + 2]
    if pair in PAIR_CONFUSIONS and rng.random() < 0.5:
        return (i, i + 2, PAIR_CONFUSIONS[pair])
    if c in CONFUSIONS:
        return (i, i + 1, rng.choice(CONFUSIONS[c]))
    bare = "".join(x for x in unicodedata.normalize("NFD", c) if not unicodedata.combining(x))
    if bare and bare != c:
        return (i, i + 1, bare)
    others = [a for a in alphabet if a != c]
    return (i, i + 1, rng.choice(others) if others else c)


def _letters(text: str, rate: float, rng: random.Random, substitutions_only: bool = False) -> Noisy:
    letters = sum(c.isalpha() for c in text)
    if rate <= 0:
        return identity(text)
    alphabet = sorted({c for c in text if c.isalpha()})
    names = [k for k, _ in LETTER_MIX]
    weights = [w for _, w in LETTER_MIX]
    edits: list[Edit] = []
    ops: Counter[str] = Counter()
    n = len(text)
    i = 0
    taken_to = 0  # clean characters before this are inside an edit already
    merged: set[int] = set()  # spaces dropped
    keep_letter = -1  # a letter not to delete: its word's only other letter was
    deleted: set[int] = set()
    while i < n:
        c = text[i]
        if not c.isalpha() or i < taken_to or rng.random() >= rate:
            i += 1
            continue
        op = "confuse" if substitutions_only else rng.choices(names, weights)[0]
        if op == "delete" and i == keep_letter:
            op = "confuse"
        if op == "merge":
            j = i
            while j < n and text[j].isalpha():
                j += 1
            if j + 1 < n and text[j] == " " and text[j + 1].isalnum() and j not in merged:
                merged.add(j)
                edits.append((j, j + 1, ""))
                ops[op] += 1
                i += 1
                continue
            op = "confuse"
        if op == "split":
            if i + 1 < n and text[i + 1].isalpha():
                edits.append((i + 1, i + 1, " "))
                deleted.add(i + 1)  # (a space now stands before it: it counts as its word's first letter)
                ops[op] += 1
                i += 1
                continue
            op = "confuse"
        if op == "delete":
            # a word never vanishes: a letter goes only while a neighbour letter of its word stays
            prev_stays = i > 0 and text[i - 1].isalpha() and i - 1 not in deleted and i not in deleted
            if not prev_stays and not (i + 1 < n and text[i + 1].isalpha()):
                op = "confuse"
            elif not prev_stays:
                keep_letter = i + 1
        if op == "delete":
            deleted.add(i)
            edits.append((i, i + 1, ""))
        elif op == "insert":
            add = c if rng.random() < 0.5 or not c.isascii() else rng.choice(_INSERTS)
            edits.append((i, i + 1, c + add))
        else:
            e = _confusion(text, i, rng, alphabet)
            if substitutions_only and (e[1] - e[0] != 1 or len(e[2]) != 1):
                e = (i, i + 1, next((x for x in CONFUSIONS.get(c, ()) if len(x) == 1), None) or e[2][:1])
                if e[2] == c or not e[2]:
                    others = [a for a in alphabet if a != c]
                    e = (i, i + 1, rng.choice(others) if others else c)
            edits.append(e)
        ops[op] += 1
        taken_to = edits[-1][1]
        i = taken_to
    out = _apply(text, _sorted(edits))
    return Noisy(out.text, out.starts, out.ends, out.origin, ops, letters)


def _sorted(edits: list[Edit]) -> list[Edit]:
    """Edits by position, an insertion before a replacement that starts where it sits."""
    return sorted(edits, key=lambda e: (e[0], e[1] > e[0], e[1]))


# --------------------------------------------------------------------------- lines


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _wrap(text: str, rng: random.Random) -> tuple[Noisy, list[tuple[int, int, bool, bool]]]:
    """Hard-wrap every long line at a width of 60–70 columns, hyphenating long words; and the wrapped lines
    (start, end in the output, first of its clean line, last of its clean line)."""
    width = rng.randint(*WIDTH)
    nl = _newline(text)
    edits: list[Edit] = []
    ops: Counter[str] = Counter()
    for m in _LINE.finditer(text):
        s, e = m.span()
        if e - s <= width:
            continue
        col = 0  # columns on the current output line
        pos = s
        for w in re.finditer(r"\S+", text[s:e]):
            ws, we = w.start() + s, w.end() + s
            gap = ws - pos
            if col == 0 and pos == s:
                col = we - s
                pos = we
                continue
            if col + gap + (we - ws) <= width:
                col += gap + (we - ws)
                pos = we
                continue
            word = text[ws:we]
            room = width - col - gap - 1  # letters that fit before "-"
            if len(word) >= HYPHEN_MIN_WORD and word.isalpha() and room >= 2 and len(word) - room >= 3:
                cut = ws + min(room, len(word) - 3)
                edits.append((cut, cut, "-" + nl))
                ops["hyphenate"] += 1
                col = we - cut
            else:
                edits.append((pos, ws, nl))  # the spaces before the word become a line break
                ops["wrap"] += 1
                col = we - ws
            pos = we
    out = _apply(text, _sorted(edits))
    # the wrapped lines of the output, and whether each is its clean line's first or last
    lines: list[tuple[int, int, bool, bool]] = []
    breaks_made = set()
    for s, _e, r in edits:
        breaks_made.add(int(out.starts[s]) + len(r))  # output position just after the new line break
    for m in _LINE.finditer(out.text):
        s, e = m.span()
        nxt = e + (2 if out.text.startswith("\r\n", e) else 1)
        lines.append((s, nxt if nxt <= len(out.text) else e, s not in breaks_made, nxt not in breaks_made))
    return Noisy(out.text, out.starts, out.ends, out.origin, ops), lines


def _drop_lines(noisy: Noisy, lines: list[tuple[int, int, bool, bool]], p: float, rng: random.Random) -> Noisy:
    edits: list[Edit] = []
    for s, e, first, last in lines:
        if not first and not last and rng.random() < p:
            edits.append((s, e, ""))
    out = _apply(noisy.text, edits)
    return Noisy(out.text, out.starts, out.ends, out.origin, Counter({"drop-line": len(edits)}) if edits else Counter())


# --------------------------------------------------------------------------- paraphrase


def number_words(n: int) -> str:
    """An integer 0–999,999 in English words (``42`` → ``forty-two``)."""
    if n < 20:
        return _NUMBER_WORDS[n]
    if n < 100:
        t, u = divmod(n, 10)
        return _TENS[t - 2] + (f"-{_NUMBER_WORDS[u]}" if u else "")
    if n < 1000:
        h, r = divmod(n, 100)
        return f"{_NUMBER_WORDS[h]} hundred" + (f" and {number_words(r)}" if r else "")
    t, r = divmod(n, 1000)
    return f"{number_words(t)} thousand" + ((" and " if r < 100 else " ") + number_words(r) if r else "")


def _case_like(word: str, new: str) -> str:
    if word[:1].isupper() and not word.isupper():
        return new[:1].upper() + new[1:]
    if word.isupper() and len(word) > 1:
        return new.upper()
    return new


def _lower_first(s: str) -> str:
    first = s.split(" ", 1)[0]
    return s[:1].lower() + s[1:] if first.lower() in _STARTERS and first != "I" else s


def _reported(q: str) -> tuple[str, int]:
    """A quotation in reported speech: first person shifted to third; the words changed."""
    changed = 0

    def shift(m: re.Match[str]) -> str:
        nonlocal changed
        w = m.group(0)
        new = _PRONOUNS.get(w.lower())
        if new is None:
            return w
        changed += 1
        return _case_like(w, new) if w != "I" else new

    return _WORD.sub(shift, _lower_first(q.strip())), changed


def _sentence_edits(line: str, base: int, share: float, rng: random.Random) -> tuple[list[Edit], int, Counter]:
    """Reported speech and reordered clauses in one line: edits (offsets + base), words changed, ops."""
    edits: list[Edit] = []
    changed = 0
    ops: Counter[str] = Counter()
    used_to = 0
    for rx in (_QUOTE_SAID, _SAID_QUOTE):
        for m in rx.finditer(line):
            if m.start() < used_to or any(s < m.end() + base and e > m.start() + base for s, e, _ in edits):
                continue
            if rng.random() >= min(1.0, 2 * share):
                continue
            q, k = _reported(m.group("q"))
            who = m.group("who")
            end = m.groupdict().get("end") or "."
            new = f"{who} {m.group('verb')} that {q}{'.' if rx is _SAID_QUOTE else end}"
            if rx is _QUOTE_SAID and who[:1].islower():
                new = new[:1].upper() + new[1:]
            edits.append((base + m.start(), base + m.end(), new))
            changed += k + 1  # the pronouns, and the quote marks' "said" moved is one word
            ops["reported-speech"] += 1
            used_to = m.end()
    for m in _SENTENCE.finditer(line):
        s, e = m.start() + base, m.end() + base
        if any(a < e and b > s for a, b, _ in edits) or rng.random() >= share:
            continue
        sent = m.group(0)
        lead = len(sent) - len(sent.lstrip())
        body = sent.strip()
        stop = len(body.rstrip('.!?"”’)'))
        core, tail = body[:stop], body[stop:]
        if ", " not in core or '"' in core or "“" in core:
            continue
        a, b = core.split(", ", 1)
        if len(a.split()) < 3 or len(b.split()) < 3:
            continue
        new = b[:1].upper() + b[1:] + ", " + _lower_first(a) + tail
        edits.append((s + lead, s + lead + len(body), new))
        ops["reorder"] += 1
    return edits, changed, ops


def paraphrase(text: str, kept: float, seed: object = 0) -> Noisy:
    """A light paraphrase of ``text`` keeping about ``kept`` of its words unchanged.

    Operations, each within one line (so paragraphs stay): quotations turned into reported speech
    (``"We will win," Smith said.`` → ``Smith said that they would win.``) and clauses reordered around the
    first comma of a sentence (``A, B.`` → ``B, a.``), each done to a sentence with a probability that grows with
    the change asked; then, over the words in random order until ``1 - kept`` of the words are changed: numbers
    written as words (``25`` → ``twenty-five``), words swapped for a synonym of :data:`SYNONYMS` (case kept),
    and, once no table entry is left, a word swapped for another word of the same text (a stand-in for the
    rewording a small table cannot express: to a detector, a changed word either way; the copy's vocabulary
    stays close to the source's, which flatters bag-of-words evidence). Moved words count as
    kept; a quotation's shifted pronouns and its ``said`` as changed.
    """
    kept = min(1.0, max(0.0, float(kept)))
    words = [m for line in _LINE.finditer(text) for m in _WORD.finditer(line.group(0))]
    base = identity(text)
    n_words = len(words)
    if kept >= 1.0 or not n_words:
        return Noisy(base.text, base.starts, base.ends, base.origin, Counter(), base.letters, n_words)
    rng = random.Random(f"paraphrase|{seed}|{kept}")
    share = 1.0 - kept
    edits: list[Edit] = []
    changed = 0
    ops: Counter[str] = Counter()
    for m in _LINE.finditer(text):
        e, k, o = _sentence_edits(m.group(0), m.start(), share, rng)
        edits += e
        changed += k
        ops += o
    first = _apply(text, _sorted(edits))
    first = Noisy(first.text, first.starts, first.ends, first.origin, ops, base.letters, n_words, changed)
    # word swaps on the sentence-edited text
    t = first.text
    target = round(share * n_words) - changed
    cands = [m for line in _LINE.finditer(t) for m in _NUMBER.finditer(t, line.start(), line.end())]
    word_list = [m for line in _LINE.finditer(t) for m in _WORD.finditer(t, line.start(), line.end())]
    vocab = sorted({m.group(0) for m in word_list if len(m.group(0)) >= 3 and m.group(0).isalpha()})
    order = list(range(len(word_list)))
    rng.shuffle(order)
    swaps: dict[int, Edit] = {}
    ops2: Counter[str] = Counter()
    taken: list[tuple[int, int]] = []
    for m in cands:
        if target <= 0:
            break
        digits = int(m.group(0).replace(",", ""))
        if digits < 1_000_000:
            swaps[m.start()] = (m.start(), m.end(), number_words(digits))
            taken.append(m.span())
            ops2["number-words"] += 1
            target -= 1
    busy = {i for s, e in taken for i in range(s, e)}
    for fallback in (False, True):
        for k in order:
            if target <= 0:
                break
            m = word_list[k]
            if m.start() in swaps or m.start() in busy or m.group(0).isdigit():
                continue
            w = m.group(0)
            options = SYNONYMS.get(w.lower())
            if options and not fallback:
                new = _case_like(w, rng.choice(options))
                op = "synonym"
            elif fallback and len(vocab) > 1:
                new = rng.choice(vocab)
                if new.lower() == w.lower():
                    continue
                new = _case_like(w, new.lower()) if not new[:1].isupper() else new
                op = "other-word"
            else:
                continue
            swaps[m.start()] = (m.start(), m.end(), new)
            ops2[op] += 1
            target -= 1
    second = _apply(t, _sorted(list(swaps.values())))
    second = Noisy(second.text, second.starts, second.ends, second.origin, ops2, 0, n_words, len(swaps))
    return compose(first, second)


# --------------------------------------------------------------------------- the entry point


def noise(text: str, rate: float, seed: object = 0, variant: str = "letters") -> Noisy:
    """``text`` through the noise model at ``rate`` (a fraction: 0.05 is 5 %); see the module docstring."""
    if variant not in VARIANTS:
        raise ValueError(f"no such noise variant {variant!r}: choose from {', '.join(VARIANTS)}")
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"noise rate {rate} is not a fraction between 0 and 1")
    if variant == "paraphrase":
        return paraphrase(text, 1.0 - rate, seed)
    if rate == 0:
        return identity(text)
    rng = random.Random(f"noise|{seed}|{variant}|{rate}")
    out = _letters(text, rate, rng, substitutions_only=variant == "substitutions")
    if variant == "ocr-lines":
        wrapped, lines = _wrap(out.text, rng)
        out = compose(out, wrapped)
        out = compose(out, _drop_lines(wrapped, lines, rate * LINE_DROP, rng))
    return out


# --------------------------------------------------------------------------- a whole corpus


def _body_start(text: str) -> int:
    """Where the text after a leading ``---`` front-matter block starts (0 without one): metadata is not
    printed text, so the noise leaves it alone."""
    if not text.startswith("---\n"):
        return 0
    end = text.find("\n---\n", 3)
    return end + 5 if end >= 0 else 0


def noise_corpus(
    src: str | Path, truth: dict, out: str | Path, rate: float, seed: int = 0, variant: str = "letters"
) -> dict:
    """Copy a generated accuracy or wire corpus from ``src`` to ``out`` (a new or empty folder) with every copy
    (:data:`NOISED_ROLES`: the accuracy corpus's ``copy``, the wire corpus's ``rewrite`` and ``short``; never a
    source, an agency version, a same-event story or a filler) passed through :func:`noise`, and return the
    truth with every span of a noised document carried to its noisy text (paragraphs, and the accuracy
    corpus's passage spans). Each document's noise is seeded by ``seed`` and its name; front matter is kept as
    it is. The truth gains ``noise`` (the model's parameters and what it did) and, per noised document,
    ``noise`` (letters touched, words kept)."""
    src, out = Path(src), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise FileExistsError(f"{out}: not empty; noise_corpus writes into a new folder")
    kind = "wire" if truth.get("benchmark") == "wire" else "accuracy"
    roles = NOISED_ROLES[kind]
    docs = {name: dict(d) for name, d in truth["documents"].items()}
    maps: dict[str, Noisy] = {}
    total: Counter[str] = Counter()
    letters = touched_words = words = 0
    for name, d in sorted(docs.items()):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if d.get("role") not in roles:
            shutil.copyfile(src / name, target)
            continue
        data = (src / name).read_bytes()
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = data.decode("cp1252", "replace"), "cp1252"
        head = _body_start(text)
        body = noise(text[head:], rate, f"{seed}|{name}", variant)
        full = _shift(body, head)
        maps[name] = full
        with open(target, "w", encoding=encoding, errors="replace", newline="") as f:
            f.write(text[:head] + body.text)
        total += body.ops
        letters += body.letters
        words += body.words
        touched_words += body.changed_words
        d["paragraphs"] = [
            {**p, **dict(zip(("start", "end"), full.span(p["start"], p["end"]), strict=True))} for p in d["paragraphs"]
        ]
        d["noise"] = {"touched": round(body.touched, 4), "kept": round(body.kept, 4)}
    new = {**truth, "documents": docs}
    if "spans" in truth:
        spans = []
        for s in truth["spans"]:
            s = dict(s)
            for side in ("a", "b"):
                m = maps.get(s[side])
                if m is not None:
                    s[f"{side}_start"], s[f"{side}_end"] = m.span(s[f"{side}_start"], s[f"{side}_end"])
            spans.append(s)
        new["spans"] = spans
    letter_ops = sum(v for k, v in total.items() if k in dict(LETTER_MIX))
    new["noise"] = {
        "variant": variant,
        "rate": rate,
        "seed": seed,
        "roles": list(roles),
        "documents": len(maps),
        "letters_touched": round(letter_ops / letters, 4) if letters else 0.0,
        "words_kept": round(1 - touched_words / words, 4) if words else 1.0,
        "ops": dict(sorted(total.items())),
    }
    (out / "truth.json").write_text(json.dumps(new, ensure_ascii=False) + "\n", encoding="utf-8")
    return new


def _shift(n: Noisy, head: int) -> Noisy:
    """``n`` (made from a text's body) as the map of the whole text: ``head`` characters kept before it."""
    if not head:
        return n
    b = np.arange(head, dtype=np.int64)
    origin = np.concatenate([np.stack([b, b + 1], axis=1), n.origin + head])
    return Noisy(
        n.text,
        np.concatenate([b, n.starts + head]),
        np.concatenate([b, n.ends + head]),
        origin,
        n.ops,
        n.letters,
        n.words,
        n.changed_words,
    )
