"""The feature store: what phase 1 keeps of every article, on disk, for phase 2 and the index.

The layout on disk, its format and version are ``layout``'s.

Arrays are ``.npy`` files opened memory-mapped and without pickle; tables are Parquet through polars.
A store is read as untrusted input (someone else may have written it): ``Shard`` checks a shard's names,
headers, counts and offsets before its first use (``validate``) and what it reads later as it reads it.
A shard is written under a temporary name and renamed into place, so a reader only ever sees whole
shards; the manifest lists the shards in article order and is replaced atomically.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import polars as pl

from ..kernels import native
from ..longtext import LongText
from . import tokens as token_form
from . import validate
from .layout import DOC_SCHEMA, FORMAT, FORMAT_VERSION

# Characters kept of a title, URL, site, date or encoding label: a table of articles stays within what
# ``validate`` lets a shard's docs.parquet decompress to (64 KB an article).
MAX_FIELD = 8192


class StoreError(Exception):
    """A store that cannot be used (missing, corrupt, or of a newer format); the message is one line."""


def _pread(path: Path, size: int, offset: int) -> bytes:
    """``size`` bytes of ``path`` from ``offset``: open, one ``pread``, close (a file object's buffer, ``fstat``s,
    ``lseek`` and tty check were four more system calls for each article phase 2 reads)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        return os.pread(fd, size, offset)
    finally:
        os.close(fd)


_READ_GAP = 1 << 16  # bytes between two articles' rows of a file that one read of both may take in
_READ_MOST = 1 << 24  # bytes one read of several articles' rows takes at most (a long article is read alone)


def _stretches(lo: np.ndarray, hi: np.ndarray, gap: int, most: int) -> tuple[np.ndarray, np.ndarray]:
    """Runs of consecutive sorted row ranges ``lo[i]:hi[i]`` to read at once, as (first, last) index arrays: a
    run goes on while the next range starts at most ``gap`` after the last one ends and the run spans at most
    ``most`` (a range larger than that is a run of its own)."""
    heads, tails = [0] if len(lo) else [], []
    start = int(lo[0]) if len(lo) else 0
    for i, (a, b, e) in enumerate(zip(lo[1:].tolist(), hi[1:].tolist(), hi[:-1].tolist()), start=1):
        if a - e > gap or b - start > most:
            tails.append(i - 1)
            heads.append(i)
            start = a
    if len(lo):
        tails.append(len(lo) - 1)
    return np.asarray(heads, dtype=np.int64), np.asarray(tails, dtype=np.int64)


def _starts_of(sizes: np.ndarray) -> np.ndarray:
    """Where each of consecutive pieces of ``sizes`` starts (an exclusive running sum)."""
    return np.cumsum(sizes) - sizes


def _runs(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The positions ``starts[i] .. starts[i] + sizes[i] - 1`` of every i, in order, as one array."""
    total = int(sizes.sum())
    return np.repeat(starts - _starts_of(sizes), sizes) + np.arange(total, dtype=np.int64)


@dataclass
class ShardData:
    """One batch of articles' features, as phase 1 computes them (see the module docstring)."""

    docs: dict[str, list | np.ndarray]  # the columns of docs.parquet (DOC_SCHEMA)
    texts: list[str | LongText]  # a LongText: a huge text file's, kept as UTF-8 (``longtext``)
    paragraphs: np.ndarray
    para_offsets: np.ndarray
    postings: np.ndarray
    posting_docs: np.ndarray
    bucket_bounds: np.ndarray  # int64 (257,): postings of bucket b (top 8 bits) are rows bounds[b]:bounds[b+1]
    signatures: np.ndarray
    # Each article's word tokens as phase 1 computed them (None: none stored); written in the compact form
    # (``tokens``: about 4 bytes a token).
    token_offsets: np.ndarray | None = None  # int64 (n + 1)
    token_hashes: np.ndarray | None = None  # uint64 (t,)
    token_spans: np.ndarray | None = None  # uint32 (t, 2)
    token_words: np.ndarray | None = None  # int32 (t,): each token's number in the tokeniser's vocabulary, if known


def bucket_bounds(postings: np.ndarray) -> np.ndarray:
    """Row bounds (257,) of the 256 buckets (top 8 bits of the fingerprint) of sorted postings."""
    edges = np.arange(256, dtype=np.uint64) << np.uint64(56)
    return np.append(np.searchsorted(postings, edges), len(postings)).astype(np.int64)


DIRECTORY_FILL = 32  # postings per directory slot: an index look-up gathers about this many per fingerprint


def directory_bits(n: int) -> int:
    """Bits of the fingerprint that address a directory over ``n`` postings (about ``DIRECTORY_FILL`` a slot)."""
    return int(min(28, max(8, math.ceil(math.log2(max(n, 1) / DIRECTORY_FILL)))))


def directory(postings: np.ndarray, bits: int) -> np.ndarray:
    """Row bounds (2**bits + 1) of sorted postings by the top ``bits`` bits of the fingerprint."""
    edges = np.arange(1 << bits, dtype=np.uint64) << np.uint64(64 - bits)
    return np.append(np.searchsorted(postings, edges), len(postings))


def encode_texts(texts: Sequence[str]) -> tuple[bytes, np.ndarray]:
    """The texts as one UTF-8 blob (lone surrogates kept) and the byte offsets of each."""
    parts = [t.encode("utf-8", "surrogatepass") for t in texts]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    return b"".join(parts), offsets


def write_texts(path: Path, texts: Sequence[str | LongText]) -> np.ndarray:
    """Write the texts as ``encode_texts`` joins them, one at a time (a huge text is never held twice);
    returns the byte offsets."""
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    piece = 1 << 22  # a long text is encoded a piece at a time (exact: each code point is encoded alone)
    pending: list[bytes] = []  # encoded texts not written yet: written together, one system call for many
    held = 0
    with open(path, "wb") as f:
        for i, t in enumerate(texts):
            if isinstance(t, LongText):  # already UTF-8, block by block
                _write_all(f, pending)
                pending, held = [], 0
                size = t.write_utf8(f)
            else:
                parts = [t[j : j + piece].encode("utf-8", "surrogatepass") for j in range(0, len(t), piece)]
                size = sum(map(len, parts))
                pending += parts
                held += size
                if held >= _WRITE_BYTES or len(pending) >= _WRITE_PARTS:
                    _write_all(f, pending)
                    pending, held = [], 0
            offsets[i + 1] = offsets[i] + size
        _write_all(f, pending)
    return offsets


_WRITE_BYTES = 1 << 24  # encoded text held before it is written
_WRITE_PARTS = 1024  # at most this many pieces a ``writev`` (Linux's IOV_MAX)


def _write_all(f, parts: list[bytes]) -> None:
    """Write ``parts`` in order at ``f``'s end with one ``os.writev`` (where there is one) instead of a
    ``write`` call per article (a text is smaller than the file object's buffer: a system call for each)."""
    if not parts:
        return
    if not hasattr(os, "writev"):
        for part in parts:
            f.write(part)
        return
    f.flush()
    fd = f.fileno()
    views = [memoryview(p) for p in parts if len(p)]
    while views:
        done = os.writev(fd, views[:_WRITE_PARTS])
        while views and done >= len(views[0]):  # a short write: go on from where it stopped
            done -= len(views[0])
            views.pop(0)
        if views and done:
            views[0] = views[0][done:]


def stage_shard(root: Path, name: str, data: ShardData) -> Path:
    """Write a shard's arrays and texts under a temporary name (numpy only: safe in a forked worker);
    ``publish_shard`` completes it."""
    shards = root / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=shards))
    try:
        text_offsets = write_texts(tmp / "text.bin", data.texts)
        arrays = {
            "text_offsets": text_offsets,
            "paragraphs": data.paragraphs,
            "para_offsets": data.para_offsets,
            "postings": data.postings,
            "posting_docs": data.posting_docs,
            "bucket_bounds": data.bucket_bounds,
            "signatures": data.signatures,
        }
        if data.token_offsets is not None and data.token_hashes is not None and data.token_spans is not None:
            spans = np.asarray(data.token_spans)
            packed = token_form.encode(
                data.token_offsets, data.token_hashes, spans[:, 0], spans[:, 1], words=data.token_words
            )
            if packed is not None:
                arrays.update(
                    token_index=packed.index, token_words=packed.words, token_vocab=packed.vocab, token_wide=packed.wide
                )
        for key, arr in arrays.items():
            np.save(tmp / f"{key}.npy", np.ascontiguousarray(arr), allow_pickle=False)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def publish_shard(root: Path, name: str, staged: Path, docs: dict[str, list | np.ndarray]) -> None:
    """Write the shard's table next to its staged arrays and rename it into ``root/shards/name``."""
    try:
        table = pl.DataFrame(docs, schema=DOC_SCHEMA).with_columns(
            pl.col(c).str.slice(0, MAX_FIELD) for c in ("title", "url", "site", "date", "encoding")
        )
        table.write_parquet(staged / "docs.parquet", compression="zstd")
        final = root / "shards" / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(staged, final)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def write_shard(root: Path, name: str, data: ShardData) -> None:
    """Write a whole shard (``stage_shard`` then ``publish_shard``)."""
    publish_shard(root, name, stage_shard(root, name, data), data.docs)


def read_manifest(path: Path, fmt: str, newest: int, what: str) -> dict:
    """A manifest's JSON, checked to be of format ``fmt`` and no newer than ``newest``; ``what`` names the
    kind of folder in the one-line errors ("dedup feature store", "dedup index")."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(f"{path.parent}: not a {what} (no {path.name})") from None
    except (OSError, ValueError) as e:
        raise StoreError(f"{path}: unreadable {what} manifest ({e})") from None
    except RecursionError:
        raise StoreError(f"{path}: unreadable {what} manifest (nested too deeply)") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise StoreError(f"{path}: not a {what} manifest")
    version = meta.get("version")
    if not isinstance(version, int) or version > newest:
        raise StoreError(f"{path}: format version {version!r} is newer than this dedup reads ({newest})")
    return meta


def write_manifest(path: Path, body: dict) -> None:
    """Replace a manifest atomically and durably: a temporary file, fsync-ed, renamed over the old one,
    then the folder fsync-ed (a reader sees the old manifest or the new one, never half of one)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(body, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class Shard:
    """A written shard, its arrays memory-mapped on first use. Nothing in it is trusted: the first use
    checks it (``validate.check_shard``), and what is read later is checked as it is read; every
    failure is a ``StoreError`` line starting with ``label`` (the store and shard, by default the path).
    ``num_perm`` and ``expect`` (articles, postings): what the store's manifest says it holds."""

    def __init__(
        self, path: Path, label: str | None = None, num_perm: int | None = None, expect: tuple[int, int] | None = None
    ) -> None:
        self.path = path
        self.label = label or str(path)
        self._num_perm = num_perm
        self._expect = expect
        self._arrays: dict[str, np.ndarray] = {}
        self._n = self._m = -1
        self._chars = np.zeros(0, dtype=np.int64)

    def __getstate__(self) -> dict:
        """Pickled as where it is, never its mapped arrays: a process it is sent to (a cluster's task)
        opens and checks it again on first use."""
        return {"path": self.path, "label": self.label, "num_perm": self._num_perm, "expect": self._expect}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def kept_reduce(self) -> tuple:
        """Pickled for a scan's own kept workers (``workers.Pool``) as this process checked it: they take
        the check as workers forked after it did (checking again would read ``docs.parquet`` with polars,
        which must not run in a forked process), and map the same arrays."""
        self.check()
        state = (self.path, self.label, self._num_perm, self._expect, self._n, self._m, self._chars)
        return _checked_shard, (*state, sorted(self._arrays))

    def _error(self, what: str) -> StoreError:
        return StoreError(f"{self.label}: {what}")

    def vouch(self, bounds: np.ndarray | None) -> None:
        """Take the bucket bounds the task that wrote and checked this shard found (``validate.verdict``): a
        cluster's driver reads them from the verdicts instead of checking every shard itself (a process that reads
        the shard's arrays still checks it first)."""
        if bounds is not None:
            self.__dict__["bucket_bounds"] = bounds

    def check(self) -> Shard:
        """Check the shard once (names, headers, counts, offsets, table; see ``validate``)."""
        if self._n < 0:
            try:
                arrays, self._n, self._m, self._chars = validate.check_shard(self.path, self._num_perm, self._expect)
            except validate.Invalid as e:
                raise self._error(str(e)) from None
            self._arrays.update(arrays)
        return self

    @property
    def n(self) -> int:
        """Articles in the shard."""
        return self.check()._n

    def array(self, key: str) -> np.ndarray:
        self.check()
        if key not in self._arrays:
            raise self._error(f"has no {key}.npy")
        return self._arrays[key]

    @cached_property
    def docs(self) -> pl.DataFrame:
        self.check()
        try:
            return pl.read_parquet(self.path / "docs.parquet")
        except Exception as e:  # polars raises several kinds for a damaged file
            raise self._error(f"cannot read docs.parquet ({validate._line(e)})") from None

    def rows(self, key: str, a: int, b: int) -> np.ndarray:
        """Rows [a, b) of an array, read from the file into memory of our own: the bulk reads of phase 2
        never map the store's pages into the process (which would count them as its resident memory)."""
        arr = self.array(key)
        if not 0 <= a <= b <= len(arr):
            raise self._error(f"rows {a}:{b} of {key}.npy are outside its {len(arr)}")
        row = arr.dtype.itemsize * int(np.prod(arr.shape[1:], dtype=np.int64))
        data = _pread(self.path / f"{key}.npy", (b - a) * row, arr.offset + a * row)
        if len(data) != (b - a) * row:
            raise self._error(f"{key}.npy is shorter than it was")
        return np.frombuffer(data, dtype=arr.dtype).reshape((b - a, *arr.shape[1:]))

    def text(self, i: int) -> str:
        off = self.array("text_offsets")
        lo, hi = int(off[i]), int(off[i + 1])
        data = _pread(self.path / "text.bin", hi - lo, lo)
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise self._error(f"the text of article {i} is not UTF-8") from None

    def texts_of(self, rows: Sequence[int]) -> list[str]:
        """The texts of articles ``rows`` (``text`` of each): articles less than ``_READ_GAP`` bytes apart in
        ``text.bin`` share one read of at most ``_READ_MOST`` bytes (one open, ``pread`` and close per article
        was a third of loading a batch's texts)."""
        if not len(rows):
            return []
        asked = np.asarray(rows, dtype=np.int64)
        held = np.unique(asked)
        off = self.array("text_offsets")
        lo, hi = np.asarray(off[held], dtype=np.int64), np.asarray(off[held + 1], dtype=np.int64)
        heads, tails = _stretches(lo, hi, _READ_GAP, _READ_MOST)
        out: dict[int, str] = {}
        for a, b in zip(heads.tolist(), tails.tolist()):
            base, size = int(lo[a]), int(hi[b] - lo[a])
            data = _pread(self.path / "text.bin", size, base)
            if len(data) != size:
                raise self._error("text.bin is shorter than it was")
            starts, ends = (lo[a : b + 1] - base).tolist(), (hi[a : b + 1] - base).tolist()
            for r, x, y in zip(held[a : b + 1].tolist(), starts, ends):
                try:
                    out[r] = data[x:y].decode("utf-8", "surrogatepass")
                except UnicodeDecodeError:
                    raise self._error(f"the text of article {r} is not UTF-8") from None
        return [out[r] for r in asked.tolist()]

    def paragraphs_of(self, rows: Sequence[int]) -> list[np.ndarray]:
        """``paragraphs`` of each of articles ``rows``, gathered and checked in one pass."""
        if not len(rows):
            return []
        asked = np.asarray(rows, dtype=np.int64)
        off = np.asarray(self.array("para_offsets"), dtype=np.int64)
        lo, counts = off[asked], off[asked + 1] - off[asked]
        spans = np.asarray(self.array("paragraphs")[_runs(lo, counts)])
        limit = np.repeat(self._chars[asked], counts)
        bad = (spans[:, 0] < 0) | (spans[:, 1] > limit) | (spans[:, 0] > spans[:, 1]) if len(spans) else spans[:0, 0]
        if bad.any():
            first = int(asked[int(np.searchsorted(np.cumsum(counts), np.argmax(bad), side="right"))])
            raise self._error(f"paragraphs of article {first} lie outside its text")
        bounds = np.zeros(len(asked) + 1, dtype=np.int64)
        np.cumsum(counts, out=bounds[1:])
        return [spans[x:y] for x, y in zip(bounds[:-1].tolist(), bounds[1:].tolist())]

    def paragraphs(self, i: int) -> np.ndarray:
        """Article ``i``'s paragraph spans, checked to lie in its text (numpy only: phase 2's forked workers
        call it, and polars must not run in a fork)."""
        off = self.array("para_offsets")
        spans = np.asarray(self.array("paragraphs")[int(off[i]) : int(off[i + 1])])
        try:
            validate.check_spans(spans, int(self._chars[i]), i)
        except validate.Invalid as e:
            raise self._error(str(e)) from None
        return spans

    def tokens(self, rows: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        """The stored word tokens of articles ``rows`` (as a batch takes them): (hashes, starts, ends) each,
        decoded from the compact form (``tokens``), spans checked to lie in their texts; None for an article the
        shard keeps none for (no token files, or none stored for it).

        The articles' words are read in stretches: articles less than ``_READ_GAP`` bytes apart in the file
        share one read (a batch's articles are scattered over the shard: one ``pread`` of each file per
        article was most of the cost), and only theirs are decoded, all in one ``decode`` call."""
        if "token_index" not in self.check()._arrays or not len(rows):
            return [None] * len(rows)
        asked = np.asarray(rows, dtype=np.int64)
        held = np.unique(asked)
        hashes, starts, ends, bounds = self._decoded(held)
        out: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray] | None] = {}
        for r, x, y in zip(held.tolist(), bounds[:-1].tolist(), bounds[1:].tolist()):
            out[r] = (hashes[x:y], starts[x:y], ends[x:y]) if y > x else None
        return [out[r] for r in asked.tolist()]

    def tokens_flat(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """``tokens`` of articles ``rows`` (ascending, distinct) laid end to end, as phase 2's ``Loaded`` keeps
        them: (hashes, starts, ends, each article's number of tokens), no array an article; None when the shard
        keeps no tokens."""
        if "token_index" not in self.check()._arrays:
            return None
        held = np.asarray(rows, dtype=np.int64)
        if not len(held):
            empty_i = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=np.uint64), empty_i, empty_i, empty_i
        hashes, starts, ends, bounds = self._decoded(held)
        return hashes, starts, ends, np.diff(bounds)

    def _decoded(self, held: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The stored tokens of articles ``held`` (ascending, distinct), decoded and checked: (hashes, starts,
        ends, CSR bounds per article)."""
        first = int(held[0])
        index = np.asarray(self._arrays["token_index"][first : int(held[-1]) + 2])
        lo, hi = index[held - first, 0], index[held - first + 1, 0]
        wlo, whi = index[held - first, 1], index[held - first + 1, 1]
        heads, tails = _stretches(lo, hi, _READ_GAP // 4, _READ_MOST // 4)  # words are 4 bytes
        words, wides = [], []
        for a, b in zip(heads.tolist(), tails.tolist()):
            words.append(self.rows("token_words", int(lo[a]), int(hi[b])))
            wides.append(self.rows("token_wide", int(wlo[a]), int(whi[b])))
        counts, n_wide = hi - lo, whi - wlo
        flat = np.concatenate(words) if len(words) > 1 else words[0]
        wide = np.concatenate(wides) if len(wides) > 1 else wides[0]
        if len(flat) != int(counts.sum()):  # stretches hold articles not asked for: take the asked ones' rows
            flat = flat[_runs(lo - np.repeat(lo[heads] - _starts_of(hi[tails] - lo[heads]), tails - heads + 1), counts)]
        if len(wide) != int(n_wide.sum()):
            span = whi[tails] - wlo[heads]
            wide = wide[_runs(wlo - np.repeat(wlo[heads] - _starts_of(span), tails - heads + 1), n_wide)]
        bounds = np.zeros(len(held) + 1, dtype=np.int64)
        np.cumsum(counts, out=bounds[1:])
        if token_form.compiled(self.vocab, counts, len(flat)):  # decoded and checked in one pass, the same errors
            status, at, hashes, starts, ends = native("align").decode_tokens(
                *token_form.kernel_args(flat, counts, self.vocab, wide),
                np.ascontiguousarray(n_wide, dtype=np.int64),
                np.ascontiguousarray(self._chars[held], dtype=np.int64),
            )
            if status == 4:
                raise self._error(f"tokens of article {int(held[at])} lie outside its text")
            if status:
                r0, r1 = (int(held[at]),) * 2 if status == 3 else (int(held[0]), int(held[-1]))
                what = (
                    "token words name a word outside the shard's vocabulary"
                    if status == 1
                    else "token words and wide spans do not match"
                )
                raise self._error(f"tokens of articles {r0}-{r1}: {what}")
            return hashes, starts, ends, bounds
        seen = np.zeros(len(flat) + 1, dtype=np.int64)
        np.cumsum((flat & np.uint32(0xFF)) == token_form.WIDE, out=seen[1:])
        bad = np.flatnonzero(seen[bounds[1:]] - seen[bounds[:-1]] != n_wide)  # each article's wide spans its own
        try:
            if len(bad):
                raise token_form.Corrupt("token words and wide spans do not match")
            hashes, starts, ends = token_form.decode(flat, counts, self.vocab, wide)
        except token_form.Corrupt as e:
            r0, r1 = (int(held[bad[0]]),) * 2 if len(bad) else (int(held[0]), int(held[-1]))
            raise self._error(f"tokens of articles {r0}-{r1}: {e}") from None
        limit = np.repeat(self._chars[held], counts)
        outside = (ends > limit) | (starts < 0) | (starts > ends)
        if outside.any():
            bad_row = int(held[int(np.searchsorted(bounds[1:], np.argmax(outside), side="right"))])
            raise self._error(f"tokens of article {bad_row} lie outside its text")
        return hashes, starts, ends, bounds

    @cached_property
    def vocab(self) -> np.ndarray:
        """The shard's token vocabulary (``tokens``), read once into memory."""
        arr = self.array("token_vocab")
        return self.rows("token_vocab", 0, len(arr))

    def check_docs(self, docs: np.ndarray, what: str = "postings") -> np.ndarray:
        """Articles read from ``posting_docs`` (or a manifest), checked to be rows of this shard."""
        try:
            validate.check_rows(docs, self.n, what)
        except validate.Invalid as e:
            raise self._error(str(e)) from None
        return docs

    def bucket_rows(self, lo_bucket: int, hi_bucket: int) -> tuple[np.ndarray, np.ndarray]:
        """Postings whose fingerprint's top 8 bits lie in [lo_bucket, hi_bucket): (fingerprints, docs)."""
        bounds = self.bucket_bounds
        a, b = int(bounds[lo_bucket]), int(bounds[hi_bucket])
        return self.rows("postings", a, b), self.check_docs(self.rows("posting_docs", a, b))

    def _derived(self, key: str) -> np.ndarray | None:
        """``key.npy`` read into memory when the shard has it (merged index shards write what the look-ups
        derive from the postings); None when it does not, and the caller computes it. Its header was
        checked: it is read in full only for the size it is."""
        if key not in self.check()._arrays:
            return None
        try:
            return np.load(self.path / f"{key}.npy", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise self._error(f"cannot read {key}.npy ({e})") from None

    @cached_property
    def filter(self) -> np.ndarray:
        """The Bloom filter of the shard's fingerprints (``bloom``), held in memory: read from ``filter.npy``
        (merged index shards) or built once from the postings."""
        from . import bloom

        n = len(self.array("postings"))
        f = self._derived("filter")
        if f is not None and f.dtype == np.uint8 and len(f) * 8 == 1 << bloom.size_bits(n):
            return f
        return bloom.from_postings(self.rows("postings", 0, n))

    @cached_property
    def directory(self) -> tuple[np.ndarray, int]:
        """(row bounds of the postings by the fingerprint's top bits, bits): the index's look-ups gather
        a few postings per fingerprint instead of binary-searching the mapped array. Held in memory;
        read from ``directory.npy`` (merged shards) or computed once. A read one is checked to run from
        0 to the postings' end without going back (one pass): every slot then lies inside the postings."""
        n = len(self.array("postings"))
        bits = directory_bits(n)
        d = self._derived("directory")
        if d is not None and len(d) == (1 << bits) + 1:
            try:
                validate.check_directory(d, n)
            except validate.Invalid as e:
                raise self._error(str(e)) from None
            return d, bits
        d = directory(self.rows("postings", 0, n), bits)
        return d.astype(np.int32 if n < 2**31 else np.int64), bits

    @cached_property
    def bucket_bounds(self) -> np.ndarray:
        """Where each of the 256 fingerprint buckets starts in the postings (read, never searched in a map:
        binary searches over a million articles' mapped postings would touch their pages)."""
        if "bucket_bounds" in self.check()._arrays:
            return np.asarray(self._arrays["bucket_bounds"])  # checked: 257 offsets from 0 to the end
        return bucket_bounds(self.rows("postings", 0, len(self.array("postings"))))


def _checked_shard(
    path: Path,
    label: str,
    num_perm: int | None,
    expect: tuple[int, int] | None,
    n: int,
    m: int,
    chars: np.ndarray,
    keys: list[str],
) -> Shard:
    """A shard as ``Shard.kept_reduce`` sent it: checked, its arrays mapped again."""
    shard = Shard(path, label, num_perm, expect)
    shard._n, shard._m, shard._chars = n, m, chars
    shard._arrays = {key: np.load(path / f"{key}.npy", mmap_mode="r", allow_pickle=False) for key in keys}
    return shard


class FeatureStore:
    """A directory of shards plus a manifest (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str], params: dict | None = None, create: bool = False) -> None:
        self.root = Path(root)
        manifest = self.root / "manifest.json"
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
            self.params = dict(params or {})
            self.shard_names: list[str] = []
            if not manifest.exists():
                self._write_manifest()
            else:
                self._load(manifest)
        else:
            self._load(manifest)
        self._shards: dict[str, Shard] = {}
        self._paths: dict[str, tuple[Path, str]] = {}  # shards in another folder (``joined``): (folder, name)
        self._vouched: dict[str, int] = {}  # articles of the shards checked by the tasks that wrote them (``vouch``)

    def joined(self, root: str | os.PathLike[str], names: Sequence[str], prefix: str) -> FeatureStore:
        """A read-only view of this store followed by the shards ``names`` of another folder (an index's),
        read as one store; their names get ``prefix`` so the two never clash."""
        view = FeatureStore.__new__(FeatureStore)
        view.root, view.params, view._shards, view._vouched = self.root, self.params, {}, self._vouched
        view._paths = {**self._paths, **{prefix + n: (Path(root) / "shards", n) for n in names}}
        view.shard_names = [*self.shard_names, *(prefix + n for n in names)]
        return view

    def _load(self, manifest: Path) -> None:
        meta = read_manifest(manifest, FORMAT, FORMAT_VERSION, "dedup feature store")
        params, names = meta.get("params", {}), meta.get("shards", [])
        if not isinstance(params, dict) or not isinstance(names, list) or len(names) > validate.MAX_SHARDS:
            raise StoreError(f"{manifest}: corrupt dedup feature store manifest")
        try:
            for name in names:
                validate.check_name(name)
        except validate.Invalid as e:
            raise StoreError(f"{manifest}: {e}") from None
        if len(set(names)) != len(names):
            raise StoreError(f"{manifest}: a shard is listed twice")
        self.params = params
        self.shard_names = list(names)

    def _write_manifest(self) -> None:
        body = {"format": FORMAT, "version": FORMAT_VERSION, "params": self.params, "shards": self.shard_names}
        write_manifest(self.root / "manifest.json", body)

    def commit(self, names: Sequence[str]) -> None:
        """Append written shards to the manifest, in order."""
        self.shard_names.extend(names)
        self._write_manifest()

    def kept_reduce(self) -> object:
        """Before the store is pickled for a scan's kept workers: every shard checked here, so that they
        receive them checked (``Shard.kept_reduce``); then pickled as usual."""
        for name in self.shard_names:
            self.shard(name).check()
        return NotImplemented

    def vouch(self, verdicts: Iterable[validate.Verdict]) -> None:
        """Take the checks of the tasks that wrote these shards (``validate.verdict``, run just after writing each,
        each a good one): ``bases`` and the shards' ``bucket_bounds`` come from them, so a cluster's driver does not
        check every shard itself."""
        for v in verdicts:
            self._vouched[v.name] = v.n
            self.shard(v.name).vouch(v.bucket_bounds)
        self.__dict__.pop("bases", None)

    def shard(self, name: str) -> Shard:
        if name not in self._shards:
            folder, real = self._paths.get(name, (self.root / "shards", name))
            label = f"{folder.parent}: shard {real}"
            try:
                path = validate.inside(folder, real)
            except validate.Invalid as e:
                raise StoreError(f"{label}: {e}") from None
            num_perm = self.params.get("num_perm")
            self._shards[name] = Shard(path, label, num_perm if isinstance(num_perm, int) else None)
        return self._shards[name]

    def shards(self) -> Iterator[Shard]:
        for name in self.shard_names:
            yield self.shard(name)

    @cached_property
    def bases(self) -> np.ndarray:
        """Global index of each shard's first article, plus the total at the end."""
        counts = [
            self._vouched[name] if name in self._vouched else len(self.shard(name).array("text_offsets")) - 1
            for name in self.shard_names
        ]
        out = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=out[1:])
        return out

    def __len__(self) -> int:
        return int(self.bases[-1])

    def docs(self) -> pl.DataFrame:
        """All articles' rows, in global order."""
        frames = [s.docs for s in self.shards()]
        return pl.concat(frames) if frames else pl.DataFrame(schema=DOC_SCHEMA)

    def locate(self, i: int) -> tuple[Shard, int]:
        """The shard holding global article ``i`` and its row there."""
        k = int(np.searchsorted(self.bases, i, side="right")) - 1
        if not 0 <= i < len(self) or k < 0:
            raise IndexError(i)
        return self.shard(self.shard_names[k]), i - int(self.bases[k])

    def text(self, i: int) -> str:
        shard, row = self.locate(i)
        return shard.text(row)

    def paragraphs(self, i: int) -> np.ndarray:
        shard, row = self.locate(i)
        return shard.paragraphs(row)

    def _by_shard(self, docs: Sequence[int], read: Callable[[Shard, list[int]], list]) -> list:
        """``read(shard, rows)`` of the articles ``docs`` of each shard, put back in the order of ``docs``."""
        docs = np.asarray(docs, dtype=np.int64)
        if len(docs) and (int(docs.min()) < 0 or int(docs.max()) >= len(self)):
            raise IndexError(int(docs.max()))
        where = np.searchsorted(self.bases, docs, side="right") - 1
        out: list = [None] * len(docs)
        for k in np.unique(where).tolist():
            at = np.flatnonzero(where == k)
            for j, f in zip(at.tolist(), read(self.shard(self.shard_names[k]), (docs[at] - self.bases[k]).tolist())):
                out[j] = f
        return out

    def texts_of(self, docs: Sequence[int]) -> list[str]:
        """``text`` of each of articles ``docs``, read shard by shard in stretches (``Shard.texts_of``)."""
        return self._by_shard(docs, Shard.texts_of)

    def paragraphs_of(self, docs: Sequence[int]) -> list[np.ndarray]:
        """``paragraphs`` of each of articles ``docs``, shard by shard (``Shard.paragraphs_of``)."""
        return self._by_shard(docs, Shard.paragraphs_of)

    def tokens(self, docs: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        """Stored tokens of articles ``docs`` (hashes, starts, ends), or None each (see ``Shard.tokens``)."""
        return self._by_shard(docs, Shard.tokens)

    def tokens_flat(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Stored tokens of articles ``docs`` (ascending, distinct) end to end: (hashes, starts, ends, tokens per
        article), read shard by shard (``Shard.tokens_flat``); None when a shard among them keeps none."""
        docs = np.asarray(docs, dtype=np.int64)
        if len(docs) and (int(docs[0]) < 0 or int(docs[-1]) >= len(self)):
            raise IndexError(int(docs[-1]))
        where = np.searchsorted(self.bases, docs, side="right") - 1
        cuts = np.flatnonzero(np.diff(where)) + 1
        parts = []
        for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(docs)]):
            k = int(where[lo])
            part = self.shard(self.shard_names[k]).tokens_flat(docs[lo:hi] - self.bases[k])
            if part is None:
                return None
            parts.append(part)
        if len(parts) == 1:
            return parts[0]
        empty_i = np.zeros(0, dtype=np.int64)
        if not parts:
            return np.zeros(0, dtype=np.uint64), empty_i, empty_i, empty_i
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(4))  # type: ignore[return-value]

    def row(self, key: str, i: int) -> np.ndarray:
        """Row ``i`` of a per-article array (``signatures``)."""
        shard, row = self.locate(i)
        return np.asarray(shard.array(key)[row])

    def concat(self, key: str) -> np.ndarray:
        """A per-article array of every shard, concatenated (loads it: for small stores or small rows)."""
        parts = [np.asarray(s.array(key)) for s in self.shards()]
        return np.concatenate(parts) if parts else np.zeros(0)

    def para_offsets(self) -> np.ndarray:
        """Global CSR offsets of every article's paragraphs (rows of the concatenated ``paragraphs``)."""
        parts, base = [np.zeros(1, dtype=np.int64)], 0
        for s in self.shards():
            off = np.asarray(s.array("para_offsets"))
            parts.append(off[1:] + base)
            base += int(off[-1])
        return np.concatenate(parts)
