"""The kept pairs as a cluster's driver leaves them for the writer (``output.kept.PairFiles``: one Arrow file a part of
consecutive rows, read mapped) give exactly the rows of the frame they were cut from (``FramePairs``), in order,
whatever the parts and the batch sizes; the clusters' member lists as CSR (``Groups``) and the roles as a byte an
article (``Roles``) are the lists they replace, range by range."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.output.kept import ROLES, FramePairs, Groups, PairFiles, Roles

SCHEMA = pl.Schema(
    {
        "a": pl.Int64,
        "b": pl.Int64,
        "relation": pl.Utf8,
        "jaccard": pl.Float64,
        "cut_from": pl.Boolean,
        "copies": pl.Int8,
        "direction_by": pl.Utf8,
        "position_a": pl.List(pl.Float64),
    }
)


@st.composite
def cut_frames(draw):
    """A pairs frame of up to 60 rows (nulls where the result has them), its cut into parts (some empty), a batch
    size and rows to take (any order, repeats)."""
    n = draw(st.integers(0, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frame = pl.DataFrame(
        {
            "a": rng.integers(0, 1000, n),
            "b": rng.integers(0, 1000, n),
            "relation": rng.choice(["exact", "near_duplicate", "contains", "partial"], n),
            "jaccard": [None if x < 0.1 else x for x in rng.random(n)],
            "cut_from": rng.random(n) < 0.3,
            "copies": rng.integers(-1, 2, n).astype(np.int8),
            "direction_by": [None if x < 0.4 else "dates" for x in rng.random(n)],
            "position_a": [rng.random(3).round(3).tolist() for _ in range(n)],
        },
        schema=SCHEMA,
    )
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=8)))
    rows = np.array(draw(st.lists(st.integers(0, max(0, n - 1)), max_size=40 if n else 0)), dtype=np.int64)
    return frame, [0, *cuts, n], draw(st.integers(1, 70)), rows


@settings(max_examples=20, deadline=None)
@given(cut_frames())
def test_pair_files_read_as_the_frame(tmp_path_factory, case):
    frame, bounds, batch, rows = case
    folder = str(tmp_path_factory.mktemp("kept"))
    stored = PairFiles.write(folder, frame, bounds)
    for kept in (FramePairs(frame), stored):
        assert len(kept) == frame.height and kept.schema == frame.schema
        assert kept.whole().equals(frame)
        assert pl.concat([frame.clear(), *kept.batches(batch)]).equals(frame)
        assert all(b.height <= batch for b in kept.batches(batch))
        assert kept.take(rows).equals(frame[rows] if len(rows) else frame.clear())
        assert kept.slice(batch // 2, batch).equals(frame.slice(batch // 2, batch))
        for name in ("a", "relation", "position_a"):
            assert kept.column(name).equals(frame[name])
    # Only the parts with rows are files; the reader is pickled as its folder and bounds.
    import pickle

    again = pickle.loads(pickle.dumps(stored))
    assert again.take(rows[::-1]).equals(frame[rows[::-1]] if len(rows) else frame.clear())


@settings(max_examples=20, deadline=None)
@given(st.lists(st.lists(st.integers(0, 10**6), max_size=6), max_size=30), st.integers(0, 32), st.integers(1, 9))
def test_groups_are_the_lists(tmp_path_factory, lists, lo, width):
    groups = Groups.of(lists)
    assert len(groups) == len(lists) and groups == lists and list(groups) == lists
    assert groups[lo : lo + width] == lists[lo : lo + width]
    flat, sizes = groups.span(min(lo, len(lists)), min(lo + width, len(lists)))
    picked = lists[lo : lo + width]
    assert flat.tolist() == [m for g in picked for m in g] and sizes.tolist() == [len(g) for g in picked]
    if lists:
        assert groups[-1] == lists[-1] and groups[len(lists) // 2] == lists[len(lists) // 2]
    # Saved and mapped (a cluster's driver keeps them in its result folder): the same lists.
    folder = tmp_path_factory.mktemp("groups")
    np.save(folder / "flat.npy", groups.flat)
    mapped = Groups(np.load(folder / "flat.npy", mmap_mode="r"), groups.offsets)
    assert mapped == lists


@settings(max_examples=20, deadline=None)
@given(st.lists(st.sampled_from(ROLES), max_size=40), st.lists(st.integers(0, 39), max_size=10))
def test_roles_are_the_list(roles, rows):
    compact = Roles.of(roles)
    rows = np.array([r for r in rows if r < len(roles)], dtype=np.int64)
    assert compact == roles and compact[1:5] == roles[1:5]
    assert compact.take(rows) == [roles[r] for r in rows.tolist()]
    assert compact.is_copy().tolist() == [r == "copy" for r in roles]


def test_a_result_read_from_kept_parts_writes_what_its_frame_does(tmp_path):
    """A scan's result (50 articles of the accuracy corpus) whose pairs are parts of two rows in
    files, and whose clusters' lists and roles are the compact forms a cluster's driver keeps (mapped from files),
    writes the same JSON and tables in any batch size."""
    from dataclasses import replace

    from benchmarks.corpora.corpus import generate
    from dedup import scan
    from dedup.output.tables import TABLES

    generate(tmp_path / "corpus", 50, seed=3, layout="meta")
    (tmp_path / "corpus" / "truth.json").unlink()
    result = scan(tmp_path / "corpus")
    frame, c = result.pairs, result.clusters
    assert frame.height >= 10 and len(c.members) >= 3  # pairs and clusters to read
    stored = PairFiles.write(str(tmp_path), frame, list(range(0, frame.height, 2)) + [frame.height])
    mapped = {}
    for name in ("members", "versions"):
        groups = Groups.of(getattr(c, name))
        for part, values in (("flat", groups.flat), ("offsets", groups.offsets)):
            np.save(tmp_path / f"{name}-{part}.npy", values)
        flat, offsets = (np.load(tmp_path / f"{name}-{p}.npy", mmap_mode="r") for p in ("flat", "offsets"))
        mapped[name] = Groups(flat, offsets)
    kept = replace(result, pair_rows=stored, clusters=replace(c, **mapped, role=Roles.of(c.role)))
    for rows in (3, 50_000):
        assert "".join(kept.json_chunks(rows)) == "".join(result.json_chunks(rows))
        for table in TABLES:
            assert pl.concat(list(kept.table_batches(table, rows))).equals(
                pl.concat(list(result.table_batches(table, rows)))
            ), (table, rows)
    assert kept.counts() == result.counts() and kept.pairs.equals(frame)
