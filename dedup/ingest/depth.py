"""HTML nesting capped before parsing, as browsers cap it: the parse stays linear in the page's size.

Why: an HTML5 tree builder scans its stack of open elements for many tags (is a ``<p>`` open in button
scope? which ``<li>`` does this one close? the adoption agency for misnested ``<b>``/``<i>``), so a page of
100,000 nested ``<div>`` costs 100,000² steps: 22 s in lexbor for 500 KB, days for a 50 MB file. Browsers
bound the depth (Chromium attaches elements past depth 512 to the 512th as siblings); this pre-pass does the
same to the text: a start tag that would open an element past ``limit`` is dropped (its content stays, one
level up), and so is its end tag.

The depth is that of a model of the tree builder's stack, kept in one pass over the tags (each push popped
at most once, so linear): void elements, raw-text elements (script, style, textarea, title...), comments,
the end tags a start tag implies (``<p>``, ``<li>``, ``<dd>``, ``<td>``...), the table elements the parser
inserts, end tags that do not reach past a table or cell boundary (ignored, as the parser ignores them) and
the formatting elements (``<b>``, ``<i>``, ``<a>``...) the parser reopens after a misnested end tag. Where
the model is unsure it counts deeper than the parser would, so it may flatten a pathological page a little
early, never let one through deeper than ``limit`` plus the few elements a parser inserts itself.
"""

from __future__ import annotations

import re

LIMIT = 512


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TAG = re.compile(r"<(?:(!--)|[!?]|(/?)([A-Za-z][^\t\n\f\r />]*))")
_VOID = _words(
    "area base basefont bgsound br col embed frame hr image img input keygen link menuitem meta param source track wbr"
)
_RAW = _words("script style xmp iframe noembed noframes textarea title")
_FORMATTING = _words("a b big code em font i nobr s small strike strong tt u")
_BOUNDARY = _words("applet caption html table td th marquee object template")
_FOREIGN_BOUNDARY = _words("foreignobject desc title mi mo mn ms mtext annotation-xml")
_CLOSES_P = _words(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hgroup hr main menu nav ol p pre section summary table ul li dd dt plaintext xmp "
    "listing"
)
_CELLS = frozenset(("td", "th", "tr"))
_TABLE_PARTS = _words("table caption colgroup tbody thead tfoot tr td th")
# The parser's "special" elements: an end tag of another element does not close past one of them.
_SPECIAL = _words(
    "address applet area article aside base basefont bgsound blockquote body br button caption center col "
    "colgroup dd details dir div dl dt embed fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 "
    "h5 h6 head header hgroup hr html iframe img input keygen li link listing main marquee menu meta nav noembed "
    "noframes noscript object ol p param plaintext pre script search section select source style summary table "
    "tbody td template textarea tfoot th thead title tr track ul wbr xmp"
)
_BREAKOUT = _words(
    "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img li listing menu "
    "meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul var"
)
_HEADINGS = _words("h1 h2 h3 h4 h5 h6")
_FOREIGN = frozenset(("svg", "math"))


class _Stack:
    """The model of the open elements: names, where each name is open, where the boundaries and specials are."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.where: dict[str, list[int]] = {}
        self.boundaries: list[int] = []  # scope boundaries (a table, a cell, an SVG foreignObject...)
        self.specials: list[int] = []  # the parser's special elements
        self.foreign = 0  # open svg and math elements

    def push(self, name: str) -> None:
        at = len(self.names)
        self.where.setdefault(name, []).append(at)
        if name in _BOUNDARY or (self.foreign and name in _FOREIGN_BOUNDARY):
            self.boundaries.append(at)
        if name in _SPECIAL:
            self.specials.append(at)
        if name in _FOREIGN:
            self.foreign += 1
        self.names.append(name)

    def pop(self) -> str:
        name = self.names.pop()
        at = len(self.names)
        self.where[name].pop()
        if self.boundaries and self.boundaries[-1] == at:
            self.boundaries.pop()
        if self.specials and self.specials[-1] == at:
            self.specials.pop()
        if name in _FOREIGN:
            self.foreign -= 1
        return name

    def top(self) -> str | None:
        return self.names[-1] if self.names else None

    def last(self, name: str) -> int:
        at = self.where.get(name)
        return at[-1] if at else -1

    def in_scope(self, name: str, *extra: str) -> int:
        """Where ``name`` is open with no scope boundary (nor an ``extra`` one) above it, or -1."""
        at = self.last(name)
        if at < 0:
            return -1
        floor = max([self.boundaries[-1] if self.boundaries else -1, *(self.last(x) for x in extra)])
        return at if at >= floor else -1

    def special_above(self, at: int, allowed: frozenset[str] = frozenset()) -> bool:
        """Whether a special element (other than ``allowed`` ones) is open above position ``at``."""
        for pos in reversed(self.specials):
            if pos <= at:
                return False
            if self.names[pos] not in allowed:
                return True
        return False

    def pop_to(self, pos: int, reopen: bool = True) -> None:
        """Pop every element from ``pos`` up; the formatting elements above it are opened again (the parser
        reconstructs them)."""
        above = []
        while len(self.names) > pos + 1:
            above.append(self.pop())
        self.pop()
        if reopen:
            for x in reversed(above):
                if x in _FORMATTING:
                    self.push(x)


def cap_depth(html: str, limit: int = LIMIT) -> str:
    """``html`` with the tags that would nest elements deeper than ``limit`` removed (see the module)."""
    if html.count("<") <= limit:  # cannot nest deeper than that (plus the few elements a parser inserts)
        return html
    stack = _Stack()
    dropped: dict[str, int] = {}
    cut: list[tuple[int, int]] = []  # spans of dropped tags
    pos, n = 0, len(html)
    while True:
        m = _TAG.search(html, pos)
        if m is None:
            break
        start = m.start()
        if m.group(1):  # a comment
            end = html.find("-->", m.end())
            pos = n if end < 0 else end + 3
            continue
        close = html.find(">", m.end())
        end = n if close < 0 else close + 1
        pos = end
        if m.group(3) is None:  # <!doctype>, <?...>: a bogus comment to the next '>'
            continue
        name = m.group(3).lower()
        if m.group(2):  # an end tag
            if dropped.get(name):
                dropped[name] -= 1
                cut.append((start, end))
                continue
            if stack.foreign or stack.last("frameset") >= 0:
                # In SVG, MathML and a frameset only the current element is surely closed (deeper, safe).
                at = len(stack.names) - 1 if stack.top() == name else -1
            else:
                at = _closed_by(stack, name)
            if at >= 0:
                stack.pop_to(at)
            continue
        foreign = stack.foreign > 0
        if foreign:  # in SVG and MathML every element nests unless it closes itself (or leaves them, as <br>)
            if html[end - 2 : end] == "/>" or (name in _VOID and name in _BREAKOUT):
                continue
        elif name in _VOID:
            continue
        elif name in _TABLE_PARTS and name != "table" and stack.last("table") < 0:
            continue  # table parts outside a table: the parser ignores them
        if (not foreign or name in _BREAKOUT) and stack.last("frameset") < 0:
            _implied_ends(stack, name)
        # Raw text (a script's, a style's): not in SVG or MathML, nor in a frameset, where they are ignored.
        raw = name in _RAW and not foreign and stack.last("frameset") < 0
        if len(stack.names) >= limit:
            dropped[name] = dropped.get(name, 0) + 1
            cut.append((start, end))
            if raw:
                pos = _raw_end(html, name, end)
            continue
        if name in ("td", "th") and stack.top() != "tr":
            stack.push("tr")  # inserted by the parser (and a tbody: counted below)
        if name in ("td", "th", "tr") and stack.top() in ("table", "tr") and stack.last("tbody") < stack.last("table"):
            stack.push("tbody")
        stack.push(name)
        if raw:
            pos = _raw_end(html, name, end)
        elif name == "plaintext" and not foreign:
            break
    if not cut:
        return html
    parts, last = [], 0
    for a, b in cut:
        parts.append(html[last:a])
        last = b
    parts.append(html[last:])
    return "".join(parts)


_NOT_STOPPING = frozenset(("address", "div", "p"))


def _implied_ends(stack: _Stack, name: str) -> None:
    """Pop what the start tag ``name`` closes: an open ``<p>``, the last ``<li>``/``<dd>``/``<dt>``, a cell..."""
    if name in _CLOSES_P and (at := stack.in_scope("p", "button")) >= 0:
        stack.pop_to(at)
    if name in ("li", "dd", "dt"):
        closes = ("li",) if name == "li" else ("dd", "dt")
        at = max(stack.last(x) for x in closes)
        if at >= 0 and not stack.special_above(at, _NOT_STOPPING):
            stack.pop_to(at)
    elif name in _CELLS:
        cell = max(stack.in_scope("td"), stack.in_scope("th"))
        if cell >= 0 and cell > stack.last("table"):
            stack.pop_to(cell, reopen=False)
        if name == "tr" and (at := stack.last("tr")) > stack.last("table") >= 0:
            stack.pop_to(at, reopen=False)
    elif (name in _HEADINGS and stack.top() in _HEADINGS) or (
        name in ("option", "optgroup") and stack.top() == "option"
    ):
        stack.pop()
    elif name in ("a", "nobr") and (at := _closed_by(stack, name)) >= 0:
        stack.pop_to(at)


def _closed_by(stack: _Stack, name: str) -> int:
    """Where the element an end tag ``name`` pops down to is (everything from there up goes), or -1 when the
    model keeps the stack as it is: the parser ignores the tag, or removes one element below a special one."""
    if name in _TABLE_PARTS:
        at, table = stack.last(name), stack.last("table")
        return at if at >= 0 and (name == "table" or at > table) else -1
    if name in _SPECIAL and name != "form":
        extra = ("button",) if name == "p" else ("ul", "ol") if name == "li" else ()
        return stack.in_scope(name, *extra)
    # A form, a formatting element with a block inside (the adoption agency keeps the block open), an ordinary
    # element under a special one (the end tag is ignored): counted as not closing anything (deeper, safe).
    at = stack.last(name)
    return -1 if at < 0 or stack.special_above(at) or at < (stack.boundaries[-1] if stack.boundaries else -1) else at


def _raw_end(html: str, name: str, pos: int) -> int:
    """Where the raw text of a ``<script>``, ``<style>``... opened before ``pos`` ends (its end tag's start)."""
    m = re.compile(rf"</{re.escape(name)}[\t\n\f\r />]", re.I).search(html, pos)
    return len(html) if m is None else m.start()
