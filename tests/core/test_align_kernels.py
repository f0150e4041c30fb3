"""The compiled loops of alignment, position features and labels (``dedup/kernels/_align.pyx``) give the numpy
code's bits: each kernel against the numpy code it stands in for on any input, and a whole scan with and
without them, byte for byte (the passages' offsets, the labels, everything but the timings)."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import align as align_mod
from dedup import direction, kernels
from dedup.label import FingerprintSet
from tests.conftest import AEB_BODIES
from tests.support.backends import scan_with

KERNEL = kernels.native("align")
pytestmark = pytest.mark.skipif(KERNEL is None, reason="dedup/kernels/_align.pyx is not built here")


def _numpy_runs(offsets: np.ndarray, hashes: np.ndarray, x: np.ndarray, y: np.ndarray, repeats: int) -> np.ndarray:
    """``_batch_runs(*_batch_seeds(...))``, the numpy code, on a batch that holds only shingle hashes."""
    bt = align_mod.Batch.__new__(align_mod.Batch)  # _batch_seeds reads only the shingles and their index
    bt.sh = type("Sh", (), {"offsets": offsets, "hashes": hashes})()
    bt._doc = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
    p, i, j = align_mod._batch_seeds(bt, x, y, repeats)
    return align_mod._batch_runs(p, i, j) if len(p) else np.zeros((0, 5), dtype=np.int64)  # as _align_chunk


@st.composite
def shingled(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Documents' shingle hashes from a small pool (repeats within a document and runs across them, the
    pool's extreme values among them), and pairs of them, a document with itself too."""
    pool = draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=12, unique=True))
    pool += [0, 2**64 - 1]
    docs = draw(st.lists(st.lists(st.sampled_from(pool), max_size=40), min_size=1, max_size=6))
    if draw(st.booleans()) and len(docs[0]) > 4:  # a stretch of one copied into another: a long run
        lo = draw(st.integers(0, len(docs[0]) - 4))
        docs.append(docs[-1][:3] + docs[0][lo:] + docs[-1][3:])
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in docs], out=offsets[1:])
    hashes = np.array([h for d in docs for h in d], dtype=np.uint64)
    n_pairs = draw(st.integers(0, 8))
    x = np.array(draw(st.lists(st.integers(0, len(docs) - 1), min_size=n_pairs, max_size=n_pairs)), dtype=np.int64)
    y = np.array(draw(st.lists(st.integers(0, len(docs) - 1), min_size=n_pairs, max_size=n_pairs)), dtype=np.int64)
    return offsets, hashes, x, y, draw(st.integers(1, 9))


@settings(max_examples=150, deadline=None)
@given(shingled())
def test_pair_runs_are_the_numpy_seeds_runs(case) -> None:
    """Property: every pair's runs, rows and order, are those of the numpy seeds and runs."""
    offsets, hashes, x, y, repeats = case
    want = _numpy_runs(offsets, hashes, x, y, repeats)
    got = KERNEL.pair_runs(hashes, offsets, x, y, repeats)
    assert got.dtype == np.int64 and got.shape == want.reshape(-1, 5).shape
    assert np.array_equal(got, want.reshape(-1, 5))


def test_pair_runs_of_long_documents() -> None:
    """Documents of thousands of shingles (the table grows, many slots collide) against the numpy code, with
    no limit on repeats, a huge one and the default."""
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**64, 3000, dtype=np.uint64)
    docs = [rng.choice(words, n) for n in (5000, 1, 0, 2000)]
    docs.append(np.concatenate([docs[0][100:900], docs[3][:50], docs[0][:700]]))
    offsets = np.r_[0, np.cumsum([len(d) for d in docs])].astype(np.int64)
    hashes = np.concatenate(docs).astype(np.uint64)
    x = np.array([0, 4, 4, 1, 2, 3, 0], dtype=np.int64)
    y = np.array([4, 0, 4, 0, 3, 4, 0], dtype=np.int64)
    for repeats in (8, 0, 2**40):  # a limit of any size (``align.max_repeats`` is the user's)
        want = _numpy_runs(offsets, hashes, x, y, repeats)
        assert len(want) > 100 or repeats == 0
        assert np.array_equal(KERNEL.pair_runs(hashes, offsets, x, y, repeats), want)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 64),
    st.lists(st.integers(0, 2**64 - 1), max_size=60),
    st.lists(st.integers(0, 2**64 - 1), max_size=60),
    st.data(),
)
def test_contains_is_the_numpy_look_up(width: int, values: list[int], others: list[int], data) -> None:
    """Property: ``FingerprintSet.contains`` compiled and in numpy agree with ``np.isin`` (values below
    2**width; some of the looked-up values in the set, some not; crowded slots)."""
    top = (1 << width) - 1
    values = sorted({v & top for v in values} | {v & top >> 3 for v in values[:5]})
    look = [v & top for v in others] + data.draw(
        st.lists(st.sampled_from(values), max_size=20) if values else st.just([])
    )
    s = FingerprintSet(np.array(values, dtype=np.uint64), width)
    x = np.array(look, dtype=np.uint64)
    want = np.isin(x, np.array(values, dtype=np.uint64))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEDUP_KERNELS", "numpy")
        plain = s.contains(x)
    assert plain.tolist() == want.tolist()
    assert s.contains(x).tolist() == want.tolist()


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_positions_compiled_are_numpys(data) -> None:
    """Property: ``direction.positions`` compiled gives the numpy code's features, side for side (tokens of
    documents, some empty, spans overlapping, jittered, past the text's end, none)."""
    lengths = data.draw(st.lists(st.integers(0, 40), min_size=1, max_size=5))
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    n = int(offsets[-1])
    widths = np.array(data.draw(st.lists(st.integers(1, 7), min_size=n, max_size=n)), dtype=np.int64)
    starts = np.zeros(n, dtype=np.int64)
    for d in range(len(lengths)):
        w = widths[offsets[d] : offsets[d + 1]]
        starts[offsets[d] : offsets[d + 1]] = np.r_[0, np.cumsum(w + 1)[:-1]]
    ends = starts + widths
    hashes = np.array(data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), dtype=np.uint64)
    docs = np.array(data.draw(st.lists(st.integers(0, len(lengths) - 1), max_size=6)), dtype=np.int64)
    top = int(ends.max(initial=0)) + 3
    spans = [
        (u, lo, lo + size)
        for u in range(len(docs))
        for lo, size in data.draw(st.lists(st.tuples(st.integers(0, top), st.integers(0, top)), max_size=4))
    ]
    rows = np.array(spans, dtype=np.int64).reshape(-1, 3)
    rows = rows[data.draw(st.permutations(range(len(rows))))] if len(rows) else rows
    got = direction.positions(starts, ends, hashes, offsets, docs, rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEDUP_KERNELS", "numpy")
        want = direction.positions(starts, ends, hashes, offsets, docs, rows)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)


@st.composite
def labelled(draw: st.DrawFn) -> tuple:
    """``label_batch``'s input: documents, their paragraphs, boilerplate spans (in order of start, as a scan
    gives them, or shuffled), shared spans (some by a pair related by everything it shares), empty spans too."""
    lengths = draw(st.lists(st.integers(0, 60), min_size=1, max_size=4))
    paras, offsets = [], [0]
    for n in lengths:
        cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=5))) | {0, n})
        paras += [(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:])]
        offsets.append(len(paras))

    def spans(extra: int) -> list:
        return [
            (d, lo, lo + w, *draw(st.lists(st.integers(0, 1), min_size=extra, max_size=extra)))
            for d, n in enumerate(lengths)
            for lo, w in draw(st.lists(st.tuples(st.integers(0, n), st.integers(-2, 25)), max_size=6))
        ]

    boiler, shared = sorted(spans(0)), spans(1)
    if draw(st.booleans()):
        boiler = draw(st.permutations(boiler))
    copy = draw(st.lists(st.booleans(), min_size=len(lengths), max_size=len(lengths)))
    return (
        np.array(lengths, dtype=np.int64),
        np.array(offsets, dtype=np.int64),
        np.array(paras, dtype=np.int64).reshape(-1, 2),
        np.array(copy, dtype=bool),
        np.array(boiler, dtype=np.int64).reshape(-1, 3),
        np.array(shared, dtype=np.int64).reshape(-1, 4),
    )


@settings(max_examples=100, deadline=None)
@given(labelled())
def test_labels_compiled_are_numpys(case) -> None:
    """Property: every paragraph's label is the same with the compiled interval sweeps (``union_sorted``,
    ``minus``) as with the numpy code, and the unions themselves are the same intervals."""
    from dedup.label import _union, label_batch

    got = label_batch(*case)
    rows = np.concatenate([case[4][:, 1:], case[5][:, 1:3]])
    union = _union(rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEDUP_KERNELS", "numpy")
        want = label_batch(*case)
        plain = _union(rows)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert all(np.array_equal(u, v) and u.dtype == v.dtype for u, v in zip(union, plain))


def _corpus(folder) -> None:
    """Real article bodies and copies of some: a paragraph printed twice (overlapping runs), one dropped,
    wrapped in a site's lines, letters changed (bridges and words grown into), a boilerplate line in many."""
    data = json.loads(AEB_BODIES.read_text(encoding="utf-8"))
    rng = random.Random(1)
    footer = "Subscribe to our newsletter for the latest stories from around the world every morning."
    for n, key in enumerate(sorted(data)[:60]):
        body = data[key]["articleBody"]
        (folder / f"{n:03d}.txt").write_text(f"{body}\n\n{footer}", encoding="utf-8")
        paras = [p for p in re.split(r"\n\s*\n|\n", body) if p.strip()]
        if n % 3 == 0 and len(paras) > 2:
            paras.insert(rng.randrange(len(paras)), rng.choice(paras))
            paras.pop(rng.randrange(len(paras)))
            noisy = "".join(c if not c.isalpha() or rng.random() > 0.02 else "x" for c in "\n\n".join(paras))
            (folder / f"{n:03d}-copy.txt").write_text(f"Daily Wire, 12 May 2024\n\n{noisy}\n\n{footer}", "utf-8")


@pytest.mark.slow
def test_a_scan_gives_the_same_passages_and_labels_with_and_without_the_kernel(cli, tmp_path, monkeypatch):
    _corpus(tmp_path)
    compiled, plain = scan_with(cli, tmp_path, "auto", monkeypatch), scan_with(cli, tmp_path, "numpy", monkeypatch)
    assert compiled["pairs"], "the corpus should hold copies"
    assert json.dumps(compiled, sort_keys=True) == json.dumps(plain, sort_keys=True)
