"""The query's cheaper paths (issue 30) give what the paths they stand in for give: names shown without
polars' regex for a short list, word tokens kept across queries and tokenised with a kept vocabulary, rows
gathered from the shards' tables joined once, phase 1's own tokens of the query, an answer's dicts built in Python."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dedup.escape import stored_name
from dedup.index import open_index
from dedup.index import service as archive
from dedup.ingest.model import Article
from dedup.options import ScanOptions
from dedup.phase1.features import extract_with
from dedup.phase1.normalise import bodies, tokenise
from dedup.result import _DIGITS, _FEW_NAMES, shown_names

OPTIONS = ScanOptions(workers=1, batch_docs=40)

# Names as polars holds them (no surrogates), rich in what the outputs escape.
_escaped = ["\x00", "\x1f", "\\", "\x7f", "\x9f", "\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069"]
_names = st.lists(
    st.one_of(
        st.sampled_from(_escaped),
        st.sampled_from(["a", ".", "/", "é", "中"]),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=6,
).map("".join)


@settings(max_examples=100, deadline=None)
@given(names=st.lists(st.one_of(st.none(), _names), max_size=8))
@example(names=[f"x{c}" for c in _escaped])
def test_short_and_long_name_lists_are_shown_alike(names):
    """A short list (checked in Python) and a long one (polars' regex) show each name as ``stored_name``."""
    want = [None if v is None else stored_name(v) for v in names]
    assert shown_names(pl.Series("id", names, dtype=pl.Utf8)).to_list() == want
    padding = ["plain.txt"] * (_FEW_NAMES + 1)
    long = shown_names(pl.Series("id", names + padding, dtype=pl.Utf8)).to_list()
    assert long[: len(names)] == want


def _words(rng: np.random.Generator, n: int) -> str:
    words = ["the", "Wire", "report", "said", "Zürich", "market", "2024", "don't", "e-mail", "naïve", "北京"]
    return " ".join(words[i] for i in rng.integers(0, len(words), n))


def _articles(seed: int, n: int) -> list[Article]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        text = f"Title {i}\n\n" + _words(rng, int(rng.integers(0, 80))) + "\n\n" + _words(rng, 30)
        out.append(Article(id=f"a{i:03d}.txt", path=f"a{i:03d}.txt", text=text, paragraphs=[(0, len(text))]))
    return out


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paths")
    arts = _articles(0, 60)
    (tmp / "docs").mkdir()
    for a in arts:
        (tmp / "docs" / a.id).write_text(a.text, encoding="utf-8")
    ix = open_index(str(tmp / "index"), archive.store_params(OPTIONS), create=True)
    archive.add(ix, [tmp / "docs"], ScanOptions(workers=1, batch_docs=7))  # several shards
    return ix


def test_rows_gather_as_the_shards_hold_them(index):
    """``rows`` from the joined tables: each ref's row of its own shard, in the order asked, repeats kept."""
    assert len(index.shard_names) > 1
    refs = np.asarray([5, 0, int(index.bases[-1]) - 1, 5, int(index.bases[1])], dtype=np.int64)
    got = index.rows(refs)
    ks, rows = index._split(refs)
    for j, (k, r) in enumerate(zip(ks.tolist(), rows.tolist())):
        assert got[j].equals(index._shard(index.shard_names[k]).docs[r])
    assert index.rows(np.zeros(0, dtype=np.int64)).is_empty()
    with pytest.raises(IndexError):
        index.rows(np.asarray([int(index.bases[-1])]))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(-1, 59), min_size=1, max_size=12))
def test_kept_tokens_are_the_tokeniser_s(index, picks):
    """Tokens from ``_tokens_of`` (kept by shard and row, across calls, with a kept vocabulary) equal a fresh
    ``tokenise`` of each text from its body start, whichever were asked before; -1 (the query) is never kept."""
    refs = np.asarray(picks, dtype=np.int64)
    extra = "Not indexed: the query's own text, don't keep it."
    texts = [extra if r < 0 else index.texts([int(r)])[0] for r in picks]
    body = np.asarray([0 if r < 0 else int(index.rows(np.asarray([r]))["body_start"][0]) for r in picks])
    got = archive._tokens_of(index, refs, lambda j: texts[j], body)
    fresh = tokenise(bodies(texts, body.tolist()))
    for j, (h, a, b) in enumerate(got):
        t = fresh.doc(j)
        assert np.array_equal(h, fresh.hashes[t]) and h.dtype == np.uint64
        assert np.array_equal(a, fresh.starts[t]) and np.array_equal(b, fresh.ends[t]) and a.dtype == np.int64
    assert archive._cache(index, "tokens", archive.TOKEN_LIMIT).get(None) is None


def test_the_query_s_own_tokens_are_phase_1_s():
    """The query's tokens taken from its phase 1 equal tokenising its text again from its body start."""
    arts = _articles(3, 5)
    arts[2] = Article(id="b", path="b", text="Front\n\nBody of it, here.", paragraphs=[(0, 5), (7, 24)], body_start=7)
    data = extract_with(arts, OPTIONS)
    fresh = tokenise(bodies([a.text for a in arts], [a.body_start for a in arts]))
    for i in range(len(arts)):
        h, a, b = archive._own_tokens(data, i)
        t = fresh.doc(i)
        assert np.array_equal(h, fresh.hashes[t]) and np.array_equal(a, fresh.starts[t])
        assert np.array_equal(b, fresh.ends[t])


def test_grouped_adds_answer_and_store_as_one_add_after_another(tmp_path):
    """``add_groups`` (the serve writer's adds committed together): each group's report, and the index it
    leaves, are those of ``add_articles`` run on each group in turn: new, changed (replacing), unchanged,
    and an id repeated within a group (its last version kept)."""
    base = _articles(5, 12)
    changed = Article(id=base[1].id, path=base[1].path, text=base[1].text + " more", paragraphs=[(0, 5)])
    again = Article(id="n2.txt", path="n2.txt", text="Second version of n2", paragraphs=[(0, 20)])
    groups = [
        [Article(id="n1.txt", path="n1.txt", text="A new one here", paragraphs=[(0, 14)])],
        [changed, base[2]],  # replaces a live article; re-adds one unchanged
        [Article(id="n2.txt", path="n2.txt", text="First version", paragraphs=[(0, 13)]), again],
    ]
    indexes = []
    for mode in ("one by one", "grouped"):
        ix = open_index(str(tmp_path / mode.replace(" ", "-")), archive.store_params(OPTIONS), create=True)
        archive.add_articles(ix, base, OPTIONS)
        if mode == "grouped":
            reports = archive.add_groups(ix, groups, OPTIONS)
        else:
            reports = [archive.add_articles(ix, g, OPTIONS) for g in groups]
        indexes.append(ix)
        assert [(r.added, r.replaced, r.unchanged) for r in reports] == [(1, 0, 0), (0, 1, 1), (1, 0, 0)]
    one, grouped = indexes
    ids = sorted(one.resolve([a.id for a in base] + ["n1.txt", "n2.txt"]))
    assert sorted(grouped.resolve(ids)) == ids
    assert one.live_hashes(ids) == grouped.live_hashes(ids)
    assert grouped.texts(grouped._live_refs(["n2.txt"])[1].tolist()) == ["Second version of n2"]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(0, 1) | st.integers(0, 40000).map(lambda k: k / 20000), max_size=20))
def test_numpy_rounds_measures_as_polars_does(values):
    """The answer's Python path rounds measures with numpy (``ScanResult._few_pairs``), the scan's with polars'
    ``round``: the same floats, ties included (k / 20000 sits halfway between two 4-digit values)."""
    x = np.asarray(values, dtype=np.float64)
    assert np.round(x, _DIGITS).tolist() == pl.Series(x, dtype=pl.Float64).round(_DIGITS).to_list()


def test_a_few_rows_answer_as_polars_builds_them(index, monkeypatch):
    """A query's answer (a few documents and pairs) built in Python (``ScanResult.contents``) is what the
    polars path builds: copies, an excerpt and an edited copy, under ids the outputs escape."""
    texts = index.texts([3, 10, 20])
    queries = [
        Article(id="q\x1fcopy.txt", path="q\x1fcopy.txt", text=texts[0], paragraphs=[(0, len(texts[0]))]),
        Article(id="q-cut.txt", path="q-cut.txt", text=texts[1][: len(texts[1]) * 2 // 3], paragraphs=[]),
        Article(id="q\u2028e.txt", path="q\u2028e.txt", text=texts[2].replace("the", "a"), paragraphs=[]),
    ]
    queries = [
        Article(id=q.id, path=q.path, text=q.text, paragraphs=q.paragraphs or [(0, len(q.text))]) for q in queries
    ]
    results = [a.result for a in archive.query_articles(index, queries, OPTIONS).answers if a.result is not None]
    assert results and any(r.pairs.height for r in results)
    few = [r.contents() for r in results]
    monkeypatch.setattr("dedup.result._FEW_ROWS", -1)
    assert [r.contents() for r in results] == few


@pytest.mark.slow
def test_kept_chains_answer_as_chains_found_again(tmp_path):
    """Verification's chains of two indexed articles (``_KeptChains``), kept from one query to the next,
    answer as the chains found again: agency stories and their rewrites, each query asked on a handle that
    kept the earlier queries' chains and on a fresh one."""
    from benchmarks.corpora.wire import generate as wire

    corpus = tmp_path / "corpus"
    wire(corpus, 12, seed=1, layout="plain")
    for truth in corpus.rglob("truth*.json"):
        truth.unlink()
    index = open_index(str(tmp_path / "index"), archive.store_params(OPTIONS), create=True)
    archive.add(index, [corpus], OPTIONS)
    articles, _ = archive.read_sources([corpus], OPTIONS)
    picked = articles[:: max(1, len(articles) // 6)][:6]
    kept = [archive.query_articles(index, [a], OPTIONS, exclude_same_id=True).to_dict() for a in picked]
    assert len(index.query_caches["chains"]._data) > 0, "chains of indexed pairs were looked at"
    again = [archive.query_articles(index, [a], OPTIONS, exclude_same_id=True).to_dict() for a in picked]
    anew = [  # each on a handle of its own: every chain found again
        archive.query_articles(open_index(str(tmp_path / "index")), [a], OPTIONS, exclude_same_id=True).to_dict()
        for a in picked
    ]
    for got in (kept, again, anew):
        for d in got:
            d["meta"].pop("timings")
    assert kept == anew and again == anew


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 59), min_size=1, max_size=6, unique=True), query=st.integers(0, 59))
def test_long_partners_look_ups_are_one_look_up(index, monkeypatch, picks, query):
    """The partners' fingerprints looked up in pieces, each long partner's with what the big shards found kept
    (``_partner_holders``), first and then from what was kept, are one look-up of them all (``holders``)."""
    from dedup.index import shards
    from dedup.options import QueryParams

    monkeypatch.setattr(archive, "LONG_PARTNER", 40)  # most of these short articles count as long
    monkeypatch.setattr(shards, "_DIRECT", 16)  # and every shard as big: its look-ups kept
    qp = QueryParams(spread=3)  # some fingerprints held too widely to list
    partners = np.asarray(sorted(picks), dtype=np.int64)
    own = archive._partner_fingerprints(index, partners, OPTIONS)
    query_fps = archive._partner_fingerprints(index, np.asarray([query]), OPTIONS)[0]
    extra = archive._not_in(archive._union(own), query_fps)
    want = index.holders(extra, lambda c: c > qp.spread)
    for _ in range(2):
        got = archive._partner_holders(index, extra, partners, own, qp)
        for g, w in zip(got, want):
            assert g.tolist() == w.tolist()
    if len(extra) and any(len(f) >= 40 for f in own):  # the pieces were kept, and taken again
        assert index.query_caches["holders"].size > 0


_RELATIONS = ["near-duplicate", "contains", "contained", "derived", "shared-passage", "exact"]


@settings(max_examples=60, deadline=None)
@given(
    relations=st.lists(st.sampled_from(_RELATIONS), max_size=12),
    wanted=st.sets(st.sampled_from(_RELATIONS)),
    rows=st.lists(st.integers(0, 11), max_size=12),
)
def test_the_query_s_eager_frame_steps_are_polars_own(relations, wanted, rows):
    """A query's focus and answer steps (``phase2``) take rows, test relations, set columns and narrow the
    article table without polars' lazy calls: each gives what the polars call it stands in for gives."""
    from dedup.featurestore import DOC_SCHEMA
    from dedup.phase2 import FEW_PAIRS, DocTable, relation_in, with_series

    n = len(relations)
    pairs = pl.DataFrame({"a": np.arange(n), "b": np.arange(n)[::-1].copy(), "relation": relations})
    assert relation_in(pairs, wanted).tolist() == pairs["relation"].is_in(sorted(wanted)).to_list()
    big = pl.concat([pairs] * (FEW_PAIRS // max(n, 1) + 1)) if n else pairs
    assert relation_in(big, wanted).tolist() == big["relation"].is_in(sorted(wanted)).to_list()
    at = np.asarray([r for r in rows if r < n], dtype=np.int64)
    got = with_series(pairs[at], a=at[::-1].copy(), copies=pl.Series(at, dtype=pl.Int8))
    want = pairs[at].with_columns(a=pl.Series(at[::-1].copy()), copies=pl.Series(at, dtype=pl.Int8))
    assert got.equals(want) and got.schema == want.schema
    assert pairs.columns == ["a", "b", "relation"]  # the input frame is left as it was
    docs = pl.DataFrame(
        [
            {
                **{c: None for c in DOC_SCHEMA},
                "id": f"d{i}",
                "n_shingles": i,
                "content_hash": i,
                "has_text": True,
                "cut": -1,
                "body_start": 0,
                "chars": 10 * i,
                "site": f"s{i % 3}",
            }
            for i in range(12)
        ],
        schema=DOC_SCHEMA,
    )
    table = DocTable(docs)
    first = np.asarray(sorted(set(rows)), dtype=np.int64)
    second = np.arange(len(first))[::2].copy()
    for got, frame in ((table.take(first), docs[first]), (table.take(first).take(second), docs[first][second])):
        want = DocTable(frame)
        assert got.ids == want.ids and got.dates == want.dates and got.frame.equals(frame)
        for name in ("sizes", "content", "has_text", "cut", "body_start", "chars"):
            assert np.array_equal(getattr(got, name), getattr(want, name))
        assert np.array_equal(got.site_codes(), want.site_codes())
