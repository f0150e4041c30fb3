"""The shared index backend: the index in Redis, so many workers on many machines add and query one index.

Keys, all under the prefix ``dedup:{NAME}:`` (the braces are a Redis Cluster hash tag: one index lives
in one slot, so each batch is one MULTI/EXEC transaction there; several indexes spread over a cluster)::

    meta          hash   format, version, params (JSON)
    next          string counter handing out article refs
    ids           hash   article id -> ref (live articles only)
    d:REF         hash   row (JSON of the DOC_SCHEMA columns), text (UTF-8), paras (int64 pairs),
                         fps (sorted uint64 fingerprints), sig (uint32 signature); bytes little-endian
    p:BUCKET      hash   fingerprint (8 bytes, big-endian) -> refs holding it (packed uint32 LE);
                         BUCKET = the fingerprint's top 12 bits (4096 hashes, a few hundred touched per query)
    dead          set    refs removed or replaced whose postings are still in ``p:*`` (until ``compact``)
    lock          string the write lock (redis-py ``Lock``, with a timeout so a dead writer frees it)

Nothing read back can execute code: values are JSON or raw numpy bytes (``frombuffer``), never pickle.
A batch of articles is one transaction (its postings appended by a server-side Lua script inside it),
so a client or server that goes away mid-add leaves every batch whole or absent. The index is found
again by its name after a restart of the client or (with persistence) the server.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
import polars as pl

from . import DOC_SCHEMA, Shard, StoreError
from .backend import INDEX_FORMAT, INDEX_VERSION, IndexFailure

try:
    import redis as _redis
except ImportError:  # pragma: no cover - redis is a dependency; a clear line if it was removed
    _redis = None

BUCKET_SHIFT = 52  # fingerprint >> 52: 4096 posting hashes
BATCH_DOCS = 500  # articles per transaction
LOCK_TIMEOUT = 300  # seconds: a writer that died frees the lock after this
# ARGV[1]: fingerprints (8 bytes each); ARGV[2]: refs (4 bytes each); ARGV[3]: uint32 LE byte offsets of each
# fingerprint's refs in ARGV[2] (n + 1). Appends each fingerprint's refs to its field.
_APPEND = """
local f, r, o = ARGV[1], ARGV[2], ARGV[3]
for i = 0, #f / 8 - 1 do
  local a = struct.unpack('<I4', o, 4 * i + 1)
  local b = struct.unpack('<I4', o, 4 * i + 5)
  local field = string.sub(f, 8 * i + 1, 8 * i + 8)
  local val = string.sub(r, a + 1, b)
  if redis.call('HSETNX', KEYS[1], field, val) == 0 then
    redis.call('HSET', KEYS[1], field, redis.call('HGET', KEYS[1], field) .. val)
  end
end
return 0
"""


def _errors() -> tuple[type[BaseException], ...]:
    return (_redis.exceptions.ConnectionError, _redis.exceptions.TimeoutError)


class RedisIndex:
    """An index in Redis (see the module docstring)."""

    def __init__(self, url: str, name: str, params: dict | None = None, create: bool = False) -> None:
        if _redis is None:
            raise StoreError("a Redis index needs the 'redis' package: pip install redis")
        self.location = f"{url}#{name}"
        self.name = name
        self.prefix = f"dedup:{{{name}}}:"
        try:
            if url.startswith("redis+cluster://"):
                from redis.cluster import RedisCluster

                self.r = RedisCluster.from_url("redis://" + url[len("redis+cluster://") :])
            else:
                self.r = _redis.Redis.from_url(url, socket_connect_timeout=5)
            meta = self.r.hgetall(self._k("meta"))
            if not meta and create:
                body = {"format": INDEX_FORMAT, "version": INDEX_VERSION, "params": json.dumps(params or {})}
                self.r.hsetnx(self._k("meta"), "format", body["format"])
                self.r.hsetnx(self._k("meta"), "version", body["version"])
                self.r.hsetnx(self._k("meta"), "params", body["params"])
                meta = self.r.hgetall(self._k("meta"))
            self._append = self.r.register_script(_APPEND)
        except _errors() as e:
            raise StoreError(f"{self.location}: cannot reach Redis ({_first_line(e)})") from None
        except _redis.exceptions.RedisError as e:
            raise StoreError(f"{self.location}: Redis error ({_first_line(e)})") from None
        except ValueError as e:
            raise StoreError(f"{url}: not a Redis URL ({_first_line(e)})") from None
        if not meta:
            raise StoreError(f"{self.location}: no dedup index of that name (create it with 'dedup index add')")
        try:
            fmt, version = meta[b"format"].decode(), int(meta[b"version"])
            self.params = json.loads(meta[b"params"])
        except (KeyError, ValueError, UnicodeDecodeError):
            raise StoreError(f"{self.location}: corrupt index metadata") from None
        if fmt != INDEX_FORMAT or not isinstance(self.params, dict):
            raise StoreError(f"{self.location}: not a dedup index")
        if version > INDEX_VERSION:
            raise StoreError(
                f"{self.location}: index format {version} is newer than this dedup reads ({INDEX_VERSION})"
            )
        self._dead: set[int] | None = None

    def _k(self, key: str) -> str:
        return self.prefix + key

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Redis failures as one-line StoreErrors."""
        try:
            yield
        except _errors() as e:
            raise IndexFailure(f"{self.location}: lost the connection to Redis ({_first_line(e)})") from None
        except _redis.exceptions.RedisError as e:
            raise IndexFailure(f"{self.location}: Redis error ({_first_line(e)})") from None

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._guard():
            lock = self.r.lock(self._k("lock"), timeout=LOCK_TIMEOUT, blocking_timeout=LOCK_TIMEOUT)
            if not lock.acquire():
                raise StoreError(f"{self.location}: timed out waiting for the write lock")
            try:
                self._dead = None
                yield
            finally:
                with suppress(_redis.exceptions.LockError):  # expired: another writer may hold it now
                    lock.release()

    def staging(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="dedup-index-"))

    # ------------------------------------------------------------------ reading

    @property
    def dead(self) -> set[int]:
        if self._dead is None:
            with self._guard():
                self._dead = {int(x) for x in self.r.smembers(self._k("dead"))}
        return self._dead

    def holders(self, fps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fps = np.asarray(fps, dtype=np.uint64)
        if not len(fps):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        buckets = (fps >> np.uint64(BUCKET_SHIFT)).astype(np.int64)
        fields = fps.astype(">u8").tobytes()
        starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])  # fps sorted: buckets are runs
        bounds = np.append(starts, len(fps)).tolist()
        with self._guard():
            pipe = self.r.pipeline(transaction=False)
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                pipe.hmget(self._k(f"p:{buckets[lo]}"), [fields[8 * i : 8 * i + 8] for i in range(lo, hi)])
            replies = pipe.execute()
        values = [v or b"" for reply in replies for v in reply]
        counts = np.fromiter((len(v) // 4 for v in values), dtype=np.int64, count=len(values))
        refs = np.frombuffer(b"".join(values), dtype="<u4").astype(np.int64)
        pos = np.repeat(np.arange(len(fps), dtype=np.int64), counts)
        dead = self.dead
        if dead and len(refs):
            live = ~np.isin(refs, np.fromiter(dead, dtype=np.int64, count=len(dead)))
            pos, refs = pos[live], refs[live]
        order = np.lexsort((refs, pos))
        return pos[order], refs[order]

    def _fields(self, refs: Sequence[int], field: str) -> list[bytes]:
        with self._guard():
            pipe = self.r.pipeline(transaction=False)
            for ref in refs:
                pipe.hget(self._k(f"d:{int(ref)}"), field)
            out = pipe.execute()
        if any(v is None for v in out):
            raise StoreError(f"{self.location}: an article was removed while reading it; retry")
        return out

    def rows(self, refs: np.ndarray) -> pl.DataFrame:
        rows = [json.loads(v) for v in self._fields(refs, "row")]
        return pl.DataFrame(rows, schema=DOC_SCHEMA, orient="row")

    def texts(self, refs: Sequence[int]) -> list[str]:
        return [v.decode("utf-8", "surrogatepass") for v in self._fields(refs, "text")]

    def paragraphs(self, refs: Sequence[int]) -> list[np.ndarray]:
        return [np.frombuffer(v, dtype="<i8").reshape(-1, 2).astype(np.int64) for v in self._fields(refs, "paras")]

    def live_hashes(self, ids: Sequence[str]) -> dict[str, int]:
        ids = list(ids)
        if not ids:
            return {}
        with self._guard():
            refs = self.r.hmget(self._k("ids"), ids)
        have = [(d, int(r)) for d, r in zip(ids, refs) if r is not None]
        if not have:
            return {}
        rows = self._fields([r for _, r in have], "row")
        return {d: int(json.loads(v)["content_hash"]) for (d, _), v in zip(have, rows)}

    def stats(self) -> dict:
        with self._guard():
            articles = self.r.hlen(self._k("ids"))
            dead = self.r.scard(self._k("dead"))
            pipe = self.r.pipeline(transaction=False)
            for b in range(1 << (64 - BUCKET_SHIFT)):
                pipe.hlen(self._k(f"p:{b}"))
            fingerprints = sum(pipe.execute())
            try:
                memory = self.r.info("memory").get("used_memory")
            except _redis.exceptions.RedisError:
                memory = None
        return {
            "location": self.location,
            "backend": "redis",
            "format_version": INDEX_VERSION,
            "params": self.params,
            "articles": articles,
            "removed_pending": dead,
            "distinct_fingerprints": fingerprints,
            "server_used_memory": memory,
        }

    # ------------------------------------------------------------------ writing (hold ``writing``)

    def append(self, shard: Shard, keep: np.ndarray, replace: Sequence[str]) -> None:
        rows = np.flatnonzero(keep)
        docs = shard.docs
        replace = set(replace)
        for lo in range(0, len(rows), BATCH_DOCS):
            part = rows[lo : lo + BATCH_DOCS]
            ids = docs["id"].gather(part).to_list()
            self._append_batch(shard, part, [d for d in ids if d in replace])

    def _append_batch(self, shard: Shard, part: np.ndarray, replace: list[str]) -> None:
        docs = shard.docs[part]
        n = len(part)
        with self._guard():
            first = int(self.r.incrby(self._k("next"), n)) - n
            old = self.r.hmget(self._k("ids"), replace) if replace else []
        refs = np.arange(first, first + n, dtype=np.int64)
        postings = np.asarray(shard.array("postings"))
        posting_docs = np.asarray(shard.array("posting_docs"))
        local = np.full(len(shard.docs), -1, dtype=np.int64)
        local[part] = np.arange(n)
        sel = local[posting_docs] >= 0
        fps, owner = postings[sel], local[posting_docs[sel]]  # sorted by fingerprint
        para_off = np.asarray(shard.array("para_offsets"))
        paras = np.asarray(shard.array("paragraphs")).reshape(-1, 2)
        sigs = np.asarray(shard.array("signatures"))
        # Per article: its own fingerprints, sorted.
        by_doc = np.lexsort((fps, owner))
        doc_bounds = np.searchsorted(owner[by_doc], np.arange(n + 1))
        doc_fps = fps[by_doc]
        pipe = self.r.pipeline(transaction=True)
        for i, row in enumerate(docs.iter_rows(named=True)):
            r = int(part[i])
            pipe.hset(
                self._k(f"d:{first + i}"),
                mapping={
                    "row": json.dumps(row),
                    "text": shard.text(r).encode("utf-8", "surrogatepass"),
                    "paras": np.ascontiguousarray(paras[para_off[r] : para_off[r + 1]], dtype="<i8").tobytes(),
                    "fps": np.ascontiguousarray(doc_fps[doc_bounds[i] : doc_bounds[i + 1]], dtype="<u8").tobytes(),
                    "sig": np.ascontiguousarray(sigs[r], dtype="<u4").tobytes(),
                },
            )
        pipe.hset(self._k("ids"), mapping={row_id: first + i for i, row_id in enumerate(docs["id"].to_list())})
        for ref in old:
            if ref is not None:
                pipe.sadd(self._k("dead"), int(ref))
                pipe.delete(self._k(f"d:{int(ref)}"))
        # Postings: fingerprint -> packed refs, appended per bucket by the Lua script.
        if len(fps):
            new = np.r_[True, fps[1:] != fps[:-1]]
            starts = np.flatnonzero(new)
            uniq = fps[starts]
            ref_bytes = refs[owner].astype("<u4").tobytes()
            field_bytes = uniq.astype(">u8").tobytes()
            buckets = (uniq >> np.uint64(BUCKET_SHIFT)).astype(np.int64)
            bstarts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
            bends = np.append(bstarts[1:], len(uniq)).tolist()
            byte_off = np.append(starts, len(fps)).astype(np.int64) * 4
            for blo, bhi in zip(bstarts.tolist(), bends):
                offs = (byte_off[blo : bhi + 1] - byte_off[blo]).astype("<u4").tobytes()
                refs_blob = ref_bytes[int(byte_off[blo]) : int(byte_off[bhi])]
                args = [field_bytes[8 * blo : 8 * bhi], refs_blob, offs]
                self._append(keys=[self._k(f"p:{buckets[blo]}")], args=args, client=pipe)
        with self._guard():
            pipe.execute()  # redis-py loads the script before MULTI, so EVALSHA cannot fail inside
        self._dead = None

    def remove(self, ids: Sequence[str]) -> int:
        ids = list(ids)
        if not ids:
            return 0
        with self._guard():
            refs = self.r.hmget(self._k("ids"), ids)
            found = [(d, int(r)) for d, r in zip(ids, refs) if r is not None]
            if not found:
                return 0
            pipe = self.r.pipeline(transaction=True)
            pipe.hdel(self._k("ids"), *[d for d, _ in found])
            pipe.sadd(self._k("dead"), *[r for _, r in found])
            for _, r in found:
                pipe.delete(self._k(f"d:{r}"))
            pipe.execute()
        self._dead = None
        return len(found)

    def compact(self) -> None:
        """Drop the removed refs from every posting hash (one transaction per hash), then forget them."""
        with self.writing(), self._guard():
            dead = self.r.smembers(self._k("dead"))
            if not dead:
                return
            gone = np.array(sorted(int(x) for x in dead), dtype=np.uint32)
            for b in range(1 << (64 - BUCKET_SHIFT)):
                key = self._k(f"p:{b}")
                table = self.r.hgetall(key)
                changed, emptied = {}, []
                for f, v in table.items():
                    refs = np.frombuffer(v, dtype="<u4")
                    keep = ~np.isin(refs, gone)
                    if keep.all():
                        continue
                    if keep.any():
                        changed[f] = refs[keep].tobytes()
                    else:
                        emptied.append(f)
                if changed or emptied:
                    pipe = self.r.pipeline(transaction=True)
                    if changed:
                        pipe.hset(key, mapping=changed)
                    if emptied:
                        pipe.hdel(key, *emptied)
                    pipe.execute()
            self.r.srem(self._k("dead"), *dead)
            self._dead = None

    def drop(self) -> None:
        """Delete the whole index (tests and benchmarks)."""
        with self._guard():
            keys = list(self.r.scan_iter(match=self.prefix.replace("{", "\\{").replace("}", "\\}") + "*", count=1000))
            for lo in range(0, len(keys), 1000):
                self.r.delete(*keys[lo : lo + 1000])

    def close(self) -> None:
        with suppress(Exception):  # closing a dead connection
            self.r.close()


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__
