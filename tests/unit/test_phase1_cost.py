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
from dedup.normalise import bodies, tokenise
from dedup.pipeline import analyse

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


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from(["A sentence.", "cut mid…", "cut [...]", "Read more", "Continue reading …", "x"]),
        min_size=17,
        max_size=40,
    )
)
def test_excerpt_cut_looks_only_where_a_cut_can_be(lines):
    import dedup.excerpt as excerpt

    text = "\n".join(lines)
    spans = np.array([m.span() for m in re.finditer(r"[^\n]+", text)], dtype=np.int64)
    every = excerpt._candidates
    try:
        excerpt._candidates = lambda text, paragraphs: np.arange(len(paragraphs))  # every paragraph, as before
        want = excerpt_cut(text, spans)
    finally:
        excerpt._candidates = every
    assert excerpt_cut(text, spans) == want


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
    import dedup.features as features

    options = ScanOptions(workers=1)
    whole = _comparable(scan(huge_folder, options, store=tmp_path / "whole"))
    assert any(p["a"] == "huge.txt" or p["b"] == "huge.txt" for p in whole["pairs"])
    monkeypatch.setattr(features, "LONG_CHARS", 10_000)
    monkeypatch.setattr(features, "_SEGMENT_CHARS", 7_000)
    assert _comparable(scan(huge_folder, options, store=tmp_path / "segments")) == whole
    monkeypatch.undo()
    fs = FeatureStore(tmp_path / "whole")
    assert fs.tokens(0) is not None
    for shard in (tmp_path / "whole" / "shards").iterdir():
        for name in ("token_offsets", "token_hashes", "token_spans"):
            (shard / f"{name}.npy").unlink()
    old = FeatureStore(tmp_path / "whole")
    assert old.tokens(0) is None
    again = analyse(old, options).to_dict()
    del again["meta"]["timings"]
    assert again == whole


def test_stored_tokens_are_the_tokens_of_the_text(seeds, tmp_path):
    scan(seeds.dir, store=tmp_path / "s")
    fs = FeatureStore(tmp_path / "s")
    frame = fs.docs()
    for i in range(len(fs)):
        want = tokenise(bodies([fs.text(i)], [int(frame["body_start"][i])]))
        hashes, starts, ends = fs.tokens(i)
        assert np.array_equal(hashes, want.hashes) and np.array_equal(starts, want.starts)
        assert np.array_equal(ends, want.ends)


def test_bad_token_files_are_a_clear_error(seeds, tmp_path):
    scan(seeds.dir, store=tmp_path / "s")
    (shard,) = (tmp_path / "s" / "shards").iterdir()
    spans = np.load(shard / "token_spans.npy")
    spans[0] = (5, 1 << 30)
    np.save(shard / "token_spans.npy", spans)
    with pytest.raises(StoreError, match="tokens of article 0 lie outside its text"):
        FeatureStore(tmp_path / "s").tokens(0)
    (shard / "token_hashes.npy").unlink()
    with pytest.raises(StoreError, match="without the other token files"):
        FeatureStore(tmp_path / "s").tokens(0)
