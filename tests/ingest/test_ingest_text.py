"""Plain-text reading: hard-wrapped lines joined into paragraphs (issue 19) and ``site:`` front matter."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.ingest import Article, read_file
from dedup.ingest.model import site_named, split_paragraphs
from dedup.ingest.text import text_article
from dedup.ingest.wrap import text_paragraphs


def fold(s: str) -> str:
    return " ".join(s.split())


def folded(a: Article) -> list[str]:
    return [fold(a.text[s:e]) for s, e in a.paragraphs]


def wrap(paragraph: str, width: int = 72, indent: str = "") -> str:
    """``paragraph`` hard-wrapped as a wire system or mail client does (never inside a word)."""
    return textwrap.fill(paragraph, width, initial_indent=indent, break_on_hyphens=False, break_long_words=False)


def read(tmp_path, name: str, text: str) -> Article:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    (a,) = read_file(path)
    assert isinstance(a, Article), a
    check_spans(a.text, a.paragraphs, a.body_start)
    return a


def check_spans(text: str, spans: list[tuple[int, int]], start: int = 0) -> None:
    """In order, non-overlapping, inside the text, trimmed, and covering every non-space character."""
    last = start
    for s, e in spans:
        assert last <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        assert not text[last:s].strip()
        last = e
    assert not text[last:].strip()


@pytest.fixture
def stories(aeb_articles):
    """Paragraphs of real English articles (whitespace folded), several hundred words each."""
    return [[fold(p) for p in a.paragraphs] for a in aeb_articles[:6]]


@pytest.mark.parametrize("width", [60, 72, 80])
@pytest.mark.parametrize(
    "style",
    ["blank", "indent-tab", "indent-2", "reuters-4", "blank+crlf"],
)
def test_hard_wrapped_text_has_the_paragraphs_of_its_unwrapped_form(tmp_path, stories, style, width):
    for k, paras in enumerate(stories):
        if style.startswith("blank"):
            text = "\n\n".join(wrap(p, width) for p in paras) + "\n"
        else:
            indent = {"indent-tab": "\t", "indent-2": "  ", "reuters-4": "    "}[style]
            text = "\n".join(wrap(p, width, indent) for p in paras) + "\n"
        if style.endswith("crlf"):
            text = text.replace("\n", "\r\n")
        plain = "\n\n".join(paras)
        a = read(tmp_path, f"{style}-{k}.txt", text)
        assert a.text == text  # the text is never rewritten: spans index it as stored
        assert folded(a) == [fold(plain[s:e]) for s, e in split_paragraphs(plain)]
        assert len(a.paragraphs) < text.count("\n") / 2  # joined, not one a line


def test_site_chrome_lines_above_a_wrapped_story_stay_apart(tmp_path, stories):
    """Lines the next word would have fitted on were broken by the writer: never joined to the next."""
    chrome = ["The Liberty Record \u2014 independent news since 1998", "Menu | Search | Sign in", "Why it matters"]
    text = "\n".join(chrome) + "\n" + "\n\n".join(wrap(p) for p in stories[1]) + "\n"
    a = read(tmp_path, "chrome.txt", text)
    assert folded(a) == chrome + stories[1]


WIRE = """\
Storm knocks out power to thousands

By JANE DOE
Associated Press

LISBON, Portugal (AP) -- A powerful Atlantic storm swept across
Portugal on Tuesday, knocking out power to tens of thousands of homes
and forcing the closure of schools along the coast.
   Civil protection officials said at least 40 people were evacuated
from low-lying neighborhoods near the Tagus estuary, where the river
rose more than a meter overnight.
   "We have never seen the water come up this fast," said a fisherman
in the riverside town of Alcochete, who gave only his first name.
   The national weather service kept a red alert in place for the
Lisbon and Setubal districts until Wednesday morning.
-- Forecasters said gusts of up to 130 kilometers per hour could
reach the Algarve later in the day.
"""


def test_a_wire_story_with_indented_paragraphs(tmp_path):
    a = read(tmp_path, "wire.txt", WIRE)
    assert folded(a) == [
        "Storm knocks out power to thousands",
        "By JANE DOE",
        "Associated Press",
        "LISBON, Portugal (AP) -- A powerful Atlantic storm swept across Portugal on Tuesday, knocking out "
        "power to tens of thousands of homes and forcing the closure of schools along the coast.",
        "Civil protection officials said at least 40 people were evacuated from low-lying neighborhoods near "
        "the Tagus estuary, where the river rose more than a meter overnight.",
        '"We have never seen the water come up this fast," said a fisherman in the riverside town of '
        "Alcochete, who gave only his first name.",
        "The national weather service kept a red alert in place for the Lisbon and Setubal districts until "
        "Wednesday morning.",
        "-- Forecasters said gusts of up to 130 kilometers per hour could reach the Algarve later in the day.",
    ]


def test_short_lines_end_paragraphs_and_a_mid_sentence_dash_does_not(tmp_path):
    text = (
        "The council voted on the budget late on Monday after a debate that ran\n"
        "for more than six hours.\n"
        "Opposition members walked out before the vote, saying the plan cut back\n"
        "too deeply into services for the elderly and the poor, a charge that the\n"
        "-- visibly angry -- mayor denied, promising to fight it in court.\n"
        "The budget takes effect in January.\n"
        "\u2022 Property taxes rise by two percent under the plan, the first increase\n"
        "in a decade, while fees for parking permits and waste collection go up.\n"
    )
    a = read(tmp_path, "council.txt", text)
    assert [p[:30] for p in folded(a)] == [
        "The council voted on the budge",
        "Opposition members walked out ",
        "The budget takes effect in Jan",
        "\u2022 Property taxes rise by two p",
    ]


NOT_WRAPPED = {
    "one-per-line.txt": "",  # filled in by the fixture below: real paragraphs, one a line
    "list.md": (
        "# Release notes\n\n"
        "- Faster reading of large WARC files, streamed record by record\n"
        "- The HTML reader keeps site chrome and drops hidden elements\n"
        "- CSV files in legacy encodings are detected\n"
        "* Parquet files are read in slices of about 32 MB\n"
        "1. First step: install the package\n"
        "2. Second step: run the scanner over your folder of articles\n"
    ),
    "poem.txt": (
        "Two roads diverged in a yellow wood,\nAnd sorry I could not travel both\n"
        "And be one traveler, long I stood\nAnd looked down one as far as I could\n"
        "To where it bent in the undergrowth;\n\n"
        "Then took the other, as just as fair,\nAnd having perhaps the better claim,\n"
        "Because it was grassy and wanted wear;\nThough as for that the passing there\n"
        "Had worn them really about the same,\n"
    ),
    "short-lines.txt": "Markets\nrallied today\nas the bank\nheld rates\nsteady.\n",
}


def test_text_that_is_not_hard_wrapped_keeps_one_paragraph_a_line(tmp_path, stories):
    files = dict(NOT_WRAPPED)
    files["one-per-line.txt"] = "\n".join(p for paras in stories for p in paras) + "\n"
    files["blank-line-paragraphs.txt"] = "\n\n".join(p for paras in stories for p in paras)
    files["front-matter.md"] = "---\ntitle: A title\ndate: 2026-01-02\n---\n" + files["one-per-line.txt"]
    for name, text in files.items():
        a = read(tmp_path, name, text)
        assert a.paragraphs == split_paragraphs(text, a.body_start), name


def test_records_join_hard_wrapped_text_too(tmp_path, stories):
    import json

    body = "\n".join(wrap(p, 72, "    ") for p in stories[0])
    (tmp_path / "feed.jsonl").write_text(json.dumps({"id": "w", "text": body}) + "\n", encoding="utf-8")
    (a,) = read_file(tmp_path / "feed.jsonl")
    assert folded(a) == stories[0]


def test_a_large_wrapped_text_is_tested_on_windows_and_joined_whole():
    para = " ".join(f"word{i % 97} and more text" for i in range(60)) + "."
    text = "\n".join(wrap(para, 72, "  ") for _ in range(3000))  # ~1 MB, over the sampling threshold
    spans = text_paragraphs(text)
    check_spans(text, spans)
    assert len(spans) == 3000 and {fold(text[s:e]) for s, e in spans} == {para}


def test_a_long_text_whose_windows_stop_early_is_still_joined_whole():
    """Over the sampling threshold with no line break after its first quarter: one window, not the text."""
    para = " ".join(f"word{i % 97} and more text" for i in range(60)) + "."
    text = "\n".join(wrap(para, 72, "  ") for _ in range(80)) + "\n" + "no break " * 50_000
    spans = text_paragraphs(text)
    check_spans(text, spans)
    assert len(spans) == 81


# Words and separators of real prose; lines wrapped at a random width or not at all.
word = st.sampled_from(
    ["the", "council", "voted", "on", "Monday", "budget", "--", "-", "*", "1.", "\u2022", "caf\u00e9", "\u5e02\u573a"]
    + ["said.", "end!", "(AP)", "\u201cquoted,\u201d", "x" * 30, "a", "I"]
)
separator = st.sampled_from([" ", " ", " ", " ", "\n", "\n\n", "\r\n", "\n  ", "\n\t", " \n", "\u2028", "\x0c"])


@st.composite
def prose(draw) -> str:
    text = "".join(w + s for w, s in draw(st.lists(st.tuples(word, separator), min_size=1, max_size=300)))
    width = draw(st.sampled_from([0, 30, 60, 72]))
    if width:
        text = "\n".join(wrap(p, width, draw(st.sampled_from(["", "  ", "\t"]))) for p in text.split("\n\n"))
    return draw(st.sampled_from(["", "   ", "---\ntitle: x\n---\n"])) + text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(prose(), st.text(max_size=500)))
def test_paragraph_spans_always_cover_the_text_in_order(text):
    a = text_article("p.txt", "p.txt", text)
    if a is None:
        return
    check_spans(text, a.paragraphs, a.body_start)
    assert a.text == text


SITES = {
    "host.md": ("site: www.Reuters.com\n", "reuters.com"),
    "url-site.md": ("site: https://WWW.BBC.co.uk/news/world\n", "bbc.co.uk"),
    "name.md": ("site: The Guardian\n", "The Guardian"),
    "both.md": ("url: https://www.apnews.com/article/1\nsite: Associated Press\n", "Associated Press"),
    "url-only.md": ("url: https://www.apnews.com/article/1\n", "apnews.com"),
    "blank-site.md": ("site:\nurl: https://news.example.org/a\n", "news.example.org"),
    "none.md": ("title: no site\n", None),
}


def test_site_front_matter_gives_the_site(tmp_path, cli, stories):
    for k, (name, (meta, _)) in enumerate(SITES.items()):
        (tmp_path / name).write_text(f"---\n{meta}---\n" + "\n\n".join(stories[k % len(stories)]), encoding="utf-8")
    run = cli("scan", tmp_path, "--format", "json")
    assert run.returncode == 0, run.stderr
    sites = {d["id"]: d.get("site") for d in run.json()["documents"]}
    assert sites == {name: site for name, (_, site) in SITES.items()}


def test_site_values_are_hosts_or_names():
    assert site_named("WWW.Example.COM.") == "example.com"
    assert site_named("example.com:8080/path") == "example.com"
    assert site_named("  Le   Monde ") == "Le Monde"
    assert site_named("Evil\x1b[2J Site\u202e") == "Evil[2J Site"
    assert site_named("ftp://files.example.com") is None
    assert site_named("") is None and site_named(None) is None
    assert site_named("x" * 500) == "x" * 200


_LINE_TEXT = st.text(
    alphabet=st.sampled_from(
        [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u2028"]
        + ["\u2029", "\u3000", "\u200b", "a", "é", "\u4e2d", "\ud800", "\U0001f600"]
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(_LINE_TEXT, st.integers(0, 45), st.one_of(st.none(), st.integers(0, 45)))
def test_paragraph_spans_are_the_non_blank_lines_trimmed(text, start, end):
    """``split_paragraphs`` by lines gives the spans of its definition, the regular expression (every line
    break and space Python knows, lone surrogates, astral characters, a window of the text)."""
    from dedup.ingest import model

    start = min(start, len(text))
    stop = len(text) if end is None else max(start, min(end, len(text)))
    expected = [m.span() for m in model._PARAGRAPH.finditer(text, start, stop)]
    assert split_paragraphs(text, start, end if end is None else stop) == expected
