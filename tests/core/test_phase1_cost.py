"""Phase 1 costs per character, and phase 2 builds shingles from stored tokens: same results either way."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import ScanOptions, scan
from dedup.excerpt import excerpt_cut
from dedup.featurestore import FeatureStore, StoreError
from dedup.ingest import wrap
from dedup.phase1.normalise import bodies, tokenise
from dedup.pipeline import analyse_store

_PIECES = ["word", "don't", "Ü", "東京", "😀x", "...", "…", "Read more", "full story", "]", " ", "\n", "\r\n", "\u2028"]


def _comparable(result) -> dict:
    out = result.to_dict()
    del out["meta"]["timings"]
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=120), st.integers(4, 40))
def test_a_text_longer_than_a_batch_tokenises_as_in_one_piece(parts, batch_chars):
    texts = ["".join(parts), "short one", "".join(reversed(parts))]
    whole, pieces = tokenise(texts), tokenise(texts, batch_chars=batch_chars)
    for key in ("offsets", "starts", "ends", "hashes"):
        assert np.array_equal(getattr(whole, key), getattr(pieces, key)), key


def _old_excerpt_cut(text, paragraphs):
    """``excerpt_cut`` as it was: every paragraph sliced out and looked at (the oracle)."""
    from dedup.excerpt import _ELLIPSES, _MORE, _STRONG, _maybe_cut

    def cut(p):
        for mark in _ELLIPSES:
            if p.endswith(mark):
                before = p[: -len(mark)].rstrip()
                return bool(before) and before[-1].isalnum()
        return False

    def link(p):
        return len(p.split()) <= 12 and not p.rstrip("\"'”’)").endswith((".", "!", "?"))

    if not _maybe_cut(text):
        return -1
    spans = paragraphs.tolist()
    for k, (s, e) in enumerate(spans):
        line = text[s:e]
        if k + 1 < len(spans) and cut(line) and not link(line) and link(text[spans[k + 1][0] : spans[k + 1][1]]):
            return e
        head = line[:40].lstrip(" \t\"'“‘([-—–→»>*#").lower()
        if not head.startswith(_MORE) or k == 0:
            continue
        after = cut(text[spans[k - 1][0] : spans[k - 1][1]])
        if after or "…" in line or "..." in line or (head.startswith(_STRONG) and k >= len(spans) - 8):
            return spans[k - 1][1]
    return -1


_LINES = ["A sentence.", "cut mid…", "cut  [...]", "Read more", "Continue reading …", "x", "a b c d e f g h i j k l m"]
_LINES += ["word  …", "“Full story”)", "keep reading...", 'ends.")', "…", "  ...", "w…"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_LINES), min_size=1, max_size=40))
def test_excerpt_cut_looks_only_where_a_cut_can_be(lines):
    text = "\n".join(lines)
    spans = np.array([m.span() for m in re.finditer(r"\S(?:[^\n]*\S)?", text)], dtype=np.int64).reshape(-1, 2)
    assert excerpt_cut(text, spans) == _old_excerpt_cut(text, spans)


_PIECES = ["Continue reading", "KEEP READING", "rEaD tHe FuLl", "already", "fully", "read", "Full", "more", " ", ".."]
_PIECES += ["\u212aeep reading", "\u0130", "story", "article", "the rest", "\u2026", "\n", "whole"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_the_excerpt_prefilter_is_the_phrases_in_the_lowered_text(pieces):
    from dedup.excerpt import _MORE, _maybe_cut

    text = "".join(pieces)
    assert _maybe_cut(text) == ("\u2026" in text or "..." in text or any(p in text.lower() for p in _MORE))


_GATE_PIECES = [*_PIECES, "b", "x'", "'", "-", "  ", "\u00a0", "ｒｅａｄ", "\U0001d42b", "😀", "東", "\ud800", "\t"]
_GATE_PIECES += ["ING"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_GATE_PIECES), max_size=14), min_size=1, max_size=4), st.data())
def test_the_excerpt_gate_from_the_tokens_misses_no_text_the_prefilter_keeps(docs, data):
    """Phase 1's gate (the phrases' words as marks on the tokens, ellipses and the front matter looked for in
    the text) is False only where ``_maybe_cut`` is: a text it lets by has no cut (odd cases, a word split
    by the body's start, the Kelvin sign, fullwidth and astral letters, surrogates, among them)."""
    from dedup.excerpt import _maybe_cut, maybe_cut_from_tokens, phrase_docs

    texts = ["".join(d) for d in docs]
    starts = [data.draw(st.integers(0, len(t))) for t in texts]
    tokens = tokenise(bodies(texts, starts))
    phrase = phrase_docs(tokens.offsets, tokens.starts, tokens.ends, tokens.marks)
    for text, b, p in zip(texts, starts, phrase.tolist()):
        if _maybe_cut(text):
            assert maybe_cut_from_tokens(text, b, p), (text, b)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["re", "ad", "read", "the", "conti", "nue", "é", "x", "more", "full"]), max_size=5)
    )
)
def test_word_marks_are_the_phrase_words_each_word_ends_with_starts_with_or_is(parts):
    from dedup.excerpt import _MARK_BITS, word_marks

    words = ["".join(p) for p in parts]
    got = word_marks("\0".join(words).encode("utf-8"))
    for w, m in zip(words, got.tolist()):
        want = 0
        for (kind, p), bit in _MARK_BITS.items():
            if {"end": w.endswith(p), "start": w.startswith(p), "is": w == p}[kind]:
                want |= bit
        assert m == want, w


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["ab ", "c", "\n", "\r", "\r\n", "\x85", "\u2029", "😀"]), max_size=60), st.data())
def test_the_next_line_break_is_the_first_one(parts, data):
    text = "".join(parts)
    lo = data.draw(st.integers(0, len(text)))
    m = re.compile(wrap._BREAK).search(text, lo)
    assert wrap._next_break(text, lo) == (m.start() if m else -1)


@pytest.fixture(scope="module")
def huge_folder(tmp_path_factory, make_kit):
    """One file of thousands of short paragraphs (paragraphs of articles beside it, a stock line in many)
    beside a few articles and two copies of one."""
    kit = make_kit(20)
    root = tmp_path_factory.mktemp("huge")
    stock = "Shares of the company were trading higher in New York on the news this morning, analysts said."
    articles = [kit.article() for _ in range(4)]
    rng = random.Random(3)
    pool = [p for a in articles[:2] for p in a.paragraphs] + [kit.article().paragraphs[0] for _ in range(30)]
    paras = [rng.choice(pool) if rng.random() < 0.9 else stock for _ in range(4000)]
    (root / "huge.txt").write_text("\n\n".join(paras), encoding="utf-8")
    for i, a in enumerate(articles):
        (root / f"a{i}.txt").write_text(f"{a.text}\n\n{stock}", encoding="utf-8")
    (root / "copy.txt").write_text(f"Republished.\n\n{articles[3].text}", encoding="utf-8")
    return root


def test_a_file_of_many_paragraphs_scans_the_same_in_segments_and_from_stored_tokens(
    huge_folder, monkeypatch, tmp_path
):
    """Read in one piece, in segments (two threads), and with phase 2 tokenising texts again (a store without
    token files): one result."""
    import dedup.phase1.features as features

    options = ScanOptions(workers=1, keep_tokens=True)
    whole = _comparable(scan(huge_folder, options, store=tmp_path / "whole"))
    assert any(p["a"] == "huge.txt" or p["b"] == "huge.txt" for p in whole["pairs"])
    monkeypatch.setattr(features, "LONG_CHARS", 10_000)
    monkeypatch.setattr(features, "_SEGMENT_CHARS", 7_000)
    assert _comparable(scan(huge_folder, options, store=tmp_path / "segments")) == whole
    monkeypatch.undo()
    fs = FeatureStore(tmp_path / "whole")
    assert fs.tokens([0])[0] is not None
    for shard in (tmp_path / "whole" / "shards").iterdir():
        for name in ("token_index", "token_words", "token_vocab", "token_wide"):
            (shard / f"{name}.npy").unlink()
    old = FeatureStore(tmp_path / "whole")
    assert old.tokens([0]) == [None]
    again = analyse_store(old, options).to_dict()
    del again["meta"]["timings"]
    assert again == whole


def test_stored_tokens_are_the_tokens_of_the_text(seeds, tmp_path):
    scan(seeds.dir, ScanOptions(keep_tokens=True), store=tmp_path / "s")
    fs = FeatureStore(tmp_path / "s")
    frame = fs.docs()
    stored = fs.tokens(list(range(len(fs))))
    for i in range(len(fs)):
        want = tokenise(bodies([fs.text(i)], [int(frame["body_start"][i])]))
        hashes, starts, ends = stored[i]
        assert np.array_equal(hashes, want.hashes) and np.array_equal(starts, want.starts)
        assert np.array_equal(ends, want.ends)


@pytest.mark.parametrize(("gap", "most"), [(0, 1 << 24), (1 << 16, 1 << 24), (1 << 16, 8)])
def test_scattered_articles_tokens_are_each_articles_own(seeds, tmp_path, monkeypatch, gap, most):
    """Articles asked in any order, repeated, with others between them (read in one stretch, or in pieces
    when ``_READ_GAP`` is 0 or ``_READ_MOST`` small) get the tokens, texts and paragraphs each gets read alone."""
    import dedup.featurestore.store as store

    scan(seeds.dir, ScanOptions(keep_tokens=True), store=tmp_path / "s")
    fs = FeatureStore(tmp_path / "s")
    alone = [fs.tokens([i])[0] for i in range(len(fs))]
    monkeypatch.setattr(store, "_READ_GAP", gap)
    monkeypatch.setattr(store, "_READ_MOST", most)
    asked = [4, 0, 2, 2, 4]
    for i, got in zip(asked, fs.tokens(asked)):
        assert all(np.array_equal(x, y) for x, y in zip(got, alone[i]))
    assert fs.texts_of(asked) == [fs.text(i) for i in asked]
    assert all(np.array_equal(p, fs.paragraphs(i)) for i, p in zip(asked, fs.paragraphs_of(asked)))
    (shard,) = (tmp_path / "s" / "shards").iterdir()
    spans = np.load(shard / "paragraphs.npy")
    spans[int(np.load(shard / "para_offsets.npy")[2]), 1] = 1 << 30  # article 2's first paragraph
    np.save(shard / "paragraphs.npy", spans)
    with pytest.raises(StoreError, match="paragraphs of article 2 lie outside its text"):
        FeatureStore(tmp_path / "s").paragraphs_of(asked)


def test_bad_token_files_are_a_clear_error(seeds, tmp_path):
    scan(seeds.dir, ScanOptions(keep_tokens=True), store=tmp_path / "s")
    (shard,) = (tmp_path / "s" / "shards").iterdir()
    words = np.load(shard / "token_words.npy")
    good = words.copy()
    words[0] = (words[0] & np.uint32(0xFFFFFF00)) | np.uint32(0xEE)  # a gap of 14 and a length of 14
    np.save(shard / "token_words.npy", words)
    wide = np.load(shard / "token_wide.npy")
    if len(wide):  # the first wide token's span far past the text
        wide[0] = (5, 1 << 30)
        np.save(shard / "token_wide.npy", wide)
        with pytest.raises(StoreError, match="tokens of article .* lie outside its text"):
            FeatureStore(tmp_path / "s").tokens(list(range(len(FeatureStore(tmp_path / "s")))))
    words = good.copy()
    words[0] = np.uint32(0xFFFFFF00) | (words[0] & np.uint32(0xFF))  # a word outside the vocabulary
    np.save(shard / "token_words.npy", words)
    with pytest.raises(StoreError, match="outside the shard's vocabulary"):
        FeatureStore(tmp_path / "s").tokens([0])
    (shard / "token_vocab.npy").unlink()
    with pytest.raises(StoreError, match="without the other token files"):
        FeatureStore(tmp_path / "s").tokens([0])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(["ab", " ", "  ", "\t", "\n", "\r\n", "\r", "\u2028", "東京", "x東", "😀", "- 1.", "\x0b"]),
        max_size=80,
    ),
    st.integers(1, 12),
)
def test_lines_in_numpy_are_the_regular_expressions_lines(parts, chunk):
    text = "".join(parts)
    old = wrap._CHUNK
    wrap._CHUNK = chunk  # blocks of a few characters: lines cross them, some are longer than two
    try:
        got = wrap._line_arrays(text, 0, len(text))
    finally:
        wrap._CHUNK = old
    assert np.array_equal(got, wrap._line_matches(text, 0, len(text)).reshape(4, -1))


def _mask_labels(length, paras, is_copy, boiler, shared, params):
    """The labels as a character mask gives them (the rule ``label_batch`` computes on intervals)."""
    from dedup.label import BOILERPLATE, ORIGINAL, SYNDICATED, WRAPPER

    def mask(spans):
        m = np.zeros(length, dtype=bool)
        for s, e in spans:
            m[s:e] = True
        return m

    def share(m):
        prefix = np.concatenate(([0], np.cumsum(m)))
        return (prefix[paras[:, 1]] - prefix[paras[:, 0]]) / np.maximum(paras[:, 1] - paras[:, 0], 1)

    out = np.full(len(paras), WRAPPER if is_copy else ORIGINAL, dtype=np.int8)
    b = mask(boiler)
    out[share(b) >= params.near_identical] = BOILERPLATE
    if len(shared):
        m = mask([(s, e) for s, e, f in shared if not f]) & ~b | mask([(s, e) for s, e, f in shared if f])
        out[share(m) > params.majority] = SYNDICATED
    return out


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_labels_on_intervals_are_the_character_masks_labels(data):
    from dedup.label import label_batch
    from dedup.options import LabelParams

    params = LabelParams()
    n = data.draw(st.integers(1, 4))
    lengths = [data.draw(st.integers(0, 60)) for _ in range(n)]

    def spans(length, k, extra=()):
        rows = []
        for _ in range(k):
            s = data.draw(st.integers(0, length))
            rows.append((s, data.draw(st.integers(s, length)), *(data.draw(x) for x in extra)))
        return rows

    paras = [sorted(spans(length, data.draw(st.integers(0, 5)))) for length in lengths]
    boiler = [spans(length, data.draw(st.integers(0, 6))) for length in lengths]
    shared = [spans(length, data.draw(st.integers(0, 6)), (st.integers(0, 1),)) for length in lengths]
    copy = [data.draw(st.booleans()) for _ in range(n)]
    offsets = np.cumsum([0] + [len(p) for p in paras])
    got = label_batch(
        np.array(lengths),
        offsets,
        np.array([r for p in paras for r in p], dtype=np.int64).reshape(-1, 2),
        np.array(copy),
        np.array([(d, *r) for d in range(n) for r in boiler[d]], dtype=np.int64).reshape(-1, 3),
        np.array([(d, *r) for d in range(n) for r in shared[d]], dtype=np.int64).reshape(-1, 4),
        params,
    )
    for d in range(n):
        p = np.array(paras[d], dtype=np.int64).reshape(-1, 2)
        want = _mask_labels(lengths[d], p, copy[d], boiler[d], shared[d], params)
        assert np.array_equal(got[offsets[d] : offsets[d + 1]], want)


def test_tokens_are_stored_unless_asked_not_to(seeds, tmp_path):
    """By default the store holds every article's tokens in the compact form (phase 2 reads no text to label);
    ``keep_tokens=False`` leaves them out (phase 2 tokenises what it aligns); the result is the same."""
    plain = scan(seeds.dir, ScanOptions(keep_tokens=False), store=tmp_path / "plain")
    kept = scan(seeds.dir, store=tmp_path / "kept")
    assert not list((tmp_path / "plain" / "shards").glob("*/token_*.npy"))
    assert len(list((tmp_path / "kept" / "shards").glob("*/token_*.npy"))) == 4
    a, b = plain.to_dict(), kept.to_dict()
    for d in (a, b):
        del d["meta"]["timings"], d["meta"]["parameters"]["keep_tokens"]
    assert a == b


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0, 5, 1 << 16, 70_000, 300_000]), st.sampled_from([0, 8, 40, 60]))
def test_bucketed_sort_is_a_sort(seed, n, spread):
    """``sorted_keys`` gives ``np.sort``'s array for uniform hashes and for keys crowded into few buckets."""
    from dedup.phase1.features import sorted_keys

    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    keys >>= np.uint64(spread)  # spread 60: every key in the lowest buckets
    assert np.array_equal(sorted_keys(keys.copy()), np.sort(keys))
