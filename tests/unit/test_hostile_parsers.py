"""Issue 27: every reader bounded in time and memory by its input's size, and one line per hostile input.

Each test here failed on the code before the fix (the finding it names) and proves the bound by comparing a
size with four times that size, or a hostile input with a plain one of the same size.
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from dedup.ingest.depth import LIMIT, cap_depth
from dedup.ingest.html import extract


def _seconds(fn, *args) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return best


def _depth(html: str) -> int:
    tree = LexborHTMLParser(html)
    best, stack = 0, [(tree.root, 0)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        child = node.child
        while child is not None:
            stack.append((child, d + 1))
            child = child.next
    return best


# Finding 1: parse time grew as the square of the nesting (100k <div>: 22.6 s; 40k 3.3 s, 60k 8.4 s).
NESTING = ("<div>", "<ul><li>", "<i><b>x</i>", "<font><div></font>", "<table><tr><td><div>", "<dl><dd>")


def test_nested_html_is_read_in_time_linear_in_its_size():
    """Deep nesting of each shape costs about what the same number of flat tags costs, at 4x the size too."""
    n = 8_000
    for shape in NESTING:
        close = "</" + shape[1:].split(">")[0].split()[0] + ">"
        nested = shape * n + "some words here"
        flat = (shape + close) * n + "some words here"
        ratio = _seconds(extract, nested) / _seconds(extract, flat)
        assert ratio < 4, f"{shape} x {n}: {ratio:.1f} times the flat page's time"
    small, large = "<div>" * n + "words", "<div>" * (4 * n) + "words"
    growth = _seconds(extract, large) / _seconds(extract, small)
    assert growth < 8, f"4x the nesting took {growth:.1f}x the time (quadratic: 16x)"
    assert extract(large).text == "words"


def test_the_cap_keeps_ordinary_pages_as_they_are():
    page = "<html><body>" + "<div><p>a paragraph of words</p><ul><li>one<li>two</ul></div>" * 400 + "</body></html>"
    assert cap_depth(page) is page
    nested = "<div>" * 600 + "deep words" + "</div>" * 600
    capped = cap_depth(nested)
    assert _depth(capped) <= LIMIT + 2 and "deep words" in extract(capped).text


_SOUP = st.lists(
    st.sampled_from(
        str.split(
            "<div> </div> <b> </b> <i> </i> <p> </p> <table> </table> <td> </td> <tr> <li> </li> <ul> </ul> <a> </a> "
            "<span> </span> <font> </font> x <select> <option> <dd> <dt> <h1> </h1> <caption> <form> </form> <button> "
            "<template> </template> <svg> </svg> <math> <mi> <nobr> <object> <frameset> <marquee> <em> <tbody> "
            "</tbody> <col> <image> <title> <textarea> <desc> <foreignObject> <annotation-xml> <rb> <frame>"
        )
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(unit=_SOUP)
def test_no_tag_soup_nests_deeper_than_the_cap(unit):
    """Whatever a page repeats, the parser's tree of the capped page is at most ~512 deep (browsers' limit)."""
    html = "".join(unit) * (1200 // len(unit) + 1) + "words"
    assert _depth(cap_depth(html)) <= LIMIT + 24


# Finding 6: a declared charset was looked up among Python's codecs: "undefined" and "punycode" raised (an HTTP
# 500), "unicode_escape" ran escape sequences and "cp037" read the page as EBCDIC.
def test_only_whatwg_charset_labels_are_honoured():
    from dedup.ingest.reader import read_upload

    body = "<p>Caf\u00e9 \\x41\\u0042 words of the article.</p>"
    for label in ("undefined", "punycode", "unicode_escape", "cp037", "utf-7", "rot13", "mbcs"):
        page = f'<html><head><meta charset="{label}"></head><body>{body}</body></html>'.encode()
        article = read_upload("page.html", page, "html")
        assert article.text == "Caf\u00e9 \\x41\\u0042 words of the article.", label
        assert f"declared charset '{label}' is not an encoding" in article.encoding
    page = b'<meta charset="KOI8-R"><p>\xf3\xcc\xcf\xd7\xcf words</p>'
    assert read_upload("p.html", page, "html").text == "\u0421\u043b\u043e\u0432\u043e words"
