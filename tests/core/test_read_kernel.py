"""Phase 1's compiled kernels (``dedup/kernels/_read.pyx``) give the numpy code's bits: token by token on any
Unicode text, each loop on random input, and whole scans of real multilingual articles and their copies."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import kernels
from dedup.ingest import model
from dedup.phase1 import shingle, sign
from dedup.phase1.features import _utf8_size
from dedup.phase1.normalise import bodies, tokenise
from tests.conftest import AEB_BODIES
from tests.support.backends import scan_with

KERNEL = kernels.native("read")
pytestmark = pytest.mark.skipif(KERNEL is None, reason="the compiled kernels are not built here")

# Every path of the tokeniser: words, apostrophes of all kinds, spaces, dashes and no-break spaces, scripts
# without spaces (each character a token), combining marks, fullwidth and Kelvin letters, astral characters
# (emoji, CJK extension B, mathematical letters), lone surrogates, line breaks of every kind.
ALPHABET = [
    *"abcXYZ éßİ'’‘ʼ＇ -—\u00a0\n\r\t.,;0123456789",
    *"日本語ไทย한국어",
    "\u0301",
    "\u212a",
    "Ｋ",
    "😀",
    "𠀋",
    "\U0001d400",
    "\ud800",
    "\udc00",
    "\u2028",
    "\x85",
    "\x1c",
    "\x0b",
]
TEXT = st.text(alphabet=st.sampled_from(ALPHABET), max_size=80)


def _both(fn, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DEDUP_KERNELS", "numpy")
    plain = fn()
    monkeypatch.setenv("DEDUP_KERNELS", "auto")
    return plain, fn()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TEXT, st.integers(0, 90)), min_size=1, max_size=6), st.sampled_from([40, 1 << 20]))
def test_compiled_tokens_equal_numpys(docs, batch_chars):
    """Spans, hashes, vocabulary numbers and marks, with front matter blanked (``body_starts``) or not, in one
    batch or many; the empty text included."""
    texts = [t for t, _ in docs]
    starts = [min(b, len(t)) for t, b in docs]
    with pytest.MonkeyPatch.context() as mp:
        plain, compiled = _both(lambda: tokenise(bodies(texts, starts), batch_chars, threads=1), mp)
        given_starts = tokenise(texts, batch_chars, threads=1, body_starts=starts)
    for tokens in (compiled, given_starts):
        for field in ("offsets", "starts", "ends", "hashes", "exact", "words", "marks"):
            a, b = getattr(plain, field), getattr(tokens, field)
            assert (a is None) == (b is None), field
            assert a is None or np.array_equal(a, b), field


@settings(max_examples=200, deadline=None)
@given(TEXT, st.integers(0, 90), st.one_of(st.none(), st.integers(0, 90)))
def test_line_spans_are_split_paragraphs(text, start, end):
    start = min(start, len(text))
    end = None if end is None else max(start, min(end, len(text)))
    expected = [m.span() for m in model._PARAGRAPH.finditer(text, start, len(text) if end is None else end)]
    assert KERNEL.line_spans(text, start, len(text) if end is None else end) == expected
    assert model.split_paragraphs(text, start, end) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, max_size=8))
def test_utf8_sizes_count_the_encoded_bytes(texts):
    assert KERNEL.utf8_sizes(texts) == [_utf8_size(t) for t in texts]


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 7), st.sampled_from([64, 100, 128]))
def test_window_hashes_and_signatures_equal_numpys(seed, k, num_perm):
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 2**64 - 1, int(rng.integers(k, 400)), dtype=np.uint64, endpoint=True)
    cuts = np.sort(rng.integers(0, len(h) + 1, int(rng.integers(0, 6))))
    offsets = np.concatenate([[0], cuts, [len(h)]]).astype(np.int64)  # empty sets included
    with pytest.MonkeyPatch.context() as mp:
        plain, compiled = _both(
            lambda: (shingle._window_hashes(h, k), sign._signatures(h, offsets, num_perm, seed % 1000)), mp
        )
    assert np.array_equal(plain[0], compiled[0])
    assert np.array_equal(plain[1], compiled[1])


def _corpus(folder) -> None:
    """Every aeb body (English, Korean, Russian, Japanese, ...) and copies of some: retyped quotes and dashes,
    a paragraph dropped, wrapped in a site's header and footer with emoji, CRLF line ends, front matter."""
    data = json.loads(AEB_BODIES.read_text(encoding="utf-8"))
    rng = random.Random(0)
    for n, key in enumerate(sorted(data)):
        body = data[key]["articleBody"]
        (folder / f"{n:03d}.txt").write_text(body, encoding="utf-8")
        if n % 4 == 0:
            paras = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
            if len(paras) > 2:
                paras.pop(rng.randrange(len(paras)))
            copy = "\r\n\r\n".join(paras).replace("'", "’").replace(" - ", " — ")
            copy = f"---\ntitle: Wire 😀\nsite: wire.example\n---\nDaily Wire 😀 — don't miss it\n\n{copy}\n\n👍 𠀋"
            (folder / f"{n:03d}-copy.txt").write_text(copy, encoding="utf-8", newline="")


@pytest.mark.slow
def test_a_scan_gives_the_same_result_with_and_without_the_compiled_read(cli, tmp_path, monkeypatch):
    _corpus(tmp_path)
    compiled, plain = scan_with(cli, tmp_path, "auto", monkeypatch), scan_with(cli, tmp_path, "numpy", monkeypatch)
    assert compiled["pairs"], "the corpus should hold copies"
    assert json.dumps(compiled, sort_keys=True) == json.dumps(plain, sort_keys=True)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_the_stored_token_form_equals_numpys(seed, numbered):
    """``featurestore.tokens.encode`` of a shard's uint32 spans: words, wide spans (gaps or lengths over 14),
    vocabulary and index, with the tokeniser's numbers or without."""
    from dedup.featurestore import tokens as token_form

    rng = np.random.default_rng(seed)
    n, docs = int(rng.integers(0, 300)), int(rng.integers(1, 6))
    offsets = np.concatenate([[0], np.sort(rng.integers(0, n + 1, docs - 1)), [n]]).astype(np.int64)
    gaps, lengths = rng.integers(0, 20, n), rng.integers(0, 20, n)
    ends = np.zeros(n, dtype=np.int64)
    for d in range(docs):  # each article's spans from 0, in order
        lo, hi = offsets[d], offsets[d + 1]
        ends[lo:hi] = np.cumsum(gaps[lo:hi] + lengths[lo:hi])
    spans = np.stack([ends - lengths, ends], axis=1).astype(np.uint32)
    numbers = rng.integers(0, 40, n) if numbered else None
    hashes = (numbers if numbered else rng.integers(0, 50, n)).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    with pytest.MonkeyPatch.context() as mp:
        plain, compiled = _both(lambda: token_form.encode(offsets, hashes, spans[:, 0], spans[:, 1], numbers), mp)
    for field in ("index", "words", "vocab", "wide"):
        a, b = getattr(plain, field), getattr(compiled, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), field


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from([c for c in ALPHABET if c != "\0"]), min_size=1, max_size=40)))
def test_new_words_hash_in_c_as_xxhash_does(words):
    """A batch's new words (``_token_hashes``: normalised, folded, hashed) get xxhash's bits in the kernel."""
    from dedup.phase1.normalise import _token_hashes

    with pytest.MonkeyPatch.context() as monkeypatch:
        plain, compiled = _both(lambda: _token_hashes(words), monkeypatch)
    assert np.array_equal(plain[0], compiled[0]) and np.array_equal(plain[1], compiled[1])
    assert len(compiled[0]) == len(words)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0, 1, 2, 300, 70_000]), st.sampled_from([0, 11, 40, 64]))
def test_the_postings_sort_is_numpys(seed, n, low_bits):
    """``sorted_keys`` (compiled: a radix sort) gives ``np.sort``'s array, keys that share digits included."""
    from dedup.phase1.features import sorted_keys

    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False) >> np.uint64(64 - max(low_bits, 1))
    keys = np.concatenate([keys, keys[: n // 3]])  # equal keys
    before = keys.copy()
    assert np.array_equal(sorted_keys(keys), np.sort(before))
    assert np.array_equal(keys, before)  # its input untouched
