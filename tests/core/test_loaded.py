"""Phase 2's ``Loaded``: a batch's stored tokens decoded and shingled by the compiled loops
(``_align.decode_tokens``, ``_align.shingle_rows``) give the numpy code's arrays bit for bit, and the tokens read
end to end from a real store (``FeatureStore.tokens_flat``) are those read article by article."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import kernels
from dedup import phase2 as p2
from dedup.featurestore import FeatureStore
from dedup.featurestore import tokens as token_form
from dedup.phase1.normalise import Tokens, token_hash
from dedup.phase1.shingle import shingle
from dedup.pipeline import scan
from tests.conftest import AEB_BODIES

KERNEL = kernels.native("align")
pytestmark = pytest.mark.skipif(KERNEL is None, reason="dedup/kernels/_align.pyx is not built here")
BANAL = [token_hash(w) for w in ("2024", "monday", "07", "may")]


def _both(run) -> tuple:
    """``run()`` with the numpy code, then with the kernels: each its value, or the error it raised (a str)."""
    out = []
    for backend in ("numpy", "auto"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DEDUP_KERNELS", backend)
            try:
                out.append(run())
            except token_form.Corrupt as e:
                out.append(f"Corrupt: {e}")
    return tuple(out)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_decoding_compiled_is_numpys(data) -> None:
    """Property: any words (gaps and lengths, wide tokens, a word outside the vocabulary, wide spans that do
    not match) decode to the numpy code's arrays, or raise its error."""
    vocab = np.array(sorted(set(data.draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=10)))), np.uint64)
    n = data.draw(st.integers(0, 60))
    ids = data.draw(st.lists(st.integers(0, len(vocab) - (not data.draw(st.booleans()))), min_size=n, max_size=n))
    lows = data.draw(st.lists(st.one_of(st.integers(0, 254), st.just(0xFF)), min_size=n, max_size=n))
    words = np.array([(i << 8) | low for i, low in zip(ids, lows)], dtype=np.uint32)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=5)))
    counts = np.diff(np.array([0, *cuts, n], dtype=np.int64))
    n_wide = sum(low == 0xFF for low in lows) + data.draw(st.sampled_from([0, 0, 0, 1, -1]))
    spans = data.draw(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), min_size=max(n_wide, 0)))
    wide = np.array(sorted(spans)[: max(n_wide, 0)], dtype=np.uint32).reshape(-1, 2)
    plain, compiled = _both(lambda: token_form.decode(words, counts, vocab, wide))
    if isinstance(plain, str):
        assert compiled == plain
        return
    for a, b in zip(plain, compiled):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@st.composite
def batches(draw: st.DrawFn) -> tuple[Tokens, int]:
    """Articles of token hashes from a small pool with banal words in it (windows of banal words only, short and
    empty articles, all-banal ones), and k."""
    pool = draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=6)) + BANAL
    docs = draw(st.lists(st.lists(st.sampled_from(pool), max_size=14), min_size=1, max_size=7))
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in docs], out=offsets[1:])
    n = int(offsets[-1])
    hashes = np.array([h for d in docs for h in d], dtype=np.uint64)
    spans = np.arange(n, dtype=np.int64)
    return Tokens(offsets=offsets, starts=spans, ends=spans + 1, hashes=hashes), draw(st.integers(1, 6))


@settings(max_examples=120, deadline=None)
@given(batches())
def test_shingles_compiled_are_numpys(case) -> None:
    """Property: every article's shingles (hashes, first and last token, offsets) are the numpy code's."""
    tokens, k = case
    plain, compiled = _both(lambda: shingle(tokens, k))
    for name in ("offsets", "hashes", "first", "last"):
        a, b = getattr(plain, name), getattr(compiled, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> tuple[FeatureStore, p2.DocTable]:
    """A real scan's store of 40 real articles, kept, and its table."""
    folder = tmp_path_factory.mktemp("corpus")
    data = json.loads(AEB_BODIES.read_text(encoding="utf-8"))
    for n, key in enumerate(sorted(data)[:40]):
        (folder / f"{n:03d}.txt").write_text(data[key]["articleBody"], encoding="utf-8")
    store = tmp_path_factory.mktemp("store") / "s"
    result = scan(folder, store=store)
    return FeatureStore(store), p2.DocTable(result.frame)


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_loaded_reads_the_stored_tokens_end_to_end_as_article_by_article(stored, backend, monkeypatch) -> None:
    store, table = stored
    monkeypatch.setenv("DEDUP_KERNELS", backend)
    docs = [0, 3, 4, 9, 17, 18, 25, 39]
    assert p2._stored_flat(store, docs) is not None  # the end-to-end read, not the per-article one
    loaded = p2.Loaded(store, table, docs, 5, threads=1)
    by_article = p2._tokens_of(store, table, docs, None, 1)
    for name in ("offsets", "starts", "ends", "hashes"):
        a, b = getattr(loaded.tokens, name), getattr(by_article, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert loaded.tokens.offsets[-1] > 1000  # real articles' tokens
    assert [loaded.corpus.ids[loaded.pos[d]] for d in docs] == [table.ids[d] for d in docs]
    # Unordered articles are read article by article: the same tokens, in the order asked.
    shuffled = p2.Loaded(store, table, docs[::-1], 5, threads=1, texts=False)
    assert p2._stored_flat(store, docs[::-1]) is None
    last = shuffled.tokens.doc(0)
    assert np.array_equal(shuffled.tokens.hashes[last], loaded.tokens.hashes[loaded.tokens.doc(len(docs) - 1)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(*[st.integers(0, 10**6)] * 4), max_size=4), max_size=6))
def test_side_spans_are_each_pairs_sides_in_turn(passages) -> None:
    """Property: ``_side_spans`` gives the rows the per-pair form gave: pair j's a side (2j) then its b side
    (2j + 1), each side's passages in order."""
    arrays = [np.array(p, dtype=np.int64).reshape(-1, 4) for p in passages]
    want = [
        np.hstack([np.full((len(f), 1), 2 * j + s), f[:, 2 * s : 2 * s + 2]])
        for j, f in enumerate(arrays)
        for s in (0, 1)
    ]
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([len(a) for a in arrays], out=offsets[1:])
    found = np.concatenate(arrays) if arrays else np.zeros((0, 4), dtype=np.int64)
    got = p2._side_spans(found, offsets)
    assert got.dtype == np.int64
    assert np.array_equal(got, np.concatenate(want) if want else np.zeros((0, 3), dtype=np.int64))


@settings(max_examples=60, deadline=None)
@given(batches(), st.data())
def test_boilerplate_rows_name_each_flagged_shingles_article(case, data) -> None:
    """Property: each flagged shingle's row names the article it lies in (empty articles among them)."""
    from dedup.label import boiler_rows

    tokens, k = case
    sh = shingle(tokens, k)
    flags = np.array(data.draw(st.lists(st.booleans(), min_size=len(sh.hashes), max_size=len(sh.hashes))), dtype=bool)
    rows = boiler_rows(tokens, sh, flags)
    doc = np.repeat(np.arange(len(sh.offsets) - 1), np.diff(sh.offsets))[flags]
    assert rows.dtype == np.int64 and rows.shape == (int(flags.sum()), 3)
    assert np.array_equal(rows[:, 0], doc)
    assert np.array_equal(rows[:, 1], tokens.starts[sh.first[flags]])
    assert np.array_equal(rows[:, 2], tokens.ends[sh.last[flags]])


def _broken(words: np.ndarray, wide: np.ndarray, index: np.ndarray, how: str) -> None:
    """Damage a shard's token files in place as ``how`` says."""
    second = int(index[1, 0])  # article 1's first token
    if how == "outside":  # article 1's first token ends far past its text (a wide span, or a small token made wide)
        words[second] = (words[second] & np.uint32(0xFFFFFF00)) | np.uint32(0xFF)
        at = int(np.count_nonzero((words[: second + 1] & np.uint32(0xFF)) == 0xFF)) - 1
        wide[at] = (5, 1 << 30)
    elif how == "vocabulary":
        words[second] = np.uint32(0xFFFFFF00) | (words[second] & np.uint32(0xFF))
    else:  # "wide": article 1 holds one wide token more than its wide spans
        words[second] = (words[second] & np.uint32(0xFFFFFF00)) | np.uint32(0xFF)


@pytest.mark.parametrize("how", ["outside", "vocabulary", "wide"])
def test_damaged_token_files_give_the_numpy_codes_error(stored, tmp_path, how) -> None:
    """The compiled decode's checks name the same article and problem as the numpy code's, whatever is damaged."""
    import shutil

    from dedup.featurestore import StoreError

    store, _ = stored
    copy = tmp_path / "s"
    shutil.copytree(store.root, copy)
    (shard,) = (copy / "shards").iterdir()
    words, wide = np.load(shard / "token_words.npy"), np.load(shard / "token_wide.npy")
    index = np.load(shard / "token_index.npy")
    if how == "outside":
        wide = np.insert(wide, int(index[1, 1]), (0, 0), axis=0)  # article 1's new wide span, counted in the index
        index[2:, 1] += 1
        np.save(shard / "token_index.npy", index)
    _broken(words, wide, index, how)
    np.save(shard / "token_words.npy", words)
    np.save(shard / "token_wide.npy", wide)
    messages = []
    for backend in ("numpy", "auto"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DEDUP_KERNELS", backend)
            with pytest.raises(StoreError) as caught:
                FeatureStore(copy).tokens_flat(np.arange(4))
            messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert {"outside": "article 1 lie outside", "vocabulary": "vocabulary", "wide": "articles 1-1"}[how] in messages[0]
