"""The shared index backend: the index in Redis, so many workers on many machines add and query one index.

Redis holds the index: its manifest and every shard, the same shards the local backend keeps in a
folder. Each worker mirrors the shards it needs in a local cache folder and runs the same
``ShardIndex`` code on it, so a query costs what a local one does plus one round trip, and a Redis
index answers exactly as a local one built from the same articles. Shards never change once
written, so a cached shard is valid for as long as a manifest lists it; the cache is checked
against the manifest's sizes and checksums and can be deleted at any time.

Keys (``NAME`` the index name; the braces are Redis Cluster hash tags)::

    dedup:{NAME}:meta          hash   format, version, params (JSON)
    dedup:{NAME}:manifest      string JSON: gen, shards (in article order), removed rows, files of each shard
                                      (name -> [bytes, xxh3-64, chunks]), articles and postings of each;
                                      replaced whole, by one script
    dedup:{NAME}:gen           string the manifest's generation (a reader's one round trip per query)
    dedup:{NAME}:lock          string the write lock (redis-py ``Lock``; a dead writer's expires)
    dedup:{NAME}:pending       set    shards being uploaded (deleted by the next writer if never listed)
    dedup:{NAME/SHARD}:files   hash   "FILE:PART" -> bytes: the shard's files in chunks of ``CHUNK`` bytes

The manifest, lock and pending set share one hash slot, so the commit (check the lock is still ours,
replace the manifest) is one atomic script even on a cluster; each shard has a slot of its own, so a
cluster spreads an index's shards over its servers. A writer uploads a shard and only then lists it:
a client or server that goes away mid-add leaves the manifest as it was (no partial entry); what was
uploaded but never listed is deleted by the next writer. Values are JSON or raw bytes (``.npy`` files
read with ``allow_pickle=False``, Parquet): nothing read back can execute code. The index is found
again by its name after a restart of the client or (with persistence) the server.

The cache folder: ``$DEDUP_CACHE_DIR`` or ``$XDG_CACHE_HOME/dedup`` (``~/.cache/dedup``), one
sub-folder per index; processes on one machine share it (downloads are renamed into place).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import xxhash

from ..featurestore import StoreError
from .backend import INDEX_FORMAT, INDEX_VERSION, IndexFailure
from .shards import ShardIndex, check_manifest, fsync_tree

try:
    import redis as _redis
except ImportError:  # pragma: no cover - redis is a dependency; a clear line if it was removed
    _redis = None

CHUNK = 32 << 20  # bytes per stored value (Redis caps a value at 512 MB)
UPLOAD_BATCH = 128 << 20  # bytes sent per pipeline round
# Seconds after which a writer that died (or lost Redis) frees the write lock; a live one keeps renewing it.
LOCK_TIMEOUT = float(os.environ.get("DEDUP_LOCK_SECONDS") or 60)

# KEYS: lock, manifest, pending, gen. ARGV: lock token, new manifest, its generation, shards now listed.
_COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[4], ARGV[3])
for i = 4, #ARGV do redis.call('SREM', KEYS[3], ARGV[i]) end
return 1
"""


def _errors() -> tuple[type[BaseException], ...]:
    """Redis gone or unreachable (a cluster that lost its nodes raises ``RedisClusterException``)."""
    return (_redis.exceptions.ConnectionError, _redis.exceptions.TimeoutError, _redis.exceptions.RedisClusterException)


def cache_root() -> Path:
    """Where Redis indexes are cached locally."""
    if os.environ.get("DEDUP_CACHE_DIR"):
        return Path(os.environ["DEDUP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dedup"


def _digest(path: Path) -> str:
    h = xxhash.xxh3_64()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


class RedisIndex(ShardIndex):
    """An index in Redis (see the module docstring)."""

    def __init__(self, url: str, name: str, params: dict | None = None, create: bool = False) -> None:
        if _redis is None:
            raise StoreError("a Redis index needs the 'redis' package: pip install redis")
        self.location = f"{url}#{name}"
        self.name = name
        self._tag = f"dedup:{{{name}}}:"
        key = xxhash.xxh3_64_hexdigest(self.location.encode("utf-8", "surrogatepass"))
        self._init_shards(cache_root() / f"redis-{name}-{key}")
        self._raw: bytes | None = None
        self._gen: bytes | None = None
        self._files: dict[str, dict[str, list]] = {}
        self._body: dict = {}
        self._lock = None
        try:
            if url.startswith("redis+cluster://"):
                from redis.cluster import RedisCluster

                self.r = RedisCluster.from_url("redis://" + url[len("redis+cluster://") :], socket_connect_timeout=5)
            else:
                self.r = _redis.Redis.from_url(url, socket_connect_timeout=5)
            meta = self.r.hgetall(self._k("meta"))
            if not meta and create:
                self.r.hsetnx(self._k("meta"), "format", INDEX_FORMAT)
                self.r.hsetnx(self._k("meta"), "version", INDEX_VERSION)
                self.r.hsetnx(self._k("meta"), "params", json.dumps(params or {}))
                meta = self.r.hgetall(self._k("meta"))
            self._commit_script = self.r.register_script(_COMMIT)
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
            params = json.loads(meta[b"params"])
        except (KeyError, ValueError, UnicodeDecodeError):
            raise StoreError(f"{self.location}: corrupt index metadata") from None
        if fmt != INDEX_FORMAT or not isinstance(params, dict):
            raise StoreError(f"{self.location}: not a dedup index")
        if version > INDEX_VERSION:
            raise StoreError(
                f"{self.location}: index format {version} is newer than this dedup reads ({INDEX_VERSION})"
            )
        if version < INDEX_VERSION:
            raise StoreError(
                f"{self.location}: index format {version} was written by an older dedup; "
                "drop its keys and add the articles again"
            )
        self.params = params
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            (self.root / "shards").mkdir(exist_ok=True)
        except OSError as e:
            raise StoreError(f"{self.root}: cannot create the local cache of {self.location} ({e.strerror})") from None

    def _ensure(self) -> None:
        if self._raw is None:  # opened without reading the manifest yet (``stats`` never needs to)
            self.refresh()

    def _k(self, key: str) -> str:
        return self._tag + key

    def _shard_key(self, shard: str) -> str:
        return f"dedup:{{{self.name}/{shard}}}:files"

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Redis failures as one-line errors."""
        try:
            yield
        except _errors() as e:
            raise IndexFailure(f"{self.location}: lost the connection to Redis ({_first_line(e)})") from None
        except _redis.exceptions.RedisError as e:
            raise IndexFailure(f"{self.location}: Redis error ({_first_line(e)})") from None

    # ------------------------------------------------------------------ manifest and cache

    def refresh(self) -> None:
        """Read the manifest's generation (one round trip) and, when it changed, the manifest, then fetch the
        shards not cached yet."""
        for _ in range(3):
            with self._guard():
                gen = self.r.get(self._k("gen"))
            if self._raw is not None and gen == self._gen:
                return
            raw, body = self._manifest()
            params, names, removed = check_manifest({**body, "params": self.params}, self.location)
            try:
                for name in names:
                    self._fetch(name, body["files"][name])
            except _Gone:
                continue  # merged away while we read: the manifest has changed, read it again
            self._files, self._body = body["files"], body
            gone = [n for n in self.shard_names if n not in set(names)]  # merged away since we last looked
            self._set_manifest(params, names, removed)
            self._raw, self._gen = raw, str(body.get("gen", 0)).encode()
            self._retire(gone)
            return
        raise IndexFailure(f"{self.location}: the index kept changing while reading it; retry")

    def _manifest(self) -> tuple[bytes, dict]:
        """The manifest as stored and parsed (an empty one for a new index), checked."""
        with self._guard():
            raw = self.r.get(self._k("manifest"))
        if raw is None:
            return b"", {"gen": 0, "shards": [], "removed": {}, "files": {}, "counts": {}}
        body = self._parse(raw)
        check_manifest({**body, "params": self.params}, self.location)
        files, counts = body.get("files"), body.get("counts")
        ok = isinstance(files, dict) and isinstance(counts, dict)
        if not ok or any(not isinstance(files.get(n), dict) or n not in counts for n in body["shards"]):
            raise StoreError(f"{self.location}: corrupt index manifest")
        return raw, body

    def _parse(self, raw: bytes) -> dict:
        try:
            body = json.loads(raw)
        except ValueError:
            raise StoreError(f"{self.location}: corrupt index manifest") from None
        if not isinstance(body, dict):
            raise StoreError(f"{self.location}: corrupt index manifest")
        return body

    def _fetch(self, name: str, files: dict[str, list]) -> None:
        """Make sure ``root/shards/name`` holds the shard, downloading it when it does not."""
        final = self.root / "shards" / name
        if name in self._shards:
            return
        if final.is_dir() and all(
            (final / f).is_file() and (final / f).stat().st_size == meta[0] for f, meta in files.items()
        ):
            return
        if final.exists():  # incomplete or not this shard: fetch it again
            shutil.rmtree(final, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".download-{os.getpid()}-", dir=self.root))
        try:
            key = self._shard_key(name)
            for fname, (size, digest, parts) in files.items():
                with self._guard():
                    pipe = self.r.pipeline(transaction=False)
                    for p in range(parts):
                        pipe.hget(key, f"{fname}:{p}")
                    chunks = pipe.execute()
                if any(c is None for c in chunks):
                    raise _Gone
                path = tmp / fname
                with open(path, "wb") as f:
                    for c in chunks:
                        f.write(c)
                if path.stat().st_size != size or _digest(path) != digest:
                    raise StoreError(f"{self.location}: shard {name} is corrupt in Redis ({fname} does not check)")
            fsync_tree(tmp)  # a cached shard is trusted by its sizes: it must be whole on disk before it is there
            try:
                os.replace(tmp, final)
            except OSError:  # another process on this machine fetched it first
                if not (final / "docs.parquet").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # ------------------------------------------------------------------ the interface

    def _acquire(self):
        """The write lock, waited for (a dead writer's expires after ``LOCK_TIMEOUT``)."""
        with self._guard():
            lock = self.r.lock(self._k("lock"), timeout=LOCK_TIMEOUT, blocking_timeout=max(LOCK_TIMEOUT * 5, 300))
            if not lock.acquire():
                raise StoreError(f"{self.location}: timed out waiting for the write lock")
        return lock

    @contextmanager
    def writing(self) -> Iterator[None]:
        lock = self._acquire()
        try:
            self._lock = lock
            self.refresh()
            self._clean()
            self._clean_pending()
            yield
        finally:
            self._lock = None
            with suppress(Exception):  # expired, or Redis gone: the error that matters is already raised
                lock.release()

    def _clean_pending(self) -> None:
        """Delete shards a writer uploaded but never listed (it was killed, or Redis went away)."""
        with self._guard():
            pending = {p.decode() for p in self.r.smembers(self._k("pending"))}
            stale = pending - set(self.shard_names)
            for name in stale:
                self.r.delete(self._shard_key(name))
            if stale:
                self.r.srem(self._k("pending"), *stale)

    def holders(self, fps, skip=None):
        self.refresh()
        return super().holders(fps, skip)

    def _commit(self, names: list[str], removed: dict[str, list[int]], new: list[str], gone: list[str]) -> None:
        if self._lock is None:
            raise RuntimeError("write without the lock")
        files = {n: self._files[n] for n in names if n not in new}
        counts = {n: self._body["counts"][n] for n in names if n not in new}
        for name in new:
            fsync_tree(self.root / "shards" / name)  # the cache trusts it by its sizes from now on
            files[name] = self._upload(name)
            shard = self._shard(name)
            counts[name] = [len(shard.array("text_offsets")) - 1, len(shard.array("postings"))]
        body = {
            "gen": int(self._body.get("gen", 0)) + 1,
            "shards": names,
            "removed": {k: sorted(v) for k, v in removed.items() if v},
            "files": files,
            "counts": counts,
        }
        raw = json.dumps(body, separators=(",", ":")).encode()
        with self._guard():
            self._lock.reacquire()
            token = self._lock.local.token
            keys = [self._k("lock"), self._k("manifest"), self._k("pending"), self._k("gen")]
            ok = self._commit_script(keys=keys, args=[token, raw, body["gen"], *new])
        if not ok:
            raise IndexFailure(f"{self.location}: lost the write lock (held longer than {LOCK_TIMEOUT} s); retry")
        self._files, self._body = files, body
        self._set_manifest(self.params, names, {k: list(v) for k, v in body["removed"].items()})
        self._raw, self._gen = raw, str(body["gen"]).encode()
        with self._guard():
            for name in gone:
                self.r.delete(self._shard_key(name))
        self._retire(gone)

    def _upload(self, name: str) -> dict[str, list]:
        """Send a shard's files to Redis, in chunks, after listing it as pending; returns its files' meta."""
        folder = self.root / "shards" / name
        key = self._shard_key(name)
        files: dict[str, list] = {}
        with self._guard():
            self.r.sadd(self._k("pending"), name)
            pipe, queued = self.r.pipeline(transaction=False), 0
            for path in sorted(folder.iterdir()):
                size = path.stat().st_size
                parts = max(1, -(-size // CHUNK))
                files[path.name] = [size, _digest(path), parts]
                with open(path, "rb") as f:
                    for p in range(parts):
                        chunk = f.read(CHUNK)
                        pipe.hset(key, f"{path.name}:{p}", chunk)
                        queued += len(chunk)
                        if queued >= UPLOAD_BATCH:
                            pipe.execute()
                            self._lock.reacquire()  # a long upload is not a dead writer
                            pipe, queued = self.r.pipeline(transaction=False), 0
            pipe.execute()
        return files

    def stats(self) -> dict:
        """Counts from the manifest alone: nothing is downloaded."""
        _, body = self._manifest()
        with self._guard():
            try:
                memory = self.r.info("memory").get("used_memory")
            except _redis.exceptions.RedisError:
                memory = None
        removed = sum(len(v) for v in body["removed"].values())
        return {
            "location": self.location,
            "backend": "redis",
            "format_version": INDEX_VERSION,
            "params": self.params,
            "articles": sum(body["counts"][n][0] for n in body["shards"]) - removed,
            "removed_pending": removed,
            "shards": len(body["shards"]),
            "postings": sum(body["counts"][n][1] for n in body["shards"]),
            "bytes": sum(meta[0] for n in body["shards"] for meta in body["files"][n].values()),
            "server_used_memory": memory,
            "cache": str(self.root),
        }

    def compact(self) -> None:
        with self.writing():
            self._compact()

    def drop(self) -> None:
        """Delete the whole index from Redis and the local cache (tests and benchmarks)."""
        lock = self._acquire()
        with self._guard():
            try:
                _, body = self._manifest()
                pending = [p.decode() for p in self.r.smembers(self._k("pending"))]
                for name in [*body["shards"], *pending]:
                    self.r.delete(self._shard_key(name))
                self.r.delete(self._k("manifest"), self._k("gen"), self._k("pending"), self._k("meta"))
            finally:
                with suppress(Exception):
                    lock.release()
        shutil.rmtree(self.root, ignore_errors=True)

    def close(self) -> None:
        with suppress(Exception):  # closing a dead connection
            self.r.close()


class _Gone(Exception):
    """A shard the manifest listed is no longer in Redis (a writer merged it away meanwhile)."""


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__
