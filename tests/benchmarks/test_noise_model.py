"""The noise model of the noisy benchmark corpus (benchmarks.corpora.noise): its offset map carries truth spans."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.corpora.noise import VARIANTS, noise, number_words, paraphrase

AEB = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "aeb" / "ground-truth.json"

WORDS = st.sampled_from(
    [
        "the",
        "modern",
        "rain",
        "clinic",
        "will",
        "hold",
        "morning",
        "sessions",
        "at",
        "10",
        "said",
        "Smith",
        "élan",
        "жёлтый",
        "中文",
        "However,",
        "summer.",
        "“We",
        "will",
        "win,”",
        "Ms",
        "Lee",
        "said.",
        "informational",
        "well-known",
        "1,250",
        "rn",
        "cl",
        "li",
    ]
)
SEPS = st.sampled_from([" ", " ", " ", "  ", "\n", "\r\n", "\n\n", ", "])


@st.composite
def texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORDS, max_size=60))
    out = []
    for w in words:
        out += [w, draw(SEPS)]
    return "".join(out)


RATES = st.sampled_from([0.01, 0.05, 0.1, 0.3, 1.0])


def _check_map(clean: str, n) -> None:
    assert n.starts.shape == n.ends.shape == (len(clean) + 1,)
    assert n.origin.shape == (len(n.text), 2)
    assert (np.diff(n.starts) >= 0).all() and (np.diff(n.ends) >= 0).all()
    assert (n.starts <= n.ends).all()
    assert n.starts[0] == 0 and n.ends[-1] == len(n.text)
    assert ((n.starts >= 0) & (n.ends <= len(n.text))).all()


@settings(max_examples=60, deadline=None)
@given(texts(), st.sampled_from(VARIANTS), RATES, st.integers(0, 3))
def test_offset_map_is_monotone_and_bounded(clean, variant, rate, seed):
    _check_map(clean, noise(clean, rate, seed, variant))


@settings(max_examples=40, deadline=None)
@given(texts(), st.sampled_from(VARIANTS), st.integers(0, 3))
def test_rate_zero_is_the_identity(clean, variant, seed):
    n = noise(clean, 0.0, seed, variant)
    assert n.text == clean
    assert (n.starts == np.arange(len(clean) + 1)).all() and (n.ends == n.starts).all()


@settings(max_examples=80, deadline=None)
@given(texts(), st.sampled_from(VARIANTS), RATES, st.integers(0, 3), st.data())
def test_a_mapped_span_holds_what_its_characters_became(clean, variant, rate, seed, data):
    """Every noisy character made from inside a clean span lies in the mapped span; one made from outside it,
    outside (characters made from a range straddling an edge are in; letters inserted at an edge are in)."""
    n = noise(clean, rate, seed, variant)
    s = data.draw(st.integers(0, len(clean)))
    e = data.draw(st.integers(s, len(clean)))
    a, b = n.span(s, e)
    lo, hi = n.origin[:, 0], n.origin[:, 1]
    pos = np.arange(len(n.text))
    inside = (lo >= s) & (hi <= e)
    assert ((pos[inside] >= a) & (pos[inside] < b)).all()
    outside = ((hi <= s) & ~((lo == hi) & (lo == s))) | ((lo >= e) & ~((lo == hi) & (lo == e)))
    outside &= ~((lo < s) & (hi > s)) & ~((lo < e) & (hi > e))
    assert ((pos[outside] < a) | (pos[outside] >= b)).all()


@settings(max_examples=80, deadline=None)
@given(st.lists(WORDS, min_size=2, max_size=40), st.sampled_from(["letters", "substitutions"]), RATES, st.data())
def test_a_mapped_span_covers_the_noisy_words_and_nothing_more(words, variant, rate, data):
    """Markers that letter noise cannot touch (no letters) bound a span: the mapped span starts with the first
    marker and ends with the last, and between them lie the noisy words of the span."""
    marks = [f"<{i}>" for i in range(len(words) + 1)]
    clean = " ".join(m + " " + w for m, w in zip(marks, words + [""], strict=True)).strip()
    i = data.draw(st.integers(0, len(words)))
    j = data.draw(st.integers(i, len(words)))
    s = clean.index(marks[i])
    e = clean.index(marks[j]) + len(marks[j])
    n = noise(clean, rate, data.draw(st.integers(0, 5)), variant)
    a, b = n.span(s, e)
    got = n.text[a:b]
    assert got.startswith(marks[i]) and got.endswith(marks[j])
    inner = [x for x in marks if x in got]
    assert inner == marks[i : j + 1]  # every marker of the span, none of its neighbours


def test_substitutions_keep_lengths_and_offsets():
    clean = "Authorities say the modern clinic will hold morning sessions in summer. " * 20
    n = noise(clean, 0.1, 0, "substitutions")
    assert len(n.text) == len(clean) and n.text != clean
    assert (n.starts == np.arange(len(clean) + 1)).all()
    assert {c for c, d in zip(clean, n.text, strict=True) if c != d} <= {c for c in clean if c.isalpha()}


@cache
def _body() -> str:
    bodies = json.loads(AEB.read_text(encoding="utf-8"))
    texts = [v.get("articleBody") or "" for v in bodies.values()]
    return max((t for t in texts if t.isascii()), key=len)[:20000]


@pytest.mark.parametrize("variant", ["letters", "ocr-lines"])
@pytest.mark.parametrize("rate", [0.01, 0.05, 0.1])
def test_rate_is_the_share_of_letters_touched(variant, rate):
    clean = _body()
    n = noise(clean, rate, 7, variant)
    assert abs(n.touched - rate) < 0.25 * rate + 0.003
    assert noise(clean, rate, 7, variant).text == n.text  # one seed, one text
    assert noise(clean, rate, 8, variant).text != n.text


def test_ocr_lines_hyphenates_at_line_ends_and_keeps_line_breaks():
    clean = _body().replace("\n", "\r\n")
    n = noise(clean, 0.05, 1, "ocr-lines")
    lines = n.text.split("\r\n")
    assert max(len(x) for x in lines) <= 70 + 3  # a word longer than the width stands alone
    assert n.ops["hyphenate"] > 0 and sum(x.endswith("-") for x in lines) >= n.ops["hyphenate"]
    assert "\n" not in n.text.replace("\r\n", "")


@pytest.mark.parametrize("kept", [0.9, 0.6, 0.4])
def test_paraphrase_keeps_the_share_of_words_asked(kept):
    clean = _body()
    n = paraphrase(clean, kept, 3)
    assert abs(n.kept - kept) < 0.03
    assert n.text.count("\n") == clean.count("\n")  # paragraphs stay
    assert n.ops["synonym"] > 0


def test_paraphrase_operations():
    clean = '"We will win the match," Smith said. After the game, the team bought 25 new cars.'
    n = paraphrase(clean, 0.0, 0)
    assert n.ops["reported-speech"] == n.ops["reorder"] == 1 and n.ops["number-words"] == 1
    assert not set('"“”0123456789') & set(n.text)
    assert number_words(1250) == "one thousand two hundred and fifty"
    assert number_words(3) == "three" and number_words(42) == "forty-two"


@settings(max_examples=50, deadline=None)
@given(texts(), st.sampled_from(VARIANTS), RATES, st.integers(0, 3))
def test_paragraphs_stay_non_empty_and_trimmed(clean, variant, rate, seed):
    """A truth paragraph (a trimmed line) maps to a non-empty, trimmed span: no word vanishes whole, no space
    is left at a paragraph's edge."""
    n = noise(clean, rate, seed, variant)
    pos = 0
    for line in clean.splitlines(keepends=True):
        body = line.strip()
        if any(c.isalnum() for c in body):
            s = pos + line.index(body)
            a, b = n.span(s, s + len(body))
            assert b > a and n.text[a:b] == n.text[a:b].strip()
        pos += len(line)
