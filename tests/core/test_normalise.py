"""Normalisation and tokenisation: what counts as the same word, and offsets into the text as read."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.phase1.normalise import exact_token_hash, normalise_text, token_hash, tokenise

EQUIVALENT = [
    pytest.param("Don’t", "Don't", id="right-single-quote"),
    pytest.param("‘quoted’ and “double”", "'quoted' and \"double\"", id="typographic-quotes"),
    pytest.param("Durov\u02bcs", "Durov's", id="modifier-apostrophe"),
    pytest.param("rock ‘n’ roll, don‘t", "rock 'n' roll, don't", id="left-single-quote-as-apostrophe"),
    pytest.param("ＤＯＮ＇Ｔ", "don't", id="fullwidth-apostrophe"),
    pytest.param("pre\u2011war 2020\u20132021 \u2014 end", "pre-war 2020-2021 - end", id="dashes"),
    pytest.param("a\u00a0b\u202fc\u2009d", "a b c d", id="no-break-and-thin-spaces"),
    pytest.param("ＡＢＣ １２３", "abc 123", id="fullwidth"),
    pytest.param("Straße", "STRASSE", id="sharp-s"),
    pytest.param("ﬁnance", "finance", id="ligature"),
    pytest.param("Cafe\u0301", "Café", id="combining-accent"),
    pytest.param("ΣΊΣΥΦΟΣ", "σίσυφος", id="greek-final-sigma"),
]


def _tokens(text: str) -> list[str]:
    t = tokenise([text])
    return [text[s:e] for s, e in zip(t.starts.tolist(), t.ends.tolist())]


def _hashes(text: str) -> list[int]:
    return tokenise([text]).hashes.tolist()


@pytest.mark.parametrize(("a", "b"), EQUIVALENT)
def test_equivalent_forms_normalise_alike(a, b):
    assert normalise_text(a) == normalise_text(b)


@pytest.mark.parametrize(("a", "b"), EQUIVALENT)
def test_equivalent_forms_give_the_same_token_hashes(a, b):
    assert _hashes(a) == _hashes(b)
    assert len(_hashes(a)) > 0


def test_different_words_give_different_hashes():
    assert _hashes("the cat sat") != _hashes("the cat sits")
    assert len(set(_hashes("alpha beta gamma delta"))) == 4


def test_apostrophes_inside_words_join_them():
    assert _tokens("Don’t stop Durov's plan") == ["Don’t", "stop", "Durov's", "plan"]
    assert _tokens("'quoted' words") == ["quoted", "words"]


def test_punctuation_and_spaces_separate_words():
    assert _tokens("Hello, world! (Paris)\u00a0—\u00a0X’s office; 2026-02-03") == [
        "Hello",
        "world",
        "Paris",
        "X’s",
        "office",
        "2026",
        "02",
        "03",
    ]


def test_scripts_without_spaces_give_one_token_per_character():
    assert _tokens("東京タワー visit") == ["東", "京", "タ", "ワ", "ー", "visit"]


def test_offsets_point_into_the_text_as_read_not_a_normalised_copy():
    # NFKC would turn the ligature into two letters and "ẞ" into "ss": offsets must still fit the original.
    text = "ﬁrst\u00a0ẞtraße ＡＢＣ “quoted” 😀 end"
    assert _tokens(text) == ["ﬁrst", "ẞtraße", "ＡＢＣ", "quoted", "end"]


def test_batch_with_empty_documents():
    t = tokenise(["", "one two", "", "   ", "three"])
    assert np.diff(t.offsets).tolist() == [0, 2, 0, 0, 1]
    assert tokenise([]).offsets.tolist() == [0]


TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("’'‘“”-–—\u00a0\u2009 \n\r\tﬁßẞΣσςİı́̀ＡＢ東京😀𝔘")),
    ),
    max_size=120,
)


def _check_spans(text: str, starts: list[int], ends: list[int]) -> None:
    previous_end = 0
    for s, e in zip(starts, ends):
        piece = text[s:e]
        assert piece, (s, e)
        assert not any(c.isspace() for c in piece), piece
        assert s >= previous_end
        previous_end = e
    assert previous_end <= len(text)


@given(TEXT)
@settings(max_examples=300)
def test_token_offsets_slice_back_to_the_token(text):
    t = tokenise([text])
    starts, ends = t.starts.tolist(), t.ends.tolist()
    _check_spans(text, starts, ends)
    # Each token's hash is the hash of its own (normalised) text.
    assert t.hashes.tolist() == [token_hash(text[s:e]) for s, e in zip(starts, ends)]
    assert t.exact.tolist() == [exact_token_hash(text[s:e]) for s, e in zip(starts, ends)]


def test_exact_hashes_keep_the_letters_ocr_folds_together():
    """Folded hashes (shingles, evidence) are one for "man"/"men", "0"/"o"; exact hashes (the content hash) are
    not, while case, compatibility forms and typographic quotes are folded in both."""
    t = tokenise(["man men 0 o Man ＭＡＮ don\u2019t don't"])
    h, x = t.hashes.tolist(), t.exact.tolist()
    assert h[0] == h[1] and h[2] == h[3]
    assert x[0] != x[1] and x[2] != x[3]
    assert x[0] == x[4] == x[5] and x[6] == x[7]


@given(st.lists(TEXT, max_size=8))
@settings(max_examples=200)
def test_batch_tokenisation_equals_per_document_tokenisation(texts):
    batch = tokenise(texts)
    assert len(batch) == len(texts)
    for i, text in enumerate(texts):
        alone = tokenise([text])
        sl = batch.doc(i)
        assert batch.starts[sl].tolist() == alone.starts.tolist()
        assert batch.ends[sl].tolist() == alone.ends.tolist()
        assert batch.hashes[sl].tolist() == alone.hashes.tolist()
        _check_spans(text, batch.starts[sl].tolist(), batch.ends[sl].tolist())


@given(st.lists(TEXT, min_size=1, max_size=8), st.integers(min_value=1, max_value=300))
def test_memory_batching_does_not_change_tokens(texts, batch_chars):
    whole = tokenise(texts)
    split = tokenise(texts, batch_chars=batch_chars)
    assert whole.offsets.tolist() == split.offsets.tolist()
    assert whole.starts.tolist() == split.starts.tolist()
    assert whole.ends.tolist() == split.ends.tolist()
    assert whole.hashes.tolist() == split.hashes.tolist()


def test_real_articles_tokenise_alike_alone_and_together(seeds, kit):
    texts = [seeds.text(i) for i in seeds.ids] + [kit.body() for _ in range(5)]
    batch = tokenise(texts)
    for i, text in enumerate(texts):
        alone = tokenise([text])
        sl = batch.doc(i)
        assert np.array_equal(batch.hashes[sl], alone.hashes)
        assert np.array_equal(batch.starts[sl], alone.starts)
        assert np.array_equal(batch.ends[sl], alone.ends)
        _check_spans(text, alone.starts.tolist(), alone.ends.tolist())


def test_long_tokens_are_hashed_by_their_full_text():
    long_a = "x" * 100 + "a"
    long_b = "x" * 100 + "b"
    ha, hb = _hashes(long_a), _hashes(long_b)
    assert len(ha) == len(hb) == 1
    assert ha != hb
    assert _hashes(long_a.upper()) == ha
