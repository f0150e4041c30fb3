"""A page's own text: the article, without the site's chrome around it.

A site's menus, footer, sidebars, share bars, cookie notice and comment form recur on every page of
the site (and the same CMS's on unrelated sites); two different articles of one site then share more
chrome than either has story, and when only two of its pages are in a folder nothing recurs often
enough to be told apart from a copied story. So the reader keeps what a reader comes for:

1. *Chrome by markup*: ``nav``, ``aside``, ``footer``, ``form``, ``dialog``, ``menu``, a ``header``
   holding no headline, ARIA landmarks of navigation, banner, footer, search and complementary
   content, and elements whose class or id names chrome as a whole word (``menu``, ``sidebar``,
   ``cookie``, ``share``, ``related``, ``comments``, ``newsletter``, ...) are dropped, unless they hold
   the article (a ``<div class="has-sidebar">`` wrapping the whole page is not chrome).
2. *The article*: the element whose own paragraphs hold the most prose (paragraphs of at least
   ``PROSE_CHARS`` characters, mostly not link text, outside chrome), as readability scores it, is the
   article's container (with its siblings when they hold prose too); the page's text is its
   headline (the first ``h1``, when outside) and that container's text. Teasers of other articles
   elsewhere on the page (a site's "more news") are left out with the rest. A page with
   too little prose to tell (a list, a table, a page of ``<br>`` lines) keeps all its text but the
   chrome of step 1 (all of it, if that is nearly all chrome: the markup misled).

Bounded by the input: every walk up from an element stops after ``MAX_CLIMB`` ancestors, so the work is
at most that multiple of the page's elements however deep a (hostile) page nests them; an article
container further up than that is not looked for (the page keeps its text but the chrome).

Measured on the 181 real pages of ``benchmarks/data/aeb`` against their human-marked bodies
(benchmarks/README.md, *Site chrome*): the share of a body's word 5-grams kept and of the kept text
that is body.
"""

from __future__ import annotations

import re
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode

MAIN_SHARE = 0.8  # the article's container holds this share of the page's prose
PROSE_CHARS = 40  # a paragraph of prose has at least this many characters ...
PROSE_LINKS = 0.5  # ... and at most this share of them in links
MIN_PROSE = 300  # a page with less prose than this (characters) has no article to single out
MAX_CLIMB = 64  # ancestors looked at above an element (real pages nest their text 10-30 deep)

_CHROME_TAGS = "nav,aside,footer,form,dialog,menu,header"
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary", "dialog", "alertdialog"})
# Class and id words (split at spaces, "-" and "_") that name chrome ...
_CHROME_WORDS = frozenset(
    [
        "nav",
        "navbar",
        "navigation",
        "menu",
        "menus",
        "footer",
        "sidebar",
        "breadcrumb",
        "breadcrumbs",
        "share",
        "sharing",
        "social",
        "related",
        "newsletter",
        "subscribe",
        "subscription",
        "signup",
        "promo",
        "promos",
        "widget",
        "widgets",
        "advert",
        "advertisement",
        "ads",
        "banner",
        "popup",
        "modal",
        "masthead",
        "trending",
        "recommended",
        "outbrain",
        "taboola",
        "popular",
        "paywall",
        "login",
        "archive",
        "archives",
        "tags",
        "tagcloud",
        "pagination",
        "copyright",
    ]
)
# ... chrome whatever it holds (a long comment thread can hold more prose than the article it is under) ...
_ALWAYS_WORDS = frozenset(
    ["comment", "comments", "commentlist", "disqus", "respond", "cookie", "cookies", "consent", "gdpr"]
)
# ... and the content: a class naming it too (``widget Blog``, ``l-sidebar-fixed l-article-body-segment``) is a
# layout box around the article, not chrome.
_CONTENT_WORDS = frozenset(
    ["article", "articles", "body", "post", "entry", "content", "main", "story", "blog", "text", "hentry"]
)
_SPLIT = re.compile(r"[\s_-]+")
_PROSE = "p,pre,blockquote"
_TEASER_BLOCKS = "p,h2,h3,h4,h5,h6,div"
_HEADLINE = "h1"
_CARDS = f"a:has({_TEASER_BLOCKS})"
# Chrome is made of block containers: spans, links and images with a class are parts of it (or of the article).
_BOXES = ("div", "section", "ul", "ol", "table")
_CANDIDATES = ",".join([_CHROME_TAGS, _CARDS, "[role]", *(f"{t}[class],{t}[id]" for t in _BOXES)])
_HEADLINES = "h1,h2"


def _up(node: LexborNode) -> list[LexborNode]:
    """The element and at most ``MAX_CLIMB`` of its ancestors, innermost first."""
    out = []
    while node is not None and len(out) <= MAX_CLIMB:
        out.append(node)
        node = node.parent
    return out


def _marked(body: LexborNode, selector: str, tag: str) -> set[int]:
    """The ``tag`` elements (``mem_id``) holding an element matching ``selector`` (within ``MAX_CLIMB``)."""
    out = set()
    for node in body.css(selector):
        out.update(n.mem_id for n in _up(node)[1:] if n.tag == tag)
    return out


@lru_cache(maxsize=8192)
def _named_kind(names: str) -> int:
    """0, 1 or 2 (see ``_chrome_kind``) for an element's class and id words (pages repeat them: cached)."""
    words = set(_SPLIT.split(names.lower()))
    if words & _CONTENT_WORDS:
        return 0
    if words & _ALWAYS_WORDS:
        return 2
    return int(bool(words & _CHROME_WORDS))


def _chrome_kind(node: LexborNode, headed: set[int], cards: set[int]) -> int:
    """0: not chrome; 1: chrome by its markup; 2: chrome whatever it holds (comments, cookie notices).
    ``headed``: the headers holding a headline (``_marked``); ``cards``: the links holding blocks."""
    tag = node.tag
    if tag in ("body", "html"):
        return 0
    attrs = node.attributes
    named = _named_kind(f"{attrs.get('class') or ''} {attrs.get('id') or ''}")
    if named == 2:
        return 2
    if tag == "header":
        return int(node.mem_id not in headed)
    if tag == "a" and node.mem_id in cards:  # a card linking elsewhere: a teaser (headline and summary)
        return 1
    if tag in ("nav", "aside", "footer", "form", "dialog", "menu"):
        return 1
    if (attrs.get("role") or "").strip().lower() in _CHROME_ROLES:
        return 1
    return named


def _prose(node: LexborNode, chain: list[LexborNode]) -> int:
    """Characters of prose in one paragraph element (0 if it is short, mostly links, or in a link);
    ``chain``: its ancestors (``_up``)."""
    if any(n.tag == "a" for n in chain[1:]):
        return 0
    text = " ".join((node.text(deep=True) or "").split())
    if len(text) < PROSE_CHARS:
        return 0
    links = sum(len(" ".join((a.text(deep=True) or "").split())) for a in node.css("a"))
    return len(text) if links <= PROSE_LINKS * len(text) else 0


def _prose_held(body: LexborNode) -> tuple[dict[int, int], list[tuple[list[LexborNode], int]]]:
    """Per element (``mem_id``), the prose characters inside it; and each prose paragraph (with its
    ancestors, ``_up``) and its characters."""
    held: dict[int, int] = {}
    paragraphs = []
    for p in body.css(_PROSE):
        chain = _up(p)
        chars = _prose(p, chain)
        if not chars:
            continue
        paragraphs.append((chain, chars))
        for node in chain:
            held[node.mem_id] = held.get(node.mem_id, 0) + chars
    return held, paragraphs


def _main(paragraphs: list[tuple[list[LexborNode], int]], chrome: set[int]) -> LexborNode | None:
    """The innermost element holding ``MAIN_SHARE`` of the page's prose outside ``chrome`` (elements'
    ``mem_id``), or None without enough prose. Such elements all hold more than half of it, so they are
    nested in one another: the innermost holds the least, and of equals the nearest to its paragraphs."""
    held: dict[int, int] = {}
    near: dict[int, int] = {}
    nodes: dict[int, LexborNode] = {}
    total = 0
    for chain, chars in paragraphs:
        if any(n.mem_id in chrome for n in chain):  # inside chrome: a comment, a teaser, a footer's paragraph
            continue
        total += chars
        for d, node in enumerate(chain):
            key = node.mem_id
            held[key] = held.get(key, 0) + chars
            near[key] = min(near.get(key, d), d)
            nodes[key] = node
    if total < MIN_PROSE:
        return None
    best = min((k for k, c in held.items() if c >= MAIN_SHARE * total), key=lambda k: (held[k], near[k]), default=None)
    return nodes[best] if best is not None else None


def _mostly(body: LexborNode, chrome: list[LexborNode], ids: set[int]) -> bool:
    """Whether the outermost of ``chrome`` hold 90 % or more of the page's text."""
    outer = [n for n in chrome if not any(a.mem_id in ids for a in _up(n)[1:])]
    dropped = sum(len((n.text(deep=True) or "").strip()) for n in outer)
    return dropped >= 0.9 * len((body.text(deep=True) or "").strip())


def strip_chrome(tree: LexborHTMLParser) -> LexborNode | None:
    """Drop the page's chrome from ``tree`` and return the node whose text is the page's own text (its
    article container, with the headline put in front when outside it), or the body."""
    body = tree.body
    if body is None:
        return None
    held, paragraphs = _prose_held(body)
    total = held.get(body.mem_id, 0)
    headed = _marked(body, _HEADLINES, "header")
    cards = {n.mem_id for n in body.css(_CARDS)}
    # An element marked as chrome that holds half the page's prose is a layout box around the article
    # (a whole page in an ASP.NET <form>, <div class="container penci_sidebar">), not chrome.
    chrome = []
    for n in body.css(_CANDIDATES):
        kind = _chrome_kind(n, headed, cards)
        if kind == 2 or (kind == 1 and 2 * held.get(n.mem_id, 0) < max(total, 1)):
            chrome.append(n)
    ids = {n.mem_id for n in chrome}
    main = _main(paragraphs, ids)
    if main is not None:
        keep = {n.mem_id for n in _up(main)}
        chrome = [n for n in chrome if n.mem_id not in keep]
    headline = body.css_first(_HEADLINE)
    moved = None
    if headline is not None and main is not None:
        above = {n.mem_id for n in _up(headline)}
        if not above & ids and main.mem_id not in above:
            moved = headline.clone()
    if main is None and _mostly(body, chrome, ids):
        return body  # a page all of whose text is marked chrome is misjudged, not empty: keep it whole
    # Innermost first (reverse document order), so no node is touched after an ancestor was freed.
    for node in reversed(chrome):
        node.decompose()
    if main is None:
        return body
    if moved is not None:
        if main.child is not None:
            main.child.insert_before(moved)
        else:
            main.insert_child(moved)
    return main
