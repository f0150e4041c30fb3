"""The per-article table by article partition (``dedup.distributed.table``) holds the local table's values: the
numbers phase 2 computes with, the site codes, and each batch's rows read from the shards by the task, through an
executor that pickles every task's input and output as a cluster does."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.distributed.table import StoredFrame, StoredRows, stored_table
from dedup.featurestore import FeatureStore, StoreError
from dedup.options import ScanOptions
from dedup.phase2 import DocTable, Rows
from dedup.pipeline import scan
from tests.support.executors import Pickling


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> FeatureStore:
    """A store of the accuracy corpus's 120 articles (sites known) and three plain texts (none), in shards of 30."""
    from benchmarks.corpora.corpus import generate

    root = tmp_path_factory.mktemp("table")
    generate(root / "corpus", 120, seed=5, layout="meta")
    (root / "corpus" / "truth.json").unlink()
    for k in range(3):  # plain text: no site known
        (root / "corpus" / f"plain-{k}.txt").write_text(f"A note of its own, number {k}, with no page around it.\n")
    scan(root / "corpus", ScanOptions(batch_docs=30), store=root / "store")
    return FeatureStore(root / "store")


def test_the_stored_table_holds_the_local_tables_numbers_and_rows(store):
    local = DocTable(store.docs())
    run = Pickling()
    table = stored_table(store, run, shards_a_task=2)
    assert len(store.shard_names) > 2 and run.calls.count("_columns") == (len(store.shard_names) + 1) // 2
    assert len(table) == len(local)
    for key in ("sizes", "content", "has_text", "cut", "chars"):
        assert np.array_equal(getattr(table, key), getattr(local, key)), key
    site = local.site_codes()
    assert np.array_equal(table.site_codes(), site) and (site == 0).any() and len(np.unique(site)) > 2
    docs = np.array([0, 3, 31, 32, 90, len(local) - 1])
    sent = pickle.loads(pickle.dumps(Rows.of(table, docs)))
    assert isinstance(sent, StoredRows) and len(sent.paths) == 4  # the articles and their shards, no rows
    want = Rows.of(local, docs)
    for key in ("ids", "dates", "body_start", "chars"):
        assert getattr(sent, key) == getattr(want, key), key


def test_a_damaged_shard_table_is_one_line_naming_it(store, tmp_path):
    """A task that cannot read a shard's table says which, in one line."""
    rows = Rows.of(stored_table(store, Pickling()), np.array([0]))
    broken = Path(tmp_path / "shard")
    broken.mkdir()
    (broken / "docs.parquet").write_bytes(b"not a table")
    rows = StoredRows(rows.docs, [str(broken)], rows.firsts)
    with pytest.raises(StoreError, match=r"shard: cannot read docs\.parquet") as e:
        _ = rows.ids
    assert "\n" not in str(e.value)


_PATHS = st.one_of(st.none(), st.sampled_from(["a", "b", "c/d", "é", "x" * 20]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_PATHS, max_size=6), max_size=5))
def test_a_stored_frame_counts_distinct_paths_as_the_whole_column_does(tmp_path_factory, shards):
    """The files the meta counts (distinct paths, a null one among them) are the whole column's ``n_unique``, shard
    by shard, whether a path is in one shard or several (a file of records split across shards)."""
    root = tmp_path_factory.mktemp("distinct")
    paths, bases = [], [0]
    for k, values in enumerate(shards):
        (root / str(k)).mkdir()
        pl.DataFrame({"path": values}, schema={"path": pl.Utf8}).write_parquet(root / str(k) / "docs.parquet")
        paths.append(str(root / str(k)))
        bases.append(bases[-1] + len(values))
    frame = StoredFrame(paths, np.asarray(bases), np.zeros(bases[-1], dtype=np.int64))
    want = pl.Series([v for values in shards for v in values], dtype=pl.Utf8).n_unique()
    assert frame.distinct("path") == want


def _corrupting(monkeypatch, name: str) -> None:
    """Shard ``name`` damaged as soon as it is written (its paragraph offsets one short): what a bad disk or another
    writer could leave, seen by the first reader."""
    import dedup.pipeline as pipeline

    publish = pipeline.publish_shard

    def publish_and_damage(root, shard, staged, docs):
        publish(root, shard, staged, docs)
        if shard == name:
            path = Path(root) / "shards" / shard / "para_offsets.npy"
            np.save(path, np.load(path)[:-1], allow_pickle=False)

    monkeypatch.setattr(pipeline, "publish_shard", publish_and_damage)


def test_a_shard_damaged_as_written_is_reported_by_its_task_as_the_local_scan_reports_it(tmp_path, monkeypatch):
    """A cluster's read task checks each shard it wrote (``validate.verdict``) and the driver raises the bad one's
    line, the one the local scan's own check gives, without checking the shards itself."""
    from dedup.distributed.partitioned import Partitioned
    from tests.conftest import ROOT

    class Cluster(Pickling, Partitioned):
        partitions = 2

    _corrupting(monkeypatch, "000000-0000")
    errors = []
    for name, executor in (("local", None), ("cluster", Cluster())):
        with pytest.raises(StoreError) as e:
            scan(ROOT / "seeds", ScanOptions(batch_docs=2, workers=1), store=tmp_path / name, executor=executor)
        errors.append(str(e.value).replace(str(tmp_path / name), "STORE"))
    assert errors[0] == errors[1] == "STORE: shard 000000-0000: para_offsets.npy has shape (2,), not (3,)"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """The accuracy corpus's 240 articles scanned here and through a cluster's executor (pickled tasks)."""
    from benchmarks.corpora.corpus import generate
    from dedup.distributed.partitioned import Partitioned

    class Cluster(Pickling, Partitioned):
        partitions = 4

    root = tmp_path_factory.mktemp("parts") / "corpus"
    generate(root, 240, seed=3, layout="meta")
    (root / "truth.json").unlink()
    options = ScanOptions(batch_docs=30)
    return scan(root, options), scan(root, options, executor=Cluster())


def test_a_clusters_labels_passages_and_fingerprints_are_read_from_the_store_as_the_local_ones(results):
    """The labels a cluster's label tasks wrote, read by ranges of paragraphs, the passages kept by align batch and
    the boilerplate fingerprints saved in the store are the local scan's arrays; the parts' folder goes with them."""
    import gc

    from dedup.distributed.table import MappedArray, PassageParts, StoredLabels

    local, cluster = results
    assert isinstance(cluster.labels, StoredLabels) and isinstance(cluster.passages, PassageParts)
    assert isinstance(cluster.boilerplate, MappedArray) and len(cluster.boilerplate) > 0
    assert np.array_equal(np.asarray(cluster.boilerplate), local.boilerplate)
    labels = local.labels
    assert np.array_equal(np.asarray(cluster.labels), labels) and len(np.unique(labels)) > 2
    rng = np.random.default_rng(7)
    for lo, hi in [sorted(rng.integers(0, len(labels) + 1, 2)) for _ in range(100)]:
        assert np.array_equal(cluster.labels[lo:hi], labels[lo:hi]), (lo, hi)
    assert len(cluster.passages) == len(local.passages) and sum(map(len, local.passages)) > 100
    for p in range(len(local.passages)):
        assert np.array_equal(cluster.passages[p], local.passages[p])
    rows = rng.permutation(len(local.passages))[:50]
    assert np.array_equal(cluster.passages.take(rows), np.concatenate([local.passages[r] for r in rows]))
    folder = Path(cluster.labels.folder)
    assert folder.parent == cluster.store.root and folder.is_dir()
    from dedup.distributed.table import ResultParts

    gone = folder.with_name(".result-gone")
    gone.mkdir()
    parts = ResultParts(str(gone))
    labels, kept = parts.labels(np.zeros(1, np.int64), np.zeros(0, bool)), parts.keep("x", np.arange(3))
    del parts, labels
    gc.collect()
    assert gone.is_dir() and np.array_equal(np.asarray(kept), np.arange(3))  # what reads from it keeps it
    del kept
    gc.collect()
    assert not gone.exists()


_IDS = st.lists(st.lists(st.text(max_size=12), max_size=40), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(_IDS, st.data())
def test_ids_read_by_range_from_the_tasks_files_are_the_whole_columns(tmp_path_factory, files, data):
    """``StoredIds.take`` (the ids the writer names articles by, read a few pages at a time from the files the
    table's tasks wrote) gives the whole column's values for any articles asked, in any order, repeats and all;
    the mapped lengths and paragraph offsets are the whole vectors, and ``ranges`` over them the whole array's."""
    from dedup.distributed.table import StoredIds, ids_path, mapped_vector, write_ids
    from dedup.result import ranges

    folder = str(tmp_path_factory.mktemp("ids"))
    for k, ids in enumerate(files):  # a file's ids in two columns, as a task of two shards writes them
        half = len(ids) // 2
        write_ids(ids_path(folder, k), [pl.Series(ids[:half], dtype=pl.Utf8), pl.Series(ids[half:], dtype=pl.Utf8)])
    whole = [i for ids in files for i in ids]
    stored = StoredIds([ids_path(folder, k) for k in range(len(files))], [len(ids) for ids in files])
    assert len(stored) == len(whole)
    if whole:
        docs = data.draw(st.lists(st.integers(0, len(whole) - 1), max_size=60))
        lo = data.draw(st.integers(0, len(whole) - 1))
        hi = data.draw(st.integers(lo, len(whole)))
        assert stored.take(np.array(docs)) == [whole[d] for d in docs]
        assert stored.take(np.arange(lo, hi)) == whole[lo:hi]
    counts = [np.array([len(i) % 5 for i in ids], dtype=np.int64) for ids in files]
    offsets = mapped_vector(f"{folder}/offsets.i8", counts, np.int64, cumulative=True)
    every = np.concatenate(counts)
    assert np.array_equal(offsets, np.r_[0, np.cumsum(every)])
    assert np.array_equal(mapped_vector(f"{folder}/counts.i8", counts, np.int64), every)
    rows = data.draw(st.integers(0, 8))
    weight = offsets + np.arange(len(offsets))  # ``ranges`` as it was, over the whole array at once
    want, at = [], 0
    while at < len(every):
        end = min(max(int(np.searchsorted(weight, weight[at] + rows, side="right")) - 1, at + 1), len(every))
        want.append((at, end))
        at = end
    assert list(ranges(offsets, rows)) == want


def test_ids_are_read_a_few_pages_at_a_time_and_a_short_file_is_one_line(tmp_path, monkeypatch):
    """Ids far apart are read as a few runs of bytes, never the whole file (``read_runs``); a file cut short
    since is one ``StoreError`` line naming it."""
    import os

    from dedup.distributed import table
    from dedup.distributed.table import StoredIds, ids_path, write_ids

    ids = [f"article-{k:07d}" for k in range(50_000)]
    write_ids(ids_path(str(tmp_path), 0), [pl.Series(ids)])
    stored = StoredIds([ids_path(str(tmp_path), 0)], [len(ids)])
    read, runs = [], table.read_runs

    def counting(fd, begin, end, name, gap=4096):
        out = runs(fd, begin, end, name, gap)
        read.append(len(out[0]))
        return out

    monkeypatch.setattr(table, "read_runs", counting)
    docs = np.array([49_999, 7, 25_000, 8, 7])
    assert stored.take(docs) == [ids[d] for d in docs]
    monkeypatch.setattr(table, "read_runs", runs)
    assert sum(read) < 5 * 2 * 4096 < os.path.getsize(ids_path(str(tmp_path), 0)) // 10
    with open(ids_path(str(tmp_path), 0), "r+b") as f:
        f.truncate(os.path.getsize(ids_path(str(tmp_path), 0)) - 100)
    with pytest.raises(StoreError, match=r"ids-000000\.bin: shorter than") as e:
        stored.take(np.array([49_999]))
    assert "\n" not in str(e.value)
