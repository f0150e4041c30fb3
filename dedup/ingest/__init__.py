"""Readers: every input file a user has, read safely into articles (text, paragraph spans, metadata).

The only part of dedup that touches input files. ``walk(root)`` finds the inputs; ``read_entry``
reads one, yielding ``Article`` (and ``Skipped`` for whatever could not be read); ``read_articles``
does both for a folder; ``read_file`` reads one file a user named. Readers stream: a WARC or JSON
Lines file of any size is read record by record.

What each kind reads (by suffix, case-insensitive; one module each):

- text (``.txt``, ``.md``, ``.markdown``; text.py): the text as stored (no newline translation);
  a leading ``---`` front-matter block is metadata (date from date/published/pubdate/
  publication_date/datepublished; site from ``site:``, a host normalised as a URL's (``www.X.com``
  -> ``x.com``) or else kept as a name, otherwise from ``url:``; ``body_start`` is where the
  article starts); paragraphs are the trimmed non-blank lines after it, except that hard-wrapped
  text (wire copy, e-mail, exports, OCR: wrap.py) has its lines joined into paragraphs, still as
  spans over the unchanged text.
- html (``.html``, ``.htm``, ``.xhtml``, and gzipped ``.html.gz``/``.htm.gz``; html.py): the visible
  text as block paragraphs joined by a blank line, site chrome kept; scripts, styles, templates and
  hidden elements dropped; title, canonical URL, site, publication date.
- records (``.json``, ``.jsonl``/``.ndjson`` (also ``.gz``), ``.csv``, ``.parquet``; records.py):
  one article a record, fields found by common names or named by the options; ids ``FILE#ID`` or
  ``FILE#rownumber``; a single-object ``.json`` has the file's id.
- warc (``.warc``, ``.warc.gz``; warc.py): each HTTP 200 HTML response; id the target URI.

Encodings (encoding.py): a forced ``encoding``; a BOM (UTF-8/16/32; stripped from the text, so
offsets count from the character after it, and the encoding is then recorded as ``utf-8-sig``,
``utf-16`` or ``utf-32``); an HTML/HTTP declared charset; UTF-16/32 without a BOM (``utf-16-le``...,
told by where its NUL bytes fall); UTF-8; else detected (charset-normalizer,
Windows-1252 preferred for Western text). ``Article.encoding`` is None for plain UTF-8 and names the
encoding otherwise (with "(undecodable bytes replaced)" when replacement characters were needed).

Offsets: ``Article.paragraphs`` are (start, end) code-point offsets into ``Article.text``, in order,
non-overlapping, each slice non-empty with no leading or trailing whitespace.

Safety policy (walk.py, files.py):

- only regular files are read; FIFOs, devices and sockets are skipped, never opened; files are opened
  with O_NONBLOCK|O_NOFOLLOW and checked again with fstat, so opening never blocks;
- symlinks are followed only when their target stays inside the scanned folder (``follow_links``
  allows more); a folder is never read twice (links forming loops are skipped); the walk is
  iterative, so any depth works; hidden entries are passed over;
- a file over ``max_file_size`` (default 50 MB) is skipped unless it is a streamed container
  (WARC, JSON Lines, CSV, Parquet), whose single records over the cap are skipped instead; at most
  ``max_file_size + 1`` bytes of an article file are ever read (gzip: of its decompressed bytes);
- binary content under a text name (an executable, image, PDF or archive named ``.txt``/``.md``/
  ``.html``/``.json``/``.csv``, a gzipped page that holds an image, an HTML record in a WARC that
  does) is sniffed before decoding (sniff.py) and skipped as ``binary (PDF)``, ``binary (NUL bytes)``,
  ``binary (control characters)``...; UTF-16/32 text (BOM or not), legacy 8-bit and CJK encodings and
  text with a stray control character are text;
- every problem is one ``Skipped(path, reason)``, never an exception: unreadable folders and files,
  bad JSON lines, records without text, files with no words (empty, blank, punctuation only).

File names are ``str`` with undecodable bytes kept by ``surrogateescape``; show them only through
``dedup.escape.name``, at the edge where they are shown.
"""

from __future__ import annotations

from .model import Article, Entry, IngestOptions, Skipped
from .reader import read_articles, read_entry, read_file
from .walk import kind_of, walk

__all__ = [
    "Article",
    "Entry",
    "IngestOptions",
    "Skipped",
    "kind_of",
    "read_articles",
    "read_entry",
    "read_file",
    "walk",
]
