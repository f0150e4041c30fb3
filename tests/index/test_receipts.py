"""Shard checks shared through receipts (``shards.use_receipts``, ``dedup serve``'s writer and workers): a
process opening a shard another checked takes that check while the shard's files are the ones checked, and
checks the shard itself again as soon as any of them changed."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from dedup.featurestore import validate
from dedup.index import StoreError, open_index, shards
from dedup.index import service as archive
from dedup.ingest.model import Article
from dedup.ingest.text import text_article
from dedup.options import ScanOptions

OPTIONS = ScanOptions(workers=1)
WORDS = ["council", "voted", "budget", "schools", "roads", "parks", "after", "long", "debate", "new", "city"]


def _article(i: int) -> Article:
    rng = np.random.default_rng(i)
    text = "\n\n".join(" ".join(rng.choice(WORDS, 30).tolist()) for _ in range(4))
    return text_article(f"a{i}", f"a{i}", text)


@pytest.fixture
def receipts(tmp_path):
    shards.use_receipts(tmp_path / "checked")
    try:
        yield tmp_path / "checked"
    finally:
        shards.use_receipts(None)


def test_a_reader_takes_the_writer_s_check_until_the_shard_changes(tmp_path, receipts, monkeypatch):
    loc = str(tmp_path / "index")
    writer = open_index(loc, archive.store_params(OPTIONS), create=True)
    writer.merge_after_append = False
    for i in range(3):
        archive.add_articles(writer, [_article(i)], OPTIONS)
    names = open_index(loc).shard_names
    assert len(names) == 3 and sorted(p.name for p in receipts.iterdir()) == sorted(
        f"{n}.{ext}" for n in names for ext in ("json", "npy")
    )
    for name in names:  # what the writer took as checked (the shards it wrote itself) is what a check finds
        body = json.loads((receipts / f"{name}.json").read_text())
        arrays, n, m, chars = validate.check_shard(tmp_path / "index" / "shards" / name, body["num_perm"])
        assert (body["n"], body["m"], body["arrays"]) == (n, m, sorted(arrays))
        assert np.array_equal(np.load(receipts / f"{name}.npy"), chars)
    checked: list[str] = []
    real = validate.check_shard
    monkeypatch.setattr(validate, "check_shard", lambda path, *a: checked.append(path.name) or real(path, *a))
    taken = open_index(loc)
    taken.preload()
    assert checked == []  # every shard's check taken from its receipt
    shards.use_receipts(None)
    again = open_index(loc)
    again.preload()
    assert sorted(checked) == sorted(names)  # without receipts: each checked here
    refs = np.arange(3)
    assert taken.rows(refs).equals(again.rows(refs)) and taken.texts([0, 1, 2]) == again.texts([0, 1, 2])
    query = _article(1)
    answers = [archive.query_articles(ix, [query], OPTIONS).to_dict() for ix in (taken, again)]
    assert answers[0]["pairs"]  # the query finds its indexed twin
    assert {k: v for k, v in answers[0].items() if k != "meta"} == {k: v for k, v in answers[1].items() if k != "meta"}
    # A shard's file changed after its check: the receipt no longer holds, the shard is checked again (and a
    # damaged one is one line naming it, as without receipts).
    shards.use_receipts(receipts)
    offsets = tmp_path / "index" / "shards" / names[1] / "text_offsets.npy"
    data = offsets.read_bytes()
    offsets.write_bytes(data[:-8] + np.int64(10**9).tobytes())
    os.utime(offsets, ns=(1, 1))
    checked.clear()
    with pytest.raises(StoreError, match=names[1]):
        open_index(loc).preload()
    assert names[1] in checked and names[0] not in checked
    # Merging: the merged shard's receipt is written with it, the merged-away shards' dropped.
    offsets.write_bytes(data)  # whole again, but not the files of its receipt: a new handle checks it itself
    monkeypatch.setattr(shards, "merge_plan", lambda sizes: (0, len(sizes)) if len(sizes) > 1 else None)
    writer = open_index(loc)
    with writer.writing():
        writer.merge()
    (merged,) = open_index(loc).shard_names
    assert sorted(p.name for p in receipts.iterdir()) == [f"{merged}.json", f"{merged}.npy"]


def test_a_shard_taken_as_checked_maps_each_array_when_first_read_from_where_the_shard_is_then(tmp_path, receipts):
    """Workers open a writer's new shard from its receipt with no array mapped; each array, read, is the file's
    (as a shard checked in full maps it), also after the writer moved the shard (a merge's trash)."""
    loc = str(tmp_path / "index")
    writer = open_index(loc, archive.store_params(OPTIONS), create=True)
    writer.merge_after_append = False
    for i in range(2):
        archive.add_articles(writer, [_article(i)], OPTIONS)
    reader = open_index(loc)
    reader.preload()
    name = reader.shard_names[0]
    lazy = reader._shard(name)
    assert isinstance(lazy._arrays, shards._OnUse)
    assert "signatures" in lazy._arrays and lazy._arrays.mapped()["signatures"] is None  # listed, not mapped
    full, *_ = validate.check_shard(tmp_path / "index" / "shards" / name, reader.params["num_perm"])
    assert sorted(lazy._arrays) == sorted(full)
    first = sorted(full)[0]
    assert np.array_equal(lazy.array(first), full[first])
    text = reader.texts([0])
    assert text[0].startswith(_article(0).text[:40])
    moved = tmp_path / "elsewhere"
    os.replace(lazy.path, moved)  # as ``_retire`` moves a merged-away shard, its readers following it
    lazy.path = moved
    for key in sorted(full):
        assert np.array_equal(lazy.array(key), np.load(moved / f"{key}.npy")), key
    assert reader.texts([0]) == text  # read from the moved folder
