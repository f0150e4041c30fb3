"""The LSH candidate mode (``scan --candidates lsh``): what it finds, what it does not, and the banding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import ScanOptions, scan
from dedup.candidates import _Postings, containment_pairs, lsh_pairs
from dedup.cluster import components
from dedup.options import CandidateParams, optimal_banding

LSH = CandidateParams(mode="lsh")


def _pairs(result) -> dict[frozenset[str], dict]:
    return {frozenset((p["a"], p["b"])): p for p in result.to_dict()["pairs"]}


def _edit(text: str, every: int) -> str:
    words = text.split(" ")
    return " ".join(w + "x" if i % every == every // 2 else w for i, w in enumerate(words))


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory, make_kit) -> Path:
    """Near-duplicates (a few words changed, a sentence added), a short story wrapped in a page three
    times its length, and unrelated articles."""
    kit = make_kit(40)
    root = tmp_path_factory.mktemp("lsh")
    files: dict[str, str] = {}
    for i in range(4):
        body = kit.body(300, 500)
        files[f"near/{i}-a.txt"] = body
        files[f"near/{i}-b.txt"] = _edit(body, 60)
        files[f"near/{i}-c.txt"] = body + "\n\n" + kit.article().take(15, 25)
    story = kit.story()
    files["wrap/original.txt"] = story
    files["wrap/page.txt"] = kit.wrap(story)
    for i in range(10):
        files[f"other/{i}.txt"] = kit.body()
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_lsh_finds_the_seed_pair(seeds):
    """000 wraps 001 with Jaccard 0.51: at 25 bands of 5 rows such a pair collides with probability 0.58,
    and these two signatures do; the pair is measured exactly, as the exact mode measures it."""
    exact = scan(seeds.dir, ScanOptions(workers=1)).to_dict()
    lsh = scan(seeds.dir, ScanOptions(workers=1, candidates=LSH)).to_dict()
    assert lsh["pairs"] == exact["pairs"]
    assert lsh["clusters"] == exact["clusters"]
    assert [d["paragraphs"] for d in lsh["documents"]] == [d["paragraphs"] for d in exact["documents"]]
    assert lsh["meta"]["candidates"] == 1


def test_lsh_finds_near_duplicates_measured_exactly(small_corpus):
    exact = _pairs(scan(small_corpus, ScanOptions(workers=1)))
    lsh = _pairs(scan(small_corpus, ScanOptions(workers=1, candidates=LSH)))
    near = {frozenset((f"near/{i}-{x}.txt", f"near/{i}-{y}.txt")) for i in range(4) for x, y in ("ab", "ac", "bc")}
    assert near <= set(lsh)
    assert set(lsh) <= set(exact)
    for pair, p in lsh.items():  # the same counts: the same measures and relation
        assert p == exact[pair]


def test_a_short_story_in_a_long_page_is_found_by_the_containment_sample(small_corpus):
    """A 150-250-word story inside a page three times its length has a Jaccard similarity near 0.33: far
    below the 0.5 the bands are chosen for, so the bands alone do not propose the pair; the containment
    sample does, and the pair is measured as the exact mode measures it."""
    pair = frozenset(("wrap/original.txt", "wrap/page.txt"))
    exact = _pairs(scan(small_corpus, ScanOptions(workers=1)))
    assert exact[pair]["relation"] == "contains"
    assert exact[pair]["jaccard"] < 0.4
    bands_only = CandidateParams(mode="lsh", containment=0)
    assert pair not in _pairs(scan(small_corpus, ScanOptions(workers=1, candidates=bands_only)))
    assert _pairs(scan(small_corpus, ScanOptions(workers=1, candidates=LSH)))[pair] == exact[pair]


@given(st.data())
@settings(max_examples=40, deadline=None)
def test_containment_pairs_are_those_sharing_enough_of_the_sample(data):
    """Every pair whose shared sampled fingerprints reach ``share`` of the smaller set's expected sample,
    counted by brute force over random sets of shared and own fingerprints, and no other pair."""
    n = data.draw(st.integers(2, 12))
    sample = data.draw(st.sampled_from([1, 2, 4, 8]))
    share = data.draw(st.sampled_from([0.0, 0.2, 0.5]))
    pool = np.array(data.draw(st.lists(st.integers(1, (1 << 40) - 1), min_size=1, max_size=60, unique=True)))
    pool = (pool.astype(np.uint64) << np.uint64(24)) | np.uint64(1 << 16)  # spread over the 256 buckets
    sets = [sorted(set(data.draw(st.lists(st.sampled_from(pool.tolist()), max_size=30)))) for _ in range(n)]
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    fps = np.array([f for s in sets for f in s], dtype=np.uint64)
    docs = np.array([d for d, s in enumerate(sets) for _ in s], dtype=np.int64)
    order = np.lexsort((docs, fps))
    shard = _Postings(fps[order], docs[order])
    got = containment_pairs([shard], np.zeros(1, dtype=np.int64), sizes, sample, share, max_bucket=n)
    sampled = [{f for f in s if (f >> 56) < 256 // sample} for s in sets]
    want = {
        (a, b)
        for a in range(n)
        for b in range(a + 1, n)
        if len(sampled[a] & sampled[b]) >= max(1.0, share * min(sizes[a], sizes[b]) / sample)
    }
    assert {tuple(p) for p in got.tolist()} == want


@pytest.mark.slow
def test_lsh_result_does_not_depend_on_batches_or_workers(small_corpus):
    def comparable(options: ScanOptions) -> dict:
        out = scan(small_corpus, options).to_dict()
        del out["meta"]["timings"], out["meta"]["parameters"]
        return out

    reference = comparable(ScanOptions(workers=1, batch_docs=100_000, candidates=LSH))
    assert comparable(ScanOptions(workers=2, batch_docs=3, candidates=LSH)) == reference
    assert comparable(ScanOptions(workers=1, batch_docs=7, batch_chars=4000, candidates=LSH)) == reference


def test_lsh_pairs_do_not_depend_on_signature_blocks(small_corpus, monkeypatch, tmp_path):
    import dedup.candidates as candidates

    reference = scan(small_corpus, ScanOptions(workers=1, candidates=LSH)).to_dict()
    monkeypatch.setattr(candidates, "SIGNATURE_ROWS", 3)
    monkeypatch.setattr(candidates, "ENTRY_ROWS", 50)
    monkeypatch.setattr(candidates, "POSTING_ROWS", 100)
    other = scan(small_corpus, ScanOptions(workers=1, candidates=LSH)).to_dict()
    del reference["meta"]["timings"], other["meta"]["timings"]
    assert other == reference


# ---------------------------------------------------------------------------------------------- banding


class _Signatures:
    """A shard as ``lsh_pairs`` reads it: its signatures."""

    def __init__(self, sig: np.ndarray) -> None:
        self.sig, self.n = sig, len(sig)

    def rows(self, key: str, lo: int, hi: int) -> np.ndarray:
        assert key == "signatures"
        return self.sig[lo:hi]


def _banded(sig: np.ndarray, bands: int, rows: int, max_bucket: int, tmp: Path, split: int) -> np.ndarray:
    shards = [_Signatures(sig[:split]), _Signatures(sig[split:])]
    bases = np.array([0, split], dtype=np.int64)
    return lsh_pairs(shards, bases, np.ones(len(sig), dtype=bool), bands, rows, max_bucket, tmp)  # type: ignore[arg-type]


@given(st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_identical_signatures_always_collide(tmp_path, data):
    """Articles with one signature share every band: they always end up linked (directly, or through the
    star and chain of a bucket larger than ``max_bucket``), whatever the banding and shard split."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    n = data.draw(st.integers(2, 60), label="articles")
    distinct = data.draw(st.integers(1, n), label="distinct signatures")
    bands = data.draw(st.integers(1, 8), label="bands")
    rows = data.draw(st.integers(1, 16 // bands), label="rows")
    max_bucket = data.draw(st.integers(2, 8), label="max_bucket")
    base = rng.integers(0, 2**32 - 1, size=(distinct, 16), dtype=np.uint32)
    which = rng.integers(0, distinct, size=n)
    pairs = _banded(base[which], bands, rows, max_bucket, tmp_path, data.draw(st.integers(0, n), label="split"))
    assert np.all(pairs[:, 0] < pairs[:, 1])
    groups = components(n, pairs)
    for d in range(distinct):
        members = np.flatnonzero(which == d)
        assert len(set(groups[members].tolist())) <= 1
    # Never every pair of a big bucket: a bucket of m articles gives every pair when m <= max_bucket (under
    # (max_bucket - 1) / 2 pairs an article), else at most a star and a chain (2 an article), per band.
    assert len(pairs) <= bands * n * max(2, (max_bucket - 1) / 2)


def test_a_huge_bucket_is_a_star_and_a_chain(tmp_path):
    sig = np.zeros((500, 16), dtype=np.uint32)
    pairs = _banded(sig, 4, 4, 32, tmp_path, 200)
    assert len(pairs) <= 2 * 500
    assert len(set(components(500, pairs).tolist())) == 1


THRESHOLDS = st.sampled_from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])


@given(threshold=THRESHOLDS, num_perm=st.sampled_from([16, 64, 128]))
@settings(max_examples=12, deadline=None)
def test_banding_is_datasketchs(threshold, num_perm):
    from datasketch.lsh import _optimal_param

    assert optimal_banding(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_banding_options():
    assert CandidateParams().banding(128) == (25, 5)
    assert CandidateParams(bands=16).banding(128) == (16, 8)
    assert CandidateParams(rows=4).banding(128) == (32, 4)
    assert CandidateParams(bands=20, rows=6).banding(128) == (20, 6)
    with pytest.raises(ValueError):
        CandidateParams(bands=20, rows=7).banding(128)
    with pytest.raises(ValueError):
        ScanOptions(num_perm=64, candidates=CandidateParams(bands=20, rows=4))
    with pytest.raises(ValueError):
        CandidateParams(mode="approximate")


def test_stock_text_a_candidate_pair_shares_is_boilerplate_as_in_exact_mode(tmp_path, make_kit):
    """Stock paragraphs recurring in thirty unrelated articles, carried also by a near-duplicate pair: the
    pair shares them, so LSH's lists for them hold every article carrying them, they are boilerplate as in
    the exact mode, and the pair is measured and labelled alike."""
    import random

    kit = make_kit(0)
    stock = [kit.article().paragraphs[0] for _ in range(6)]
    rng = random.Random(3)
    files = {}
    for i in range(30):
        body = kit.article().take(150, 250).split("\n\n")
        for para in rng.sample(stock, 3):
            body.insert(rng.randrange(len(body) + 1), para)
        files[f"plain/{i:02d}.txt"] = "\n\n".join(body)
    body = kit.body(300, 400)
    files["copy/a.txt"] = "\n\n".join([stock[0], body, stock[1]])
    files["copy/b.txt"] = "\n\n".join([stock[0], _edit(body, 80), stock[1]])
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    exact = scan(tmp_path, ScanOptions(workers=1)).to_dict()
    lsh = scan(tmp_path, ScanOptions(workers=1, candidates=LSH)).to_dict()
    assert [{p["a"], p["b"]} for p in exact["pairs"]] == [{"copy/a.txt", "copy/b.txt"}]
    assert lsh["pairs"] == exact["pairs"]

    def labels(result: dict) -> dict[str, list[str]]:
        return {d["id"]: [p["label"] for p in d["paragraphs"]] for d in result["documents"]}

    ours, theirs = labels(lsh), labels(exact)
    for doc in ("copy/a.txt", "copy/b.txt"):
        assert ours[doc] == theirs[doc]
        assert ours[doc][0] == ours[doc][-1] == "boilerplate"
    # The unrelated articles share three stock paragraphs, a third of their text: the containment sample makes
    # them candidates (then measured: no relation), so their stock paragraphs are boilerplate as in exact mode.
    bands_only = scan(tmp_path, ScanOptions(workers=1, candidates=CandidateParams(mode="lsh", containment=0)))
    count = {
        name: sum(v.count("boilerplate") for v in found.values())
        for name, found in (("lsh", ours), ("exact", theirs), ("bands", labels(bands_only.to_dict())))
    }
    assert count["lsh"] == count["exact"]
    # With the bands alone, stock paragraphs no candidate pair shares are not seen.
    assert 4 <= count["bands"] < count["exact"]
