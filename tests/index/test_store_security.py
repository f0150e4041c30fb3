"""Issue 18: everything read from a store is untrusted (a local index folder, a Redis server, a scan's store).

A damaged or hostile shard or manifest ends in one ``StoreError`` line naming the index and the shard: never
a file written outside the cache, a traceback, a hang or a huge allocation. Redis with a password (ACL
users, from the URL, the environment or a file) and TLS; credentials never shown.

Redis: ``DEDUP_TEST_REDIS`` / ``DEDUP_TEST_REDIS_AUTH`` (``.ci/run``) name running servers, otherwise
private ones are started; skipped only without a ``redis-server`` binary.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import polars as pl
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import ScanOptions, scan
from dedup.featurestore import FeatureStore, StoreError, layout
from dedup.index import open_index
from dedup.index import service as archive
from dedup.index.redis import CHUNK
from tests.support import redis_servers

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
WRAPPER = "000_137fe5741023b456.txt"
ORIGINAL = "001_9fe7513b9c6ae974.txt"
OTHERS = ["002_9bc901dc3b6c5084.txt", "003_b776af7c7e9b7e80.txt", "004_a7b902191fce4d12.txt"]
OPTIONS = ScanOptions(workers=1)
PASSWORD = "s3cret-Pa55word"


def _need_redis() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary on PATH (.ci/run installs it)")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if os.environ.get("DEDUP_TEST_REDIS"):
        yield os.environ["DEDUP_TEST_REDIS"]
        return
    _need_redis()
    server = redis_servers.start(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def auth_url(tmp_path_factory):
    """A password-protected server's URL with the password in it (``redis://:PASSWORD@host:port/0``)."""
    if os.environ.get("DEDUP_TEST_REDIS_AUTH"):
        yield os.environ["DEDUP_TEST_REDIS_AUTH"]
        return
    _need_redis()
    server = redis_servers.start(tmp_path_factory.mktemp("redis-auth"), "--requirepass", PASSWORD)
    yield server.url.replace("redis://", f"redis://:{PASSWORD}@")
    server.stop()


def _cli(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "dedup", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120, env={**os.environ, **(env or {})})


def _one_line_error(proc: subprocess.CompletedProcess, *must: str) -> str:
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, err)
    assert len(err.splitlines()) == 1 and err.startswith("dedup: error: ") and "Traceback" not in err, err
    for m in must:
        assert m in err, (m, err)
    return err


@contextlib.contextmanager
def _cache(path: Path):
    """A fresh, private Redis cache (``DEDUP_CACHE_DIR``) for what runs inside."""
    old = os.environ.get("DEDUP_CACHE_DIR")
    os.environ["DEDUP_CACHE_DIR"] = str(path)
    try:
        yield path
    finally:
        os.environ["DEDUP_CACHE_DIR"] = old or ""
        if old is None:
            del os.environ["DEDUP_CACHE_DIR"]


def _seed_folder(tmp: Path) -> Path:
    folder = tmp / f"seeds-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    for n in [ORIGINAL, *OTHERS]:
        shutil.copy(SEEDS / n, folder / n)
    return folder


def _use(loc: str) -> None:
    """Everything a reader does with an index: open, query, and read every article back."""
    ix = open_index(loc)
    archive.query(ix, [SEEDS / WRAPPER], OPTIONS)
    refs = np.arange(int(ix.bases[-1]))
    ix.texts(refs.tolist())
    ix.paragraphs(refs.tolist())
    ix.rows(refs)
    ix.preload()
    ix.close()


def _fails(loc: str, shard: str | None, *must: str, seconds: float = 10.0, mib: int = 64) -> str:
    """``_use`` of a damaged index: one StoreError line naming the index (and the shard), within ``mib`` MiB of
    traced allocations (numpy's are traced) and ``seconds`` (a bound against a hang or a whole read, not a
    timing: the memory bound is what shows that nothing large was read whole)."""
    tracemalloc.start()
    t = time.perf_counter()
    try:
        with pytest.raises(StoreError) as info:
            _use(loc)
        took = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(_shown(loc)), msg
    if shard is not None:
        assert f"shard {shard}" in msg, msg
    for m in must:
        assert m in msg, (m, msg)
    assert took < seconds, (took, msg)
    assert peak < mib << 20, (peak, msg)
    return msg


def _shown(loc: str) -> str:
    """The location as errors show it (no credentials)."""
    if "://" not in loc:
        return loc
    parts = urlsplit(loc)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}{parts.path}"


# ------------------------------------------------------------------------------------------ shard files


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _header(data: bytes, descr: str, shape: tuple, fortran: bool = False) -> bytes:
    """An .npy file's data under another header (what a hostile writer can claim)."""
    f = io.BytesIO(data)
    np.lib.format.read_magic(f)
    np.lib.format.read_array_header_1_0(f)
    body = data[f.tell() :]
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": fortran, "shape": shape})
    return out.getvalue() + body


def _retype(data: bytes, descr: str) -> bytes:
    return _header(data, descr, _load(data).shape)


def _load(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def _table(files: dict[str, bytes]) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(files["docs.parquet"]))


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


Damage = Callable[[dict[str, bytes]], dict[str, bytes | None]]


def _offsets_past_end(files):
    off = _load(files["text_offsets.npy"]).copy()
    off[-1] += 1000
    return {"text_offsets.npy": _npy(off)}


def _offsets_back(files):
    off = _load(files["text_offsets.npy"]).copy()
    off[1], off[2] = off[2], off[1] - 1
    return {"text_offsets.npy": _npy(off)}


def _para_offsets_past(files):
    off = _load(files["para_offsets.npy"]).copy()
    off[-1] += 5
    return {"para_offsets.npy": _npy(off)}


def _posting_docs_out_of_range(files):
    docs = _load(files["posting_docs.npy"])
    return {"posting_docs.npy": _npy(np.full_like(docs, 1_000_000))}


def _paragraph_outside_text(files):
    p = _load(files["paragraphs.npy"]).copy()
    p[:, 1] += 10**9
    return {"paragraphs.npy": _npy(p)}


def _bad_directory(files):
    from dedup.featurestore import directory_bits

    m = len(_load(files["postings.npy"]))
    d = np.zeros((1 << directory_bits(m)) + 1, dtype=np.int32)
    d[1:] = 10**6  # every slot past the postings
    d[-1] = m
    return {"directory.npy": _npy(d)}


def _bucket_bounds_past(files):
    b = _load(files["bucket_bounds.npy"]).copy()
    b[100:] = 10**12
    return {"bucket_bounds.npy": _npy(b)}


def _drop_table_row(files):
    return {"docs.parquet": _parquet(_table(files)[1:])}


def _table_schema(files):
    return {"docs.parquet": _parquet(_table(files).with_columns(pl.col("chars").cast(pl.Utf8)))}


def _table_column_gone(files):
    return {"docs.parquet": _parquet(_table(files).drop("n_shingles"))}


def _chars_huge(files):
    return {"docs.parquet": _parquet(_table(files).with_columns(pl.lit(10**12).alias("chars")))}


def _body_start_huge(files):
    return {"docs.parquet": _parquet(_table(files).with_columns(pl.col("chars").alias("body_start") + 1))}


def _not_utf8(files):
    text = bytearray(files["text.bin"])
    text[0:2] = b"\xff\xfe"
    return {"text.bin": bytes(text)}


DAMAGES: dict[str, tuple[Damage, str]] = {
    "postings dtype": (lambda f: {"postings.npy": _retype(f["postings.npy"], "<i8")}, "<i8"),
    "big-endian": (lambda f: {"postings.npy": _retype(f["postings.npy"], ">u8")}, ">u8"),
    "fortran order": (
        lambda f: {"signatures.npy": _header(f["signatures.npy"], "<u4", _load(f["signatures.npy"]).shape, True)},
        "fortran",
    ),
    "object dtype (pickle)": (lambda f: {"postings.npy": _header(f["postings.npy"], "|O", (3,))}, "postings.npy"),
    "huge claimed shape": (lambda f: {"postings.npy": _header(f["postings.npy"], "<u8", (10**12,))}, "header says"),
    "truncated array": (lambda f: {"postings.npy": f["postings.npy"][:-8]}, "header says"),
    "grown array": (lambda f: {"posting_docs.npy": f["posting_docs.npy"] + b"\0" * 4}, "header says"),
    "garbage array": (lambda f: {"para_offsets.npy": b"\x93NUMPY garbage"}, "para_offsets.npy"),
    "posting_docs shorter": (lambda f: {"posting_docs.npy": _npy(_load(f["posting_docs.npy"])[:-1])}, "posting_docs"),
    "signatures wrong width": (lambda f: {"signatures.npy": _npy(_load(f["signatures.npy"])[:, :64])}, "signatures"),
    "para_offsets wrong length": (lambda f: {"para_offsets.npy": _npy(_load(f["para_offsets.npy"])[:-1])}, "para_off"),
    "paragraphs one column": (lambda f: {"paragraphs.npy": _npy(_load(f["paragraphs.npy"])[:, :1])}, "paragraphs"),
    "text offsets past text.bin": (_offsets_past_end, "text_offsets.npy"),
    "text offsets going back": (_offsets_back, "text_offsets.npy"),
    "para offsets past paragraphs": (_para_offsets_past, "para_offsets.npy"),
    "bucket bounds past postings": (_bucket_bounds_past, "bucket_bounds.npy"),
    "postings' articles out of range": (_posting_docs_out_of_range, "outside the shard"),
    "paragraph outside its text": (_paragraph_outside_text, "outside its text"),
    "directory past postings": (_bad_directory, "directory.npy"),
    "filter dtype": (lambda f: {"filter.npy": _npy(np.zeros(1024, dtype=np.int64))}, "filter.npy"),
    "table row missing": (_drop_table_row, "rows for"),
    "table column type": (_table_schema, "columns and types"),
    "table column missing": (_table_column_gone, "columns and types"),
    "table garbage": (lambda f: {"docs.parquet": b"PAR1 not a table PAR1"}, "docs.parquet"),
    "text not UTF-8": (_not_utf8, "not UTF-8"),
    "article longer than its text": (_chars_huge, "do not fit its text"),
    "body start past the text": (_body_start_huge, "do not fit its text"),
    "required file missing": (lambda f: {"signatures.npy": None}, "signatures.npy"),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A local index of the four seeds, in one shard."""
    root = tmp_path_factory.mktemp("template")
    ix = open_index(str(root / "index"), archive.store_params(OPTIONS), create=True)
    archive.add(ix, [_seed_folder(root)], OPTIONS)
    assert len(ix.shard_names) == 1
    return root / "index"


def _local_copy(template: Path, tmp: Path) -> tuple[str, str, Path]:
    loc = tmp / f"index-{uuid.uuid4().hex[:6]}"
    shutil.copytree(template, loc)
    (name,) = json.loads((loc / "index.json").read_text())["shards"]
    return str(loc), name, loc / "shards" / name


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _apply_local(folder: Path, changes: dict[str, bytes | None]) -> None:
    for fname, data in changes.items():
        if data is None:
            (folder / fname).unlink()
        else:
            (folder / fname).write_bytes(data)


class _RedisIndex:
    """A Redis index of the four seeds (one shard) and what a Redis writer can do to it with plain commands."""

    def __init__(self, url: str, tmp: Path) -> None:
        import redis

        self.name = f"t{uuid.uuid4().hex[:12]}"
        self.loc = f"{url}#{self.name}"
        with _cache(tmp / "writer-cache"):
            ix = open_index(self.loc, archive.store_params(OPTIONS), create=True)
            archive.add(ix, [_seed_folder(tmp)], OPTIONS)
        self.r = redis.Redis.from_url(url)
        self.shard = self.manifest()["shards"][0]
        self.key = f"dedup:{{{self.name}/{self.shard}}}:files"

    def manifest(self) -> dict:
        return json.loads(self.r.get(f"dedup:{{{self.name}}}:manifest"))

    def set_manifest(self, body: dict | bytes) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        gen = int(self.r.get(f"dedup:{{{self.name}}}:gen")) + 1
        if isinstance(body, dict):
            body["gen"] = gen
            raw = json.dumps(body).encode()
        self.r.set(f"dedup:{{{self.name}}}:manifest", raw)
        self.r.set(f"dedup:{{{self.name}}}:gen", gen)

    def files(self) -> dict[str, bytes]:
        out = {}
        for fname, (_, _, parts) in self.manifest()["files"][self.shard].items():
            out[fname] = b"".join(self.r.hget(self.key, f"{fname}:{p}") for p in range(parts))
        return out

    def put(self, changes: dict[str, bytes | None]) -> None:
        """Replace files as a writer who knows the format would: chunks, sizes, parts and digests that agree."""
        body = self.manifest()
        entry = body["files"][self.shard]
        for fname, data in changes.items():
            if data is None:
                entry.pop(fname, None)
                continue
            parts = max(1, -(-len(data) // CHUNK))
            for p in range(parts):
                self.r.hset(self.key, f"{fname}:{p}", data[p * CHUNK : (p + 1) * CHUNK])
            entry[fname] = [len(data), xxhash.xxh3_64_hexdigest(data), parts]
        self.set_manifest(body)

    def drop(self) -> None:
        for k in self.r.scan_iter(match=f"dedup:{{{self.name}*"):
            self.r.delete(k)


@pytest.fixture
def redis_index(redis_url, tmp_path):
    ix = _RedisIndex(redis_url, tmp_path)
    yield ix
    ix.drop()


@pytest.mark.parametrize("case", list(DAMAGES))
def test_damaged_shard_is_one_line_local(template, tmp_path, case):
    damage, message = DAMAGES[case]
    loc, name, folder = _local_copy(template, tmp_path)
    _use(loc)  # whole, it reads
    _apply_local(folder, damage(_files(folder)))
    _fails(loc, name, message)


# Damage found where the data is read (what is large is not read whole to check it): the shard is cached.
FOUND_ON_READ = {"postings' articles out of range", "paragraph outside its text", "directory past postings"}
FOUND_ON_READ |= {"text not UTF-8"}


@pytest.mark.parametrize("case", list(DAMAGES))
def test_damaged_shard_is_one_line_redis(redis_index, tmp_path, case):
    """The same damage by a Redis writer, sizes and digests made to agree: the worker's checks catch it, and
    a shard whose files do not check never enters the cache."""
    damage, _ = DAMAGES[case]
    redis_index.put(damage(redis_index.files()))
    with _cache(tmp_path / "cache") as cache:
        _fails(redis_index.loc, redis_index.shard)
        assert bool(list(cache.rglob(f"{redis_index.shard}/*"))) == (case in FOUND_ON_READ)


def test_symlink_fifo_and_escaping_shard_in_a_local_index(template, tmp_path):
    loc, name, folder = _local_copy(template, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(folder / "text.bin", outside / "text.bin")
    (folder / "text.bin").unlink()
    (folder / "text.bin").symlink_to(outside / "text.bin")
    _fails(loc, name, "text.bin is not a regular file")
    (folder / "text.bin").unlink()
    os.mkfifo(folder / "text.bin")  # opening a FIFO would block: never opened
    _fails(loc, name, "not a regular file")
    # A shard folder that is a link out of the index, and a name that climbs out of it.
    loc, name, folder = _local_copy(template, tmp_path)
    shutil.move(folder, outside / name)
    folder.symlink_to(outside / name)
    _fails(loc, name, "leads outside")
    manifest = Path(loc) / "index.json"
    body = json.loads(manifest.read_text())
    for bad in ["../../outside", ".hidden", "a/b", "", 7]:
        manifest.write_text(json.dumps({**body, "shards": [bad]}))
        _fails(loc, None, "invalid shard name")


@pytest.mark.parametrize(
    "removed, message",
    [([10**6], "outside the shard"), ([-1], "corrupt removed rows"), (["0"], "corrupt removed rows")],
)
def test_removed_rows_out_of_range_local(template, tmp_path, removed, message):
    loc, name, _ = _local_copy(template, tmp_path)
    manifest = Path(loc) / "index.json"
    body = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**body, "removed": {name: removed}}))
    _fails(loc, name, message)


def test_removed_rows_of_an_unlisted_shard_local(template, tmp_path):
    loc, _, _ = _local_copy(template, tmp_path)
    manifest = Path(loc) / "index.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "removed": {"other": [0]}}))
    _fails(loc, "other", "corrupt removed rows")


def test_scans_own_store_read_back_is_checked(tmp_path):
    """A feature store someone else wrote (``scan(store=...)``, read back with ``FeatureStore``)."""
    from dedup.pipeline import analyse_store

    store = tmp_path / "store"
    scan(SEEDS, OPTIONS, store=store)
    fs = FeatureStore(store)
    assert len(fs) == 5
    (name,) = fs.shard_names
    folder = store / "shards" / name
    (folder / "postings.npy").write_bytes(_header((folder / "postings.npy").read_bytes(), "<u8", (10**12,)))
    with pytest.raises(StoreError) as info:
        analyse_store(FeatureStore(store), OPTIONS)
    assert str(info.value).startswith(f"{store}: shard {name}: postings.npy: ")
    assert "its header says" in str(info.value)
    manifest = store / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "shards": ["../../etc"]}))
    with pytest.raises(StoreError, match="invalid shard name"):
        FeatureStore(store)


# ------------------------------------------------------------------------------------------ the reproduction


def test_reproduction_a_file_named_out_of_the_cache_is_never_written(redis_index, tmp_path):
    """Issue 18's reproduction, with the CLI: a file ``../../../../../<somewhere>/PWNED.sh`` added to the
    shard's manifest entry (size and digest right) and its payload in the shard's hash; the next query on a
    worker with an empty cache fails with one line and writes nothing outside the cache."""
    target = tmp_path / "x" / "PWNED.sh"
    target.parent.mkdir()
    payload = b"#!/bin/sh\necho pwned\n"
    fname = "../" * 40 + str(target).lstrip("/")
    body = redis_index.manifest()
    body["files"][redis_index.shard][fname] = [len(payload), xxhash.xxh3_64_hexdigest(payload), 1]
    redis_index.r.hset(redis_index.key, f"{fname}:0", payload)
    redis_index.set_manifest(body)
    cache = tmp_path / "fresh-cache"
    proc = _cli("query", SEEDS / WRAPPER, "--index", redis_index.loc, env={"DEDUP_CACHE_DIR": str(cache)})
    _one_line_error(proc, redis_index.loc, f"shard {redis_index.shard}", "unknown file")
    assert not target.exists() and not list(tmp_path.rglob("PWNED*"))
    # nothing of the shard was fetched either (the tokeniser's own character table may be cached beside it)
    assert not [p for p in cache.rglob("*.npy") if "tables" not in p.relative_to(cache).parts]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda b, s: b["files"][s]["postings.npy"].__setitem__(2, 10**9), "parts"),  # a billion chunks
        (lambda b, s: b["files"][s]["text.bin"].__setitem__(0, 1 << 40), "text.bin"),  # a terabyte
        (lambda b, s: b["files"][s]["postings.npy"].__setitem__(0, 1 << 40), "does not fit"),
        (lambda b, s: b["files"][s]["postings.npy"].__setitem__(0, -1), "does not fit"),
        (lambda b, s: b["files"][s]["postings.npy"].__setitem__(1, "../x"), "corrupt entry"),
        (lambda b, s: b["files"][s].pop("text.bin"), "lists no text.bin"),
        (lambda b, s: b["counts"].__setitem__(s, [10**9, 0]), ""),
        (lambda b, s: b["counts"].__setitem__(s, [1, 2, 3]), "corrupt counts"),
        (lambda b, s: b["removed"].__setitem__(s, [10**6]), "outside the shard"),
        (lambda b, s: b.__setitem__("shards", ["../../../tmp"]), "invalid shard name"),
        (lambda b, s: b.__setitem__("gen", "1; rm -rf /"), "corrupt index manifest"),
    ],
)
def test_hostile_manifest_entries_are_one_line(redis_index, tmp_path, edit, message):
    body = redis_index.manifest()
    edit(body, redis_index.shard)
    gen = body["gen"]
    redis_index.set_manifest(body)
    if gen != body["gen"]:  # the edit was of the generation: store it as edited
        redis_index.r.set(f"dedup:{{{redis_index.name}}}:manifest", json.dumps({**body, "gen": gen}))
    with _cache(tmp_path / "cache") as cache:
        _fails(redis_index.loc, None, message)
    _only_the_format(cache)


def _only_the_format(cache: Path) -> None:
    """Everything in a cache is inside it, and is a shard folder or a file of the format."""
    for p in cache.rglob("*"):
        assert p.resolve().is_relative_to(cache.resolve())
        assert p.is_dir() or p.name in layout.FILES, p


def test_huge_values_are_never_read_whole(redis_index, tmp_path):
    """A manifest, generation or meta field of many MB is refused after reading a bounded prefix."""
    from dedup.index.redis import MAX_MANIFEST

    r, tag = redis_index.r, f"dedup:{{{redis_index.name}}}:"
    with _cache(tmp_path / "c1"):
        r.setrange(tag + "manifest", MAX_MANIFEST + 10, b"x")
        _fails(redis_index.loc, None, "more than", mib=4 * (MAX_MANIFEST >> 20))  # the reply is copied
        r.setrange(tag + "gen", 10 << 20, b"1")
        _fails(redis_index.loc, None, "generation")
    r.hset(tag + "meta", "params", "x" * (2 << 20))
    with _cache(tmp_path / "c2"):
        _fails(redis_index.loc, None, "metadata", mib=2)


def test_chunk_of_another_length_than_the_manifest_says(redis_index, tmp_path):
    """A chunk longer than its file's size allows is refused on its length (HSTRLEN), before it is read."""
    redis_index.r.hset(redis_index.key, "postings.npy:0", b"\0" * (40 << 20))
    with _cache(tmp_path / "cache"):
        _fails(redis_index.loc, redis_index.shard, "parts its size says")  # a query alone peaks near 55 MiB


# ------------------------------------------------------------------------------------------ fuzzing


_BIG = 1 << 24


def _within(drawn: int, n: int) -> int:
    """A drawn 1.._BIG folded into 1..n: the strategy never depends on the files' sizes, which may differ
    between two builds of the same index (hypothesis refuses data generation that depends on outside state)."""
    return 1 + (drawn - 1) % n


def _structural(files: dict[str, bytes], data) -> dict[str, bytes | None]:
    """One damage a reader must catch: a file truncated or grown, an array's header claiming another dtype
    or shape (up to huge), an offsets array with an entry out of place."""
    arrays = sorted(f for f in files if f.endswith(".npy"))
    kind = data.draw(st.sampled_from(["truncate", "grow", "header", "offsets", "table"]), label="kind")
    if kind == "truncate":
        fname = data.draw(st.sampled_from(sorted(files)), label="file")
        if fname == "text.bin":
            fname = "text_offsets.npy"
        cut = _within(data.draw(st.integers(1, _BIG), label="cut"), len(files[fname]))
        return {fname: files[fname][:-cut]}
    if kind == "grow":
        fname = data.draw(st.sampled_from(arrays), label="file")
        return {fname: files[fname] + data.draw(st.binary(min_size=1, max_size=64), label="extra")}
    if kind == "header":
        fname = data.draw(st.sampled_from(arrays), label="file")
        arr = _load(files[fname])
        descr = data.draw(st.sampled_from(["<i8", "<u8", "<u4", "<i4", "|u1", "<f8", ">u8", "<c16", "|b1"]))
        shape = data.draw(
            st.lists(st.one_of(st.integers(0, 10), st.integers(0, 10**15)), min_size=0, max_size=3).map(tuple)
        )
        if descr == arr.dtype.str and shape == arr.shape:
            shape = (*arr.shape, 1)
        return {fname: _header(files[fname], descr, shape)}
    if kind == "offsets":
        fname = data.draw(st.sampled_from(["text_offsets.npy", "para_offsets.npy", "bucket_bounds.npy"]))
        arr = _load(files[fname]).copy()
        i = _within(data.draw(st.integers(1, _BIG), label="at"), len(arr)) - 1
        to = data.draw(st.one_of(st.integers(-(2**62), -1), st.integers(1, 2**61)), label="to")
        arr[i] = to if to < 0 else int(arr[-1]) + to
        return {fname: _npy(arr)}
    table = _table(files)
    cut = _within(data.draw(st.integers(1, _BIG), label="rows"), len(table))
    return {"docs.parquet": _parquet(table[cut:])}


@given(data=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_shard_files_local(template, tmp_path, data):
    loc, name, folder = _local_copy(template, tmp_path)
    _apply_local(folder, _structural(_files(folder), data))
    _fails(loc, name)
    shutil.rmtree(loc)


@given(data=st.data())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_shard_files_redis(redis_url, tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("fuzz")
    ix = _RedisIndex(redis_url, tmp)
    try:
        ix.put(_structural(ix.files(), data))
        with _cache(tmp / "cache"):
            _fails(ix.loc, ix.shard)
    finally:
        ix.drop()


_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["../../../../tmp/x", "..", "/etc/passwd", "a/b", ".hidden", "docs.parquet/../x"]),
    st.lists(st.integers(-5, 2**50), max_size=4),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)


@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_manifest_redis(redis_url, tmp_path_factory, data):
    """Any field of the manifest replaced by junk: a one-line error (or, when the junk happens to be valid,
    an answer), within a second, and never a file outside the cache."""
    tmp = tmp_path_factory.mktemp("fuzzm")
    ix = _RedisIndex(redis_url, tmp)
    try:
        body = ix.manifest()
        shard = ix.shard
        field = data.draw(
            st.sampled_from(["shard", "file name", "size", "digest", "parts", "count", "removed", "gen", "entry"])
        )
        value = data.draw(_JUNK, label="value")
        fname = data.draw(st.sampled_from(sorted(body["files"][shard])), label="file")
        entry = body["files"][shard]
        if field == "shard":
            body["shards"] = [value]
        elif field == "file name":
            entry[str(value)] = entry.pop(fname)
        elif field in ("size", "digest", "parts"):
            entry[fname][("size", "digest", "parts").index(field)] = value
        elif field == "count":
            body["counts"][shard][data.draw(st.integers(0, 1))] = value
        elif field == "removed":
            body["removed"] = {shard: value}
        elif field == "entry":
            entry[fname] = value
        body_raw = json.dumps(body).encode()
        if field == "gen":
            body["gen"] = value
            body_raw = json.dumps(body).encode()
            ix.r.set(f"dedup:{{{ix.name}}}:manifest", body_raw)
            ix.r.incr(f"dedup:{{{ix.name}}}:gen")
        else:
            ix.set_manifest(body)
        cache = tmp / "cache"
        with _cache(cache):
            t = time.perf_counter()
            try:
                _use(ix.loc)
            except StoreError as e:
                assert "\n" not in str(e) and str(e).startswith(_shown(ix.loc)), str(e)
            assert time.perf_counter() - t < 1.0
        _only_the_format(cache)
    finally:
        ix.drop()


@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_manifest_local(template, tmp_path, data):
    """A local index.json with any field replaced by junk: a one-line error (or an answer, when the junk is
    valid), within a second."""
    loc, name, _ = _local_copy(template, tmp_path)
    manifest = Path(loc) / "index.json"
    body = json.loads(manifest.read_text())
    field = data.draw(st.sampled_from(["shards", "shard", "removed", "rows", "params", "param", "version", "format"]))
    value = data.draw(_JUNK, label="value")
    if field == "shard":
        body["shards"] = [value]
    elif field == "rows":
        body["removed"] = {name: value}
    elif field == "param":
        body["params"] = {**body["params"], "num_perm": value}
    else:
        body[field] = value
    manifest.write_text(json.dumps(body))
    t = time.perf_counter()
    try:
        _use(loc)
    except StoreError as e:
        assert "\n" not in str(e) and str(e).startswith(loc), str(e)
    assert time.perf_counter() - t < 1.0
    shutil.rmtree(loc)


# ------------------------------------------------------------------------------------------ authentication


def _no_password(text: str, password: str = PASSWORD) -> None:
    assert password not in text, text


def test_password_from_url_environment_or_file(auth_url, tmp_path):
    """``requirepass``: a password in the URL, in DEDUP_REDIS_PASSWORD or in DEDUP_REDIS_PASSWORD_FILE logs in;
    no password or a wrong one is one line; the password is never shown (errors, stats, meta.index)."""
    parts = urlsplit(auth_url)
    password = parts.password
    bare = auth_url.replace(f":{password}@", "")  # redis://host:port/0
    name = f"t{uuid.uuid4().hex[:12]}"
    seeds = [SEEDS / n for n in [ORIGINAL, *OTHERS]]
    env = {"DEDUP_CACHE_DIR": str(tmp_path / "cache")}
    # In the URL (a library user; on a command line ps would show it).
    proc = _cli("index", "add", *seeds, "--index", f"{auth_url}#{name}", "-q", env=env)
    assert proc.returncode == 0, proc.stderr
    _no_password(proc.stderr, password)
    ix = open_index(f"{auth_url}#{name}")
    assert ix.location == f"{bare}#{name}"
    stats = ix.stats()
    _no_password(json.dumps(stats), password)
    assert stats["articles"] == 4
    # From the environment and from a file.
    pw_file = tmp_path / "pw"
    pw_file.write_text(password + "\n")
    for extra in ({"DEDUP_REDIS_PASSWORD": password}, {"DEDUP_REDIS_PASSWORD_FILE": str(pw_file)}):
        proc = _cli("query", SEEDS / WRAPPER, "--index", f"{bare}#{name}", "--format", "json", env={**env, **extra})
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["meta"]["index"] == f"{bare}#{name}"
        assert [p["indexed"] for p in out["pairs"]] == [ORIGINAL]
        _no_password(proc.stdout + proc.stderr, password)
    # None, a wrong one, both variables, an unreadable file.
    proc = _cli("query", SEEDS / WRAPPER, "--index", f"{bare}#{name}", env=env)
    _one_line_error(proc, f"{bare}#{name}")
    wrong = f"{PASSWORD}-wrong"
    proc = _cli("query", SEEDS / WRAPPER, "--index", f"{bare}#{name}", env={**env, "DEDUP_REDIS_PASSWORD": wrong})
    assert wrong not in _one_line_error(proc, "refused the login")
    proc = _cli("index", "stats", "--index", auth_url.replace(password, wrong) + f"#{name}", env=env)
    assert wrong not in _one_line_error(proc, "refused the login")
    both = {"DEDUP_REDIS_PASSWORD": password, "DEDUP_REDIS_PASSWORD_FILE": str(pw_file)}
    _one_line_error(_cli("index", "stats", "--index", f"{bare}#{name}", env={**env, **both}), "not both")
    missing = {"DEDUP_REDIS_PASSWORD_FILE": str(tmp_path / "nope")}
    _one_line_error(_cli("index", "stats", "--index", f"{bare}#{name}", env={**env, **missing}), "cannot read")
    open_index(f"{auth_url}#{name}").drop()


# The ACL of a read-only worker (README, Security): the commands `dedup query` sends, on the index's keys.
READER_ACL = "on ~dedup:* resetchannels -@all +hlen +hstrlen +hmget +hget +getrange +exists +ping"
# ... and of a worker that adds: the writes, the lock (redis-py's Lua scripts) and the commit script.
WRITER_ACL = READER_ACL + " +hsetnx +hset +set +get +del +sadd +srem +smembers +pexpire +pttl"
WRITER_ACL += " +evalsha +eval +script|load"


def test_acl_read_only_worker_queries_but_cannot_write(auth_url, tmp_path):
    import redis

    parts = urlsplit(auth_url)
    admin = redis.Redis.from_url(auth_url)
    user = f"reader{uuid.uuid4().hex[:6]}"
    admin.execute_command("ACL", "SETUSER", user, "reset", *READER_ACL.split(), f">{PASSWORD}x")
    name = f"t{uuid.uuid4().hex[:12]}"
    bare = f"redis://{parts.hostname}:{parts.port}{parts.path}#{name}"
    try:
        env = {"DEDUP_CACHE_DIR": str(tmp_path / "w"), "DEDUP_REDIS_PASSWORD": parts.password}
        assert _cli("index", "add", *[SEEDS / n for n in [ORIGINAL, *OTHERS]], "--index", bare, env=env).returncode == 0
        reader = {"DEDUP_CACHE_DIR": str(tmp_path / "r"), "DEDUP_REDIS_USERNAME": user}
        reader["DEDUP_REDIS_PASSWORD"] = f"{PASSWORD}x"
        proc = _cli("query", SEEDS / WRAPPER, "--index", bare, "--format", "json", env=reader)
        assert proc.returncode == 0, proc.stderr
        assert [p["indexed"] for p in json.loads(proc.stdout)["pairs"]] == [ORIGINAL]
        proc = _cli("index", "add", SEEDS / WRAPPER, "--index", bare, env=reader)
        assert proc.returncode in (2, 3) and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "NOPERM" in proc.stderr or "permission" in proc.stderr, proc.stderr
        _no_password(proc.stderr, parts.password)
        _no_password(proc.stderr, f"{PASSWORD}x")
        # A writer with the documented ACL adds, removes and compacts.
        admin.execute_command("ACL", "SETUSER", f"w{user}", "reset", *WRITER_ACL.split(), f">{PASSWORD}y")
        writer = {**reader, "DEDUP_REDIS_USERNAME": f"w{user}", "DEDUP_REDIS_PASSWORD": f"{PASSWORD}y"}
        for args in (["index", "add", SEEDS / WRAPPER], ["index", "remove", WRAPPER], ["index", "compact"]):
            proc = _cli(*args, "--index", bare, env=writer)
            assert proc.returncode == 0, (args, proc.stderr)
        assert json.loads(_cli("index", "stats", "--index", bare, env=writer).stdout)["articles"] == 4
    finally:
        admin.execute_command("ACL", "DELUSER", user, f"w{user}")
        with contextlib.suppress(StoreError):
            open_index(f"{auth_url}#{name}").drop()


def test_tls_rediss(tmp_path):
    if not redis_servers.tls_supported():
        pytest.skip("this redis-server has no TLS (or no openssl)")
    files = redis_servers.tls_files(tmp_path)
    tls = ["--tls-cert-file", files["cert"], "--tls-key-file", files["key"], "--tls-ca-cert-file", files["ca"]]
    tls += ["--tls-auth-clients", "no", "--requirepass", PASSWORD]
    server = redis_servers.start(tmp_path, *map(str, tls), tls=True)
    try:
        loc = f"{server.url}?ssl_ca_certs={files['ca']}#tls"
        env = {"DEDUP_CACHE_DIR": str(tmp_path / "cache"), "DEDUP_REDIS_PASSWORD": PASSWORD}
        proc = _cli("index", "add", *[SEEDS / n for n in [ORIGINAL, *OTHERS]], "--index", loc, "-q", env=env)
        assert proc.returncode == 0, proc.stderr
        proc = _cli("query", SEEDS / WRAPPER, "--index", loc, "--format", "json", env=env)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert [p["indexed"] for p in out["pairs"]] == [ORIGINAL] and out["meta"]["index"] == loc
        # A certificate the worker's CA did not sign is refused (one line), as is plain text on the TLS port.
        other = redis_servers.tls_files(tmp_path, "other")
        proc = _cli("index", "stats", "--index", f"{server.url}?ssl_ca_certs={other['ca']}#tls", env=env)
        _one_line_error(proc, "certificate verify failed")
        _one_line_error(_cli("index", "stats", "--index", server.url.replace("rediss", "redis") + "#tls", env=env))
    finally:
        server.stop()
