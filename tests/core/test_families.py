"""Big posting lists stored by family (``evidence.ListGrouper``) say exactly what the plain lists say.

A recurring sentence's shingles make several big lists whose member sets are nearly the same; grouped, each
is its family's base plus its exceptions. Every reader of the lists (sizes, weights per document, holders,
distinct values per list, the pair evidence) must give the same answer as on the plain lists, whatever the
sets: equal, subsets and supersets of each other, with exceptions, or unrelated.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dedup.evidence as evidence
from dedup.evidence import (
    FamilyEvidence,
    ListGrouper,
    big_entries,
    combine_partitions,
    list_entries,
    list_hash,
    pair_codes,
    pair_entries,
    pair_evidence,
    sorted_differences,
)
from dedup.verify import _pair_sums, _syndicated_of

N_DOCS = 60


@st.composite
def partitions(draw: st.DrawFn) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Partitions of posting lists (hashes unique within one, sorted) drawn around a few base sets: each list
    is a base with some members dropped and some added, or a set of its own, and some recur in two partitions."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_bases = draw(st.integers(1, 4))
    bases = [np.sort(rng.choice(N_DOCS, size=draw(st.integers(2, 40)), replace=False)) for _ in range(n_bases)]
    sets: list[np.ndarray] = []
    for _ in range(draw(st.integers(1, 24))):
        kind = draw(st.sampled_from(["copy", "lacks", "adds", "both", "subset", "own"]))
        base = bases[draw(st.integers(0, len(bases) - 1))]
        members = set(base.tolist())
        if kind in ("lacks", "both"):
            members -= set(rng.choice(base, size=min(len(base) - 2, draw(st.integers(1, 4))), replace=False).tolist())
        if kind in ("adds", "both"):
            members |= set(rng.choice(N_DOCS, size=draw(st.integers(1, 4))).tolist())
        if kind == "subset":
            members = set(base[: max(2, len(base) // 2)].tolist())
        if kind == "own":
            members = set(rng.choice(N_DOCS, size=draw(st.integers(2, 30)), replace=False).tolist())
        sets.append(np.array(sorted(members), dtype=np.int32))
    n_parts = draw(st.integers(1, 3))
    where = [[] for _ in range(n_parts)]
    for s in sets:
        for p in set(rng.integers(0, n_parts, size=draw(st.integers(1, 2))).tolist()):  # some in two partitions
            where[p].append(s)
    out = []
    for chosen in where:
        by_hash = {}
        for s in chosen:
            h = int(list_hash(s, np.zeros(1, np.int64), np.array([len(s)]))[0])
            by_hash.setdefault(h, s)
        hashes = np.array(sorted(by_hash), dtype=np.uint64)
        runs = [by_hash[int(h)] for h in hashes]
        offsets = np.zeros(len(runs) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in runs], out=offsets[1:])
        members = np.concatenate(runs) if runs else np.zeros(0, np.int32)
        weights = rng.integers(1, 30, size=len(runs)).astype(np.int64)
        out.append((hashes, weights, offsets, members))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=partitions(), above=st.sampled_from([1, 3, 8]), seed=st.integers(0, 1000))
def test_grouped_lists_read_as_the_plain_lists(parts, above, seed):
    plain = combine_partitions(parts)
    grouper = ListGrouper(above)
    for part in parts:
        grouper.add(part)
    grouped = grouper.lists()
    assert grouped.families is not None
    assert np.array_equal(grouped.hashes, plain.hashes) and np.array_equal(grouped.weight, plain.weight)
    assert np.array_equal(grouped.sizes(), plain.sizes())
    back = grouped.plain()
    assert np.array_equal(back.offsets, plain.offsets) and np.array_equal(back.members, plain.members)
    rng = np.random.default_rng(seed)
    chosen = rng.random(len(plain)) < 0.5
    assert np.array_equal(grouped.weight_per_doc(N_DOCS, chosen), plain.weight_per_doc(N_DOCS, chosen))
    assert np.array_equal(grouped.weight_per_doc(N_DOCS), plain.weight_per_doc(N_DOCS))
    assert np.array_equal(grouped.holders(chosen, N_DOCS), plain.holders(chosen, N_DOCS))
    labels = rng.integers(0, N_DOCS, size=N_DOCS)
    sizes = rng.integers(1, 120, size=N_DOCS)
    need = 0.5 * sizes
    rows = evidence.FAMILY_ROWS
    try:
        for evidence.FAMILY_ROWS in (rows, 7):  # the family bases a chunk of families at a time, or all at once
            for values, with_labels in ((rng.integers(0, 4, size=N_DOCS), None), (labels, labels)):
                got, want = grouped.distinct_per_list(values, with_labels), plain.distinct_per_list(values, with_labels)
                assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
            got = grouped.members_within(chosen, need, plain.weight)
            assert np.array_equal(got, plain.members_within(chosen, need, plain.weight))
    finally:
        evidence.FAMILY_ROWS = rows
    extra = np.array([[0, 1]]) if seed % 2 else None
    for max_enumerate in (2, above, 8):
        # The reference: every small list's pairs at once, then each big list both sides hold (a cluster's steps).
        e = list_entries(plain, sizes, 40, 0.5, max_enumerate)
        others = [e.links] + ([pair_codes(extra[:, 0], extra[:, 1])] if extra is not None else [])
        want_ev = big_entries(pair_entries(e.codes, e.which, e.weight, others, 3), e.big_member, e.big_list, N_DOCS)
        kw = dict(extra=extra, partial_min_shared=40, link_share=0.5, max_enumerate=max_enumerate, min_shared=3)
        for lists, budget in ((plain, 1), (plain, 1 << 21), (grouped, 5), (grouped, 1 << 21)):
            got_ev = pair_evidence(lists, sizes, budget=budget, **kw)
            assert np.array_equal(got_ev.pairs, want_ev.pairs)
            whole = got_ev.entries() if isinstance(got_ev, FamilyEvidence) else got_ev
            assert np.array_equal(_entries(whole), _entries(want_ev))
            # What verification asks of the evidence: sums of chosen lists' values per pair, and per article the
            # distinct lists it shares with the pairs' other sides.
            for values, pick in ((plain.weight, chosen), (None, ~chosen), (plain.weight, None)):
                assert np.array_equal(_pair_sums(got_ev, values, pick), _pair_sums(want_ev, values, pick))
            some = rng.random(len(want_ev.pairs)) < 0.6
            got = _syndicated_of(plain, got_ev, some, chosen, N_DOCS)
            assert np.array_equal(got, _syndicated_of(plain, want_ev, some, chosen, N_DOCS))


def _entries(ev) -> np.ndarray:
    """Each (pair, list) entry as a row, sorted (the order of the entries is no measure's business)."""
    rows = np.stack([ev.pairs[ev.entry_pair, 0], ev.pairs[ev.entry_pair, 1], ev.entry_list], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def test_near_equal_big_lists_store_their_members_once():
    """One sentence's holders in eight lists, each without a different article: one base and eight lacks."""
    holders = np.arange(100, dtype=np.int32)
    runs = [np.delete(holders, k) for k in range(8)]
    hashes = np.array([int(list_hash(r, np.zeros(1, np.int64), np.array([len(r)]))[0]) for r in runs], np.uint64)
    order = np.argsort(hashes)
    offsets = np.zeros(9, dtype=np.int64)
    np.cumsum([len(runs[i]) for i in order], out=offsets[1:])
    part = (hashes[order], np.ones(8, np.int64), offsets, np.concatenate([runs[i] for i in order]))
    grouper = ListGrouper(32)
    grouper.add(part)
    lists = grouper.lists()
    assert len(lists.families) == 1  # the first list founds the family; the others lack one of it, add another
    assert lists.stored_members() == 99 + 7 * 2
    assert np.array_equal(lists.plain().members, combine_partitions([part]).members)


def test_family_evidence_is_the_same_from_worker_processes(monkeypatch):
    """The pairs' families and corrections found by two forked workers, chunk by chunk, are those found here."""
    rng = np.random.default_rng(7)
    holders = np.sort(rng.choice(N_DOCS, size=45, replace=False)).astype(np.int32)
    runs = [np.delete(holders, k) for k in range(6)] + [np.union1d(holders[:40], [k]).astype(np.int32) for k in (1, 2)]
    runs += [np.array([a, a + 1], dtype=np.int32) for a in range(0, 40, 3)]  # small lists: pairs of their own
    hashes = np.array([int(list_hash(r, np.zeros(1, np.int64), np.array([len(r)]))[0]) for r in runs], np.uint64)
    order = np.argsort(hashes)
    offsets = np.zeros(len(runs) + 1, dtype=np.int64)
    np.cumsum([len(runs[i]) for i in order], out=offsets[1:])
    part = (hashes[order], rng.integers(1, 9, size=len(runs)), offsets, np.concatenate([runs[i] for i in order]))
    grouper = ListGrouper(8)
    grouper.add(part)
    lists, sizes = grouper.lists(), np.full(N_DOCS, 100)
    kw = dict(partial_min_shared=5, link_share=0.5, max_enumerate=8, min_shared=1)
    here = pair_evidence(lists, sizes, workers=1, **kw)
    monkeypatch.setattr(evidence, "PROBE_PAIRS", 16)
    there = pair_evidence(lists, sizes, workers=2, **kw)
    assert isinstance(there, FamilyEvidence) and len(there.minus_pair) and len(there.family) > 16
    assert np.array_equal(there.pairs, here.pairs)
    assert np.array_equal(_entries(there.entries()), _entries(here.entries()))


@settings(max_examples=60, deadline=None)
@given(a=st.sets(st.integers(0, 2**63 - 1)), b=st.sets(st.integers(0, 2**63 - 1)), shared=st.sets(st.integers(0, 99)))
def test_sorted_differences_are_the_set_differences(a, b, shared):
    # What ``ListGrouper._exceptions`` takes from a list and its family's base: the members of each the other lacks.
    a_, b_ = (np.array(sorted(x | shared), dtype=np.uint64) for x in (a, b))
    only_a, only_b = sorted_differences(a_, b_)
    assert only_a.tolist() == sorted((a | shared) - (b | shared))
    assert only_b.tolist() == sorted((b | shared) - (a | shared))


@pytest.mark.slow
def test_a_scan_is_the_same_on_one_thread_and_worker_or_two(tmp_path, make_kit, write_files, monkeypatch):
    """The posting lists' partitions on two threads (each one's shared fingerprints and distinct lists, compiled
    where built) and the steps on two workers give the scan one thread and one worker give: a recurring story's
    holders make big lists (stored by family), the postings in several partitions and the families in several
    chunks at this size."""
    import dataclasses

    import dedup.workers as workers
    from dedup.options import ScanOptions, VerifyParams
    from dedup.pipeline import scan
    from tests.support.executors import scan_json

    kit = make_kit(0)
    story, other = kit.story(), kit.story()
    half = " ".join(story.split()[: len(story.split()) // 2])
    files = {f"w{i}.txt": kit.wrap(story) for i in range(8)} | {f"h{i}.txt": kit.wrap(half) for i in range(2)}
    files |= {"o1.txt": other, "o2.txt": kit.wrap(other), "s.txt": story}
    write_files(tmp_path / "in", files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(evidence, "FAMILY_ROWS", 8)
    ranges = evidence.bucket_ranges
    parts = []

    def small(shards, budget):  # partitions of 500 postings: several at this size
        parts.append(ranges(shards, 500))
        return parts[-1]

    monkeypatch.setattr(evidence, "bucket_ranges", small)
    verify = dataclasses.replace(VerifyParams(), max_enumerate=3)
    lists = []
    real = evidence.Lists.distinct_per_list

    def seen(self, *args, **kwargs):  # the lists verification counts: families, in more than one chunk
        lists.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(evidence.Lists, "distinct_per_list", seen)
    two = scan_json(scan("in", ScanOptions(workers=2, verify=verify, batch_docs=4)))
    assert lists and all(len(list(evidence._family_chunks(x.families))) > 1 for x in lists)
    assert parts and all(len(p) > 1 for p in parts)
    one_thread = workers.Threads.__init__

    def single(self, threads=None, ahead=2):
        one_thread(self, 1, ahead)

    monkeypatch.setattr(workers.Threads, "__init__", single)
    one = scan_json(scan("in", ScanOptions(workers=1, verify=verify, batch_docs=4)))
    assert _without_workers(one) == _without_workers(two)


def _without_workers(text: str) -> dict:
    """A scan's JSON without the options' ``workers`` (which the meta records)."""
    import json

    data = json.loads(text)
    assert data["meta"]["parameters"].pop("workers") in (1, 2)
    return data


@settings(max_examples=60, deadline=None)
@given(
    fps=st.lists(st.integers(0, 40), max_size=300),
    docs=st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=300),
    bits=st.sampled_from([6, 31, 33]),
)
def test_the_compiled_shared_runs_are_numpys(fps, docs, bits):
    # A partition's sorted posting keys (fingerprint << bits | document; a document twice under one fingerprint
    # among them) read by the compiled pass (kernels/_match.pyx) and by the numpy code: the same arrays.
    import dedup.kernels as kernels

    compiled = kernels.native("match")
    if compiled is None:
        pytest.skip("kernels._match is not built here (no compiler at install, or DEDUP_KERNELS=numpy)")
    mask = (1 << bits) - 1
    keys = np.array(sorted((f << bits) | (d & mask) for f, d in zip(fps, docs * 300)), dtype=np.uint64)
    got = evidence._shared_runs(keys, bits)
    try:
        evidence.native = lambda name: None  # the numpy code
        want = evidence._shared_runs(keys, bits)
    finally:
        evidence.native = kernels.native
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and np.array_equal(g, w)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(0, 30), max_size=400), spread=st.sampled_from([1, 0x9E3779B97F4A7C15, 1 << 40]))
def test_the_compiled_distinct_lists_are_numpys(values, spread):
    # A partition's list hashes, many repeated (one a shared fingerprint; equal low bits when ``spread`` is a
    # power of two: every value probes the table's first slot): the distinct ones ascending, their counts and
    # first indices, compiled (a hash table) and numpy (a stable argsort), the same arrays.
    import dedup.kernels as kernels

    if kernels.native("match") is None:
        pytest.skip("kernels._match is not built here (no compiler at install, or DEDUP_KERNELS=numpy)")
    h = np.array(values, dtype=np.uint64) * np.uint64(spread)
    got = evidence._distinct_lists(h)
    try:
        evidence.native = lambda name: None  # the numpy code
        want = evidence._distinct_lists(h)
    finally:
        evidence.native = kernels.native
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and np.array_equal(g, w)


@settings(max_examples=40, deadline=None)
@given(
    runs=st.lists(st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=30), min_size=1, max_size=20),
    wide=st.booleans(),
)
def test_the_compiled_family_keys_are_numpys(runs, wide):
    # The big lists of a partition, read in place by the compiled pass and gathered then hashed by numpy: the
    # same family keys (int32 and int64 members).
    import dedup.kernels as kernels

    if kernels.native("match") is None:
        pytest.skip("kernels._match is not built here (no compiler at install, or DEDUP_KERNELS=numpy)")
    members = np.array([m for r in runs for m in [7, *r]], dtype=np.int64 if wide else np.int32)  # a gap between
    sizes = np.array([len(r) for r in runs], dtype=np.int64)
    starts = np.cumsum(sizes + 1) - sizes
    got = evidence._big_keys(members, starts, sizes)
    try:
        evidence.native = lambda name: None  # the numpy code
        want = evidence._big_keys(members, starts, sizes)
    finally:
        evidence.native = kernels.native
    assert got.dtype == want.dtype and np.array_equal(got, want)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=partitions(), above=st.sampled_from([1, 3, 8]), seed=st.integers(0, 1000), threads=st.sampled_from([1, 2]))
def test_the_compiled_family_counts_are_numpys(parts, above, seed, threads):
    # Each list's distinct values and its most common value's count, its family's base counted once: the
    # compiled counting pass (kernels/_match.pyx, one thread or two ranges of families on two) and the numpy
    # sorts give the same numbers, for few values (a site code) and many (component labels).
    import dedup.kernels as kernels

    if kernels.native("match") is None:
        pytest.skip("kernels._match is not built here (no compiler at install, or DEDUP_KERNELS=numpy)")
    grouper = ListGrouper(above)
    for part in parts:
        grouper.add(part)
    grouped = grouper.lists()
    rng = np.random.default_rng(seed)
    work = evidence.FAMILY_THREAD_WORK
    for values in (rng.integers(0, 4, size=N_DOCS), rng.integers(0, N_DOCS, size=N_DOCS)):
        try:
            evidence.FAMILY_THREAD_WORK = 0  # two ranges of families even for these few
            got = evidence._family_distinct(grouped.families, values, len(grouped), threads)
            whole = grouped.distinct_per_list(values)
            evidence.native = lambda name: None  # the numpy code
            want = grouped.distinct_per_list(values)
        finally:
            evidence.native, evidence.FAMILY_THREAD_WORK = kernels.native, work
        assert got is not None
        plain_part = evidence.distinct_per_run(grouped.member_list(), values[grouped.members], len(grouped))
        assert np.array_equal(plain_part[0] + got[0], want[0])
        assert np.array_equal(np.maximum(plain_part[1], got[1]), want[1])
        assert np.array_equal(whole[0], want[0]) and np.array_equal(whole[1], want[1])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=partitions(), above=st.sampled_from([1, 3, 8]))
def test_the_compiled_exceptions_are_numpys(parts, above):
    # The big lists grouped into families, each list's adds and lacks against its family's base found by the
    # compiled merge (kernels/_match.pyx) and by numpy's sort of every member: the same families, bit for bit.
    import dedup.kernels as kernels

    if kernels.native("match") is None:
        pytest.skip("kernels._match is not built here (no compiler at install, or DEDUP_KERNELS=numpy)")

    def grouped() -> evidence.Lists:
        grouper = ListGrouper(above)
        for part in parts:
            grouper.add(part)
        return grouper.lists()

    got = grouped()
    try:
        evidence.native = lambda name: None  # the numpy code
        want = grouped()
    finally:
        evidence.native = kernels.native
    for name in ("of", "offsets", "members", "add_offsets", "adds", "lack_offsets", "lacks"):
        g, w = getattr(got.families, name), getattr(want.families, name)
        assert g.dtype == w.dtype and np.array_equal(g, w), name
    assert np.array_equal(got.members, want.members) and np.array_equal(got.offsets, want.offsets)
