"""Issue 27: a poisoned store is refused with the documented one line, never decoded without bound, and no
member a stranger put into Redis stops the writers. Each test failed on the code before the fix."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import polars as pl
import pytest

from dedup import ScanOptions
from dedup.featurestore import StoreError
from dedup.index import open_index, service
from tests.conftest import SEED_WRAPPER, SEEDS
from tests.index.test_index import redis_url as redis_url  # noqa: F401  (the fixture)

OPTIONS = ScanOptions(workers=1)


def _local(tmp: Path) -> Path:
    location = tmp / "index"
    index = open_index(str(location), params=service.store_params(OPTIONS), create=True)
    service.add(index, [SEEDS], OPTIONS)
    return location


# Finding 4: docs.parquet rewritten with a 150 MB title a row (15 KB of zstd) passed validation; a query then
# reached 2.4 GB and died in polars. Scaled down: 16 MB a row, well past the 64 KB an article allowed.
def test_a_docs_table_that_decompresses_past_its_limit_is_refused(tmp_path, cli):
    location = _local(tmp_path)
    (shard,) = (location / "shards").iterdir()
    table = pl.read_parquet(shard / "docs.parquet")
    poisoned = table.with_columns(pl.Series("title", ["x" * (16 << 20)] * table.height))
    poisoned.write_parquet(shard / "docs.parquet", compression="zstd", row_group_size=1)
    assert (shard / "docs.parquet").stat().st_size < 200_000
    with pytest.raises(StoreError, match="docs.parquet decompresses to"):
        service.query(open_index(str(location)), [SEEDS / SEED_WRAPPER], OPTIONS)
    run = cli("query", SEEDS / SEED_WRAPPER, "--index", location)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "decompresses to" in run.stderr


# Finding 8: a manifest nested 60,000 deep gave RecursionError and exit 1, not "corrupt" and exit 2.
def test_a_deeply_nested_manifest_is_one_line_and_exit_2(tmp_path, cli):
    location = _local(tmp_path)
    body = json.loads((location / "index.json").read_text())
    deep = "[" * 60_000 + "]" * 60_000
    text = json.dumps(body)[:-1] + ', "extra": ' + deep + "}"
    (location / "index.json").write_text(text)
    run = cli("index", "stats", "--index", location)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "nested too deeply" in run.stderr


# Finding 8: a member of the Redis pending set that is not UTF-8 made every writer fail.
@pytest.mark.redis
def test_a_foreign_member_of_the_pending_set_does_not_stop_writers(redis_url):  # noqa: F811
    import redis

    name = f"hostile{uuid.uuid4().hex[:10]}"
    location = f"{redis_url}#{name}"
    index = open_index(location, params=service.store_params(OPTIONS), create=True)
    try:
        service.add(index, [SEEDS / SEED_WRAPPER], OPTIONS)
        r = redis.Redis.from_url(redis_url)
        r.sadd(f"dedup:{{{name}}}:pending", b"\xff\xfe not a shard", b"../../etc")
        service.add(index, [SEEDS], OPTIONS)
        again = open_index(location)
        again.refresh()
        assert int(again.alive.sum()) == len(list(SEEDS.iterdir()))
        assert not r.smembers(f"dedup:{{{name}}}:pending")
    finally:
        index.drop()
