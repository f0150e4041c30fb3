"""Merged-away shards wait in ``trash/`` for readers of an older manifest, then are deleted: by each write (at most
every ``PURGE_SECONDS``), or, for ``dedup serve``'s writer (``purge_later``), by ``purge_trash`` while no write
waits, so that no add waits for the deletion of hours of merged shards."""

from __future__ import annotations

import time

import numpy as np

from dedup.index import open_index, shards
from dedup.index import service as archive
from dedup.ingest.text import text_article
from dedup.options import ScanOptions

OPTIONS = ScanOptions(workers=1)
WORDS = ["council", "voted", "budget", "schools", "roads", "parks", "after", "long", "debate", "new", "city"]


def _add(index, i: int) -> None:
    rng = np.random.default_rng(i)
    text = "\n\n".join(" ".join(rng.choice(WORDS, 30).tolist()) for _ in range(3))
    archive.add_articles(index, [text_article(f"a{i}", f"a{i}", text)], OPTIONS)


def _trash(root, age_seconds: float) -> str:
    name = f"old-shard.{int((time.time() - age_seconds) * 1e9):x}"
    (root / "trash" / name).mkdir(parents=True)
    (root / "trash" / name / "postings.npy").write_bytes(b"x")
    return name


def test_a_writer_that_purges_later_leaves_old_trash_to_purge_trash(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "PURGE_SECONDS", 0.0)  # every call looks (not at most every 30 s)
    loc = tmp_path / "index"
    writer = open_index(str(loc), archive.store_params(OPTIONS), create=True)
    _add(writer, 0)
    old, recent = _trash(loc, shards.TRASH_SECONDS + 60), _trash(loc, 5)
    writer.purge_later = True
    _add(writer, 1)  # a write: the trash left as it is
    assert sorted(p.name for p in (loc / "trash").iterdir()) == sorted([old, recent])
    writer.purge_trash()  # the old one deleted, the one readers may still need kept
    assert [p.name for p in (loc / "trash").iterdir()] == [recent]
    other = open_index(str(loc))  # a plain handle (``dedup index add``) purges as it writes
    again = _trash(loc, shards.TRASH_SECONDS + 60)
    _add(other, 2)
    assert [p.name for p in (loc / "trash").iterdir()] == [recent] and again != recent
