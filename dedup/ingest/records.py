"""Records: ``.json`` (one object or a list), ``.jsonl``/``.ndjson`` (one object a line), ``.csv``, ``.parquet``.

One article a record. Its text, id, title, url and date come from fields found by their usual names
(case-insensitively: text/body/content/article/..., id/doc_id/uuid/..., title/headline, url/link/...,
date/published/published_at/...), or named by the options. The id is ``FILE#ID``, else
``FILE#rownumber`` (1-based); a repeated id gets ``#2``, ``#3``... so ids are unique. A single-object
``.json`` is one article with the file's own id. A record's paragraphs are a plain text's (its non-blank
lines, hard-wrapped lines joined: wrap.py); a text that is an HTML fragment is read as HTML.

JSON Lines, CSV and Parquet are streamed (a line, a row or a slice of rows at a time, never the
whole file; CSV with Python's csv module, Parquet with polars); a ``.json`` file is read whole,
within the size cap. A bad line gives one Skipped and the rest goes on; a file without a text field
gives one Skipped naming the fields it has. Memory per file: the ids seen so far (to keep them
unique, ~100 bytes a record), plus one record or slice.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from ..escape import name as escape_name
from .encoding import codec_name, decode, detect_legacy, wide_encoding
from .files import InputError, open_regular, open_stream, read_bytes
from .html import extract, looks_like_html
from .model import (
    Article,
    Entry,
    IngestOptions,
    Skipped,
    clean_text,
    error_text,
    has_words,
    parse_any_date,
    site_of,
    too_large,
)
from .sniff import binary_reason
from .wrap import text_paragraphs

TEXT_NAMES = ("text", "body", "content", "article", "article_text", "story", "full_text", "maintext")
ID_NAMES = ("id", "doc_id", "article_id", "uuid", "guid")
TITLE_NAMES = ("title", "headline")
URL_NAMES = ("url", "link", "source_url", "canonical_url")
DATE_NAMES = (
    "date",
    "published",
    "published_at",
    "publication_date",
    "pubdate",
    "datepublished",
    "date_publish",
    "date_published",
    "publish_date",
    "published_date",
    "pub_date",
    "timestamp",
)
_SAMPLE = 1 << 16
MAX_ID = 1000  # characters of a record's own id


@dataclass(frozen=True)
class Fields:
    """The actual names of the fields that hold each part of an article (None: not present)."""

    text: str | None
    id: str | None = None
    title: str | None = None
    url: str | None = None
    date: str | None = None

    def names(self) -> list[str]:
        return list(dict.fromkeys(n for n in (self.text, self.id, self.title, self.url, self.date) if n))


def find_fields(columns: Sequence[str], options: IngestOptions) -> Fields:
    """Which of ``columns`` hold text, id, title, url and date (an option's name wins; else common names)."""
    lower: dict[str, str] = {}
    for c in columns:
        if isinstance(c, str):
            lower.setdefault(c.lower(), c)

    def pick(forced: str | None, names: Sequence[str]) -> str | None:
        if forced:
            return forced if forced in columns else lower.get(forced.lower())
        return next((lower[n] for n in names if n in lower), None)

    return Fields(
        text=pick(options.text_field, TEXT_NAMES),
        id=pick(options.id_field, ID_NAMES),
        title=pick(options.title_field, TITLE_NAMES),
        url=pick(options.url_field, URL_NAMES),
        date=pick(options.date_field, DATE_NAMES),
    )


def _no_text_field(path: str, columns: Sequence[object], options: IngestOptions) -> Skipped:
    shown = ", ".join(escape_name(str(c)[:60]) for c in list(columns)[:20]) + (", ..." if len(columns) > 20 else "")
    wanted = f"no field {escape_name(options.text_field)!r}" if options.text_field else "no text field"
    return Skipped(path, f"{wanted} (fields: {shown or 'none'}); name it with --text-field")


def _str_or_none(v: object) -> str | None:
    if v is None or isinstance(v, dict | list):
        return None
    s = clean_text(str(v)).strip()
    return s or None


class _Maker:
    """Turns the records of one file into articles, keeping their ids unique within the file."""

    def __init__(self, entry: Entry, options: IngestOptions, encoding: str | None = None) -> None:
        self.entry = entry
        self.options = options
        self.encoding = encoding
        self.seen: set[str] = set()

    def unique(self, doc_id: str) -> str:
        if doc_id not in self.seen:
            self.seen.add(doc_id)
            return doc_id
        n = 2
        while f"{doc_id}#{n}" in self.seen:
            n += 1
        doc_id = f"{doc_id}#{n}"
        self.seen.add(doc_id)
        return doc_id

    def make(
        self, record: Mapping[str, object], fields: Fields, n: int, where: str, whole: bool = False
    ) -> Article | Skipped:
        """The article of record number ``n`` (``where`` names it in a warning; ``whole``: the file's only one)."""
        entry = self.entry
        label = f"{entry.path}#{where}"
        raw = record.get(fields.text) if fields.text else None
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        if isinstance(raw, dict | list):
            return Skipped(label, f"field {escape_name(fields.text)!r} is not text")
        if not isinstance(raw, str) or not raw.strip():
            return Skipped(label, "no text")
        if len(raw) > self.options.max_file_size:
            return Skipped(label, too_large(self.options.max_file_size))
        text = clean_text(raw)
        title = _str_or_none(record.get(fields.title)) if fields.title else None
        url = _str_or_none(record.get(fields.url)) if fields.url else None
        date = parse_any_date(record.get(fields.date)) if fields.date else None
        if looks_like_html(text):
            page = extract(text, url)
            text, paragraphs = page.text, page.paragraphs
            title, url, date = title or page.title, url or page.url, date or page.date
        else:
            paragraphs = text_paragraphs(text)
        if not has_words(text):
            return Skipped(label, "no text")
        rid = _str_or_none(record.get(fields.id)) if fields.id else None
        if rid is not None and len(rid) > MAX_ID:
            rid = None  # an id that long names nothing: the row number does
        doc_id = entry.id if whole else f"{entry.id}#{rid if rid is not None else n}"
        return Article(
            id=self.unique(doc_id),
            path=entry.path,
            text=text,
            paragraphs=paragraphs,
            title=title,
            url=url,
            site=site_of(url),
            date=date,
            encoding=self.encoding,
            kind=entry.kind,
        )


def _loads(data: bytes) -> tuple[object, str | None]:
    """Parse JSON bytes (UTF-8/16/32); bytes in a legacy encoding are decoded first. Raises ValueError."""
    try:
        return json.loads(data), None
    except UnicodeDecodeError:
        text, encoding = decode(data)
        return json.loads(text), encoding


def read_json(entry: Entry, options: IngestOptions) -> Iterator[Article | Skipped]:
    """A ``.json`` file: one object (one article), a list of objects, or an object holding such a list."""
    try:
        data = read_bytes(entry.path, options.max_file_size)
        if reason := binary_reason(data):
            yield Skipped(entry.path, reason)
            return
        doc, encoding = _loads(data)
    except InputError as e:
        yield Skipped(entry.path, str(e))
        return
    except (ValueError, RecursionError) as e:
        yield Skipped(entry.path, f"not valid JSON: {error_text(e)}")
        return
    maker = _Maker(entry, options, encoding)
    if isinstance(doc, dict):
        fields = find_fields(list(doc), options)
        if fields.text is not None:
            yield maker.make(doc, fields, 1, "1", whole=True)
            return
        lists = [v for v in doc.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        if len(lists) != 1:
            yield _no_text_field(entry.path, list(doc), options)
            return
        doc = lists[0]
    if not isinstance(doc, list):
        yield Skipped(entry.path, "not a JSON object or list of objects")
        return
    yield from _records(maker, enumerate(doc, 1), "record")


def _records(maker: _Maker, numbered: Iterator[tuple[int, object]], unit: str) -> Iterator[Article | Skipped]:
    """Articles of numbered parsed records (None: a blank line); a file without a text field ends at once."""
    first = True
    for n, rec in numbered:
        if rec is None:
            continue
        if isinstance(rec, Skipped):
            yield rec
            continue
        if not isinstance(rec, dict):
            yield Skipped(f"{maker.entry.path}#{unit} {n}", "not a JSON object")
            continue
        fields = find_fields(list(rec), maker.options)
        if fields.text is None:
            if first:
                yield _no_text_field(maker.entry.path, list(rec), maker.options)
                return
            yield Skipped(f"{maker.entry.path}#{unit} {n}", "no text field")
            continue
        first = False
        yield maker.make(rec, fields, n, f"{unit} {n}")


def _json_lines(entry: Entry, options: IngestOptions) -> Iterator[object]:
    """Parsed lines of a JSON Lines file (blank lines kept as None); a bad line as a Skipped."""
    cap = options.max_file_size
    with open_stream(entry.path) as f:
        if reason := binary_reason(f.peek(_SAMPLE)[:_SAMPLE]):  # peek: the head, without consuming it
            yield Skipped(entry.path, reason)
            return
        n = 0
        while True:
            line = f.readline(cap + 1)
            if not line:
                return
            n += 1
            if len(line) > cap and not line.endswith(b"\n"):
                while (chunk := f.readline(1 << 20)) and not chunk.endswith(b"\n"):
                    pass
                yield Skipped(f"{entry.path}#line {n}", too_large(cap))
                continue
            if not line.strip():
                yield None
                continue
            try:
                yield _loads(line)[0]
            except (ValueError, RecursionError) as e:
                yield Skipped(f"{entry.path}#line {n}", f"not valid JSON: {error_text(e)}")


def read_jsonl(entry: Entry, options: IngestOptions) -> Iterator[Article | Skipped]:
    """A ``.jsonl``/``.ndjson`` file (optionally gzipped), streamed line by line."""
    try:
        yield from _records(_Maker(entry, options), enumerate(_json_lines(entry, options), 1), "line")
    except InputError as e:
        yield Skipped(entry.path, str(e))
    except (OSError, EOFError) as e:  # a truncated or corrupt gzip stream
        yield Skipped(entry.path, f"read error: {error_text(e)}")


def _fd_path(fd: int) -> str | None:
    """A path naming an already opened descriptor, so polars reads exactly the file that was checked."""
    path = f"/proc/self/fd/{fd}"
    return path if os.path.exists(path) else None


def _csv_encoding(head: bytes, forced: str | None) -> str | None:
    """The encoding of a CSV file: forced, from a BOM, UTF-8 (None) when its first 64 KB are, else detected."""
    if forced:
        name = codec_name(forced) or "utf-8"
        return None if name == "utf-8" else name
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if wide := wide_encoding(head):  # UTF-16/32 without a BOM
        return wide
    try:
        head.decode("utf-8")
        return None
    except UnicodeDecodeError as e:
        if e.start >= len(head) - 3 and len(head) == _SAMPLE:  # a character cut by the sample's end
            return None
    return detect_legacy(head)


def _bounded_lines(stream: io.TextIOWrapper, cap: int, too_long: list[int]) -> Iterator[str]:
    """The lines of a text stream, NULs dropped, each read against ``cap`` characters: a longer one is read on
    in 1 MB pieces without being kept, noted in ``too_long`` (its number) and given as a blank line (which
    the csv module passes over), so a 1 GB line costs 1 MB, not 2 GB."""
    n = 0
    while line := stream.readline(cap + 1):
        n += 1
        if len(line) > cap and not line.endswith(("\n", "\r")):
            while (piece := stream.readline(1 << 20)) and not piece.endswith(("\n", "\r")):
                pass
            too_long.append(n)
            yield "\n"
            continue
        yield line.replace("\0", "")


def read_csv(entry: Entry, options: IngestOptions) -> Iterator[Article | Skipped]:
    """A ``.csv`` file with a header row, streamed row by row.

    Python's csv module (C), not polars: polars' ``collect_batches`` runs ahead of the consumer, so its
    memory grows with the file, while csv.reader's stays flat, in any encoding.
    """
    try:
        f = open_regular(entry.path)
    except InputError as e:
        yield Skipped(entry.path, str(e))
        return
    with f:
        head = f.peek(_SAMPLE)[:_SAMPLE]
        if reason := binary_reason(head):
            yield Skipped(entry.path, reason)
            return
        encoding = _csv_encoding(head, options.encoding)
        maker = _Maker(entry, options, encoding)
        n = 0
        try:
            csv.field_size_limit(max(csv.field_size_limit(), options.max_file_size + 1))
            stream = io.TextIOWrapper(f, encoding=encoding or "utf-8-sig", errors="replace", newline="")
            too_long: list[int] = []  # physical lines past the per-record limit, skipped while reading
            reader = csv.DictReader(_bounded_lines(stream, options.max_file_size, too_long), restval=None)
            columns = reader.fieldnames or []
            if not columns:
                yield Skipped(entry.path, "no text")
                return
            fields = find_fields(columns, options)
            if fields.text is None:
                yield _no_text_field(entry.path, columns, options)
                return
            for row in reader:
                while too_long:  # a line past the limit, read over without being kept: its row is skipped
                    too_long.pop(0)
                    n += 1
                    yield Skipped(f"{entry.path}#row {n}", too_large(options.max_file_size))
                n += 1
                yield maker.make(row, fields, n, f"row {n}")
            while too_long:
                too_long.pop(0)
                n += 1
                yield Skipped(f"{entry.path}#row {n}", too_large(options.max_file_size))
        except (csv.Error, OSError, ValueError) as e:
            yield Skipped(f"{entry.path}#row {n + 1}", f"not valid CSV, rest of the file not read: {error_text(e)}")


SLICE_BYTES = 32 << 20  # text decoded at a time, as the footer sizes it
ROW_GROUP_BYTES = 512 << 20  # a row group past this is read only if no page of it is (polars decodes whole pages)


def _parquet_rows(path: str, f: BinaryIO, size: int, fields: Fields, cap: int) -> Iterator[tuple[int, object]]:
    """(row number, row) of the needed columns, row group by row group in slices sized from the footer's
    uncompressed sizes (from one row: ``SLICE_BYTES`` of text a slice); a row group whose text cannot be read
    within ``ROW_GROUP_BYTES`` (a page larger than that, or than ``cap`` a row: a compression bomb) is one
    Skipped naming its rows, and the reading goes on with the next one."""
    import polars as pl

    from ..featurestore.footer import largest_page, read_footer

    names = set(fields.names())
    exprs = [pl.col(c) if c == fields.date else pl.col(c).cast(pl.String, strict=False) for c in fields.names()]
    lf = pl.scan_parquet(path).select(exprs)
    offset = 0
    for group in read_footer(f, size):
        start, rows = offset, group.rows
        offset += rows
        if rows <= 0:
            continue
        need = group.uncompressed(names)
        step = max(1, min(10_000, SLICE_BYTES * rows // max(1, need)))
        if need > SLICE_BYTES:  # the page sizes say what a slice really decodes
            pages = max((largest_page(f, c, size) for c in group.chunks if c.column in names), default=0)
            limit = min(ROW_GROUP_BYTES, max(cap, SLICE_BYTES))
            if need > ROW_GROUP_BYTES and pages > limit:
                where = f"rows {start + 1}-{start + rows}"
                yield (
                    start + 1,
                    Skipped(
                        f"{path}#{where}",
                        f"{need / 2**20:,.0f} MB of text once decompressed, in pages of up to {pages / 2**20:,.0f} MB"
                        f" (more than {limit / 2**20:,.0f} MB): too large",
                    ),
                )
                continue
            if pages > SLICE_BYTES:
                step = rows  # any slice decodes whole pages this large: the row group is read once
        for lo in range(start, start + rows, step):
            batch = lf.slice(lo, min(step, start + rows - lo)).collect()
            for k, row in enumerate(batch.iter_rows(named=True)):
                yield lo + k + 1, row


def read_parquet(entry: Entry, options: IngestOptions) -> Iterator[Article | Skipped]:
    """A ``.parquet`` file, streamed in slices of rows; only the needed columns are read."""
    import polars as pl

    try:
        f = open_regular(entry.path)
    except InputError as e:
        yield Skipped(entry.path, str(e))
        return
    with f:
        maker = _Maker(entry, options)
        try:
            path = _fd_path(f.fileno()) or entry.path
            columns = pl.scan_parquet(path).collect_schema().names()
            fields = find_fields(columns, options)
            if fields.text is None:
                yield _no_text_field(entry.path, columns, options)
                return
            size = os.fstat(f.fileno()).st_size
            for n, row in _parquet_rows(path, f, size, fields, options.max_file_size):
                if isinstance(row, Skipped):
                    yield Skipped(row.path.replace(path, entry.path, 1), row.reason)
                    continue
                yield maker.make(row, fields, n, f"row {n}")
        except (pl.exceptions.PolarsError, OSError, ValueError) as e:
            yield Skipped(entry.path, f"not valid Parquet: {error_text(e)}")
