"""The streaming scan: results independent of workers and batches, recurring text costs no pairs, the store."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from dedup import ScanOptions, scan
from dedup.featurestore import FORMAT_VERSION, FeatureStore, StoreError
from dedup.options import FEATURES_VERSION, VerifyParams

MAX_ENUMERATE = VerifyParams().max_enumerate


def _comparable(result) -> dict:
    out = result.to_dict()
    del out["meta"]["timings"]
    return out


@pytest.fixture(scope="module")
def recurring_folder(tmp_path_factory, make_kit):
    """Unrelated articles that share stock paragraphs and sentences, two wrapped copies, and one story
    republished by more sites than a posting list is expanded for (a large list)."""
    kit = make_kit(0)
    root = tmp_path_factory.mktemp("recurring")
    stock = [kit.article().paragraphs[0] for _ in range(6)]  # recur across unrelated articles
    rng = random.Random(7)
    files: dict[str, str] = {}
    for i in range(30):
        body = kit.article().take(150, 250).split("\n\n")
        for para in rng.sample(stock, 3):
            body.insert(rng.randrange(len(body) + 1), para)
        files[f"plain/{i:02d}.txt"] = "\n\n".join(body)
    story = kit.story()
    files["copies/original.txt"] = story
    files["copies/wrapped.txt"] = kit.wrap(story)
    syndicated = kit.story()
    for i in range(MAX_ENUMERATE + 8):
        files[f"wire/site{i:02d}.txt"] = f"Site {i} news desk. Posted today.\n\n{syndicated}\n\nMore from site {i}."
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root, stock


def test_recurring_paragraphs_pair_nothing_and_large_lists_still_cluster(recurring_folder):
    root, stock = recurring_folder
    result = scan(root)
    pairs = result.pairs_frame
    # No pair between two plain articles, whatever stock text they share.
    assert pairs.filter(pairs["a"].str.starts_with("plain/") | pairs["b"].str.starts_with("plain/")).height == 0
    clusters = {frozenset(m) for m in result.clusters_frame["members"].to_list()}
    wire = frozenset(f"wire/site{i:02d}.txt" for i in range(MAX_ENUMERATE + 8))
    assert clusters == {frozenset({"copies/original.txt", "copies/wrapped.txt"}), wire}
    # A large list is linked as a star and a chain: pairs linear in its members, not quadratic.
    wire_pairs = pairs.filter(pairs["a"].str.starts_with("wire/") & pairs["b"].str.starts_with("wire/")).height
    assert len(wire) - 1 <= wire_pairs <= 2 * len(wire)
    # A stock paragraph recurring in unrelated articles is boilerplate; the syndicated story is not.
    d = result.to_dict()
    texts = {doc["id"]: result.corpus.texts[i] for i, doc in enumerate(d["documents"])}
    for doc in d["documents"]:
        for p in doc["paragraphs"]:
            piece = texts[doc["id"]][p["start"] : p["end"]]
            if piece in stock:
                assert p["label"] == "boilerplate", (doc["id"], piece[:40])
            if doc["id"].startswith("wire/") and len(piece.split()) > 12:
                assert p["label"] == "syndicated", (doc["id"], piece[:40])


@pytest.mark.parametrize(
    "options",
    [
        ScanOptions(workers=2, batch_docs=7),
        ScanOptions(workers=1, batch_docs=5, batch_chars=4000),
        ScanOptions(workers=2, batch_docs=1000),
    ],
    ids=["2-workers-small-batches", "1-worker-tiny-batches", "2-workers-one-batch"],
)
def test_result_does_not_depend_on_workers_or_batches(recurring_folder, options):
    root, _ = recurring_folder
    reference = _comparable(scan(root, ScanOptions(workers=1, batch_docs=100_000)))
    other = _comparable(scan(root, options))
    for d in (reference, other):  # the parameters differ by construction
        d["meta"].pop("parameters")
    assert other == reference


def test_small_partitions_give_the_same_lists(recurring_folder, monkeypatch):
    """Postings sorted partition by partition (a corpus larger than memory) give the same result."""
    import dedup.evidence as evidence

    root, _ = recurring_folder
    reference = _comparable(scan(root))
    monkeypatch.setattr(evidence, "PARTITION_ROWS", 500)
    assert _comparable(scan(root)) == reference


def test_store_is_kept_versioned_and_unpickled(tmp_path, seeds):
    store = tmp_path / "store"
    scan(seeds.dir, store=store)
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["format"] == "dedup-feature-store" and manifest["version"] == FORMAT_VERSION
    assert manifest["params"] == {"k": 5, "num_perm": 128, "seed": 1, "features": FEATURES_VERSION}
    fs = FeatureStore(store)
    assert len(fs) == 5
    for shard in fs.shards():
        for npy in shard.path.glob("*.npy"):
            np.load(npy, allow_pickle=False)  # raises if anything needed pickle
    assert sorted(fs.docs()["id"].to_list()) == sorted(seeds.ids)
    i = fs.docs()["id"].to_list().index(seeds.original)
    assert fs.text(i) == seeds.text(seeds.original)


def test_newer_or_corrupt_store_is_a_clear_error(tmp_path, seeds):
    store = tmp_path / "store"
    scan(seeds.dir, store=store)
    manifest = json.loads((store / "manifest.json").read_text())
    (store / "manifest.json").write_text(json.dumps({**manifest, "version": FORMAT_VERSION + 1}))
    with pytest.raises(StoreError, match="newer"):
        FeatureStore(store)
    (store / "manifest.json").write_text("{not json")
    with pytest.raises(StoreError, match="unreadable"):
        FeatureStore(store)
    with pytest.raises(StoreError, match="not a dedup feature store"):
        FeatureStore(tmp_path / "nothing-here")


def test_a_kept_store_is_never_overwritten(tmp_path, seeds):
    store = tmp_path / "store"
    scan(seeds.dir, store=store)
    before = sorted(p.name for p in (store / "shards").iterdir())
    with pytest.raises(StoreError, match="already holds"):
        scan(seeds.dir, store=store)
    assert sorted(p.name for p in (store / "shards").iterdir()) == before


def test_a_very_long_article_is_read_in_segments_with_the_same_features(monkeypatch, aeb_articles):
    """Segment by segment (bounded memory) gives the features of the article read in one piece."""
    import dedup.phase1.features as features
    from dedup.ingest.model import Article, split_paragraphs

    text = "\n\n".join(a.text for a in aeb_articles[:40])
    articles = [
        Article(id=name, path=name, text=t, paragraphs=split_paragraphs(t))
        for name, t in (("long", text), ("short", aeb_articles[41].text), ("tiny", "two words"))
    ]
    whole = features.extract(articles, 5, 128, 1)
    monkeypatch.setattr(features, "LONG_CHARS", 8)
    monkeypatch.setattr(features, "_SEGMENT_CHARS", 5000)
    segmented = features.extract(articles, 5, 128, 1)
    for key in ("postings", "posting_docs", "signatures"):
        assert np.array_equal(getattr(whole, key), getattr(segmented, key)), key
    for column in ("content_hash", "n_shingles", "has_text"):
        assert list(whole.docs[column]) == list(segmented.docs[column]), column


def test_a_vocabulary_kept_across_calls_gives_the_same_features(aeb_articles):
    """``extract`` with a ``TokenCache`` shared by earlier calls (as ``dedup serve`` keeps one across queries)
    gives each batch the features of a fresh tokeniser, tokens and all."""
    import dedup.phase1.features as features
    from dedup.ingest.model import Article, split_paragraphs
    from dedup.phase1.normalise import TokenCache

    read = [
        Article(id=str(i), path=str(i), text=a.text, paragraphs=split_paragraphs(a.text))
        for i, a in enumerate(aeb_articles[:50])
    ]
    cache = TokenCache()
    for batch in (read[:30], read[20:50], read[45:46]):  # overlapping: words seen before
        fresh = features.extract(batch, 5, 128, 1, keep_tokens=True)
        kept = features.extract(batch, 5, 128, 1, keep_tokens=True, cache=cache)
        for key in ("postings", "posting_docs", "signatures", "token_offsets", "token_hashes", "token_spans"):
            assert np.array_equal(getattr(fresh, key), getattr(kept, key)), key
        for column in ("content_hash", "n_shingles", "has_text"):
            assert list(fresh.docs[column]) == list(kept.docs[column]), column
    assert cache.vocab.count > 0


def test_big_lists_found_in_worker_chunks_give_the_same_result(recurring_folder, monkeypatch):
    """Pair evidence split into many chunks over two worker processes gives the one-process result."""
    import dedup.evidence as evidence

    root, _ = recurring_folder
    reference = _comparable(scan(root, ScanOptions(workers=1)))
    monkeypatch.setattr(evidence, "PROBE_PAIRS", 3)
    other = _comparable(scan(root, ScanOptions(workers=2)))
    for d in (reference, other):  # the parameters differ by construction
        d["meta"].pop("parameters")
    assert other == reference


def test_chance_shingles_make_no_candidate_pair():
    """Two articles sharing a shingle or two by chance are not measured; a copied passage, and a big list
    that could make a relation by itself, are; the big lists' weight still reaches every candidate."""
    from dedup.evidence import Lists, pair_evidence

    # Lists: {0, 1} a 2-shingle chance phrase; {2, 3} a 40-shingle passage; {0, 1, 2, 3} recurring (big).
    lists = Lists(
        hashes=np.arange(3, dtype=np.uint64),
        offsets=np.array([0, 2, 4, 8]),
        members=np.array([0, 1, 2, 3, 0, 1, 2, 3]),
        weight=np.array([2, 40, 5]),
    )
    sizes = np.full(4, 100)
    ev = pair_evidence(lists, sizes, max_enumerate=2, min_shared=8)
    assert ev.pairs.tolist() == [[2, 3]]
    shared = np.bincount(ev.entry_pair, weights=lists.weight[ev.entry_list]).tolist()
    assert shared == [45]
    every = pair_evidence(lists, sizes, max_enumerate=2, min_shared=0)
    assert every.pairs.tolist() == [[0, 1], [2, 3]]
