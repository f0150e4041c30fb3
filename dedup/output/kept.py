"""The kept pairs and the clusters' member lists as a result holds them and its writer reads them.

A local scan keeps its pairs as one polars frame (``FramePairs``); a cluster's driver keeps them as files, one a
part of consecutive rows (``PairFiles``), so that it holds none of them while the result is written: the writer asks
for what it writes (``batches``, ``take``, ``column``) and each part is read, mapped, only for the rows asked. Both
are a ``PairRows``, the one interface ``ScanResult`` reads the pairs through.

The clusters' members and versions are lists of articles per cluster, kept as CSR arrays (``Groups``: the articles
one after the other and each cluster's offset), which the writer reads a range of clusters at a time; a cluster's
driver saves the arrays in its result folder and maps them where they are read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, overload

import numpy as np
import polars as pl


class PairRows(Protocol):
    """The kept pairs, in their order (``phase2.Found.pairs``): one row a pair, the columns of verification and
    directions. ``take`` and ``batches`` read only the rows asked; ``column`` reads one column whole."""

    @property
    def schema(self) -> pl.Schema: ...

    def __len__(self) -> int: ...

    def take(self, rows: np.ndarray) -> pl.DataFrame: ...

    def slice(self, lo: int, n: int) -> pl.DataFrame: ...

    def batches(self, rows: int) -> Iterator[pl.DataFrame]: ...

    def column(self, name: str) -> pl.Series: ...

    def whole(self) -> pl.DataFrame: ...


class FramePairs:
    """``PairRows`` of a frame held in memory (a local scan's, a query's)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    @property
    def schema(self) -> pl.Schema:
        return self.frame.schema

    def __len__(self) -> int:
        return self.frame.height

    def take(self, rows: np.ndarray) -> pl.DataFrame:
        rows = np.asarray(rows, dtype=np.int64)
        return self.frame[rows] if len(rows) else self.frame.clear()

    def slice(self, lo: int, n: int) -> pl.DataFrame:
        return self.frame.slice(lo, n)

    def batches(self, rows: int) -> Iterator[pl.DataFrame]:
        for lo in range(0, self.frame.height, max(1, rows)):
            yield self.frame.slice(lo, rows)

    def column(self, name: str) -> pl.Series:
        return self.frame[name]

    def whole(self) -> pl.DataFrame:
        return self.frame


class PairFiles:
    """``PairRows`` kept in ``folder``: part k (rows ``bounds[k]:bounds[k + 1]``) is ``pairs-<k>.npy``, one record a
    pair (``_Layout``: numbers as they are, text as codes into a small dictionary, lists of one width as fixed-size
    fields), read mapped: ``take`` copies out only the records asked, a part at a time. Pickled as its folder,
    bounds and layout."""

    def __init__(self, folder: str, bounds: np.ndarray, layout: _Layout, keep: Any = None) -> None:
        self.folder, self.bounds, self.layout = folder, np.asarray(bounds, dtype=np.int64), layout
        self.keep = keep  # what keeps the folder (a cluster's ``ResultParts``); not pickled

    def __getstate__(self) -> dict:
        return {**self.__dict__, "keep": None}

    @classmethod
    def write(cls, folder: str, frame: pl.DataFrame, bounds: Sequence[int], keep: Any = None) -> PairFiles:
        """``frame`` written to ``folder``, part k its rows ``bounds[k]:bounds[k + 1]`` (ascending, from 0 to its
        height; ``part_bounds`` cuts parts of a few rows each)."""
        layout = _Layout.of(frame)
        bounds = np.unique(np.asarray(bounds, dtype=np.int64))  # an empty part is no file
        for k, (lo, hi) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist())):
            np.save(_path(folder, k), layout.records(frame.slice(lo, hi - lo)), allow_pickle=False)
        return cls(folder, bounds if len(bounds) else np.zeros(1, dtype=np.int64), layout, keep)

    @property
    def schema(self) -> pl.Schema:
        return self.layout.schema

    def __len__(self) -> int:
        return int(self.bounds[-1])

    def _part(self, k: int) -> np.ndarray:
        path = _path(self.folder, k)
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise OSError(f"{path}: cannot read the kept pairs ({' '.join(str(e).split())[:200]})") from None

    def take(self, rows: np.ndarray) -> pl.DataFrame:
        """Rows ``rows`` (any order, repeats allowed) in that order, each part mapped once for the rows it holds."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty(len(rows), dtype=self.layout.dtype)
        if len(rows):
            part = np.searchsorted(self.bounds, rows, side="right") - 1
            order = np.argsort(part, kind="stable")
            by_part = part[order]
            cuts = np.flatnonzero(np.diff(by_part)) + 1
            for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(order)].tolist()):
                k, at = int(by_part[lo]), order[lo:hi]
                out[at] = self._part(k)[rows[at] - self.bounds[k]]
        return self.layout.frame(out)

    def slice(self, lo: int, n: int) -> pl.DataFrame:
        """Rows ``lo:lo + n`` (clipped to the pairs), read from the parts that hold them."""
        lo = min(max(0, lo), len(self))
        return self.take(np.arange(lo, min(len(self), lo + max(0, n))))

    def batches(self, rows: int) -> Iterator[pl.DataFrame]:
        """Consecutive batches of ``rows`` rows (the last shorter), in the pairs' order."""
        for lo in range(0, len(self), max(1, rows)):
            yield self.slice(lo, rows)

    def column(self, name: str) -> pl.Series:
        """Column ``name`` of every pair, read part by part (only its field of each record)."""
        if name not in self.layout.schema:
            raise pl.exceptions.ColumnNotFoundError(name)
        fields = [f for f in self.layout.dtype.names if f in (name, _VALID + name)]
        sub = np.empty(len(self), dtype=np.dtype([(f, self.layout.dtype[f]) for f in fields]))
        for k in range(len(self.bounds) - 1):
            part = self._part(k)
            for f in fields:
                sub[f][self.bounds[k] : self.bounds[k + 1]] = part[f]
        return self.layout.series(name, sub)

    def whole(self) -> pl.DataFrame:
        """Every pair as one frame (what a library user asks of ``ScanResult.pairs``)."""
        return self.slice(0, len(self))


_VALID = "valid:"  # the field of a numeric column's nulls (where it has any)


class _Layout:
    """How a pairs frame's rows are records of one numpy dtype: a number or a flag as itself (with a validity field
    where the column has nulls), a text as an int32 code into the column's distinct values (-1: null), a list of one
    width for every row as a fixed-size field."""

    def __init__(self, schema: pl.Schema, dtype: np.dtype, words: dict[str, list[str]], widths: dict[str, int]):
        self.schema, self.dtype, self.words, self.widths = schema, dtype, words, widths

    @classmethod
    def of(cls, frame: pl.DataFrame) -> _Layout:
        fields: list[tuple] = []
        words: dict[str, list[str]] = {}
        widths: dict[str, int] = {}
        for name, kind in frame.schema.items():
            col = frame[name]
            if kind == pl.Utf8:
                words[name] = col.drop_nulls().unique(maintain_order=True).to_list()
                fields.append((name, np.int32))
            elif isinstance(kind, pl.List) and kind.inner.is_numeric():
                lengths = col.list.len().unique().to_list()
                if col.null_count() or len(lengths) > 1:
                    raise TypeError(f"column {name!r}: lists of one width only")
                widths[name] = int(lengths[0]) if lengths else 0
                fields.append((name, _numpy(kind.inner), (widths[name],)))
            elif kind.is_numeric() or kind == pl.Boolean:
                fields.append((name, _numpy(kind)))
                if col.null_count():
                    fields.append((_VALID + name, np.bool_))
            else:
                raise TypeError(f"column {name!r}: {kind} is not kept by part")
        return cls(frame.schema, np.dtype(fields), words, widths)

    def records(self, part: pl.DataFrame) -> np.ndarray:
        """``part``'s rows as records."""
        out = np.zeros(part.height, dtype=self.dtype)
        for name in self.schema:
            col = part[name]
            if name in self.words:
                codes = col.replace_strict(self.words[name], list(range(len(self.words[name]))), default=-1)
                out[name] = codes.cast(pl.Int32).to_numpy()
            elif name in self.widths:
                out[name] = col.explode().to_numpy().reshape(part.height, self.widths[name])
            else:
                if _VALID + name in self.dtype.names:
                    out[_VALID + name] = col.is_not_null().to_numpy()
                    col = col.fill_null(0)
                out[name] = col.to_numpy()
        return out

    def series(self, name: str, records: np.ndarray) -> pl.Series:
        """Column ``name`` of these records, in the frame's dtype."""
        kind, values = self.schema[name], records[name]
        if name in self.words:
            words = pl.Series(name, self.words[name], dtype=pl.Utf8)
            codes = pl.Series(values.astype(np.int64)).scatter(np.flatnonzero(values < 0), None)
            return words.gather(codes) if len(words) else pl.Series(name, [None] * len(values), dtype=pl.Utf8)
        if name in self.widths:
            flat = np.ascontiguousarray(values).reshape(len(values), self.widths[name])
            return pl.Series(name, flat).cast(kind)
        out = pl.Series(name, np.ascontiguousarray(values)).cast(kind)
        if _VALID + name in records.dtype.names:
            out = out.scatter(np.flatnonzero(~records[_VALID + name]), None)
        return out

    def frame(self, records: np.ndarray) -> pl.DataFrame:
        """These records as a frame of the pairs' schema."""
        return pl.DataFrame([self.series(name, records) for name in self.schema], schema=self.schema)


def _numpy(kind: Any) -> np.dtype:
    return np.dtype(pl.Series([], dtype=kind).to_numpy().dtype)


_ITER_CLUSTERS = 4096


def part_bounds(rows: int, part_rows: int) -> np.ndarray:
    """Bounds of parts of ``part_rows`` consecutive rows (the last shorter) over ``rows`` rows."""
    return np.r_[np.arange(0, rows, max(1, part_rows)), rows].astype(np.int64)


def _path(folder: str, k: int) -> str:
    return os.path.join(folder, f"pairs-{k:05d}.npy")


class Groups(Sequence):
    """Lists of articles, one a cluster (its members, its source's other versions), as CSR arrays: ``flat``, the
    articles one after the other, and ``offsets`` (cluster k's are ``flat[offsets[k]:offsets[k + 1]]``). Either may be
    a mapped array (``np.asarray`` maps it): ``span`` reads a range of clusters from it. Indexed, it is a sequence of
    lists of ints, as the lists it replaces (9-16 bytes a member and a cluster instead of ~40 and ~60)."""

    def __init__(self, flat: Any, offsets: Any) -> None:
        self.flat, self.offsets = flat, offsets

    @classmethod
    def of(cls, lists: Iterable[Sequence[int]]) -> Groups:
        """The CSR form of ``lists``."""
        parts = [np.asarray(g, dtype=np.int64) for g in lists]
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        return cls(np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def sizes(self) -> np.ndarray:
        """Each cluster's number of articles."""
        return np.diff(np.asarray(self.offsets, dtype=np.int64))

    def span(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Clusters ``lo:hi``'s articles one after the other (int64, copied out), and each one's count."""
        offsets = np.asarray(self.offsets)[lo : hi + 1].astype(np.int64)  # mapped: only the range read
        if not len(offsets):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        flat = np.array(np.asarray(self.flat)[offsets[0] : offsets[-1]], dtype=np.int64)
        return flat, np.diff(offsets)

    @overload
    def __getitem__(self, k: int) -> list[int]: ...

    @overload
    def __getitem__(self, k: slice) -> list[list[int]]: ...

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            lo, hi, step = k.indices(len(self))
            if step != 1:
                return [self[i] for i in range(lo, hi, step)]
            flat, sizes = self.span(lo, max(lo, hi))
            cuts = np.cumsum(sizes)[:-1]
            return [part.tolist() for part in np.split(flat, cuts)] if len(sizes) else []
        n = len(self)
        if not -n <= k < n:
            raise IndexError(f"cluster {k} out of range ({n} clusters)")
        k = k % n
        flat, _ = self.span(k, k + 1)
        return flat.tolist()

    def __iter__(self) -> Iterator[list[int]]:
        for lo in range(0, len(self), _ITER_CLUSTERS):  # a range at a time: never every list at once
            yield from self[lo : lo + _ITER_CLUSTERS]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(list(a) == list(b) for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


ROLES = (None, "source", "copy")  # ``Roles``' codes


class Roles(Sequence):
    """Each article's role in its cluster ("source", "copy", None: in none; ``cluster.roles``) as a byte an article
    (its index in ``ROLES``) instead of a Python list's pointer; indexed, the same values."""

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = codes

    @classmethod
    def of(cls, roles: Sequence[str | None]) -> Roles:
        if isinstance(roles, Roles):
            return roles
        code = {r: k for k, r in enumerate(ROLES)}
        return cls(np.fromiter((code[r] for r in roles), dtype=np.int8, count=len(roles)))

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return self.take(np.arange(len(self))[k])
        return ROLES[int(self.codes[k])]

    def take(self, rows: np.ndarray) -> list[str | None]:
        """The roles of articles ``rows``."""
        return [ROLES[c] for c in np.asarray(self.codes)[np.asarray(rows, dtype=np.int64)].tolist()]

    def is_copy(self) -> np.ndarray:
        """Per article, whether it is a copy."""
        return np.asarray(self.codes) == ROLES.index("copy")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
