"""What the readers produce (Article, Skipped, Entry), their options, and the rules shared by every kind.

The paragraph, front-matter and date rules are those of the original ``.txt``/``.md`` reader, kept
identical so a text file reads the same, byte for byte, as before.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from types import ModuleType
from urllib.parse import urlsplit

from ..escape import name as escape_name
from ..kernels import native
from ..options import IngestOptions

# A paragraph is a non-blank line (line breaks as str.splitlines() knows them), trimmed: from its
# first to its last non-space character. ``\s`` is exactly what ``str.strip()`` strips.
_PARAGRAPH = re.compile(r"\S(?:[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*\S)?")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_WORD = re.compile(r"\w")
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# A host name as written in a ``site:`` line: dotted labels ending in a letter TLD, maybe a port or a path.
_HOST = re.compile(r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}\.?(?::\d+)?(?:/\S*)?", re.I)
_SURROGATE = re.compile("[\ud800-\udfff]")
DATE_KEYS = (
    "date",
    "published",
    "pubdate",
    "publication_date",
    "datepublished",
    "date_published",
    "published_at",
    "publish_date",
    "pub_date",
)

KINDS = ("text", "html", "json", "jsonl", "csv", "parquet", "warc")
# Read record by record, so never capped as a whole (a single record over the cap is skipped).
CONTAINERS = frozenset({"jsonl", "csv", "parquet", "warc"})


DEFAULT_OPTIONS = IngestOptions()


@dataclass
class Article:
    """One article: its extracted text and the spans of its paragraphs (code-point offsets into ``text``)."""

    id: str  # path relative to root with '/', 'FILE#ID' / 'FILE#rownumber' for records, or the WARC target URI
    path: str  # the file it came from (undecodable bytes kept via surrogateescape)
    text: str
    paragraphs: list[tuple[int, int]]  # trimmed, in order, non-overlapping
    body_start: int = 0  # where the body starts after a leading '---' front-matter block (.txt/.md), else 0
    title: str | None = None
    url: str | None = None
    site: str | None = None  # lower-case domain without 'www.', or the name a text's 'site:' line gives
    date: str | None = None  # ISO 8601
    encoding: str | None = None  # the encoding used when it was not plain UTF-8
    kind: str = "text"


@dataclass(frozen=True)
class Skipped:
    """A file, folder or record that was not read, and why (one short line)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Entry:
    """One input file found by the walk."""

    id: str  # relative path with '/'
    path: str  # the path to open (for a followed symlink: its resolved target)
    size: int
    kind: str


_SPLIT_LINES = 1 << 20  # a text up to this long is cut into lines by ``str.splitlines`` (a list of its lines)


@functools.cache
def _kernel() -> ModuleType | None:
    """The compiled kernels (``native("read")``), looked up once: ``split_paragraphs`` runs once an article."""
    return native("read")


def split_paragraphs(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the non-blank lines of ``text[start:end]`` (offsets into ``text``), trimmed of spaces.

    ``str.splitlines`` breaks lines at exactly the characters ``_PARAGRAPH`` does not cross, and ``str.strip``
    trims exactly what it calls space (``\\s``), so both give the same spans; the lines of an article are split
    and trimmed at C speed where the regular expression walked every character in its engine (a third of the
    time; a longer text keeps the expression, which holds no copy of its lines)."""
    end = len(text) if end is None else end
    kernel = _kernel()
    if kernel is not None and type(text) is str:  # one compiled pass over the characters, no list of lines
        return kernel.line_spans(text, start, end)
    if end - start > _SPLIT_LINES:
        return [m.span() for m in _PARAGRAPH.finditer(text, start, end)]
    spans = []
    pos = start
    for line in (text[start:end] if start or end < len(text) else text).splitlines(True):
        trimmed = line.lstrip()
        if trimmed:
            at = pos + len(line) - len(trimmed)
            spans.append((at, at + len(trimmed.rstrip())))
        pos += len(line)
    return spans


def front_matter(text: str) -> tuple[dict[str, str], int]:
    """Parse a leading ``---`` block of ``key: value`` lines; return it and where the body starts."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, 0
    meta = {}
    for line in m.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, m.end()


def parse_date(value: str | None) -> str | None:
    """ISO-8601 form of a publication date, or None when it cannot be read (the ``.txt`` rule)."""
    if not value:
        return None
    v = value.strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(v).isoformat()
    except ValueError:
        return None


def parse_any_date(value: object) -> str | None:
    """A date from metadata: ISO 8601, RFC 2822 (``Tue, 03 Feb 2026 ...``), a datetime, or Unix seconds/ms."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).isoformat()
    if isinstance(value, int | float):
        try:
            seconds = value / 1000 if abs(value) > 1e11 else value
            return datetime.fromtimestamp(seconds, tz=UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    found = parse_date(value[:100])
    if found is None and value.strip():
        try:
            found = parsedate_to_datetime(value.strip()[:100]).isoformat()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return found


def site_of(url: str | None) -> str | None:
    """The lower-case host of an http(s) URL, without a leading 'www.'; None for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host or None


def site_named(value: str | None) -> str | None:
    """The site a ``site:`` value names: a URL or host as ``site_of`` gives it (``www.Reuters.com`` ->
    ``reuters.com``), else the name itself (``The Guardian``), spaces collapsed and control and format
    characters dropped, at most 200 characters; None when blank or a URL without an http(s) host."""
    name = " ".join(_INVISIBLE.sub("", value or "").split())[:200]
    if not name:
        return None
    if "://" in name:
        return site_of(name)
    if _HOST.fullmatch(name):
        return site_of("http://" + name) or name
    return name


def has_words(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether ``text[start:end]`` holds any word character (empty, blank and punctuation-only do not)."""
    return _WORD.search(text, start, len(text) if end is None else end) is not None


def human_size(n: int) -> str:
    """``50 MB`` for 50 * 2**20; exact bytes when not a whole number of KB/MB/GB."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


def too_large(cap: int) -> str:
    """The reason given for a file or record over the size cap."""
    return f"larger than {human_size(cap)}; raise --max-file-size"


def error_text(e: BaseException) -> str:
    """The first line of an error's message, short and inert (it may quote file content): for a reason."""
    msg = str(e).strip()
    msg = msg.splitlines()[0] if msg else type(e).__name__
    return escape_name(msg[:200])


def clean_text(s: str) -> str:
    """``s`` with lone surrogates (from JSON ``\\ud800`` escapes) replaced by U+FFFD, so it encodes to UTF-8."""
    return _SURROGATE.sub("\ufffd", s) if _SURROGATE.search(s) else s
