"""The per-article table by article partition: the driver keeps a few numbers an article, tasks read rows.

The local scan reads every shard's ``docs.parquet`` into one frame (``phase2.DocTable``: ids, dates, paths,
titles, sites and lengths of every article, and Python lists of the ids and dates), which phase 2's
batches take their rows from. On a cluster that table is what grows with the corpus in the one process that
drives it; but it is already written by article partition, by the tasks that wrote the shards. So here:

- the numbers phase 2 computes with (distinct shingles, content hash, whether there is text, the cut, the
  length, the site as a code) are read by tasks, one per range of shards (``_columns``), and kept by the
  driver as numpy vectors (``StoredTable``: 41 bytes an article); the site codes are the dense ranks of the
  distinct sites, as ``DocTable.site_codes`` gives them, from each task's distinct sites;
- a batch's rows (id, date, body start, length: ``phase2.Rows``) are read by the task that takes the batch,
  from the shards its articles are in (``StoredRows``: what is sent is the articles and their shards' paths);
- the ids and dates that rank a cluster's members are read by the task that ranks its range of clusters
  (``phase2._directions``): the driver reads none;
- the result is written from a ``StoredFrame``: every article's id (which pairs, clusters and passages name, and
  the pairs' order) is in files the table's tasks wrote (``write_ids``), read a few pages at a time for the
  articles a batch names (``StoredIds``); the lengths and paragraph offsets are vectors mapped from files of the
  table's folder (page cache, not the driver's heap); the documents' rows are read range by range from the
  shards as each batch of the output is written, never all at once; the files the meta counts, shard by shard
  (``StoredFrame.distinct``).

The values are the ones ``DocTable`` gives, so the result is the local scan's, byte for byte.
"""

from __future__ import annotations

import mmap
import os
import shutil
import tempfile
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..arrays import run_index
from ..featurestore import DOC_SCHEMA, FeatureStore, StoreError
from ..featurestore.validate import Invalid, mapped_offsets, npy_header

_NUMBERS = ["n_shingles", "content_hash", "has_text", "cut", "chars", "site"]
_ROWS = ["id", "date", "body_start", "chars"]
# Rows of the shards a process read last, kept up to this many articles (~0.1-0.15 KB each): a batch of pairs takes
# its articles from anywhere in the corpus, so a worker's tasks touch every shard (with 32 shards kept, a 200k scan's
# align and verification's reads took 1.5x and 3x the task seconds of the table sent by the driver, both loaded).
_CACHED_ROWS = 1_000_000


def _read(path: str, columns: list[str] | None) -> Any:
    """Columns of one shard's ``docs.parquet`` (a polars frame); a damaged file is one ``StoreError`` line."""
    import polars as pl

    try:
        return pl.read_parquet(os.path.join(path, "docs.parquet"), columns=columns)
    except Exception as e:  # noqa: BLE001 - polars raises several kinds for a damaged file
        raise StoreError(f"{path}: cannot read docs.parquet ({' '.join(str(e).split())[:200]})") from None


@dataclass(frozen=True)
class _Columns:
    """One task's share of the table: its shards' numbers, their distinct sites and each article's site among
    them (0: none known)."""

    sizes: np.ndarray
    content: np.ndarray
    has_text: np.ndarray
    cut: np.ndarray
    chars: np.ndarray
    sites: list[str]
    site: np.ndarray
    paragraphs: np.ndarray  # each article's paragraph count


def ids_path(folder: str, k: int) -> str:
    """Where the k-th table task writes its articles' ids."""
    return os.path.join(folder, f"ids-{k:06d}.bin")


def write_ids(path: str, columns: Sequence[Any]) -> None:
    """The ids of ``columns`` (polars string Series, one after the other) as one file: their count n (int64), n + 1
    byte offsets (int64, little-endian), then their UTF-8 bytes; written whole under a temporary name, then renamed,
    so a reader never sees half of one."""
    lengths = [c.str.len_bytes().to_numpy().astype(np.int64) for c in columns]
    starts = np.zeros(sum(map(len, lengths)) + 1, dtype="<i8")
    if len(starts) > 1:
        np.cumsum(np.concatenate(lengths), out=starts[1:])
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(np.int64(len(starts) - 1).astype("<i8").tobytes())
        f.write(starts.tobytes())
        for c in columns:
            f.write("".join(c.to_list()).encode("utf-8"))
    os.replace(tmp, path)


def read_runs(fd: int, begin: np.ndarray, end: np.ndarray, name: str, gap: int = 4096) -> tuple[bytes, np.ndarray]:
    """Byte ranges ``begin[i]:end[i]`` of the open file ``fd`` (``begin`` ascending, ``end`` too), read with one
    ``pread`` a run of ranges less than ``gap`` bytes apart (a page: ranges on one page are one read), never the
    whole file for a few ranges. Returns the runs' bytes one after the other and where each range starts in them;
    a file shorter than a range is one ``StoreError`` naming it (``name``)."""
    begin, end = np.asarray(begin, dtype=np.int64), np.asarray(end, dtype=np.int64)
    if not len(begin):
        return b"", np.zeros(0, dtype=np.int64)
    reach = np.maximum.accumulate(end)
    first = np.flatnonzero(np.r_[True, begin[1:] > reach[:-1] + gap])
    last = np.r_[first[1:], len(begin)] - 1
    lo, hi = begin[first], reach[last]
    chunks = []
    for a, b in zip(lo.tolist(), hi.tolist()):
        data = os.pread(fd, b - a, a)
        if len(data) != b - a:
            raise StoreError(f"{name}: shorter than the table said ({a + len(data)} bytes, not {b})")
        chunks.append(data)
    at = np.zeros(len(first), dtype=np.int64)
    np.cumsum(hi[:-1] - lo[:-1], out=at[1:])
    run = np.repeat(np.arange(len(first)), last - first + 1)
    return b"".join(chunks), at[run] + begin - lo[run]


class StoredIds:
    """Every article's id, in the files the table's tasks wrote (``write_ids``: one a task, its articles in order),
    read a few pages at a time: ``take(docs)`` sorts the articles asked for and reads, file by file, only the runs of
    offsets and bytes they fall in (``read_runs``). The driver holds a file's name and first article; what it reads
    for a batch is let go with the batch."""

    def __init__(self, files: list[str], counts: Sequence[int], owner: Any = None) -> None:
        self.files = files
        self.firsts = np.zeros(len(files) + 1, dtype=np.int64)
        np.cumsum(np.asarray(counts, dtype=np.int64), out=self.firsts[1:])
        self.owner = owner  # what keeps the files' folder

    def __len__(self) -> int:
        return int(self.firsts[-1])

    def take(self, docs: np.ndarray) -> list[str]:
        """The ids of articles ``docs`` (any order, repeats allowed), as a list."""
        docs = np.asarray(docs, dtype=np.int64)
        if not len(docs):
            return []
        unique, inverse = np.unique(docs, return_inverse=True)
        if unique[0] < 0 or unique[-1] >= len(self):
            raise IndexError(f"articles {int(unique[0])}-{int(unique[-1])} of {len(self)}")
        found: list[str] = []
        owner = np.searchsorted(self.firsts, unique, side="right") - 1
        bounds = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1], True])
        for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            k = int(owner[s])
            found.extend(self._read(k, unique[s:e] - self.firsts[k]))
        return [found[i] for i in inverse.reshape(-1).tolist()]

    def _read(self, k: int, rows: np.ndarray) -> list[str]:
        """The ids of rows ``rows`` (ascending) of file k."""
        path, n = self.files[k], int(self.firsts[k + 1] - self.firsts[k])
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as e:
            raise StoreError(f"{path}: cannot read the ids ({e.strerror})") from None
        try:
            buf, at = read_runs(fd, 8 + 8 * rows, 8 + 8 * rows + 16, path)
            raw = np.frombuffer(buf, dtype=np.uint8)[run_index(at, np.full(len(at), 16, dtype=np.int64))]
            starts = raw.view("<i8").reshape(-1, 2).astype(np.int64)
            if (starts[:, 0] > starts[:, 1]).any() or (starts < 0).any():
                raise StoreError(f"{path}: the ids' offsets are not in order")
            base = 8 + 8 * (n + 1)
            data, where = read_runs(fd, base + starts[:, 0], base + starts[:, 1], path)
        finally:
            os.close(fd)
        length = (starts[:, 1] - starts[:, 0]).tolist()
        try:
            return [data[a : a + m].decode("utf-8") for a, m in zip(where.tolist(), length)]
        except UnicodeDecodeError:
            raise StoreError(f"{path}: an id is not UTF-8") from None


def mapped_vector(path: str, values_parts: Sequence[np.ndarray], dtype: Any, cumulative: bool = False) -> np.ndarray:
    """``values_parts`` written one after the other to ``path`` as one raw vector of ``dtype`` (``cumulative``: their
    running sum, with a 0 first, as CSR offsets) and mapped back read-only: a plain ndarray on the file's pages,
    which the kernel may drop and read again (page cache, not the process's heap)."""
    dtype = np.dtype(dtype)
    total = 0
    with open(path, "wb") as f:
        if cumulative:
            f.write(np.zeros(1, dtype=dtype).tobytes())
        for part in values_parts:
            part = np.asarray(part).astype(dtype, copy=False)
            if cumulative:
                part = np.cumsum(part, dtype=dtype) + total
                total = int(part[-1]) if len(part) else total
            f.write(part.tobytes())
        size = f.tell()
    if size == 0:
        return np.zeros(0, dtype=dtype)
    with open(path, "rb") as f:
        m = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ)
    return np.frombuffer(m, dtype=dtype)


def _paragraph_offsets(path: str, n: int) -> np.ndarray:
    """A shard's ``para_offsets`` (mapped), its header and values checked (``validate.mapped_offsets``); a bad one is
    one ``StoreError`` line naming the shard."""
    try:
        return mapped_offsets(Path(path), "para_offsets", n)
    except Invalid as e:
        raise StoreError(f"{path}: {e}") from None


def _columns(folder: str | None, chunk: tuple[int, list[str]]) -> _Columns:
    """The numbers of the articles of the shards ``paths`` (in order; ``chunk`` is (k, paths), the k-th task's), as
    ``DocTable`` converts them, and their paragraph counts; their ids written to ``folder`` (``write_ids``) for the
    writer to read by range, where the driver would hold them all."""
    import polars as pl

    k, paths = chunk
    frames = [_read(p, [*_NUMBERS, "id"]) for p in paths]
    if folder is not None:
        write_ids(ids_path(folder, k), [f["id"] for f in frames])
    frames = [f.drop("id") for f in frames]
    counts = [np.diff(_paragraph_offsets(p, len(f))).astype(np.int32) for p, f in zip(paths, frames)]
    docs = pl.concat(frames) if frames else pl.DataFrame({c: [] for c in _NUMBERS})
    site = docs["site"]
    sites = sorted(site.drop_nulls().unique().to_list())
    codes = np.zeros(len(docs), dtype=np.int64)
    known = ~site.is_null().to_numpy()
    if known.any():
        codes[known] = np.searchsorted(np.asarray(sites, dtype=object), np.asarray(site.drop_nulls().to_list())) + 1
    return _Columns(
        sizes=docs["n_shingles"].to_numpy().astype(np.int64),
        content=docs["content_hash"].to_numpy().astype(np.uint64),
        has_text=docs["has_text"].to_numpy().astype(bool),
        cut=docs["cut"].to_numpy().astype(np.int64),
        chars=docs["chars"].to_numpy().astype(np.int64),
        sites=sites,
        site=codes,
        paragraphs=np.concatenate(counts) if counts else np.zeros(0, dtype=np.int32),
    )


class StoredTable:
    """The per-article table of a store as a cluster's driver keeps it (module docstring): numpy vectors of the
    numbers phase 2 computes with, rows read by article partition where they are needed. ``phase2`` takes it
    where it takes a ``DocTable``."""

    # Rows of a batch when the result is written out (``result.BATCH_ROWS`` for the local scan): the driver's heap
    # while it writes grows with the batch (~2 KB a row of JSON at its peak), and its memory limits the corpus.
    batch_rows = 10_000

    def __init__(self, store: FeatureStore, parts: Sequence[_Columns], folder: str | None = None) -> None:
        self.store = store
        self.bases = np.asarray(store.bases, dtype=np.int64)
        self.paths = [str(store.shard(name).path) for name in store.shard_names]
        # The folder of the tasks' ids files and the mapped vectors; it goes when nothing reads from it any more.
        self.folder = _Folder(folder if folder is not None else tempfile.mkdtemp(prefix=".table-", dir=store.root))
        self.ids = StoredIds([ids_path(self.folder.path, k) for k in range(len(parts))], [len(p.chars) for p in parts])
        self.ids.owner = self.folder

        def joined(key: str, dtype: Any) -> np.ndarray:
            arrays = [getattr(p, key) for p in parts]
            return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype=dtype)

        self.sizes = joined("sizes", np.int64)
        self.content = joined("content", np.uint64)
        self.has_text = joined("has_text", bool)
        self.cut = joined("cut", np.int64)
        # The lengths and the global CSR offsets of every article's paragraphs (``FeatureStore.para_offsets``, from
        # the tasks' counts), mapped from the folder's files: the writer reads them range by range, and align's and
        # label's batches a few articles at a time; the pages go back to the page cache, not the driver's heap.
        where = self.folder.path
        self.chars = mapped_vector(os.path.join(where, "chars.i8"), [p.chars for p in parts], np.int64)
        offsets = [p.paragraphs for p in parts]
        self.para_offsets = mapped_vector(os.path.join(where, "para_offsets.i8"), offsets, np.int64, cumulative=True)
        if not len(self.para_offsets):
            self.para_offsets = np.zeros(1, dtype=np.int64)
        # Dense ranks of the distinct sites (as ``DocTable.site_codes``): each part's codes mapped to the union's.
        every = sorted({s for p in parts for s in p.sites})
        at = np.asarray(every, dtype=object)
        self._site = np.zeros(len(self.chars), dtype=np.int64)
        start = 0
        for p in parts:
            if p.sites:
                ranks = np.concatenate([[0], np.searchsorted(at, np.asarray(p.sites, dtype=object)) + 1])
                self._site[start : start + len(p.site)] = ranks[p.site]
            start += len(p.site)

    def __len__(self) -> int:
        return len(self.chars)

    def site_codes(self) -> np.ndarray:
        """An integer per distinct site (0: not known), as ``DocTable.site_codes``."""
        return self._site

    @property
    def frame(self) -> StoredFrame:
        """Every article's row as the result reads it: range by range from the shards (``StoredFrame``)."""
        return StoredFrame(self.paths, self.bases, self.chars, self.ids)

    def matched(self) -> None:
        """Verification is done: the numbers only it computes with (distinct shingles, content hash, whether there
        is text, the cut: 25 bytes an article) are let go; align, label and the writer need the lengths and sites."""
        empty = np.zeros(0, dtype=np.int64)
        self.sizes, self.content, self.has_text, self.cut = empty, empty.astype(np.uint64), empty.astype(bool), empty

    def result_parts(self) -> ResultParts:
        """Where the result's parts go: a new folder of the store for what tasks write (``ResultParts``)."""
        return ResultParts(tempfile.mkdtemp(prefix=".result-", dir=self.store.root))

    def stored_rows(self, docs: np.ndarray) -> StoredRows:
        """The rows of the articles ``docs``, to be read where they are used (a batch's task)."""
        docs = np.unique(np.asarray(docs, dtype=np.int64))
        shard = np.searchsorted(self.bases, docs, side="right") - 1
        used = np.unique(shard)
        return StoredRows(docs, [self.paths[k] for k in used.tolist()], self.bases[used])


class StoredFrame:
    """The per-article frame (``FeatureStore.docs``) as much of it as ``result.ScanResult`` reads, without holding
    it: the ids, read from the table tasks' files for the articles asked (``ids_of``); the lengths, from the
    table's mapped vector; a range of rows, or any other column, read from the shards when asked and let go. The
    values are the store's, so what the result writes is the local scan's, byte for byte."""

    def __init__(self, paths: list[str], bases: np.ndarray, chars: np.ndarray, ids: StoredIds | None = None) -> None:
        self.paths, self.bases, self.chars = paths, bases, chars
        self._ids: Any = None
        self.ids = ids  # every id, in the table tasks' files (``ids_of``)
        self._last: tuple[int, Any] | None = None  # the shard read last: consecutive ranges share one
        self._offsets: tuple[int, np.ndarray, int] | None = None  # its paragraph offsets (mapped), where rows start

    def __len__(self) -> int:
        return int(self.bases[-1])

    @property
    def height(self) -> int:
        return len(self)

    def _shard(self, k: int) -> Any:
        if self._last is None or self._last[0] != k:
            self._last = (k, _read(self.paths[k], None))
        return self._last[1]

    def _column(self, name: str) -> Any:
        import polars as pl

        if not self.paths:
            return pl.DataFrame(schema=DOC_SCHEMA)[name]
        return pl.concat([_read(p, [name])[name] for p in self.paths])

    def __getitem__(self, key: Any) -> Any:
        """A column by name (a polars Series), or the rows ``key`` (ascending article numbers) as a frame."""
        import polars as pl

        if isinstance(key, str):
            if key == "id":
                if self._ids is None:
                    self._ids = self._column("id")
                return self._ids
            if key == "chars":
                return pl.Series("chars", self.chars)
            return self._column(key)
        rows = np.asarray(key, dtype=np.int64)
        if not len(rows):
            return self.clear()
        shard = np.searchsorted(self.bases, rows, side="right") - 1
        parts = []
        for k in np.unique(shard).tolist():
            mine = rows[shard == k] - self.bases[k]
            parts.append(self._shard(k)[mine])
        return pl.concat(parts)

    def spans(self, lo: int, hi: int) -> np.ndarray:
        """The paragraph spans of articles ``lo:hi``, (m, 2) int64, read a shard's range at a time from its files
        (``paragraphs.npy`` at the rows its checked ``para_offsets`` give, its header checked) without checking the
        whole shard here: the task that wrote it did (``validate.verdict``). ``result.ScanResult.spans`` checks
        what is read against the scan's counts and the texts' lengths."""
        parts, at = [], lo
        k = int(np.searchsorted(self.bases, lo, side="right")) - 1
        while at < hi:
            base, end = int(self.bases[k]), min(hi, int(self.bases[k + 1]))
            parts.append(self._paragraph_rows(k, at - base, end - base))
            at, k = end, k + 1
        return np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)

    def _paragraph_rows(self, k: int, lo: int, hi: int) -> np.ndarray:
        """Spans of the paragraphs of articles ``lo:hi`` of shard ``k`` (rows of it)."""
        path = self.paths[k]
        if self._offsets is None or self._offsets[0] != k:
            n = int(self.bases[k + 1] - self.bases[k])
            off = _paragraph_offsets(path, n)
            try:
                where = Path(path) / "paragraphs.npy"
                dtype, shape, start = npy_header(where, os.stat(where).st_size)
            except (OSError, Invalid) as e:
                raise StoreError(f"{path}: {e}") from None
            if dtype.str != "<i8" or shape != (int(off[-1]), 2):
                raise StoreError(f"{path}: paragraphs.npy has shape {shape} ({dtype.str}), not ({int(off[-1])}, 2)")
            self._offsets = (k, off, start)
        _, off, start = self._offsets
        a, b = int(off[lo]), int(off[hi])
        fd = os.open(Path(path) / "paragraphs.npy", os.O_RDONLY)
        try:
            data = os.pread(fd, (b - a) * 16, start + a * 16)
        finally:
            os.close(fd)
        if len(data) != (b - a) * 16:
            raise StoreError(f"{path}: paragraphs.npy is shorter than it was")
        return np.frombuffer(data, dtype="<i8").reshape(-1, 2).astype(np.int64)

    def ids_of(self, docs: np.ndarray) -> Any:
        """The ids of articles ``docs`` (a polars Series), read from the table tasks' files a few pages at a time
        (``StoredIds``): the writer names articles batch by batch, from anywhere in the corpus, and the driver holds
        no id between batches. Without those files (a frame made by hand), the shards' id column, kept once read."""
        import polars as pl

        if self.ids is None:
            return self["id"].gather(np.asarray(docs, dtype=np.int64))
        return pl.Series("id", self.ids.take(docs), dtype=pl.Utf8)

    def lengths(self, lo: int, hi: int) -> np.ndarray:
        """The lengths (characters) of articles ``lo:hi``."""
        return np.asarray(self.chars[lo:hi], dtype=np.int64)

    def distinct(self, name: str) -> int:
        """How many distinct values column ``name`` holds (``Series.n_unique``: a null counts as one), shard by shard
        without the whole column: each shard's distinct values as 64-bit hashes (with their shard), and only the
        values whose hash turns up in more than one shard read again and compared as text, so the count is exact
        whatever the hashes do. A value is in one shard's rows unless its file was split into several."""
        import polars as pl

        hashes, owners, counted = [], [], 0
        for k, path in enumerate(self.paths):
            values = _read(path, [name])[name].unique()
            counted += len(values)
            hashes.append(values.hash(seed=0).to_numpy())
            owners.append(np.full(len(values), k, dtype=np.int32))
        if counted == 0:
            return 0
        h, o = np.concatenate(hashes), np.concatenate(owners)
        del hashes, owners
        order = np.lexsort((o, h))
        h, o = h[order], o[order]
        del order
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
        ends = np.r_[starts[1:], len(h)]
        shared = h[starts[o[starts] != o[ends - 1]]]  # hashes seen in two shards or more
        if not len(shared):
            return counted
        seen: set = set()
        again = 0
        for k in np.unique(o[np.isin(h, shared)]).tolist():
            values = _read(self.paths[k], [name])[name].unique()
            mine = values.filter(pl.Series(np.isin(values.hash(seed=0).to_numpy(), shared)))
            again += len(mine)
            seen.update(mine.to_list())
        return counted - again + len(seen)

    def clear(self) -> Any:
        """No rows, the store's columns."""
        import polars as pl

        return self._shard(0).clear() if self.paths else pl.DataFrame(schema=DOC_SCHEMA)

    def whole(self) -> Any:
        """Every row as one frame (``FeatureStore.docs``): for what needs the local table itself."""
        import polars as pl

        parts = [_read(p, None) for p in self.paths]
        return pl.concat(parts) if parts else pl.DataFrame(schema=DOC_SCHEMA)


_cache: OrderedDict[tuple, Any] = OrderedDict()


def _shard_rows(path: str) -> Any:
    """The rows of one shard (``_ROWS``), kept for the last shards a process read, up to ``_CACHED_ROWS`` articles
    (a shard is never rewritten under its name: the key has the file's size and time as well)."""
    st = os.stat(os.path.join(path, "docs.parquet"))
    key = (path, st.st_size, st.st_mtime_ns)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    found = _read(path, _ROWS)
    _cache[key] = found
    while len(_cache) > 1 and sum(len(f) for f in _cache.values()) > _CACHED_ROWS:
        _cache.popitem(last=False)
    return found


class StoredRows:
    """Some articles' rows of the per-article table (as ``phase2.Rows``: ids, dates, body starts and lengths,
    keyed by global index), read on first use from the shards they are in. What is pickled is the articles and
    their shards' paths and first articles, so a batch's task is sent a few numbers an article and reads its rows
    itself."""

    def __init__(self, docs: np.ndarray, paths: list[str], firsts: np.ndarray) -> None:
        self.docs, self.paths, self.firsts = docs, paths, firsts
        self._rows: tuple[dict, dict, dict, dict] | None = None

    def __getstate__(self) -> dict:
        return {"docs": self.docs, "paths": self.paths, "firsts": self.firsts, "_rows": None}

    def _read(self) -> tuple[dict, dict, dict, dict]:
        if self._rows is None:
            ids: dict[int, str] = {}
            dates: dict[int, str | None] = {}
            body: dict[int, int] = {}
            chars: dict[int, int] = {}
            shard = np.searchsorted(self.firsts, self.docs, side="right") - 1
            for k, path in enumerate(self.paths):
                mine = self.docs[shard == k]
                rows = _shard_rows(path)[(mine - self.firsts[k]).tolist()]
                d = mine.tolist()
                ids.update(zip(d, rows["id"].to_list()))
                dates.update(zip(d, rows["date"].to_list()))
                body.update(zip(d, rows["body_start"].to_list()))
                chars.update(zip(d, rows["chars"].to_list()))
            self._rows = (ids, dates, body, chars)
        return self._rows

    @property
    def ids(self) -> dict[int, str]:
        return self._read()[0]

    @property
    def dates(self) -> dict[int, str | None]:
        return self._read()[1]

    @property
    def body_start(self) -> dict[int, int]:
        return self._read()[2]

    @property
    def chars(self) -> dict[int, int]:
        return self._read()[3]


def stored_table(store: FeatureStore, executor: Any, shards_a_task: int = 16) -> StoredTable:
    """The ``StoredTable`` of ``store``: its numbers read by tasks on ``executor``, ``shards_a_task`` shards each,
    which write their articles' ids to a new folder of the store (``write_ids``)."""
    paths = [str(store.shard(name).path) for name in store.shard_names]
    chunks = [(j, paths[k : k + shards_a_task]) for j, k in enumerate(range(0, len(paths), shards_a_task))]
    folder = tempfile.mkdtemp(prefix=".table-", dir=store.root)
    try:
        label = lambda c: f"the table of {c[1][0]} (and {len(c[1]) - 1} more)"  # noqa: E731
        parts = list(executor.map(_columns, folder, chunks, label=label))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return StoredTable(store, parts, folder)


class _Folder:
    """A folder of the store removed when the last object holding this goes (its files are read until then)."""

    def __init__(self, path: str) -> None:
        self.path = path
        weakref.finalize(self, shutil.rmtree, path, True)

    def __getstate__(self) -> dict:
        raise TypeError("a table's folder stays with the driver")


class ResultParts:
    """The parts of a cluster's result kept out of the driver's heap: the labels as the label tasks write them
    (``phase2.write_labels``: one file a batch of articles, in ``folder``; the driver notes each batch's first and
    last article as it comes back, then makes the ``StoredLabels`` the result reads), arrays saved in the folder
    (``keep``), and the passages in one file, as align's batches come back (``passages``)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._firsts: list[int] = []
        weakref.finalize(self, shutil.rmtree, folder, True)  # the folder goes when nothing reads from it any more
        self._lasts: list[int] = []

    def add(self, first: int, last: int) -> None:
        self._firsts.append(first)
        self._lasts.append(last)

    def passages(self, pairs: int) -> PassageParts:
        """The passages of ``pairs`` pairs, written to the folder as align's batches come back."""
        return PassageParts(pairs, self.folder, self)

    def keep(self, name: str, values: np.ndarray) -> MappedArray:
        """``values`` saved in the folder, as a ``MappedArray``: the driver lets its own copy go."""
        path = os.path.join(self.folder, f"{name}.npy")
        np.save(path, np.asarray(values), allow_pickle=False)
        return MappedArray(path, len(values), self)

    def labels(self, para_offsets: np.ndarray, whole: np.ndarray) -> StoredLabels:
        """The labels of every paragraph (``whole``: per article, whether a look-free copy, labelled 1 throughout)."""
        labels = StoredLabels(self.folder, para_offsets, whole, np.asarray(self._firsts), np.asarray(self._lasts))
        labels.parts = self  # keeps the folder
        return labels


class PassageParts(Sequence):
    """Every pair's passages ((a_start, a_end, b_start, b_end) rows) as align's batches sent them, appended to one file
    of the result's folder (``passages.i8``: int64 rows of 4, batch after batch) as each comes back; the driver keeps,
    for each pair, where its rows start in the file and how many (12 bytes a pair), and no passage. ``pairs[p]`` is
    pair p's rows; ``take(rows)`` reads many, a run of neighbouring ranges at a time (``read_runs``)."""

    def __init__(self, pairs: int, folder: str, owner: Any = None) -> None:
        self.path = os.path.join(folder, "passages.i8")
        with open(self.path, "wb"):
            pass
        self._rows = 0  # rows written so far
        self._at = np.zeros(pairs, dtype=np.int64)
        self.lengths = np.zeros(pairs, dtype=np.int32)
        self.owner = owner  # what keeps the folder

    def add(self, rows: np.ndarray, offsets: np.ndarray, found: np.ndarray) -> None:
        """Pairs ``rows``' passages: ``found[offsets[j]:offsets[j + 1]]`` is ``rows[j]``'s (written to the file: a
        task's result is read in place from the object store, and let go)."""
        rows = np.asarray(rows, dtype=np.int64)
        offsets = np.asarray(offsets, dtype=np.int64)
        self._at[rows] = self._rows + offsets[:-1]
        self.lengths[rows] = np.diff(offsets)
        data = np.ascontiguousarray(np.asarray(found, dtype="<i8").reshape(-1, 4))
        with open(self.path, "ab") as f:
            f.write(data.tobytes())
        self._rows += len(data)

    def done(self, keep: np.ndarray | None) -> PassageParts:
        """These passages of the pairs ``keep`` (ascending; None: all), renumbered from 0."""
        if keep is not None:
            self._at, self.lengths = self._at[keep], self.lengths[keep]
        return self

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, p):  # type: ignore[override]
        if isinstance(p, slice):
            return [self[q] for q in range(*p.indices(len(self)))]
        return self.take(np.array([p]))

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The passages of pairs ``rows`` one after the other, (m, 4) int64."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        counts = self.lengths[rows].astype(np.int64)
        total = int(counts.sum())
        if not total:
            return np.zeros((0, 4), dtype=np.int64)
        has = np.flatnonzero(counts)
        order = has[np.argsort(self._at[rows[has]], kind="stable")]  # the file's order, for runs of reads
        begin = self._at[rows[order]] * 32
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as e:
            raise StoreError(f"{self.path}: cannot read the passages ({e.strerror})") from None
        try:
            data, where = read_runs(fd, begin, begin + counts[order] * 32, self.path)
        finally:
            os.close(fd)
        raw = np.frombuffer(data, dtype="<i8")
        out = np.zeros((total, 4), dtype=np.int64)
        starts = np.cumsum(counts) - counts
        out.reshape(-1)[run_index(starts[order] * 4, counts[order] * 4)] = raw[run_index(where // 8, counts[order] * 4)]
        return out


class MappedArray:
    """An array saved in the store (``ResultParts.keep``), mapped where it is used (``np.asarray``) and pickled as its
    path: a cluster's task maps it from the store itself, and the driver holds none of it."""

    def __init__(self, path: str, n: int, parts: ResultParts | None = None) -> None:
        self.path, self.n = path, n
        self.parts = parts  # here, what keeps its folder; not sent to a task

    def __getstate__(self) -> dict:
        return {"path": self.path, "n": self.n, "parts": None}

    def __len__(self) -> int:
        return self.n

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        try:
            found = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise StoreError(f"{self.path}: cannot read it ({' '.join(str(e).split())[:200]})") from None
        return found if dtype is None else found.astype(dtype)


class StoredLabels:
    """Every paragraph's label code in global paragraph order (what ``phase2._label`` gives a local scan as one
    array), read a range at a time: 2 (original) unless the article is a copy labelled without a look (``whole``, one
    bit an article: 1), and the label tasks' codes of their batches (files of ``folder``, ascending and disjoint
    ranges of articles) over those. The driver holds a bit an article and two numbers a batch."""

    def __init__(
        self, folder: str, para_offsets: np.ndarray, whole: np.ndarray, firsts: np.ndarray, lasts: np.ndarray
    ) -> None:
        firsts, lasts = np.asarray(firsts, dtype=np.int64), np.asarray(lasts, dtype=np.int64)
        order = np.argsort(firsts, kind="stable")
        self.folder, self.para_offsets = folder, para_offsets
        self._whole = np.packbits(np.asarray(whole, dtype=bool))
        self._firsts, self._lasts = firsts[order].astype(np.int64), lasts[order].astype(np.int64)
        self._last: tuple[int, np.ndarray, np.ndarray] | None = None  # the batch read last
        self.parts: ResultParts | None = None  # what keeps the folder (``ResultParts.labels``)

    def __len__(self) -> int:
        return int(self.para_offsets[-1])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.int8)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[0 : len(self)]
        return out if dtype is None else out.astype(dtype)

    def _batch(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        if self._last is None or self._last[0] != j:
            path = os.path.join(self.folder, f"labels-{int(self._firsts[j]):012d}.npz")
            try:
                with np.load(path, allow_pickle=False) as z:
                    self._last = (j, z["docs"], z["codes"])
            except (OSError, ValueError, KeyError) as e:
                raise StoreError(f"{path}: cannot read a batch of labels ({' '.join(str(e).split())[:200]})") from None
        return self._last[1], self._last[2]

    def __getitem__(self, key: slice) -> np.ndarray:
        """The codes of paragraphs ``key`` (a slice of global paragraph positions, step 1)."""
        p0, p1, step = key.indices(len(self))
        if step != 1:
            raise ValueError("labels are read by ranges of paragraphs")
        if p1 <= p0:
            return np.zeros(0, dtype=np.int8)
        off = self.para_offsets
        a0 = int(np.searchsorted(off, p0, side="right")) - 1  # the articles whose paragraphs meet p0:p1
        a1 = int(np.searchsorted(off, p1, side="left"))
        base = int(off[a0])
        out = np.full(int(off[a1]) - base, 2, dtype=np.int8)
        lo = a0 - a0 % 8
        whole = np.unpackbits(self._whole[lo // 8 : (a1 + 7) // 8], count=a1 - lo).astype(bool)[a0 - lo :]
        docs = np.flatnonzero(whole) + a0
        out[run_index(off[docs] - base, off[docs + 1] - off[docs])] = 1
        j = int(np.searchsorted(self._lasts, a0, side="left"))
        while j < len(self._firsts) and self._firsts[j] < a1:
            batch, codes = self._batch(j)
            counts = off[batch + 1] - off[batch]
            if int(counts.sum()) != len(codes):
                raise StoreError(f"{self.folder}: the labels of articles {int(batch[0])}-{int(batch[-1])} do not fit")
            starts = np.cumsum(counts) - counts
            inside = (batch >= a0) & (batch < a1)
            if inside.any():
                mine = batch[inside]
                out[run_index(off[mine] - base, counts[inside])] = codes[run_index(starts[inside], counts[inside])]
            j += 1
        return out[p0 - base : p1 - base]
