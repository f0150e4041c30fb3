"""A preloaded handle (``dedup serve``'s snapshot, shared by its reader threads) has what every look-up derives
from its shards made before any reader uses it: a value a thread makes on first use can be seen half-made by
another (the shards' bases were, as zeros: every article out of range, a 500 under load)."""

from __future__ import annotations

import numpy as np

from dedup.index import open_index
from dedup.index import service as archive
from dedup.ingest.text import text_article
from dedup.options import ScanOptions

OPTIONS = ScanOptions(workers=1)
WORDS = ["council", "voted", "budget", "schools", "roads", "parks", "after", "long", "debate", "new", "city"]


def test_a_preloaded_handle_has_its_bases_live_rows_and_small_table_made(tmp_path):
    loc = str(tmp_path / "index")
    writer = open_index(loc, archive.store_params(OPTIONS), create=True)
    writer.merge_after_append = False
    rng = np.random.default_rng(0)
    for i in range(3):
        text = "\n\n".join(" ".join(rng.choice(WORDS, 30).tolist()) for _ in range(3))
        archive.add_articles(writer, [text_article(f"a{i}", f"a{i}", text)], OPTIONS)
    reader = open_index(loc)
    reader.preload()
    assert reader._bases is not None and reader._bases.tolist() == [0, 1, 2, 3]
    assert reader._alive is not None and reader._alive.all()
    made = reader._small_made
    assert made is not None and made[1][0] == tuple(reader.shard_names)  # three one-article shards: all small
    fresh = open_index(loc)  # the same look-up as a handle that makes them on first use
    fps = np.unique(made[1][1])
    got, want = reader.holders(fps), fresh.holders(fps)
    assert all(np.array_equal(a, b) for a, b in zip(got, want)) and len(got[1]) == len(made[1][1])
