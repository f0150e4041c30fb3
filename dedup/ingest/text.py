"""Plain text (``.txt``, ``.md``): the file's text as is, one paragraph a non-blank line unless hard-wrapped.

The rules of the original reader: no newline translation, a leading ``---`` front-matter block is
metadata (its ``date``/``published``/... key gives the date, ``site:`` the site, else the host of
``url:``/``link:``; the body starts after it), and
paragraphs are the trimmed non-blank lines after it; hard-wrapped text has its lines joined into
paragraphs instead (wrap.py), as spans over the same text. The decoding is wider (see encoding.py).
"""

from __future__ import annotations

from .encoding import decode
from .model import DATE_KEYS, Article, front_matter, has_words, parse_any_date, site_named, site_of
from .wrap import text_paragraphs


def text_article(doc_id: str, path: str, text: str, encoding: str | None = None) -> Article | None:
    """The article of one plain text, or None when it holds no words after its front matter."""
    meta, body = front_matter(text)
    if not has_words(text, body):
        return None
    date = parse_any_date(next((meta[k] for k in DATE_KEYS if k in meta), None))
    title = meta.get("title") or None
    url = meta.get("url") or meta.get("link") or None
    return Article(
        id=doc_id,
        path=path,
        text=text,
        paragraphs=text_paragraphs(text, body),
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
