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
uploaded but never listed is deleted by the next writer. The index is found again by its name after a
restart of the client or (with persistence) the server.

What Redis holds is input, not trusted state: whoever can write to the server controls it. Values are
JSON or raw bytes (``.npy`` files read with ``allow_pickle=False``, Parquet): nothing read back can
execute code. Every read is bounded before it is made (``GETRANGE`` of the manifest and generation,
``HSTRLEN`` before ``HGET``); the manifest is checked (``check_manifest``, ``_check_files``: shard names,
file names from the format's fixed list, sizes against the counts, parts against the sizes) before any
of it is used; a shard is downloaded into a temporary folder inside the cache, checked whole
(``featurestore.validate``) and only then renamed into place. A bad index is one line naming it and the
shard. Credentials: the URL's ``user:password@``, else ``DEDUP_REDIS_USERNAME`` and
``DEDUP_REDIS_PASSWORD`` or ``DEDUP_REDIS_PASSWORD_FILE``; ``rediss://`` for TLS (``ssl_ca_certs=`` and
redis-py's other ``ssl_*`` query arguments). ``location`` never holds them (``shown_url``).

The cache folder: ``$DEDUP_CACHE_DIR`` or ``$XDG_CACHE_HOME/dedup`` (``~/.cache/dedup``), one
sub-folder per index; processes on one machine share it (downloads are renamed into place).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import xxhash

from ..featurestore import Shard, StoreError, layout, validate
from .backend import INDEX_FORMAT, INDEX_VERSION, IndexFailure
from .shards import ShardIndex, check_manifest, fsync_tree

try:
    import redis as _redis
except ImportError:  # pragma: no cover - redis is a dependency; a clear line if it was removed
    _redis = None

CHUNK = 32 << 20  # bytes per stored value (Redis caps a value at 512 MB)
UPLOAD_BATCH = 128 << 20  # bytes sent per pipeline round
FETCH_BATCH = 4  # chunks fetched per round trip (memory: FETCH_BATCH x CHUNK at most)
MAX_MANIFEST = 64 << 20  # bytes of manifest read at most
MAX_META = 1 << 16  # bytes of each field of the meta hash read at most
SOCKET_TIMEOUT = 60.0  # seconds a reply may take (a server that stops answering is an error, not a hang)
_DIGEST = re.compile(r"[0-9a-f]{16}")
_GEN = re.compile(rb"[0-9]{1,20}")
_SECRET_ARGS = {"password", "username"}  # URL query arguments redis-py takes as credentials
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


def shown_url(url: str) -> str:
    """A Redis URL as it may be shown (errors, ``location``, ``meta.index``, stats): without the user and
    password of its netloc and without credential query arguments."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = parts.query
        if any(k in _SECRET_ARGS for k, _ in pairs):
            query = urlencode([(k, v) for k, v in pairs if k not in _SECRET_ARGS], safe="/:", quote_via=quote)
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return url.partition("://")[0] + "://(unparsable URL)"


def credentials(url: str) -> dict[str, str]:
    """The username and password to log in with when the URL does not give them: ``DEDUP_REDIS_USERNAME``,
    and ``DEDUP_REDIS_PASSWORD`` or the first line of the file ``DEDUP_REDIS_PASSWORD_FILE`` (so a password
    need never be on a command line, where ``ps`` shows it). A password in the URL wins."""
    out: dict[str, str] = {}
    if os.environ.get("DEDUP_REDIS_USERNAME"):
        out["username"] = os.environ["DEDUP_REDIS_USERNAME"]
    password, path = os.environ.get("DEDUP_REDIS_PASSWORD"), os.environ.get("DEDUP_REDIS_PASSWORD_FILE")
    if password and path:
        raise StoreError("set DEDUP_REDIS_PASSWORD or DEDUP_REDIS_PASSWORD_FILE, not both")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                password = f.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as e:
            why = getattr(e, "strerror", None) or "not UTF-8"
            raise StoreError(f"DEDUP_REDIS_PASSWORD_FILE: cannot read {path} ({why})") from None
    if password:
        out["password"] = password
    return out


def _secrets(url: str, creds: dict[str, str]) -> list[str]:
    """Strings that must never appear in a message: the passwords of the URL and the environment."""
    found = [creds.get("password", "")]
    with suppress(ValueError):
        parts = urlsplit(url)
        found += [parts.password or ""]
        found += [v for k, v in parse_qsl(parts.query) if k == "password"]
    return [x for x in found if x]


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

    def __init__(
        self, url: str, name: str, params: dict | None = None, create: bool = False, reuse: Sequence[ShardIndex] = ()
    ) -> None:
        if _redis is None:
            raise StoreError("a Redis index needs the 'redis' package: pip install redis")
        shown = shown_url(url)
        self.location = f"{shown}#{name}"  # never with credentials: it is shown in errors, stats, meta.index
        self.name = name
        self._tag = f"dedup:{{{name}}}:"
        creds = credentials(url)
        self._secrets = _secrets(url, creds)
        key = xxhash.xxh3_64_hexdigest(self.location.encode("utf-8", "surrogatepass"))
        self._init_shards(cache_root() / f"redis-{name}-{key}", reuse)
        self._raw: bytes | None = None
        self._gen: bytes | None = None
        self._files: dict[str, dict[str, list]] = {}
        self._body: dict = {}
        self._lock = None
        options = {"socket_connect_timeout": 5, "socket_timeout": SOCKET_TIMEOUT, **creds}
        try:
            if url.startswith("redis+cluster://"):
                from redis.cluster import RedisCluster

                self.r = RedisCluster.from_url("redis://" + url[len("redis+cluster://") :], **options)
            else:
                self.r = _redis.Redis.from_url(url, **options)
            meta = self._meta()
            if not meta and create:
                self.r.hsetnx(self._k("meta"), "format", INDEX_FORMAT)
                self.r.hsetnx(self._k("meta"), "version", INDEX_VERSION)
                self.r.hsetnx(self._k("meta"), "params", json.dumps(params or {}))
                meta = self._meta()
            self._commit_script = self.r.register_script(_COMMIT)
        except _redis.exceptions.AuthenticationError as e:
            raise StoreError(
                f"{self.location}: Redis refused the login ({self._line(e)}); give the password in "
                "DEDUP_REDIS_PASSWORD or DEDUP_REDIS_PASSWORD_FILE (and DEDUP_REDIS_USERNAME for an ACL user)"
            ) from None
        except _errors() as e:
            raise StoreError(f"{self.location}: cannot reach Redis ({self._line(e)})") from None
        except _redis.exceptions.RedisError as e:
            raise StoreError(f"{self.location}: Redis error ({self._line(e)})") from None
        except (ValueError, TypeError) as e:
            raise StoreError(f"{shown}: not a Redis URL ({self._line(e)})") from None
        if not meta:
            raise StoreError(f"{self.location}: no dedup index of that name (create it with 'dedup index add')")
        try:
            fmt, version = meta[b"format"].decode(), int(meta[b"version"])
            params = json.loads(meta[b"params"])
        except (KeyError, ValueError, UnicodeDecodeError, RecursionError):
            raise StoreError(f"{self.location}: corrupt index metadata") from None
        if fmt != INDEX_FORMAT or not isinstance(params, dict):
            raise StoreError(f"{self.location}: not a dedup index")
        if not all(isinstance(v, int) and not isinstance(v, bool) and abs(v) < 1 << 63 for v in params.values()):
            raise StoreError(f"{self.location}: corrupt index metadata (params)")
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

    def _line(self, e: BaseException) -> str:
        """An exception's first line, any password in it masked."""
        text = _first_line(e)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _meta(self) -> dict[bytes, bytes]:
        """The meta hash's fields, each checked to be small before it is read (an empty dict: no index)."""
        key = self._k("meta")
        fields = ("format", "version", "params")
        pipe = self.r.pipeline(transaction=False)
        pipe.hlen(key)
        for f in fields:
            pipe.hstrlen(key, f)
        n, *lengths = pipe.execute()
        if not n:
            return {}
        if any(length > MAX_META for length in lengths):
            raise StoreError(f"{self.location}: corrupt index metadata (a field of {max(lengths)} bytes)")
        values = self.r.hmget(key, fields)
        return {f.encode(): v for f, v in zip(fields, values) if v is not None}

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
            raise IndexFailure(f"{self.location}: lost the connection to Redis ({self._line(e)})") from None
        except _redis.exceptions.RedisError as e:
            raise IndexFailure(f"{self.location}: Redis error ({self._line(e)})") from None

    # ------------------------------------------------------------------ manifest and cache

    def refresh(self) -> None:
        """Read the manifest's generation (one round trip) and, when it changed, the manifest, then fetch the
        shards not cached yet."""
        for _ in range(3):
            with self._guard():
                gen = self.r.getrange(self._k("gen"), 0, 31)  # a generation is a short number: read no more
            if gen and not _GEN.fullmatch(gen):
                raise StoreError(f"{self.location}: corrupt index generation")
            if self._raw is not None and gen == self._gen:
                return
            raw, body = self._manifest()
            params, names, removed = check_manifest({**body, "params": self.params}, self.location)
            self._check_space(names, body["files"])
            try:
                for name in names:
                    self._fetch(name, body["files"][name], body["counts"][name])
            except _Gone:
                continue  # merged away while we read: the manifest has changed, read it again
            self._files, self._body = body["files"], body
            gone = [n for n in self.shard_names if n not in set(names)]  # merged away since we last looked
            self._set_manifest(params, names, removed)
            self._raw, self._gen = raw, str(body.get("gen", 0)).encode()
            self._retire(gone)
            return
        raise IndexFailure(f"{self.location}: the index kept changing while reading it; retry")

    def generation(self) -> bytes:
        """The manifest's generation in Redis (one round trip)."""
        with self._guard():
            gen = self.r.getrange(self._k("gen"), 0, 31)
        return gen or b"0"

    @property
    def seen_generation(self) -> bytes | None:
        return self._gen

    @property
    def gen(self) -> int:
        """The generation of the manifest this handle read (0: none yet)."""
        return int(self._gen or 0)

    def _manifest(self) -> tuple[bytes, dict]:
        """The manifest as stored and parsed (an empty one for a new index), checked."""
        with self._guard():
            raw = self.r.getrange(self._k("manifest"), 0, MAX_MANIFEST)  # bounded: never more than that in memory
        if not raw:
            return b"", {"gen": 0, "shards": [], "removed": {}, "files": {}, "counts": {}}
        if len(raw) > MAX_MANIFEST:
            raise StoreError(f"{self.location}: corrupt index manifest (more than {MAX_MANIFEST} bytes)")
        body = self._parse(raw)
        check_manifest({**body, "params": self.params}, self.location)
        files, counts, gen = body.get("files"), body.get("counts"), body.get("gen", 0)
        if not isinstance(files, dict) or not isinstance(counts, dict) or type(gen) is not int or gen < 0:
            raise StoreError(f"{self.location}: corrupt index manifest")
        for name in body["shards"]:
            self._check_files(name, files.get(name), counts.get(name))
        return raw, body

    def _check_files(self, name: str, files: object, counts: object) -> None:
        """A manifest's entry for one shard, checked before any of it is used: its counts (articles, postings)
        two bounded integers; its files names of the format's vocabulary (``layout.FILES``; the required
        ones present), each [size, xxh3-64 digest, parts] with a size no larger than the counts allow and
        exactly the parts that size takes. A file name is then a plain name that cannot leave the cache."""
        where = f"{self.location}: shard {name}"
        ok = isinstance(counts, list) and len(counts) == 2 and all(type(c) is int for c in counts)
        if not ok or not (0 <= counts[0] < 1 << 32 and 0 <= counts[1] < 1 << 48):
            raise StoreError(f"{where}: corrupt counts in the manifest")
        if not isinstance(files, dict):
            raise StoreError(f"{where}: corrupt file list in the manifest")
        for fname in files:
            if fname not in layout.FILES:
                raise StoreError(f"{where}: unknown file {str(fname)[:120]!r} in the manifest")
        missing = sorted(layout.REQUIRED - set(files))
        if missing:
            raise StoreError(f"{where}: the manifest lists no {', '.join(missing)}")
        num_perm = self.params.get("num_perm")
        text = files["text.bin"][0] if isinstance(files["text.bin"], list) and files["text.bin"] else -1
        limits = validate.file_limits(*counts, num_perm, text if type(text) is int else -1)
        for fname, meta in files.items():
            ok = isinstance(meta, list) and len(meta) == 3 and type(meta[0]) is int and type(meta[2]) is int
            ok = ok and isinstance(meta[1], str) and bool(_DIGEST.fullmatch(meta[1]))
            if not ok:
                raise StoreError(f"{where}: corrupt entry for {fname} in the manifest")
            size, _, parts = meta
            lo, hi = limits[fname]
            if not lo <= size <= hi:
                raise StoreError(f"{where}: {fname} of {size} bytes does not fit its {counts[0]} articles")
            if parts != max(1, -(-size // CHUNK)):
                raise StoreError(f"{where}: {fname} claims {parts} parts for {size} bytes")

    def _expect(self, name: str) -> tuple[int, int] | None:
        counts = self._body.get("counts", {}).get(name)
        return (counts[0], counts[1]) if counts else None

    def _cached(self, final: Path, files: dict[str, list]) -> bool:
        """Whether the cache holds the shard (its files, of their sizes; they are checked when opened)."""
        return (
            final.is_dir()
            and not final.is_symlink()
            and all((final / f).is_file() and (final / f).stat().st_size == meta[0] for f, meta in files.items())
        )

    def _check_space(self, names: list[str], files: dict[str, dict[str, list]]) -> None:
        """The shards to fetch fit in the cache's free space (a manifest can claim terabytes)."""
        need = sum(
            meta[0]
            for n in names
            if n not in self._shards and not self._cached(self.root / "shards" / n, files[n])
            for meta in files[n].values()
        )
        if not need:
            return
        free = shutil.disk_usage(self.root).free
        if need > free:
            raise StoreError(f"{self.location}: needs {need} bytes of cache in {self.root}, {free} are free")

    def _parse(self, raw: bytes) -> dict:
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise StoreError(f"{self.location}: corrupt index manifest") from None
        if not isinstance(body, dict):
            raise StoreError(f"{self.location}: corrupt index manifest")
        return body

    def _fetch(self, name: str, files: dict[str, list], counts: list[int]) -> None:
        """Make sure ``root/shards/name`` holds the shard, downloading it when it does not. Everything comes
        from a checked manifest entry (``_check_files``): the folder is a checked name inside the cache,
        each file a name of the format's vocabulary; each chunk's length is asked first and must be what
        the file's size says, so no more is read than the manifest allows; the shard is checked whole
        (``validate``) before it is renamed into the cache."""
        if name in self._shards:
            return
        where = f"{self.location}: shard {name}"
        try:
            final = validate.inside(self.root / "shards", name)
        except validate.Invalid as e:
            raise StoreError(f"{where}: {e}") from None
        if self._cached(final, files):
            return
        if final.is_symlink() or final.is_file():
            final.unlink()
        elif final.exists():  # incomplete or not this shard: fetch it again
            shutil.rmtree(final, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".download-{os.getpid()}-", dir=self.root))
        try:
            key = self._shard_key(name)
            for fname in sorted(files):
                size, digest, parts = files[fname]
                assert fname in layout.FILES  # checked by _check_files: a plain name, never a path
                want = [CHUNK] * (parts - 1) + [size - CHUNK * (parts - 1)]
                with self._guard():
                    pipe = self.r.pipeline(transaction=False)
                    for p in range(parts):
                        pipe.hstrlen(key, f"{fname}:{p}")
                    lengths = pipe.execute()
                    if lengths != want and not self.r.exists(key):
                        raise _Gone
                if lengths != want:
                    raise StoreError(f"{where}: is corrupt in Redis ({fname} is not in the parts its size says)")
                path = tmp / fname
                with open(path, "wb") as f:
                    for lo in range(0, parts, FETCH_BATCH):
                        with self._guard():
                            pipe = self.r.pipeline(transaction=False)
                            for p in range(lo, min(parts, lo + FETCH_BATCH)):
                                pipe.hget(key, f"{fname}:{p}")
                            chunks = pipe.execute()
                        if any(c is None for c in chunks):
                            raise _Gone
                        for p, c in enumerate(chunks, lo):
                            if len(c) != want[p]:
                                raise StoreError(f"{where}: is corrupt in Redis ({fname} changed while read)")
                            f.write(c)
                if _digest(path) != digest:
                    raise StoreError(f"{where}: is corrupt in Redis ({fname} does not check)")
            num_perm = self.params.get("num_perm")
            Shard(tmp, where, num_perm if isinstance(num_perm, int) else None, (counts[0], counts[1])).check()
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
            listed = set(self.shard_names)
            stale = []
            for member in self.r.smembers(self._k("pending")):
                name = member.decode("utf-8", "replace")
                if name in listed:
                    continue
                if validate.SHARD_NAME.fullmatch(name):  # a shard a writer never listed: its data goes too
                    self.r.delete(self._shard_key(name))
                stale.append(member)  # anything else no writer of ours put there: only the member goes
            if stale:
                self.r.srem(self._k("pending"), *stale)

    def holders(self, fps, skip=None, kept=None):
        self.refresh()
        return super().holders(fps, skip, kept)

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
                if path.name not in layout.FILES:  # readers take the format's files and nothing else
                    continue
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
