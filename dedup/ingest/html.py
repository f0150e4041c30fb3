"""HTML pages: the visible text as block paragraphs, plus title, canonical URL, site and date.

Parsed with selectolax's lexbor parser (an HTML5 parser in C). Kept: the article a reader comes for,
with its headline and whatever its page put inside it (an intro, a promo: a republisher's wrapper is
what the detector must find). Dropped: ``script``, ``style``, ``template``, ``noscript``, ``svg``,
``iframe``, ``head``, hidden elements (``hidden``, ``aria-hidden="true"``, inline ``display:none`` /
``visibility:hidden``) and the site's chrome around the article (menus, header, footer, sidebars,
teasers, comments, cookie notices: ``content.py``), which two pages of one site share whatever their
stories and which would otherwise pair them.

Paragraphs are the text of block elements (p, h1-h6, li, blockquote, td/th, pre, figcaption, dt/dd,
...) and the text directly inside containers (div, section, article, ...) between child blocks, in
document order; a ``<br>`` also ends one. Whitespace inside a paragraph is collapsed to single
spaces, and paragraphs are joined with a blank line, so ``text[start:end]`` is each paragraph.

How it is fast: the C parser does the text work. A marker character is inserted before each block
element (and after it unless another block follows), the body's text is taken in one call and split
at the markers, so extraction costs a small multiple of the bare parse (measured in
``benchmarks/ingest_bench.py``; figures in benchmarks/README.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .content import strip_chrome
from .depth import cap_depth
from .model import parse_any_date, site_of

_MARK = "\ue000"  # private use: only splits, never shown (a page holding it just splits there too)
_DROP = ["script", "style", "template", "noscript", "svg", "iframe", "object", "head", "math"]
_BLOCKS = (
    "p,h1,h2,h3,h4,h5,h6,li,ul,ol,dl,dt,dd,blockquote,pre,figure,figcaption,table,tr,td,th,caption,"
    "div,section,article,main,header,footer,aside,nav,address,form,fieldset,legend,details,summary,"
    "hr,br,center,dialog,menu,option,button,textarea,select,label"
)
_BLOCK_TAGS = frozenset(_BLOCKS.split(","))
_HIDDEN = '[hidden],[aria-hidden="true" i],[style]'
_HIDDEN_STYLE = re.compile(r"(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.I)
_DATE_METAS = (
    ("property", "article:published_time"),
    ("name", "article:published_time"),
    ("property", "og:published_time"),
    ("name", "og:published_time"),
    ("itemprop", "datePublished"),
    ("property", "article:published"),
    ("name", "citation_publication_date"),
    ("name", "citation_date"),
    ("name", "date"),
    ("name", "pubdate"),
    ("name", "publishdate"),
    ("name", "publish-date"),
    ("name", "dc.date.issued"),
    ("name", "dc.date"),
    ("name", "sailthru.date"),
    ("name", "parsely-pub-date"),
)


@dataclass
class Page:
    """What one HTML page yields."""

    text: str
    paragraphs: list[tuple[int, int]]
    title: str | None = None
    url: str | None = None
    site: str | None = None
    date: str | None = None


def _collapse(s: str | None) -> str:
    return " ".join(s.split()) if s else ""


def _meta(tree: LexborHTMLParser, attr: str, value: str) -> str | None:
    node = tree.css_first(f'meta[{attr}="{value}" i]')
    if node is None:
        return None
    content = node.attributes.get("content")
    return content.strip() if content and content.strip() else None


def _json_ld_dates(tree: LexborHTMLParser) -> str | None:
    """The first ``datePublished`` in the page's JSON-LD blocks (top level, lists and ``@graph``), else the
    first ``dateCreated`` (some publishers give only that)."""
    created = None
    for node in tree.css('script[type="application/ld+json" i]'):
        try:
            data = json.loads(node.text(deep=True) or "")
        except (ValueError, RecursionError):
            continue
        stack = [data]
        seen = 0
        while stack and seen < 10_000:
            item = stack.pop(0)
            seen += 1
            if isinstance(item, dict):
                date = parse_any_date(item.get("datePublished"))
                if date:
                    return date
                created = created or parse_any_date(item.get("dateCreated"))
                stack.extend(v for v in item.values() if isinstance(v, dict | list))
            elif isinstance(item, list):
                stack.extend(v for v in item if isinstance(v, dict | list))
    return created


def _find_date(tree: LexborHTMLParser) -> str | None:
    for attr, value in _DATE_METAS:
        date = parse_any_date(_meta(tree, attr, value))
        if date:
            return date
    date = _json_ld_dates(tree)
    if date:
        return date
    for sel in ("time[pubdate]", '[itemprop="datePublished" i]', "time[datetime]"):
        node = tree.css_first(sel)
        if node is not None:
            attrs = node.attributes
            date = parse_any_date(attrs.get("datetime") or attrs.get("content") or node.text(deep=True))
            if date:
                return date
    return None


def _metadata(tree: LexborHTMLParser, base_url: str | None) -> tuple[str | None, str | None, str | None]:
    """(title, url, date) from the head and structured data, most trusted source first."""
    node = tree.css_first("title")
    title = _collapse(node.text(deep=True)) if node is not None else ""
    title = title or _collapse(_meta(tree, "property", "og:title")) or None
    url = None
    for node in tree.css("link[rel][href]"):
        if "canonical" in (node.attributes.get("rel") or "").lower().split():
            url = (node.attributes.get("href") or "").strip() or None
            break
    url = url or _meta(tree, "property", "og:url")
    if url and base_url:
        try:
            url = urljoin(base_url, url)
        except ValueError:
            url = None
    names = (_meta(tree, "property", "og:site_name"), _meta(tree, "name", "application-name"), site_of(url))
    return without_site_name(title, names), url, _find_date(tree)


_TITLE_PARTS = re.compile(r"\s+(?:\||-|–|—|::|·|•)\s+")


def _letters(name: str) -> str:
    """A site name as compared: letters and digits, lower case, without a leading 'the' or a host's TLD."""
    name = name.lower()
    if "." in name and " " not in name:  # a host: harbourherald.co.uk -> harbourherald
        name = name.split(".")[0]
    name = re.sub(r"[\W_]+", "", name)
    return name.removeprefix("the") or name


def without_site_name(title: str | None, names: tuple[str | None, ...] = ()) -> str | None:
    """A page title without the site's name that pages append (``Council approves bridge | The Harbour
    Herald``, ``... - BBC News``): the last part after ``|``, ``-``, ``–``, ``—``, ``::`` or ``·`` is
    dropped when it names the site (``og:site_name``, ``application-name`` or the URL's host, compared
    on letters and digits), or, after the only ``|``, when it is short (at most five words) after a
    headline of two words or more (sites name themselves there even without saying so in a meta tag)."""
    if not title:
        return title
    parts = _TITLE_PARTS.split(title)
    if len(parts) < 2:
        return title
    last = parts[-1]
    head = title[: len(title) - len(last)].rstrip()
    head = re.sub(r"\s+(?:\||-|–|—|::|·|•)$", "", head).rstrip()
    if not head:
        return title
    known = {_letters(n) for n in names if n and _letters(n)}
    if _letters(last) in known:
        return head
    piped = re.search(r"\s\|\s+" + re.escape(last) + "$", title) is not None
    if piped and len(last.split()) <= 5 and len(head.split()) >= 2 and " | " not in head:
        return head
    return title


def _drop_invisible(tree: LexborHTMLParser) -> None:
    tree.strip_tags(_DROP, recursive=True)
    # Innermost first (reverse document order), so no node is touched after an ancestor was freed.
    for node in reversed(tree.css(_HIDDEN)):
        attrs = node.attributes
        flagged = "hidden" in attrs or (attrs.get("aria-hidden") or "").lower() == "true"
        if flagged or _HIDDEN_STYLE.search(attrs.get("style") or ""):
            node.decompose()


def _paragraphs(body: LexborNode | None) -> list[str]:
    if body is None:
        return []
    # Collected first (the tree must not change while it is walked). A block followed by another
    # block needs no marker after it: the next one's marker already separates them.
    for node in [n for n in body.traverse() if n.tag in _BLOCK_TAGS]:
        node.insert_before(_MARK)
        nxt = node.next
        if nxt is None or nxt.tag not in _BLOCK_TAGS:
            node.insert_after(_MARK)
    raw = body.text(deep=True)
    return [p for p in (" ".join(piece.split()) for piece in raw.split(_MARK)) if p]


def join_paragraphs(paragraphs: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Paragraphs joined with a blank line, and the span of each in the joined text."""
    spans, pos = [], 0
    for p in paragraphs:
        spans.append((pos, pos + len(p)))
        pos += len(p) + 2
    return "\n\n".join(paragraphs), spans


def extract(html: str, base_url: str | None = None) -> Page:
    """The visible text and metadata of one page; ``base_url`` resolves a relative canonical URL. Nesting past
    512 elements is flattened first (``depth.cap_depth``), so the parse is linear in the page's size."""
    tree = LexborHTMLParser(cap_depth(html))
    title, url, date = _metadata(tree, base_url)
    _drop_invisible(tree)
    text, spans = join_paragraphs(_paragraphs(strip_chrome(tree)))
    return Page(text, spans, title, url, site_of(url), date)


def looks_like_html(text: str) -> bool:
    """Whether a record's text is an HTML fragment (starts with a tag and closes one)."""
    head = text.lstrip()[:1]
    return head == "<" and ("</" in text or "/>" in text)
