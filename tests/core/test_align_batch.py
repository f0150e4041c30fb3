"""Aligning a batch of pairs at once gives every pair exactly the passages ``align_pair`` gives it (issue 30).

Passage offsets are what a user acts on (``diff``, the labels, the JSON), so the batched code is held to the
per-pair code it replaces in the scan, offset for offset, on texts built to reach each of its paths: runs
that overlap (a paragraph printed twice: the one-by-one choice), gaps bridged or not, noisy words grown
into, numbers (banal words), texts shorter than a shingle, a text against itself, and batches cut in chunks.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import align as align_mod
from dedup import build_corpus, direction
from dedup.align import align_batch, align_pair
from dedup.direction import position, positions
from dedup.options import AlignParams
from dedup.phase1.normalise import tokenise
from dedup.phase1.shingle import shingle

ROOT = Path(__file__).resolve().parents[2]
AEB = json.loads((ROOT / "benchmarks/data/aeb/ground-truth.json").read_text(encoding="utf-8"))
PARAGRAPHS = [p.strip() for key in sorted(AEB)[:40] for p in AEB[key]["articleBody"].split("\n") if len(p.split()) >= 8]


def _noisy(text: str, rng: random.Random, rate: float) -> str:
    """Some letters of ``text`` replaced (a wrong letter in a word: a gap bridged or a word grown into)."""
    chars = list(text)
    for k, c in enumerate(chars):
        if c.isalpha() and rng.random() < rate:
            chars[k] = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return "".join(chars)


@st.composite
def documents(draw: st.DrawFn) -> list[str]:
    """A few texts sharing paragraphs: copies with paragraphs dropped, repeated, reordered, edited."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    start = draw(st.integers(0, len(PARAGRAPHS) - 12))
    source = PARAGRAPHS[start : start + draw(st.integers(2, 10))]
    texts = ["\n\n".join(source)]
    for _ in range(draw(st.integers(1, 4))):
        paras = [p for p in source if rng.random() < 0.8] or source[:1]
        if rng.random() < 0.4:  # a paragraph printed twice: runs that overlap
            paras.insert(rng.randrange(len(paras) + 1), rng.choice(paras))
        if rng.random() < 0.3:
            rng.shuffle(paras)
        if rng.random() < 0.5:  # the republisher's own lines, numbers among them (banal words)
            paras.insert(0, f"Updated 12 May 2024 at {rng.randrange(24)}:30 — {rng.choice(PARAGRAPHS)[:80]}")
        rate = rng.choice([0.0, 0.0, 0.02, 0.08])
        sep = rng.choice(["\n\n", "\n", " "])
        texts.append(sep.join(_noisy(p, rng, rate) if rate else p for p in paras))
    if draw(st.booleans()):
        texts.append("Short one.")  # fewer tokens than a shingle
    if draw(st.booleans()):
        texts.append(" ".join(source[0].split()[:12] * 3))  # a phrase recurring inside one text
    return texts


def _both(texts: list[str], params: AlignParams) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every ordered pair of the texts (each with itself too), aligned pair by pair and as one batch."""
    corpus = build_corpus([f"d{i}.txt" for i in range(len(texts))], texts)
    tokens = tokenise(corpus.bodies())
    sh = shingle(tokens, 5)
    n = len(texts)
    a = np.repeat(np.arange(n), n)
    b = np.tile(np.arange(n), n)
    one = [align_pair(corpus, tokens, sh, int(x), int(y), params) for x, y in zip(a.tolist(), b.tolist())]
    return one, align_batch(corpus, tokens, sh, a, b, params)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    documents(),
    st.sampled_from(
        [AlignParams(), AlignParams(max_repeats=1, max_gap=3, min_tokens=2), AlignParams(max_gap=1, chain_gap=0)]
    ),
)
def test_batch_gives_the_pairs_passages_exactly(texts: list[str], params: AlignParams) -> None:
    """Property: ``align_batch`` gives each pair exactly ``align_pair``'s passages (rows, order, dtype)."""
    one, many = _both(texts, params)
    assert len(one) == len(many)
    for x, y in zip(one, many):
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)


def test_batch_in_chunks_and_with_overlapping_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch cut into many chunks gives the same passages, and the one-by-one choice of overlapping runs
    (a paragraph printed twice in one text) is exercised and agrees, on bitsets and on arrays."""
    src = PARAGRAPHS[:6]
    texts = ["\n\n".join(src), "\n\n".join([src[1], *src, src[2]]), "\n\n".join(src[::-1]), "\n\n".join(src[2:])]
    picked = []
    pick = align_mod._pick
    monkeypatch.setattr(align_mod, "_pick", lambda *args: picked.append(args) or pick(*args))
    whole_one, whole = _both(texts, AlignParams())
    assert picked  # some pair's runs overlap and were chosen one by one
    monkeypatch.setattr(align_mod, "_ENTRIES", 64)
    _, chunked = _both(texts, AlignParams())
    monkeypatch.setattr(align_mod, "_BITSET_SPAN", 0)  # runs picked on arrays, as over a long text
    _, arrays = _both(texts, AlignParams())
    for x, y, z, w in zip(whole_one, whole, chunked, arrays):
        assert np.array_equal(x, y) and np.array_equal(x, z) and np.array_equal(x, w)
    assert sum(len(x) for x in whole) > len(texts)  # passages were found, not only empty rows


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_positions_of_many_sides_are_each_sides_position(data: st.DataObject) -> None:
    """Property: ``direction.positions`` gives each side exactly ``direction.position``'s features (shared,
    head, inner, tail, tail_related), whatever its spans (none, overlapping, past the text's end), and
    whether the sides go through all at once or in runs of a few tokens."""
    lengths = data.draw(st.lists(st.integers(0, 30), min_size=1, max_size=5))
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    n = int(offsets[-1])
    widths = np.array(data.draw(st.lists(st.integers(1, 6), min_size=n, max_size=n)), dtype=np.int64)
    starts, ends = np.zeros(len(widths), dtype=np.int64), np.zeros(len(widths), dtype=np.int64)
    for d in range(len(lengths)):  # each document's tokens one space apart from its offset 0
        w = widths[offsets[d] : offsets[d + 1]]
        starts[offsets[d] : offsets[d + 1]] = np.r_[0, np.cumsum(w + 1)[:-1]]
        ends[offsets[d] : offsets[d + 1]] = starts[offsets[d] : offsets[d + 1]] + w
    hashes = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), dtype=np.uint64)
    docs = np.array(data.draw(st.lists(st.integers(0, len(lengths) - 1), min_size=1, max_size=6)), dtype=np.int64)
    spans = []
    for u, d in enumerate(docs.tolist()):  # token ranges as character spans (a gap of k tokens), some jittered
        t0, m = int(offsets[d]), lengths[d]
        for lo, size, jitter in data.draw(
            st.lists(st.tuples(st.integers(0, max(m - 1, 0)), st.integers(1, 12), st.integers(-1, 1)), max_size=4)
        ):
            if m:
                spans.append((u, int(starts[t0 + lo]) + jitter, int(ends[t0 + min(lo + size, m) - 1]) + jitter))
        if data.draw(st.booleans()):
            spans.append((u, 0, 500))  # past the text's end
    rows = np.array(spans, dtype=np.int64).reshape(-1, 3)
    got = positions(starts, ends, hashes, offsets, docs, rows)
    with pytest.MonkeyPatch.context() as mp:  # sides in runs of a few tokens (a batch of long articles)
        mp.setattr(direction, "_SIDE_TOKENS", data.draw(st.integers(1, 40)))
        runs = positions(starts, ends, hashes, offsets, docs, rows)
    for u, d in enumerate(docs.tolist()):
        t = slice(int(offsets[d]), int(offsets[d + 1]))
        want = position(starts[t], ends[t], hashes[t], rows[rows[:, 0] == u, 1:])
        assert np.array_equal(got[u], want), (u, got[u], want)
        assert np.array_equal(runs[u], want), (u, runs[u], want)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_edges_of_many_passages_are_each_passages_edge(data: st.DataObject) -> None:
    """Property: ``align._edges`` (what ``template_like`` asks of a side's passages, all at once) gives each
    passage ``align._edge``'s answer (top, bottom or neither), whatever the paragraphs, the covered ones
    and the passages (overlapping, outside every paragraph)."""
    words = data.draw(st.lists(st.integers(0, 20), min_size=0, max_size=12))  # each paragraph's words
    text, paras = "", []
    for n in words:
        start = len(text)
        text += " ".join(["word"] * n)
        paras.append((start, len(text)))
        text += "\n"
    paras_a = np.array(paras, dtype=np.int64).reshape(-1, 2)
    covered = np.array(data.draw(st.lists(st.booleans(), min_size=len(paras), max_size=len(paras))), dtype=bool)
    spans = np.array(
        data.draw(st.lists(st.tuples(st.integers(0, len(text) + 2), st.integers(0, 40)), max_size=6)), dtype=np.int64
    ).reshape(-1, 2)
    spans[:, 1] += spans[:, 0]
    short = data.draw(st.integers(0, 12))
    want = [align_mod._edge(text, paras_a, covered, s, e, short) for s, e in spans.tolist()]
    assert align_mod._edges(text, paras_a, covered, spans, short) == want
