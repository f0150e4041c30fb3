"""Shingles and MinHash signatures: determinism, batch independence, accuracy, datasketch interop."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from datasketch import MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import build_corpus, scan
from dedup.phase1.normalise import tokenise
from dedup.phase1.shingle import DEFAULT_K, shingle
from dedup.phase1.sign import DEFAULT_NUM_PERM, DEFAULT_SEED, estimate_jaccard, signatures, to_lean_minhash

# ---------------------------------------------------------------- shingles


def _shingle_texts(text: str, k: int = DEFAULT_K) -> list[str]:
    tok = tokenise([text])
    sh = shingle(tok, k)
    return [text[tok.starts[f] : tok.ends[la]] for f, la in zip(sh.first.tolist(), sh.last.tolist())]


def test_shingles_are_overlapping_word_k_grams():
    text = "One two, three four five six — seven"
    assert _shingle_texts(text, 5) == [
        "One two, three four five",
        "two, three four five six",
        "three four five six — seven",
    ]


@pytest.mark.parametrize(("n_words", "expected"), [(0, 0), (1, 1), (4, 1), (5, 1), (6, 2), (40, 36)])
def test_shingle_count(n_words, expected):
    text = " ".join(f"w{i}" for i in range(n_words))
    sh = shingle(tokenise([text]), 5)
    assert int(sh.offsets[-1]) == expected


def test_short_texts_still_have_a_fingerprint_that_depends_on_every_word():
    h = {t: shingle(tokenise([t])).hashes.tolist() for t in ["a b", "a b b", "b a", "a b c"]}
    assert all(len(v) == 1 for v in h.values())
    assert len({v[0] for v in h.values()}) == 4


def test_shingle_hashes_ignore_typography_and_layout():
    a = "“Don’t be mistaken: this is not a free country,” Durov insisted."
    b = '"Don\'t be\u00a0mistaken:\nthis is NOT a free country," DUROV insisted.'
    assert shingle(tokenise([a])).hashes.tolist() == shingle(tokenise([b])).hashes.tolist()


def _shingles_by_definition(docs: list[np.ndarray], k: int) -> list[tuple[int, int, int]]:
    """(hash, first, last) of every document's shingles, one document and one window at a time: each run of k
    tokens (or a short document's all), hashed by ``combine`` from 0, left out when all its words are banal."""
    from dedup.hashing import combine, mix64
    from dedup.phase1.banal import banal_hashes

    banal = set(banal_hashes().tolist())
    out, base = [], 0
    for h in docs:
        n = len(h)
        for first in range(max(n - k + 1, 1) if n else 0):
            last = min(first + k, n) - 1
            if all(int(x) in banal for x in h[first : last + 1]):
                continue
            acc = np.zeros(1, dtype=np.uint64)
            for j in range(k):
                acc = combine(acc, h[min(first + j, last) : min(first + j, last) + 1])
            value = mix64(acc ^ np.uint64(last - first + 1))[0]
            out.append((int(value), base + first, base + last))
        base += n
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 5), max_size=12), max_size=7),
    st.sampled_from([1, 2, 3, 5]),
)
def test_shingles_of_a_batch_are_each_documents_windows(docs, k):
    """The batch's shingles (windows of the whole token array, masked) are each document's own: no window
    across two documents, a short document's one shingle, banal runs left out, in document order."""
    from dedup.phase1.banal import banal_hashes
    from dedup.phase1.normalise import Tokens

    words = np.concatenate([banal_hashes()[:3], np.array([11, 12, 13], dtype=np.uint64) << np.uint64(40)])
    hashes = [words[np.asarray(d, dtype=np.int64)] for d in docs]
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in docs], out=offsets[1:])
    flat = np.concatenate([np.zeros(0, dtype=np.uint64), *hashes])
    none = np.zeros(len(flat), dtype=np.int64)
    sh = shingle(Tokens(offsets=offsets, starts=none, ends=none, hashes=flat), k)
    got = list(zip(sh.hashes.tolist(), sh.first.tolist(), sh.last.tolist()))
    assert got == _shingles_by_definition(hashes, k)
    for i in range(len(docs)):  # each document's rows hold its own tokens
        assert ((sh.first[sh.doc(i)] >= offsets[i]) & (sh.last[sh.doc(i)] < offsets[i + 1])).all()


def test_k_must_be_positive():
    with pytest.raises(ValueError):
        shingle(tokenise(["some words"]), 0)


# ---------------------------------------------------------------- signatures of documents


def _doc_signatures(texts: list[str], num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED) -> np.ndarray:
    sh = shingle(tokenise(texts))
    return signatures(sh.hashes, sh.offsets, num_perm, seed)


def test_signature_shape_and_type(seeds):
    result = scan(seeds.dir)
    assert result.signatures.shape == (5, DEFAULT_NUM_PERM)
    assert result.signatures.dtype == np.uint32


def test_signatures_are_identical_across_runs(seeds):
    first = scan(seeds.dir).signatures.tobytes()
    second = scan(seeds.dir).signatures.tobytes()
    assert first == second


@pytest.mark.parametrize("hash_seed", ["0", "4242", "random"])
def test_signatures_are_identical_in_a_fresh_process(seeds, hash_seed):
    code = "import sys; from dedup import scan; sys.stdout.buffer.write(scan(sys.argv[1]).signatures.tobytes())"
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(seeds.dir)], capture_output=True, env=env, check=True, timeout=300
    )
    assert proc.stdout == scan(seeds.dir).signatures.tobytes()


def test_signature_of_a_document_does_not_depend_on_the_batch(seeds, kit):
    texts = [seeds.text(i) for i in seeds.ids] + [kit.body() for _ in range(4)]
    together = _doc_signatures(texts)
    for i, text in enumerate(texts):
        assert together[i].tobytes() == _doc_signatures([text])[0].tobytes()
    # Nor on its position in the batch or on what comes before it.
    reversed_sig = _doc_signatures(texts[::-1])[::-1]
    assert reversed_sig.tobytes() == together.tobytes()


@given(st.data())
@settings(max_examples=30, deadline=None)
def test_scan_signature_does_not_depend_on_the_other_documents(aeb_articles, data):
    pool = list(range(len(aeb_articles)))
    target = data.draw(st.sampled_from(pool), label="target")
    others = data.draw(st.lists(st.sampled_from(pool), max_size=6, unique=True), label="others")
    others = [o for o in others if o != target]
    alone = scan(build_corpus(["target.txt"], [aeb_articles[target].text]))
    ids = ["target.txt", *(f"other{j}.txt" for j in range(len(others)))]
    texts = [aeb_articles[target].text, *(aeb_articles[o].text for o in others)]
    order = data.draw(st.permutations(range(len(ids))), label="order")
    together = scan(build_corpus([ids[i] for i in order], [texts[i] for i in order]))
    assert (
        together.signatures[together.index_of("target.txt")].tobytes()
        == alone.signatures[alone.index_of("target.txt")].tobytes()
    )


def test_empty_document_signature_matches_only_another_empty_one(kit):
    sig = _doc_signatures(["", kit.story(), "   "])
    assert estimate_jaccard(sig[0], sig[2]) == 1.0
    assert estimate_jaccard(sig[0], sig[1]) == 0.0


def test_copies_have_similar_signatures_and_unrelated_articles_do_not(seeds):
    result = scan(seeds.dir)
    sig = {doc_id: result.signatures[result.index_of(doc_id)] for doc_id in seeds.ids}
    assert estimate_jaccard(sig[seeds.wrapper], sig[seeds.original]) >= 0.3
    for other in seeds.others:
        assert estimate_jaccard(sig[seeds.original], sig[other]) <= 0.05
        assert estimate_jaccard(sig[seeds.wrapper], sig[other]) <= 0.05


# ---------------------------------------------------------------- accuracy of the Jaccard estimate

# Hoeffding: with m positions, each agreeing independently with probability J,
# P(|estimate - J| >= t) <= 2 exp(-2 m t^2).  Solve for a failure probability of 1e-6.
FAILURE_PROBABILITY = 1e-6


def hoeffding_bound(num_perm: int, p: float = FAILURE_PROBABILITY) -> float:
    return math.sqrt(math.log(2 / p) / (2 * num_perm))


def _set_pair(base: int, shared: int, only_a: int, only_b: int) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of 64-bit integers (consecutive values: a structured input) with a known overlap."""
    s = np.arange(shared, dtype=np.uint64) + np.uint64(base)
    a = np.arange(only_a, dtype=np.uint64) + np.uint64(base + 1_000_000)
    b = np.arange(only_b, dtype=np.uint64) + np.uint64(base + 2_000_000)
    return np.concatenate([s, a]), np.concatenate([s, b])


def _estimate(set_a: np.ndarray, set_b: np.ndarray, num_perm: int, seed: int = DEFAULT_SEED) -> float:
    offsets = np.array([0, len(set_a), len(set_a) + len(set_b)])
    sig = signatures(np.concatenate([set_a, set_b]), offsets, num_perm, seed)
    return estimate_jaccard(sig[0], sig[1])


@given(
    base=st.integers(min_value=0, max_value=2**63),
    shared=st.integers(min_value=0, max_value=3000),
    only_a=st.integers(min_value=0, max_value=3000),
    only_b=st.integers(min_value=0, max_value=3000),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
@settings(max_examples=200, deadline=None)
def test_estimate_tracks_exact_jaccard_within_hoeffding_bound(base, shared, only_a, only_b, seed):
    # Hoeffding needs (nearly) independent positions. With one-permutation hashing that holds once the union
    # is large enough that two elements rarely share a bin; below ~32 elements a single collision moves
    # the estimate by 1/|union|, so tiny sets are covered by the unbiasedness test instead.
    union = shared + only_a + only_b
    if union < 32:
        only_a += 32 - union
        union = 32
    num_perm = 256
    set_a, set_b = _set_pair(base, shared, only_a, only_b)
    exact = shared / union
    assert abs(_estimate(set_a, set_b, num_perm, seed) - exact) <= hoeffding_bound(num_perm)


def test_hoeffding_bound_is_about_one_sixth_for_256_positions():
    assert 0.16 < hoeffding_bound(256) < 0.17


@given(rng_seed=st.integers(min_value=0, max_value=2**32 - 1), num_perm=st.sampled_from([64, 128, 256]))
@settings(max_examples=10, deadline=None)
@pytest.mark.slow
def test_estimate_is_unbiased(rng_seed, num_perm):
    """Mean error over 2000 random pairs of all sizes (1 to 4000 elements) stays near zero."""
    rng = np.random.default_rng(rng_seed)
    hashes, offsets, exact = [], [0], []
    for _ in range(2000):
        union = int(np.exp(rng.uniform(0, np.log(4000)))) + 1
        shared = int(rng.integers(0, union + 1))
        only_a = int(rng.integers(0, union - shared + 1))
        set_a, set_b = _set_pair(int(rng.integers(0, 2**62)), shared, only_a, union - shared - only_a)
        hashes += [set_a, set_b]
        offsets += [offsets[-1] + len(set_a), offsets[-1] + len(set_a) + len(set_b)]
        exact.append(shared / union)
    sig = signatures(np.concatenate(hashes), np.array(offsets), num_perm)
    est = np.array([estimate_jaccard(sig[i], sig[i + 1]) for i in range(0, len(sig), 2)])
    errors = est - np.array(exact)
    assert abs(errors.mean()) < 0.01
    # And the spread matches a binomial with num_perm trials (sd <= 0.5 / sqrt(num_perm)), with slack.
    assert errors.std() < 1.5 * 0.5 / math.sqrt(num_perm)


def test_estimate_of_real_shingle_sets_tracks_exact_jaccard(seeds, kit):
    """Same check on real documents: exact Jaccard of their shingle sets vs. the signature estimate."""
    story = kit.body()
    texts = [story, kit.wrap(story, factor=1), seeds.text(seeds.wrapper), seeds.text(seeds.original)]
    num_perm = 256
    sh = shingle(tokenise(texts))
    sig = signatures(sh.hashes, sh.offsets, num_perm)
    sets = [set(sh.hashes[sh.doc(i)].tolist()) for i in range(len(texts))]
    for i, j in [(0, 1), (2, 3), (0, 2)]:
        exact = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
        assert abs(estimate_jaccard(sig[i], sig[j]) - exact) <= hoeffding_bound(num_perm)


# ---------------------------------------------------------------- datasketch interop


def test_lean_minhash_in_datasketch_lsh(seeds):
    result = scan(seeds.dir)
    lsh = MinHashLSH(threshold=0.3, num_perm=DEFAULT_NUM_PERM)
    for doc_id in seeds.ids:
        lsh.insert(doc_id, to_lean_minhash(result.signatures[result.index_of(doc_id)], DEFAULT_SEED))
    query = to_lean_minhash(result.signatures[result.index_of(seeds.original)], DEFAULT_SEED)
    assert sorted(lsh.query(query)) == sorted([seeds.wrapper, seeds.original])
    unrelated = to_lean_minhash(result.signatures[result.index_of(seeds.others[0])], DEFAULT_SEED)
    assert lsh.query(unrelated) == [seeds.others[0]]


def test_lean_minhash_jaccard_equals_estimate(seeds):
    result = scan(seeds.dir)
    a = result.signatures[result.index_of(seeds.wrapper)]
    b = result.signatures[result.index_of(seeds.original)]
    assert to_lean_minhash(a).jaccard(to_lean_minhash(b)) == pytest.approx(estimate_jaccard(a, b))


def test_scan_result_minhash(seeds):
    result = scan(seeds.dir)
    m = result.minhash(seeds.original)
    assert len(m) == DEFAULT_NUM_PERM
    assert m.jaccard(result.minhash(seeds.original)) == 1.0
    assert m.jaccard(result.minhash(seeds.others[1])) < 0.05
