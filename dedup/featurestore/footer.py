"""A Parquet file's footer and page headers, read without pyarrow: what a slice of it will cost to decode.

Why: polars decodes whole pages, and for any slice of a row group whose text column is one page it decodes
the whole row group (measured: one row of a 640 MB row group took 1.35 GB). A file of 250 KB can hold
gigabytes of compressed text, so readers size what they read from these numbers first: the scan's Parquet
reader (``ingest.records``) and the store's validation (``validate``). The footer is Thrift's compact
protocol; only what is needed is kept, and nesting, counts and lengths are bounded (a hostile footer is
an error, not a recursion or an allocation).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

MAX_FOOTER = 64 << 20  # bytes of footer read at most
_DEPTH = 32


class FooterError(ValueError):
    """A footer or page header that cannot be read."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise FooterError("the footer ends early")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        out = shift = 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if not b & 0x80:
                return out
            shift += 7
            if shift > 70:
                raise FooterError("a number in the footer is too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FooterError("a value in the footer runs past its end")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def value(self, kind: int, depth: int) -> Any:
        if depth > _DEPTH:
            raise FooterError("the footer is nested too deeply")
        if kind in (1, 2):
            return kind == 1
        if kind == 3:
            return self.byte()
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 7:
            return self.take(8)
        if kind == 8:
            return self.take(self.varint())
        if kind in (9, 10):
            head = self.byte()
            size, elem = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            if size > len(self.data) - self.pos + 1:
                raise FooterError("a list in the footer is longer than the footer")
            if elem in (1, 2):
                return [self.byte() == 1 for _ in range(size)]
            return [self.value(elem, depth + 1) for _ in range(size)]
        if kind == 11:
            size = self.varint()
            if not size:
                return {}
            if size > len(self.data) - self.pos:
                raise FooterError("a map in the footer is longer than the footer")
            types = self.byte()
            return {self.value(types >> 4, depth + 1): self.value(types & 0x0F, depth + 1) for _ in range(size)}
        if kind == 12:
            return self.struct(depth + 1)
        raise FooterError(f"unknown type {kind} in the footer")

    def struct(self, depth: int = 0) -> dict[int, Any]:
        out: dict[int, Any] = {}
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return out
            delta, kind = head >> 4, head & 0x0F
            field = last + delta if delta else self.zigzag()
            out[field] = self.value(kind, depth)
            last = field


@dataclass(frozen=True)
class Chunk:
    """One column chunk: its top-level column, uncompressed and compressed sizes, where its pages start."""

    column: str
    uncompressed: int
    compressed: int
    start: int


@dataclass(frozen=True)
class RowGroup:
    rows: int
    chunks: tuple[Chunk, ...]

    def uncompressed(self, columns: set[str] | None = None) -> int:
        """Bytes its chunks of ``columns`` (None: all) take once decompressed, as the footer states them."""
        return sum(c.uncompressed for c in self.chunks if columns is None or c.column in columns)


def read_footer(f: BinaryIO, size: int) -> list[RowGroup]:
    """The row groups of a Parquet file open as ``f`` (``size`` bytes); ``FooterError`` when it has none."""
    if size < 12:
        raise FooterError("too short for Parquet")
    f.seek(size - 8)
    tail = f.read(8)
    if tail[4:] != b"PAR1":
        raise FooterError("no Parquet footer (encrypted or not Parquet)")
    length = struct.unpack("<I", tail[:4])[0]
    if length > min(MAX_FOOTER, size - 12):
        raise FooterError(f"a footer of {length:,} bytes in a file of {size:,}")
    f.seek(size - 8 - length)
    meta = _Reader(f.read(length)).struct()
    groups = []
    for rg in meta.get(4) or []:
        chunks = []
        for cc in rg.get(1) or []:
            md = cc.get(3) or {}
            path = md.get(3) or [b""]
            start = md.get(11) if md.get(11) is not None and md.get(11) > 0 else md.get(9, 0)
            chunks.append(
                Chunk(
                    column=path[0].decode("utf-8", "replace"),
                    uncompressed=int(md.get(6, 0)),
                    compressed=int(md.get(7, 0)),
                    start=int(start or 0),
                )
            )
        groups.append(RowGroup(rows=int(rg.get(3, 0)), chunks=tuple(chunks)))
    return groups


def largest_page(f: BinaryIO, chunk: Chunk, size: int, max_pages: int = 100_000) -> int:
    """The largest uncompressed page of a column chunk, from its page headers (each header read, its data
    skipped); ``FooterError`` when a header cannot be read or there are more than ``max_pages``."""
    pos, end, largest, pages = chunk.start, min(size, chunk.start + chunk.compressed), 0, 0
    while pos < end:
        pages += 1
        if pages > max_pages:
            raise FooterError(f"more than {max_pages:,} pages in a column chunk")
        for room in (4096, 1 << 20, 16 << 20):  # a header holding statistics can be long
            f.seek(pos)
            r = _Reader(f.read(room))
            try:
                header = r.struct()
                break
            except FooterError:
                if room == 16 << 20:
                    raise
        uncompressed, compressed = int(header.get(2, 0)), int(header.get(3, 0))
        if uncompressed < 0 or compressed < 0:
            raise FooterError("a page header with a negative size")
        largest = max(largest, uncompressed)
        pos += r.pos + compressed
    return largest
