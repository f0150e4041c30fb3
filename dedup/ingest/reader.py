"""From entries to articles: one reader per kind, and the guarantees every reader keeps.

Every problem becomes a Skipped (one per bad file, line, row or record) and never an exception;
articles are yielded one at a time, so a caller can batch them without holding a folder in memory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from . import text as text_module
from .encoding import declared_charset, decode
from .files import InputError, is_gzip_name, os_reason, read_bytes
from .html import extract
from .model import DEFAULT_OPTIONS, Article, Entry, IngestOptions, Skipped, error_text, has_words
from .own import html_written_by_dedup, written_by_dedup
from .records import read_csv, read_json, read_jsonl, read_parquet
from .sniff import binary_reason
from .text import read_text, read_text_segmented
from .walk import _file, _inside, walk
from .warc import read_warc


def _read_text(entry: Entry, options: IngestOptions) -> Iterator[Article | Skipped]:
    data = read_bytes(entry.path, options.max_file_size)
    if reason := binary_reason(data):
        yield Skipped(entry.path, reason)
        return
    article = read_text(entry.id, entry.path, data, options.encoding)
    del data  # not held while the article is worked on (a 200 MB file's bytes)
    yield article if article is not None else Skipped(entry.path, "no text")


def _read_text_segmented(entry: Entry, options: IngestOptions) -> Iterator[Article | Skipped]:
    """A text file, a huge one (over ``text.LONG_BYTES``, not gzipped, no forced encoding) read segment by
    segment into a ``LongText`` (``read_text_segmented``); any other, or one it cannot read so, as before."""
    if entry.size > text_module.LONG_BYTES and options.encoding is None and not is_gzip_name(entry.path):
        item = read_text_segmented(entry.id, entry.path, options.max_file_size)
        if item is not None:
            yield item
            return
    yield from _read_text(entry, options)


def _read_html(entry: Entry, options: IngestOptions) -> Iterator[Article | Skipped]:
    data = read_bytes(entry.path, options.max_file_size)  # a .html.gz is sniffed after decompression
    if html_written_by_dedup(data):
        yield Skipped(entry.path, "an HTML page written by dedup, not an article")
        return
    article = html_article(entry.id, entry.path, data, options.encoding)
    del data
    yield article


def html_article(doc_id: str, path: str, data: bytes, forced: str | None = None) -> Article | Skipped:
    """One HTML page's bytes as an article (a Skipped when binary or without words)."""
    if reason := binary_reason(data):
        return Skipped(path, reason)
    text, encoding = decode(data, forced, declared_charset(data))
    page = extract(text)
    if not has_words(page.text):
        return Skipped(path, "no text")
    return Article(
        id=doc_id,
        path=path,
        text=page.text,
        paragraphs=page.paragraphs,
        title=page.title,
        url=page.url,
        site=page.site,
        date=page.date,
        encoding=encoding,
        kind="html",
    )


def read_upload(doc_id: str, data: bytes, kind: str, forced: str | None = None) -> Article | Skipped:
    """An article sent in memory (``dedup serve``): ``kind`` "text" or "html", read as a file of that kind
    is; ``path`` is the id (no file is involved)."""
    if kind == "html":
        return html_article(doc_id, doc_id, data, forced)
    if reason := binary_reason(data):
        return Skipped(doc_id, reason)
    article = read_text(doc_id, doc_id, data, forced)
    return article if article is not None else Skipped(doc_id, "no text")


_READERS = {
    "text": _read_text,
    "html": _read_html,
    "json": read_json,
    "jsonl": read_jsonl,
    "csv": read_csv,
    "parquet": read_parquet,
    "warc": read_warc,
}


def read_entry(
    entry: Entry, options: IngestOptions = DEFAULT_OPTIONS, *, segmented: bool = False
) -> Iterator[Article | Skipped]:
    """The articles of one file, streamed; every problem is a Skipped, never an exception. ``segmented``: a
    huge text file's article holds a ``LongText`` (phase 1 reads it so), not a ``str``; the views, which work
    on a ``str``, leave it off."""
    reader = _read_text_segmented if segmented and entry.kind == "text" else _READERS.get(entry.kind)
    if reader is None:
        yield Skipped(entry.path, f"unknown kind {entry.kind!r}")
        return
    if reason := written_by_dedup(entry.path, entry.kind):
        yield Skipped(entry.path, reason)
        return
    try:
        yield from reader(entry, options)
    except InputError as e:
        yield Skipped(entry.path, str(e))
    except MemoryError:
        yield Skipped(entry.path, "out of memory while reading")
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as e:  # noqa: BLE001 - the contract: a bad input is a warning, never a traceback
        # (BaseException: a Rust panic inside polars surfaces as pyo3's PanicException, not an Exception.)
        yield Skipped(entry.path, f"could not be read ({type(e).__name__}: {error_text(e)})")


def read_articles(
    root: str | os.PathLike[str], options: IngestOptions = DEFAULT_OPTIONS
) -> Iterator[Article | Skipped]:
    """Every article under ``root`` (``walk`` then ``read_entry``), in walk order, with what was skipped."""
    for item in walk(root, options):
        if isinstance(item, Skipped):
            yield item
        else:
            yield from read_entry(item, options)


def read_file(path: str | os.PathLike[str], options: IngestOptions = DEFAULT_OPTIONS) -> list[Article | Skipped]:
    """The articles of one file a user named (``dedup show/diff``), with the same safety rules as the walk.

    Its id is the file's name. A symlink is followed only when its target stays inside the link's own
    folder (or with ``follow_links``); only a regular file is opened.
    """
    shown = os.fspath(path)
    if isinstance(shown, bytes):
        shown = os.fsdecode(shown)
    name = os.path.basename(shown.rstrip(os.sep)) or shown
    try:
        lst = os.lstat(shown)
        target = shown
        if stat.S_ISLNK(lst.st_mode):
            target = os.path.realpath(shown)
            folder = os.path.realpath(os.path.dirname(os.path.abspath(shown)))
            if not options.follow_links and not _inside(target, folder):
                return [Skipped(shown, "link points outside its folder (use --follow-links to follow it)")]
        st = os.stat(target)
    except OSError as e:
        return [Skipped(shown, os_reason(e))]
    if stat.S_ISDIR(st.st_mode):
        return [Skipped(shown, "is a folder, not a file")]
    item = _file(name, shown, target, st, options)
    if isinstance(item, Skipped):
        return [item]
    return list(read_entry(item, options))
