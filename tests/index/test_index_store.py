"""The index's shard core (issue 12): tiered merges keep few shards and lose nothing; look-ups through the
directory find exactly what a brute-force search finds; a merged shard reads back like its inputs."""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.featurestore import Shard
from dedup.index import open_index, shards
from dedup.index import service as archive
from dedup.index.merge import FAN_IN, MAX_MERGED, merge_plan, tier
from dedup.ingest.model import Article
from dedup.options import ScanOptions
from dedup.phase1.features import FP_MASK, MAX_BATCH, extract

OPTIONS = ScanOptions(workers=1, batch_docs=40)


@given(st.lists(st.integers(1, MAX_BATCH + 1), min_size=1, max_size=400))
def test_merge_plan_keeps_few_shards_and_never_overfills_one(batches):
    """Whatever the batch sizes, after each add and its merges: no merged shard holds more than MAX_MERGED
    articles, nothing is lost, and the tail holds fewer than FAN_IN shards of any one tier."""
    sizes: list[int] = []
    for n in batches:
        sizes.append(n)
        while (plan := merge_plan(sizes)) is not None:
            j, k = plan
            assert k - j >= 2 and sum(sizes[j:k]) <= MAX_MERGED
            sizes[j:k] = [sum(sizes[j:k])]
    assert sum(sizes) == sum(batches)
    full = sum(1 for s in sizes if tier(s) == tier(MAX_MERGED))
    assert len(sizes) - full <= (FAN_IN - 1) * (tier(MAX_MERGED) + 1)


def _words(rng: np.random.Generator, n: int, vocab: int) -> str:
    return " ".join(f"w{x}" for x in rng.integers(0, vocab, n))


def _articles(seed: int, n: int) -> list[Article]:
    """Articles over a small vocabulary (shingles recur across them), some sharing a paragraph, some copies."""
    rng = np.random.default_rng(seed)
    shared = _words(rng, 60, 50)
    out = []
    for i in range(n):
        text = _words(rng, int(rng.integers(20, 120)), 300)
        if i % 3 == 0:
            text += "\n\n" + shared
        if i % 5 == 4:
            text = out[i - 1].text
        out.append(Article(id=f"a{i:04d}", path=f"a{i:04d}", text=text, paragraphs=[(0, len(text))]))
    return out


def _write(folder, articles: list[Article]) -> None:
    folder.mkdir()
    for a in articles:
        (folder / f"{a.id}.txt").write_text(a.text, encoding="utf-8")


def _brute(index, fps: np.ndarray) -> set[tuple[int, int]]:
    """(position, ref) of every live holder, by scanning every shard's postings."""
    out = set()
    for k, name in enumerate(index.shard_names):
        s = Shard(index.root / "shards" / name)
        postings, docs = np.asarray(s.array("postings")), np.asarray(s.array("posting_docs"))
        for pos, fp in enumerate(fps.tolist()):
            rows = np.flatnonzero(postings == np.uint64(fp))
            for d in docs[rows].tolist():
                ref = int(index.bases[k]) + d
                if index.alive[ref]:
                    out.add((pos, ref))
    return out


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(30, 160))
def test_lookups_after_merges_equal_brute_force(tmp_path_factory, seed, n):
    tmp = tmp_path_factory.mktemp("ix")
    arts = _articles(seed, n)
    _write(tmp / "docs", arts)
    ix = open_index(str(tmp / "index"), archive.store_params(OPTIONS), create=True)
    archive.add(ix, [tmp / "docs"], OPTIONS)
    assert ix.stats()["articles"] == n
    assert len(ix.shard_names) < -(-n // OPTIONS.batch_docs) or n <= OPTIONS.batch_docs * (FAN_IN - 1)
    with ix.writing():
        assert ix.remove([f"{arts[1].id}.txt", f"{arts[7].id}.txt"]) == 2
    data = extract(arts[:6], OPTIONS.k, OPTIONS.num_perm, 1)
    fps = np.unique(data.postings & FP_MASK)
    # Both ways of looking a shard up (its Bloom filter and directory; a whole-shard binary search, which
    # small shards take), with crowded runs counted apart or not, give the same answer as brute force.
    answers = []
    for direct, wide in ((0, 1024), (0, 3), (1 << 40, 1024), (1 << 40, 3)):
        with mock.patch.object(shards, "_DIRECT", direct), mock.patch.object(shards, "_WIDE", wide):
            answers.append(ix.holders(fps, lambda counts: counts > 12))
    for other in answers[1:]:
        assert all(np.array_equal(x, y) for x, y in zip(answers[0], other))
    pos, refs, frequent, _ = answers[0]
    assert np.array_equal(np.lexsort((refs, pos)), np.arange(len(pos)))  # by position, then ref
    got = set(zip(pos.tolist(), refs.tolist()))
    want = {(p, r) for p, r in _brute(ix, fps) if not frequent[p]}
    assert got == want
    # A fingerprint is frequent exactly when more than 12 articles (removed ones included) hold it.
    counts = np.zeros(len(fps), dtype=np.int64)
    for name in ix.shard_names:
        postings = np.asarray(Shard(ix.root / "shards" / name).array("postings"))
        counts += np.searchsorted(postings, fps, "right") - np.searchsorted(postings, fps, "left")
    assert (frequent == (counts > 12)).all()


def test_merged_shards_read_back_as_their_inputs(tmp_path):
    """Many small adds merge; every article's text, paragraphs and row survive, in order; a removed one
    is gone after compaction, and the answers are those of an index built in one go."""
    arts = _articles(3, 400)
    one = open_index(str(tmp_path / "one"), archive.store_params(OPTIONS), create=True)
    _write(tmp_path / "all", arts)
    archive.add(one, [tmp_path / "all"], ScanOptions(workers=1, batch_docs=2000))
    many = open_index(str(tmp_path / "many"), archive.store_params(OPTIONS), create=True)
    for lo in range(0, 400, 10):
        _write(tmp_path / f"p{lo}", arts[lo : lo + 10])
        archive.add(many, [tmp_path / f"p{lo}"], ScanOptions(workers=1, batch_docs=10))
    assert len(one.shard_names) == 1 and 1 < len(many.shard_names) < 40
    refs = np.flatnonzero(many.alive)
    assert np.array_equal(refs, np.flatnonzero(one.alive))
    assert many.rows(refs)["id"].to_list() == [f"{a.id}.txt" for a in arts]
    assert many.rows(refs).drop("path").equals(one.rows(refs).drop("path"))
    assert many.texts(refs.tolist()) == one.texts(refs.tolist())
    assert [p.tolist() for p in many.paragraphs(refs.tolist())] == [p.tolist() for p in one.paragraphs(refs.tolist())]
    q = _articles(99, 30) + arts[::37]
    a1 = archive.query_articles(one, q, OPTIONS).to_dict()
    a2 = archive.query_articles(many, q, OPTIONS).to_dict()
    key = lambda d: [(p["a"], p["b"], p["relation"], p["a_in_b"], p["passages"]) for p in d["pairs"]]  # noqa: E731
    assert key(a1) == key(a2) and key(a1)
    with many.writing():
        assert many.remove([f"{arts[5].id}.txt"]) == 1
    many.compact()
    assert many.stats()["removed_pending"] == 0 and many.stats()["articles"] == 399
    assert f"{arts[5].id}.txt" not in many.rows(np.flatnonzero(many.alive))["id"].to_list()
    assert len(many.shard_names) == 1


def test_small_shards_table_carried_across_snapshots_answers_as_a_fresh_handle(tmp_path):
    """A server's snapshot after each add takes the small shards' table of the one before (``_small_table``: its
    rows of shards still listed, the new shards merged in): through adds of one article, a merge of the small
    shards and a removal, every look-up is the one a handle opened afresh gives, and brute force's."""
    arts = _articles(3, 40)
    ix = open_index(str(tmp_path / "index"), archive.store_params(OPTIONS), create=True)
    ix.merge_after_append = False
    fps = np.unique(extract(arts[:8], OPTIONS.k, OPTIONS.num_perm, 1).postings & FP_MASK)
    reader = None
    for i, art in enumerate(arts):
        archive.add_articles(ix, [art], OPTIONS)
        if i == 20:
            with ix.writing():
                ix.merge()  # merged into one: the table drops their rows and takes the merged shard's
        if i == 30:
            with ix.writing():
                assert ix.remove([arts[3].id]) == 1
        reader = open_index(str(tmp_path / "index"), reuse=[r for r in (ix, reader) if r is not None])
        got = reader.holders(fps, lambda counts: counts > 6)
        want = open_index(str(tmp_path / "index")).holders(fps, lambda counts: counts > 6)
        assert all(np.array_equal(x, y) for x, y in zip(got, want))
        pos, refs, frequent, _ = got
        assert set(zip(pos.tolist(), refs.tolist())) == {(p, r) for p, r in _brute(reader, fps) if not frequent[p]}
    assert reader is not None and len(reader._small[0]) >= FAN_IN  # many small shards were searched as one
