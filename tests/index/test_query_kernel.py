"""The compiled shard look-up (``kernels/_query.pyx``) gives exactly the numpy code's arrays, and the served
query's answers are the same whichever runs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.featurestore import bloom
from dedup.featurestore.store import directory
from dedup.index import shards
from dedup.kernels import native

pytestmark = pytest.mark.skipif(native("query") is None, reason="the query kernel is not built here")


def _same(a: tuple, b: tuple) -> None:
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            assert x is None and y is None
        else:
            assert x.dtype == y.dtype and np.array_equal(x, y)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 3000),
    crowd=st.integers(0, 400),
    bits=st.integers(8, 11),
    wide=st.sampled_from([4, 32, 1024]),
    slots32=st.booleans(),
)
def test_the_kernel_is_the_numpy_look_up(seed, n, crowd, bits, wide, slots32):
    """Random sorted postings (repeats: one fingerprint on many pages, a crowded slot of ``crowd`` postings
    near another), their directory and Bloom filter (built from part of them, so some present fingerprints
    are filtered out as a stale filter would), queried with present and absent fingerprints."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**64, size=max(1, n // 3), dtype=np.uint64)
    postings = rng.choice(values, size=n) if n else np.zeros(0, dtype=np.uint64)
    if crowd and len(values):
        hot = values[0]
        postings = np.concatenate([postings, np.full(crowd, hot), np.full(crowd // 2, hot ^ np.uint64(1))])
    postings = np.sort(postings.astype(np.uint64))
    slots = directory(postings, bits).astype(np.int32 if slots32 else np.int64)
    packed = bloom.from_postings(postings[: len(postings) * 9 // 10])
    present = rng.choice(postings, size=min(len(postings), 200)) if len(postings) else postings
    fps = np.unique(np.concatenate([present, rng.integers(0, 2**64, size=50, dtype=np.uint64)]))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(shards, "_WIDE", wide)
        compiled = shards.shard_lookup(postings, slots, bits, packed, fps)
        _same(compiled, shards._shard_lookup_numpy(postings, slots, bits, packed, fps))


def test_the_answers_are_the_same_with_either(tmp_path, monkeypatch):
    """Queries of a real index, every shard looked up as a big one (``_DIRECT`` 0: the directory, the filter,
    the kernel), answered alike by the compiled look-up and by ``DEDUP_KERNELS=numpy``."""
    from benchmarks.corpora.corpus import generate
    from dedup import ScanOptions
    from dedup.index import open_index, service

    options = ScanOptions(workers=1)
    generate(tmp_path / "c", 120, seed=5)
    (tmp_path / "c" / "truth.json").unlink()
    files = sorted((tmp_path / "c").glob("*.txt"))
    monkeypatch.setattr(shards, "_DIRECT", 0)
    index = open_index(str(tmp_path / "ix"), service.store_params(options), create=True)
    service.add(index, [tmp_path / "c"], options)
    answers = {}
    for backend in ("auto", "numpy"):
        monkeypatch.setenv("DEDUP_KERNELS", backend)
        answer = service.query(open_index(str(tmp_path / "ix")), files[:6], options).to_dict()
        answer["meta"].pop("timings")
        answers[backend] = answer
    assert answers["auto"]["pairs"] and answers["auto"] == answers["numpy"]


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    runs=st.integers(1, 5),
    size=st.integers(0, 300),
    n_pos=st.integers(1, 400),
    shuffled=st.booleans(),
    narrow=st.booleans(),
)
def test_by_position_is_the_stable_sort(seed, runs, size, n_pos, shuffled, narrow):
    """(position, ref) pairs as the look-ups give them (a few runs, each by position then ref, repeats
    included), or shuffled (a position's refs out of order: the counting pass gives way to the sort): the
    same arrays, dtypes kept, as the stable sort of the numpy code."""
    rng = np.random.default_rng(seed)
    n_refs = 1000
    parts_pos, parts_refs = [], []
    for _ in range(runs):
        pos = np.sort(rng.integers(0, n_pos, size=size))
        refs = rng.integers(0, n_refs, size=size)
        order = np.lexsort((refs, pos))
        parts_pos.append(pos[order])
        parts_refs.append(refs[order])
    pos, refs = np.concatenate(parts_pos), np.concatenate(parts_refs).astype(np.int64)
    if shuffled:
        perm = rng.permutation(len(pos))
        pos, refs = pos[perm], refs[perm]
    pos = pos.astype(np.int32 if narrow else np.int64)
    got, want = shards.by_position(pos, refs, n_refs), shards._by_position_numpy(pos, refs, n_refs)
    _same(got, want)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_fps=st.integers(1, 300),
    n_members=st.integers(1, 40),
    pairs=st.integers(0, 2000),
    apart_share=st.sampled_from([0.0, 0.1, 0.5]),
    ordered=st.booleans(),
)
def test_posting_lists_are_the_numpy_ones(seed, n_fps, n_members, pairs, apart_share, ordered):
    """``service._lists`` compiled and in numpy: the same lists (hashes, offsets, members, weights, known) and
    the same list per fingerprint, from distinct (fingerprint, member) pairs in the look-ups' order (by
    fingerprint, the query's own appended) or any order; some fingerprints held apart."""
    from dedup.index import service

    rng = np.random.default_rng(seed)
    # few members, so that fingerprints share their members' set (one list for several of them)
    keys = np.unique(rng.integers(0, n_fps * n_members, size=pairs)) if pairs else np.zeros(0, np.int64)
    fp, member = (keys // n_members).astype(np.int64), (keys % n_members).astype(np.int64)
    if not ordered:
        perm = rng.permutation(len(fp))
        fp, member = fp[perm], member[perm]
    apart = rng.random(n_fps) < apart_share
    got, want = service._lists(fp, member, n_fps, apart), service._lists_numpy(fp, member, n_fps, apart)
    for name in ("hashes", "offsets", "members", "weight", "known"):
        _same((getattr(got[0], name),), (getattr(want[0], name),))
    _same((got[1],), (want[1],))
