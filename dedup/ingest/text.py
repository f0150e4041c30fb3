"""Plain text (``.txt``, ``.md``): the file's text as is, one paragraph a non-blank line unless hard-wrapped.

The rules of the original reader: no newline translation, a leading ``---`` front-matter block is
metadata (its ``date``/``published``/... key gives the date, ``site:`` the site, else the host of
``url:``/``link:``; the body starts after it), and
paragraphs are the trimmed non-blank lines after it; hard-wrapped text has its lines joined into
paragraphs instead (wrap.py), as spans over the same text. The decoding is wider (see encoding.py).
"""

from __future__ import annotations

import os

import numpy as np

from ..longtext import LongText
from .encoding import BOMS, decode, wide_encoding
from .files import InputError, _open_fd, os_reason
from .model import (
    DATE_KEYS,
    Article,
    Skipped,
    front_matter,
    has_words,
    parse_any_date,
    site_named,
    site_of,
    split_paragraphs,
    too_large,
)
from .sniff import SAMPLE, binary_reason
from .wrap import text_paragraphs, wrapped


def text_article(doc_id: str, path: str, text: str, encoding: str | None = None) -> Article | None:
    """The article of one plain text, or None when it holds no words after its front matter."""
    meta, body = front_matter(text)
    if not has_words(text, body):
        return None
    return article_of(doc_id, path, text, meta, body, text_paragraphs(text, body), encoding)


def article_of(
    doc_id: str,
    path: str,
    text: str,
    meta: dict[str, str],
    body: int,
    paragraphs: list[tuple[int, int]] | np.ndarray,
    encoding: str | None = None,
) -> Article:
    """The article of a plain text with words, from its front matter ``meta``, where its ``body`` starts and
    its ``paragraphs`` (``text_paragraphs(text, body)``, as a list or an (n, 2) array): ``text_article``'s
    rules, shared with the batch reader (``ingest.batch``), which finds the paragraphs in one compiled call."""
    date = parse_any_date(next((meta[k] for k in DATE_KEYS if k in meta), None))
    title = meta.get("title") or None
    url = meta.get("url") or meta.get("link") or None
    return Article(
        id=doc_id,
        path=path,
        text=text,
        paragraphs=paragraphs,  # type: ignore[arg-type]
        body_start=body,
        title=title,
        url=url,
        site=site_named(meta.get("site")) or site_of(url),
        date=date,
        encoding=encoding,
        kind="text",
    )


def read_text(doc_id: str, path: str, data: bytes, forced: str | None = None) -> Article | None:
    """Decode one text file's bytes and read it as an article (None: no words)."""
    text, encoding = decode(data, forced)
    return text_article(doc_id, path, text, encoding)


SEGMENT_BYTES = 16 << 20  # bytes of a huge text file decoded and split at a time
BLOCK_CHARS = 1 << 20  # characters per UTF-8 block a ``LongText`` keeps (what one random look-up decodes)
LONG_BYTES = 1 << 23  # a file larger than this is read segment by segment (``read_text_segmented``)
LONG_CHARS = 1 << 23  # and kept as a ``LongText`` when longer than this (as ``features.LONG_CHARS``): else a str


def read_text_segmented(
    doc_id: str,
    path: str,
    cap: int,
    *,
    segment_bytes: int | None = None,
    block_chars: int | None = None,
    long_chars: int | None = None,
    long_bytes: int | None = None,
) -> Article | Skipped | None:
    """A huge plain-text file read segment by segment, never as one ``str`` (see ``longtext``): the article
    ``read_text`` gives for the file's bytes, with its text a ``LongText`` (a ``str`` when it has at most
    ``long_chars`` characters), a Skipped, or None when it must be read whole instead (``read_text``): a file
    of at most ``long_bytes``, or one of the cases below. The sizes default to this module's constants.

    ``segment_bytes`` at a time are cut after their last line feed (a paragraph, a non-blank line, never
    crosses one, and a line feed byte is never inside a UTF-8 character; the bytes after it, a character cut
    by the segment's end included, go with the next segment), decoded as UTF-8 and split into paragraphs,
    at their offsets in the whole text. Memory: the text's UTF-8 (a byte a character for Western text, where a
    ``str`` takes four once one emoji is in it) plus the paragraph spans (16 bytes each) and one segment.

    Read whole (None) when the bytes are not all UTF-8, start with a BOM or look like UTF-16/32 (``decode``
    then judges the whole file), when a leading ``---`` front matter does not close within the first segment,
    when a line runs over four segments (it would be held whole anyway), and when the text is hard-wrapped
    (``wrap``: its lines are joined across the whole text). These are the cases where a segment alone cannot
    give the whole file's answer; each reads as before.
    """
    segment_bytes = max(SEGMENT_BYTES if segment_bytes is None else segment_bytes, 1)
    block_chars = BLOCK_CHARS if block_chars is None else block_chars
    long_chars = LONG_CHARS if long_chars is None else long_chars
    fd, st = _open_fd(path)
    try:
        if st.st_size <= (LONG_BYTES if long_bytes is None else long_bytes):
            return None
        if st.st_size > cap:
            raise InputError(too_large(cap))
        utf8 = np.empty(st.st_size, dtype=np.uint8)  # the text's UTF-8: the file's own bytes, as it is all UTF-8
        bounds: list[int] = [0]  # byte offset in ``utf8`` of each block
        starts: list[int] = [0]
        spans: list[np.ndarray] = []
        ascii_only, words, base, body, total = True, False, 0, 0, 0  # base: characters before this segment
        meta: dict[str, str] = {}
        pending = b""  # the bytes after the last segment's last line feed: the start of the next one's
        sniffed = False
        while True:
            data = os.read(fd, segment_bytes if sniffed else max(segment_bytes, SAMPLE))  # the head: sniffed whole
            total += len(data)
            if total > cap:
                raise InputError(too_large(cap))
            if not sniffed:
                if reason := binary_reason(data):
                    return Skipped(path, reason)
                if any(data.startswith(bom) for bom in BOMS) or wide_encoding(data) is not None:
                    return None
                sniffed = True
            held = pending + data if pending else data
            cut = len(held) if not data else held.rfind(b"\n") + 1  # a line feed byte is never inside a character
            pending = held[cut:]
            if len(pending) > 4 * segment_bytes:
                return None  # a line of many segments: it would be held whole anyway, so it is read as before
            try:
                text = str(memoryview(held)[:cut], "utf-8")  # whole characters: it ends on a line feed (or the file)
            except UnicodeDecodeError:
                return None  # not all UTF-8: ``decode`` chooses from the whole file
            del held
            if base == 0 and text:
                meta, body = front_matter(text)
                if not body and text.startswith("---") and data:
                    return None  # a front matter that may close further on
            if text:
                at = body if base == 0 else 0
                words = words or has_words(text, at)
                spans.append(np.array(split_paragraphs(text, at), dtype=np.int64).reshape(-1, 2) + base)
                for j in range(0, len(text), block_chars):
                    block = text[j : j + block_chars]
                    encoded = block.encode("utf-8", "surrogatepass")
                    if bounds[-1] + len(encoded) > len(utf8):
                        return None  # the file grew while it was read: read whole
                    utf8[bounds[-1] : bounds[-1] + len(encoded)] = np.frombuffer(encoded, dtype=np.uint8)
                    ascii_only = ascii_only and len(encoded) == len(block)
                    bounds.append(bounds[-1] + len(encoded))
                    starts.append(base + j + len(block))
                    del block, encoded
                base += len(text)
            del text
            if not data:
                break
    except OSError as e:
        raise InputError(os_reason(e)) from None
    finally:
        os.close(fd)
    if not words:
        return Skipped(path, "no text")
    long = LongText(utf8, bounds, starts, ascii_only)
    del utf8
    paragraphs = np.concatenate(spans) if spans else np.zeros((0, 2), dtype=np.int64)
    if base <= long_chars or wrapped(long, body):  # ``wrapped`` also says so of a body too short for windows
        text = long.whole()  # short enough, or hard-wrapped: the ``str`` and the rules of ``text_article``
        del long
        article = text_article(doc_id, path, text)
        return article if article is not None else Skipped(path, "no text")
    date = parse_any_date(next((meta[k] for k in DATE_KEYS if k in meta), None))
    url = meta.get("url") or meta.get("link") or None
    return Article(
        id=doc_id,
        path=path,
        text=long,
        paragraphs=paragraphs,
        body_start=body,
        title=meta.get("title") or None,
        url=url,
        site=site_named(meta.get("site")) or site_of(url),
        date=date,
        encoding=None,
        kind="text",
    )
