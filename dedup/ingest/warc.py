"""Web archives (``.warc``, ``.warc.gz``, e.g. CC-NEWS): each HTML page fetched with HTTP 200 is an article.

Read with fastwarc, streamed record by record (memory stays flat whatever the archive's size).
Only ``response`` records whose HTTP status is 200 and whose content type is ``text/html`` or
``application/xhtml+xml`` are read; others are passed over silently. The article's id is the
record's ``WARC-Target-URI`` (``#2``... when a URI repeats in the file), its site the URI's host, its
date the page's own publication date when it states one, else none: the record's ``WARC-Date`` is when the
crawler fetched the page, not when it was published, and a date is what decides which copy is the source. The body
is decoded by the HTTP charset, else the page's ``<meta charset>``, else detection, then read as HTML.
A record over the size cap, or one that cannot be parsed, gives a Skipped naming its number.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from fastwarc.warc import ArchiveIterator, WarcRecordType

from ..escape import name as escape_name
from .encoding import declared_charset, decode
from .files import InputError, open_regular
from .html import extract
from .model import Article, Entry, IngestOptions, Skipped, error_text, has_words, site_of, too_large
from .sniff import binary_reason

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _header(record: object, name: str) -> str | None:
    try:
        value = record.headers.get(name)  # type: ignore[attr-defined]
    except (UnicodeDecodeError, ValueError):
        return None
    return value.strip() if value else None


def _body(record: object, cap: int) -> bytes | str:
    """A response's body, its content encoding (gzip, deflate) undone with at most ``cap`` bytes out; the
    reason as a string when it is larger (a compression bomb is skipped whole, never cut and read as an
    article) or encoded otherwise. Only the record's own bytes are read, so the next record is intact."""
    raw = record.reader.read(cap + 1)  # type: ignore[attr-defined]
    if len(raw) > cap:
        return too_large(cap)
    coding = (_http_header(record, "Content-Encoding") or "identity").lower().strip()
    if coding in ("", "identity", "none"):
        return raw
    if coding not in ("gzip", "x-gzip", "deflate"):
        return f"content encoded as {escape_name(coding[:40])!r}, not read"
    wbits = 47 if coding != "deflate" else (15 if raw[:1] and (raw[0] & 0x0F) == 8 else -15)
    try:
        d = zlib.decompressobj(wbits)
        out = d.decompress(raw, cap + 1)
    except zlib.error as e:
        return f"broken {coding} content ({e})"
    if len(out) > cap:
        return f"decompressed, {too_large(cap)}"
    return out


def _http_header(record: object, name: str) -> str | None:
    try:
        value = record.http_headers.get(name)  # type: ignore[attr-defined]
    except (AttributeError, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, str) else None


def read_warc(entry: Entry, options: IngestOptions) -> Iterator[Article | Skipped]:
    """The HTML pages of one WARC file, in file order."""
    cap = options.max_file_size
    try:
        f = open_regular(entry.path)
    except InputError as e:
        yield Skipped(entry.path, str(e))
        return
    seen: set[str] = set()
    n = 0
    with f:
        # Transfer encoding decoded by fastwarc; content encoding (gzip...) here, against the cap (see _body).
        records = ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True, auto_decode="transfer")
        try:
            for record in records:
                n += 1
                where = f"{entry.path}#record {n}"
                try:
                    status = record.http_headers.status_code if record.http_headers is not None else None
                    ctype = (record.http_content_type or "").lower()
                    if status != 200 or not ctype.startswith(_HTML_TYPES):
                        continue
                    if record.content_length > cap:
                        yield Skipped(where, too_large(cap))
                        continue
                    body = _body(record, cap)
                    if isinstance(body, str):
                        yield Skipped(where, body)
                        continue
                    if reason := binary_reason(body):  # an image or PDF served as text/html
                        yield Skipped(where, reason)
                        continue
                    uri = _header(record, "WARC-Target-URI") or where
                    charset = record.http_charset
                    text, encoding = decode(body, options.encoding, charset or declared_charset(body))
                    page = extract(text, uri)
                except (OSError, ValueError, UnicodeError) as e:
                    yield Skipped(where, f"broken record ({error_text(e)})")
                    continue
                if not has_words(page.text):
                    yield Skipped(where, "no text")
                    continue
                doc_id = uri
                k = 1
                while doc_id in seen:
                    k += 1
                    doc_id = f"{uri}#{k}"
                seen.add(doc_id)
                yield Article(
                    id=doc_id,
                    path=entry.path,
                    text=page.text,
                    paragraphs=page.paragraphs,
                    title=page.title,
                    url=uri if not uri.startswith(entry.path) else page.url,
                    site=site_of(uri) or page.site,
                    date=page.date,
                    encoding=encoding,
                    kind="warc",
                )
        except (OSError, ValueError) as e:
            reason = f"broken WARC record, rest of the file not read ({error_text(e)})"
            yield Skipped(f"{entry.path}#record {n + 1}", reason)
