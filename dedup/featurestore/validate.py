"""Checks of a feature-store shard someone else may have written, before any of it is used.

A store is input, not trusted state: a local index folder, a Redis index's cache (filled from a server
anyone with write access to it controls) and a scan's own store are all read through ``Shard``, which
runs ``check_shard`` once, on first use. What is checked (the layout is ``layout``'s):

- names: a shard's name matches ``SHARD_NAME``; its files are the fixed vocabulary ``FILES`` (nothing
  else is opened or, by the Redis backend, written); a shard folder and every file in it are a real
  folder and regular files (no symlink, FIFO or device), inside the store's folder once resolved;
- ``.npy`` headers: version 1 or 2, C order, the exact dtype ``FILES`` gives, the number of dimensions,
  and a file size equal to header plus data (so nothing is allocated or mapped beyond the file);
- counts across files: articles n = ``text_offsets`` - 1 = ``para_offsets`` - 1 = rows of
  ``docs.parquet`` = rows of ``signatures`` (``num_perm`` columns when known) = what the manifest
  claims; ``postings`` and ``posting_docs`` of one length m (= the manifest's); ``paragraphs`` (p, 2)
  with p = ``para_offsets[-1]``;
- offsets: ``text_offsets`` from 0, non-decreasing, ending at the size of ``text.bin``; ``para_offsets``
  the same, ending at p; ``token_index`` (optional, (n + 1, 2), with ``token_words`` (t,), ``token_vocab``
  and ``token_wide`` (w, 2): all four or none) its two columns the same, ending at t and w;
  ``bucket_bounds`` (257) from 0 to m (one vectorised pass each: these are small, about 8 bytes an article);
- ``docs.parquet``: its schema exactly ``DOC_SCHEMA`` and its row count, read from the footer, and its
  size once decompressed (the footer's, at most what the file itself may be: 64 KB an article); the
  columns that size what is allocated later (``chars``, ``body_start``, ``cut``, ``n_shingles``) against
  the texts' lengths.

What is large (postings, paragraphs, directory values) is checked where it is read, on what is read
(``Shard``): the articles of the postings a look-up gathers are below n, a paragraph's or token's span
lies in its article, a directory runs from 0 to m without going back. So opening a 12 GB index reads its
headers and offsets, not its postings. Every failure is one ``StoreError`` line naming the shard.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .layout import DOC_SCHEMA, FILES, REQUIRED, TOKEN_FILES

SHARD_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,99}")  # writers make 000000-0000 and <hex>-<pid>[-m3|-c001]
MAX_SHARDS = 1_000_000  # shards a manifest may list
MAX_HEADER = 1 << 16  # bytes of an .npy header (numpy writes 128)


class Invalid(Exception):
    """What is wrong with a shard (its caller adds which store and shard)."""


def check_name(name: object) -> str:
    """A shard name, as a manifest gives it: ``SHARD_NAME`` or ``Invalid``."""
    if not isinstance(name, str) or not SHARD_NAME.fullmatch(name):
        raise Invalid(f"invalid shard name {str(name)[:120]!r}")
    return name


def inside(root: Path, name: str) -> Path:
    """``root/name`` for a checked shard name, resolved and checked to stay inside ``root``."""
    path = root / check_name(name)
    try:
        real_root = root.resolve()
        real = path.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise Invalid(f"cannot resolve {name} ({e})") from None
    if real.parent != real_root:
        raise Invalid(f"{name} leads outside the store")
    return path


def _regular(path: Path, what: str) -> os.stat_result | None:
    """lstat of a shard's file or folder: None when missing, ``Invalid`` when it is a symlink, FIFO, device..."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise Invalid(f"cannot read {path.name} ({e.strerror})") from None
    want = stat.S_ISDIR if what == "folder" else stat.S_ISREG
    if not want(st.st_mode):
        raise Invalid(f"{path.name} is not a regular {what}")
    return st


def npy_header(path: Path, size: int) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, offset of the data) of an .npy file of ``size`` bytes, from its header alone;
    ``Invalid`` unless it is C-ordered, of a plain dtype and exactly as long as it says."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=MAX_HEADER)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=MAX_HEADER)
            else:
                raise Invalid(f"{path.name}: .npy version {version} not read")
            offset = f.tell()
    except (OSError, ValueError, SyntaxError, TypeError) as e:
        raise Invalid(f"{path.name}: not a readable .npy file ({_line(e)})") from None
    if fortran or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise Invalid(f"{path.name}: unexpected array layout ({dtype.str}, fortran order {fortran})")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise Invalid(f"{path.name}: bad shape {shape}")
    data = dtype.itemsize
    for d in shape:
        data *= d  # Python ints: a claimed shape cannot overflow
    if offset + data != size:
        raise Invalid(f"{path.name}: {size} bytes, but its header says {offset + data} ({dtype.str} {shape})")
    return dtype, tuple(shape), offset


def _offsets(a: np.ndarray, end: int, what: str) -> None:
    """CSR offsets: from 0, non-decreasing, ending at ``end``."""
    a = np.asarray(a)
    if not len(a) or int(a[0]) != 0 or int(a[-1]) != end or (len(a) > 1 and bool((a[1:] < a[:-1]).any())):
        raise Invalid(f"{what} are not offsets from 0 to {end}")


def check_shard(
    path: Path, num_perm: int | None = None, expect: tuple[int, int] | None = None
) -> tuple[dict[str, np.ndarray], int, int, np.ndarray]:
    """Check a shard folder (see the module docstring); returns its arrays memory-mapped, the number of
    articles and of postings, and each article's length (``chars``, checked). ``expect``: (articles,
    postings) a manifest claims."""
    if _regular(path, "folder") is None:
        raise Invalid("missing from the store")
    sizes: dict[str, int] = {}
    for fname in FILES:
        st = _regular(path / fname, "file")
        if st is not None:
            sizes[fname] = st.st_size
    missing = sorted(REQUIRED - set(sizes))
    if missing:
        raise Invalid(f"incomplete (no {', '.join(missing)})")
    shapes: dict[str, tuple[int, ...]] = {}
    for fname, spec in FILES.items():
        if spec is None or fname not in sizes:
            continue
        dtypes, ndim, _ = spec
        dtype, shape, _ = npy_header(path / fname, sizes[fname])
        if dtype not in dtypes or dtype.str not in {d.str for d in dtypes} or len(shape) != ndim:
            want = " or ".join(d.str for d in dtypes)
            raise Invalid(f"{fname}: {dtype.str} of {len(shape)} dimensions, not {want} of {ndim}")
        shapes[fname[:-4]] = shape
    n = shapes["text_offsets"][0] - 1
    m = shapes["postings"][0]
    if n < 0:
        raise Invalid("text_offsets.npy is empty")
    if expect is not None and (n, m) != tuple(expect):
        raise Invalid(f"holds {n} articles and {m} postings, the manifest says {expect[0]} and {expect[1]}")
    if n >= 1 << 32:
        raise Invalid(f"{n} articles: more than a shard holds")
    want = {
        "para_offsets": (n + 1,),
        "posting_docs": (m,),
        "signatures": (n, num_perm if num_perm is not None else shapes["signatures"][1]),
        "bucket_bounds": (257,),
    }
    for key, shape in want.items():
        if key in shapes and shapes[key] != shape:
            raise Invalid(f"{key}.npy has shape {shapes[key]}, not {shape}")
    tokens = [key for key in TOKEN_FILES if key in shapes]
    if tokens:
        if len(tokens) != len(TOKEN_FILES):
            raise Invalid(f"has {', '.join(f'{key}.npy' for key in tokens)} without the other token files")
        for key, shape in (("token_index", (n + 1, 2)), ("token_wide", (shapes["token_wide"][0], 2))):
            if shapes[key] != shape:
                raise Invalid(f"{key}.npy has shape {shapes[key]}, not {shape}")
    if shapes["paragraphs"][1] != 2:
        raise Invalid(f"paragraphs.npy has shape {shapes['paragraphs']}, not (p, 2)")
    try:
        arrays = {key: np.load(path / f"{key}.npy", mmap_mode="r", allow_pickle=False) for key in shapes}
    except (OSError, ValueError) as e:
        raise Invalid(f"cannot map its arrays ({e})") from None
    _offsets(arrays["text_offsets"], sizes["text.bin"], "text_offsets.npy")
    _offsets(arrays["para_offsets"], shapes["paragraphs"][0], "para_offsets.npy")
    if "bucket_bounds" in arrays:
        _offsets(arrays["bucket_bounds"], m, "bucket_bounds.npy")
    if tokens:
        index = np.asarray(arrays["token_index"])
        _offsets(index[:, 0], shapes["token_words"][0], "token_index.npy")
        _offsets(index[:, 1], shapes["token_wide"][0], "token_index.npy")
    chars = _check_table(path / "docs.parquet", n, np.diff(np.asarray(arrays["text_offsets"])))
    return arrays, n, m, chars


@dataclass(frozen=True)
class Verdict:
    """A shard's check as the task that wrote it ran it (``verdict``): its articles, postings and paragraphs, or
    what is wrong with it (``error``: the one line the store's own check gives, naming the store and shard)."""

    name: str
    n: int = -1
    m: int = -1
    bucket_bounds: np.ndarray | None = None  # the shard's (257,), when it has them
    error: str | None = None


def verdict(root: Path, name: str, num_perm: int | None = None) -> Verdict:
    """``check_shard`` of shard ``name`` of the store at ``root``, run where the shard was written (a cluster's
    read task, just after writing it) so that the driver collects verdicts instead of checking every shard itself;
    a failure is the line ``FeatureStore.shard(name).check()`` raises (``{root}: shard {name}: ...``)."""
    label = f"{root}: shard {name}"
    try:
        arrays, n, m, _ = check_shard(inside(root / "shards", name), num_perm)
    except Invalid as e:
        return Verdict(name, error=f"{label}: {e}")
    bounds = arrays.get("bucket_bounds")
    return Verdict(name, n, m, None if bounds is None else np.array(bounds, dtype=np.int64))


def mapped_offsets(path: Path, key: str, n: int, end: int | None = None) -> np.ndarray:
    """A shard's per-article offsets array ``key`` (``para_offsets``, ``text_offsets``), memory-mapped, checked as
    ``check_shard`` checks it: its header (dtype, shape (n + 1,), the file's size) and its values (from 0,
    non-decreasing, ending at ``end`` when given). For a shard whose writer checked it (``verdict``): a reader of
    one array need not check the whole shard."""
    fname = f"{key}.npy"
    st = _regular(path / fname, "file")
    if st is None:
        raise Invalid(f"incomplete (no {fname})")
    dtypes, ndim, _ = FILES[fname]
    dtype, shape, _ = npy_header(path / fname, st.st_size)
    if dtype.str not in {d.str for d in dtypes} or shape != (n + 1,):
        raise Invalid(f"{fname} has shape {shape} ({dtype.str}), not ({n + 1},)")
    try:
        a = np.load(path / fname, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise Invalid(f"cannot map its arrays ({e})") from None
    _offsets(a, int(a[-1]) if end is None else end, fname)
    return a


def _check_table(path: Path, n: int, text_bytes: np.ndarray) -> np.ndarray:
    """``docs.parquet``: exactly ``DOC_SCHEMA``, ``n`` rows (its footer); and the columns whose values size
    what is allocated or sliced later (a text's length sizes its character masks), read alone and checked
    against the texts: 0 <= chars <= the text's bytes, 0 <= body_start <= chars, -1 <= cut <= chars,
    0 <= n_shingles <= chars + 1."""
    import polars as pl

    try:
        schema = dict(pl.read_parquet_schema(path))
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    except Exception as e:  # polars raises several kinds for a damaged file
        raise Invalid(f"docs.parquet is not a readable table ({_line(e)})") from None
    if schema != DOC_SCHEMA:
        raise Invalid("docs.parquet does not have the columns and types of the format")
    if rows != n:
        raise Invalid(f"docs.parquet has {rows} rows for {n} articles")
    _check_decoded_size(path, n)
    try:
        cols = pl.read_parquet(path, columns=["chars", "body_start", "cut", "n_shingles"])
    except Exception as e:
        raise Invalid(f"docs.parquet is not a readable table ({_line(e)})") from None
    if cols.null_count().sum_horizontal().item():
        raise Invalid("docs.parquet has missing lengths")
    chars, body, cut, shingles = (cols[c].to_numpy() for c in cols.columns)
    ok = (chars >= 0) & (chars <= text_bytes) & (body >= 0) & (body <= chars) & (cut >= -1) & (cut <= chars)
    ok &= (shingles >= 0) & (shingles <= chars + 1)
    if not ok.all():
        raise Invalid(f"docs.parquet: the lengths of article {int(np.argmin(ok))} do not fit its text")
    return chars.astype(np.int64)


def _check_decoded_size(path: Path, n: int) -> None:
    """``docs.parquet`` decompresses to no more than its file may hold (``file_limits``: 64 KB an article):
    a few KB of zstd can hold gigabytes of title, which every reader of the shard would then decode."""
    from .footer import FooterError, read_footer

    limit = file_limits(n, 0, None, 0)["docs.parquet"][1]
    try:
        with open(path, "rb") as f:
            groups = read_footer(f, os.fstat(f.fileno()).st_size)
    except (OSError, FooterError) as e:
        raise Invalid(f"docs.parquet is not a readable table ({_line(e)})") from None
    decoded = sum(g.uncompressed() for g in groups)
    if decoded > limit or any(c.uncompressed < 0 for g in groups for c in g.chunks):
        raise Invalid(f"docs.parquet decompresses to {decoded:,} bytes, more than {limit:,} for {n} articles")


def check_rows(rows: np.ndarray, n: int, what: str) -> None:
    """Article numbers read from a store (postings' articles, removed rows) all in [0, n)."""
    rows = np.asarray(rows)
    if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= n):
        raise Invalid(f"{what} name an article outside the shard's {n}")


def check_spans(spans: np.ndarray, chars: int, row: int, what: str = "paragraphs") -> None:
    """An article's paragraph (or token) spans: 0 <= start <= end <= its length."""
    if len(spans) and (
        int(spans.min()) < 0 or int(spans[:, 1].max()) > chars or bool((spans[:, 0] > spans[:, 1]).any())
    ):
        raise Invalid(f"{what} of article {row} lie outside its text")


def check_directory(d: np.ndarray, m: int) -> None:
    """A directory of ``m`` postings: from 0 to ``m``, never going back."""
    _offsets(d, m, "directory.npy")


MAX_TEXT = 1 << 26  # bytes of text an article may average in a shard


def file_limits(n: int, m: int, num_perm: int | None, text_bytes: int) -> dict[str, tuple[int, int]]:
    """(least, most) bytes each file of a shard of ``n`` articles and ``m`` postings can have, ``text_bytes``
    the size claimed for ``text.bin``; a manifest claiming more is not believed."""
    h = MAX_HEADER + 16

    def exact(data: int) -> tuple[int, int]:
        return data + 10, data + h

    from .bloom import size_bits

    return {
        "docs.parquet": (1, (n + 16) << 16),
        "text.bin": (0, (n + 1) * MAX_TEXT),
        "text_offsets.npy": exact((n + 1) * 8),
        "para_offsets.npy": exact((n + 1) * 8),
        "paragraphs.npy": (10, 32 * (max(text_bytes, 0) + n + 1) + h),  # a paragraph holds a character or so
        "postings.npy": exact(m * 8),
        "posting_docs.npy": exact(m * 4),
        "bucket_bounds.npy": exact(257 * 8),
        "directory.npy": (10, ((1 << 28) + 1) * 8 + h),
        "filter.npy": (10, (1 << size_bits(m)) // 8 + h),
        "signatures.npy": exact(n * num_perm * 4) if num_perm is not None else (10, n * 4096 + h),
        "token_index.npy": exact((n + 1) * 16),
        "token_words.npy": (10, 4 * max(text_bytes, 0) + h),  # a token holds a character at least
        "token_vocab.npy": (10, 8 * max(text_bytes, 0) + h),
        "token_wide.npy": (10, 8 * max(text_bytes, 0) + h),
    }


def _line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:160] if text else type(e).__name__
