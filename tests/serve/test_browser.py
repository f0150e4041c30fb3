"""The report and the served pages as a person sees them: headless Chromium (Debian's ``chromium``, which
``.ci/run`` installs when missing) driven by Playwright's Python API with ``executable_path`` (no
``playwright install``). Each test checks what is on screen and writes a screenshot under its temp
folder; with ``DEDUP_SCREENSHOTS=DIR`` it also copies them there (the README's are made that way:
``DEDUP_SCREENSHOTS=docs pytest tests/serve/test_browser.py``).

Hostile names and text (``<script>``, ``onerror=`` attributes, ``javascript:`` links) must show as text:
no dialog opens and no injected element exists."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.timing.report import ARGS, CHROMIUM  # headless chromium started one way, here and there
from dedup import ScanOptions, scan
from dedup.index import open_index, service
from dedup.output import plan_output, write_output
from dedup.views.html import report_html
from tests.conftest import ROOT, SEED_ORIGINAL, SEED_WRAPPER, SEEDS
from tests.support.serving import AUTH, TOKEN, Server, token_file

pytestmark = pytest.mark.browser
OPTIONS = ScanOptions(workers=1)
SHARED_GREEN = "rgb(218, 251, 225)"  # mark.shared's background (style.css --shared)

# Hostile content: each would run script if it reached the page as markup.
EVIL_TEXT = (
    "<script>alert('text')</script> and <img src=x onerror=\"alert('img')\"> and "
    "<a href=\"javascript:alert('link')\">click me</a> and <svg onload=alert('svg')></svg>"
)
EVIL_NAMES = ("<img src=x onerror=alert(1)>.txt", "<script>alert(2)<!--.txt", "javascript:alert(3).txt")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (.ci/run installs Debian's package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, java_script_enabled=True)
    pg = context.new_page()
    pg.dialogs = []  # type: ignore[attr-defined]
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    yield pg
    context.close()


def _shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 10_000
    if os.environ.get("DEDUP_SCREENSHOTS"):
        target = ROOT / os.environ["DEDUP_SCREENSHOTS"] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return path


def _assert_inert(page) -> None:
    """Nothing injected ran or exists: no dialog, no script, image, svg, iframe, handler or javascript: link."""
    page.wait_for_timeout(300)
    assert page.dialogs == []
    assert page.locator("script, img, svg, iframe, object, embed").count() == 0
    assert page.locator("[onerror], [onload], [onclick]").count() == 0
    assert page.locator("a[href^='javascript' i]").count() == 0


def _check_seed_diff(page, pair) -> None:
    """000's wrapper paragraphs marked in its column, 001 as the source, the shared passage highlighted at
    the scan's offsets."""
    wrapper = pair.locator("p.para.l-wrapper")
    assert wrapper.count() >= 5 and wrapper.first.is_visible()
    assert wrapper.first.locator(".tag").inner_text().lower() == "wrapper"
    shared = pair.locator("tbody.shared mark.shared").first
    assert shared.is_visible()
    assert shared.evaluate("e => getComputedStyle(e).backgroundColor") == SHARED_GREEN
    assert "Pavel Durov" in shared.inner_text()
    assert page.locator(".legend").first.is_visible()


def test_the_seeds_report_in_a_browser(page, tmp_path):
    result = scan(SEEDS, OPTIONS)
    (written,) = write_output(result, plan_output(str(tmp_path / "report.html")), html=lambda: report_html(result))
    passage = result.to_dict()["pairs"][0]["passages"][0]
    page.goto(written.as_uri())
    assert page.title().startswith("dedup report")
    assert page.locator("table.clusters td.source").inner_text() == SEED_ORIGINAL
    pair = page.locator("details.pair").first  # the copy against its source: A the source, B the copy
    head = pair.locator("thead").inner_text()
    assert head.index(SEED_ORIGINAL) < head.index(SEED_WRAPPER)
    _check_seed_diff(page, pair)
    body = pair.locator("tbody.shared").first
    assert result.to_dict()["pairs"][0]["a"] == SEED_WRAPPER  # so the scan's b is the page's A
    assert int(body.get_attribute("data-a-start")) == passage["b_start"]
    assert int(body.get_attribute("data-b-end")) == passage["a_end"]
    page.locator("details.pair tbody.shared").first.scroll_into_view_if_needed()
    _shot(page, tmp_path, "report.png")
    page.goto(written.as_uri())
    _shot(page, tmp_path, "report-top.png")
    _assert_inert(page)


def test_scan_writes_the_report_from_the_command_line(tmp_path):
    out = tmp_path / "r.html"
    run = subprocess.run(
        [sys.executable, "-m", "dedup", "scan", str(SEEDS), "-o", str(out), "--format", "none", "--workers", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace("http-equiv", "")
    assert "Content-Security-Policy" in html and SEED_ORIGINAL in html.replace("<wbr>", "")  # ids may break at _ .


def _evil_folder(tmp: Path) -> Path:
    folder = tmp / "evil"
    folder.mkdir()
    story = (SEEDS / SEED_ORIGINAL).read_text(encoding="utf-8")
    for k, name in enumerate(EVIL_NAMES):
        front = "---\ntitle: <script>alert('title')</script>\nurl: javascript:alert('url')\n---\n"
        (folder / name).write_text(f"{front}{EVIL_TEXT} {k}\n\n{story}\n\n{EVIL_TEXT}\n", encoding="utf-8")
    return folder


def test_hostile_names_and_text_in_the_report_render_as_text(page, tmp_path):
    result = scan(_evil_folder(tmp_path), OPTIONS)
    assert result.to_dict()["clusters"]
    (written,) = write_output(result, plan_output(str(tmp_path / "evil.html")), html=lambda: report_html(result))
    page.goto(written.as_uri())
    _assert_inert(page)
    text = page.locator("body").inner_text()
    assert "<script>alert('text')</script>" in text and EVIL_NAMES[0] in text and "onerror=" in text


def _seed_index(tmp: Path) -> Path:
    folder = tmp / "archive"
    folder.mkdir()
    for f in SEEDS.iterdir():
        if f.name != SEED_WRAPPER:
            shutil.copy(f, folder / f.name)
    location = tmp / "index"
    service.add(open_index(str(location), params=service.store_params(OPTIONS), create=True), [folder], OPTIONS)
    return location


def test_served_pages_in_a_browser(page, tmp_path):
    with Server(_seed_index(tmp_path), token_file=token_file(tmp_path)) as srv:
        # Paste an incoming article: the page says what it copies.
        page.goto(srv.url + "/")
        page.fill("textarea#text", (SEEDS / SEED_WRAPPER).read_text(encoding="utf-8"))
        page.fill("input#id", "incoming-repost.txt")
        page.click("button[type=submit]")
        page.wait_for_selector("table.relations")
        assert page.locator(".document .role").inner_text() == "copy"
        assert page.locator(".document .source").inner_text() == SEED_ORIGINAL
        assert "A wraps B" in page.locator("table.relations").inner_text()  # A: the pasted article
        _check_seed_diff(page, page.locator("details.pair").first)
        _assert_inert(page)
        _shot(page, tmp_path, "serve-query.png")
        # Upload it as a file instead: the same answer.
        page.goto(srv.url + "/")
        page.set_input_files("input#file", str(SEEDS / SEED_WRAPPER))
        page.click("button[type=submit]")
        page.wait_for_selector("table.relations")
        assert page.locator(".document .source").inner_text() == SEED_ORIGINAL
        # Index it; the original's page now lists who copies it, and the side-by-side view links from there.
        body = {"id": SEED_WRAPPER, "text": (SEEDS / SEED_WRAPPER).read_text(encoding="utf-8")}
        assert srv.client.post("/api/articles", json=body, headers=AUTH).status_code == 201
        page.goto(srv.url + "/article?id=" + SEED_ORIGINAL)
        assert page.locator(".document .role").inner_text() == "source"
        relations = page.locator("table.relations").inner_text()
        assert SEED_WRAPPER in relations and "B wraps A" in relations
        page.click("table.relations a:has-text('side by side')")
        page.wait_for_selector("div.diff")
        assert "/diff?" in page.url
        _check_seed_diff(page, page.locator("div.diff"))
        _assert_inert(page)
        _shot(page, tmp_path, "serve-diff.png")
        page.goto(srv.url + "/article?id=no-such-article")
        assert "no indexed article" in page.locator(".error").inner_text()


def test_hostile_ids_and_text_on_the_served_pages_render_as_text(page, tmp_path):
    with Server(_seed_index(tmp_path), token_file=token_file(tmp_path)) as srv:
        story = (SEEDS / SEED_ORIGINAL).read_text(encoding="utf-8")
        batch = [{"id": name, "text": f"{EVIL_TEXT}\n\n{story}\n\n{EVIL_TEXT}"} for name in EVIL_NAMES]
        assert srv.client.post("/api/articles", json={"articles": batch}, headers=AUTH).status_code == 201
        for url in (
            f"/article?id={EVIL_NAMES[0]}",
            f"/diff?a={EVIL_NAMES[0]}&b={EVIL_NAMES[1]}",
            f"/article?id={EVIL_NAMES[2]}",
        ):
            from urllib.parse import quote

            path, _, query = url.partition("?")
            query = "&".join(f"{k}={quote(v, safe='')}" for k, v in (q.split("=", 1) for q in query.split("&")))
            page.goto(f"{srv.url}{path}?{query}")
            page.wait_for_selector("div.document, div.diff")
            _assert_inert(page)
            assert "<script>alert('text')</script>" in page.locator("main").inner_text()
        page.goto(srv.url + "/")
        page.fill("textarea#text", f"{EVIL_TEXT}\n\n{story}")
        page.fill("input#id", EVIL_NAMES[1])
        page.click("button[type=submit]")
        page.wait_for_selector("table.relations")
        _assert_inert(page)
        assert EVIL_NAMES[1] in page.locator(".document").inner_text()


def test_the_inertness_check_sees_an_injection(page):
    """The check above is not vacuous: markup that runs script is caught."""
    page.set_content("<p>x</p><img src=x onerror=\"alert('ran')\">")
    with pytest.raises(AssertionError):
        _assert_inert(page)
    assert page.dialogs == ["ran"]


def test_diff_and_show_as_html_pages(page, tmp_path):
    """The library side of ``diff``/``show --format html`` (the CLI wires them): self-contained pages."""
    from dedup.views.data import from_result
    from dedup.views.html import diff_html, show_html

    data = from_result(scan(SEEDS, OPTIONS))
    i, j = data.find(SEED_WRAPPER), data.find(SEED_ORIGINAL)
    (tmp_path / "diff.html").write_text(diff_html(data, i, j), encoding="utf-8")
    page.goto((tmp_path / "diff.html").as_uri())
    _check_seed_diff(page, page.locator("div.diff"))
    _assert_inert(page)
    (tmp_path / "show.html").write_text(show_html(data, i), encoding="utf-8")
    page.goto((tmp_path / "show.html").as_uri())
    assert page.locator(".document .source").inner_text() == SEED_ORIGINAL
    assert page.locator("table.paragraphs p.para.l-wrapper").count() >= 5
    assert page.locator("table.paragraphs p.para.l-syndicated").count() >= 1


# ------------------------------------------------------------------------------------------ issue 29

LONG = "2026-03-04-millbrook-council-approves-the-new-harbour-bridge-after-a-long-debate"
# For every element showing an id: the characters after which the line breaks. An id may break only after a
# separator (the <wbr> the page puts there), never inside a word.
BREAKS = """
els => els.filter(e => e.offsetParent !== null).map(e => {
  const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
  const chars = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (let i = 0; i < n.data.length; i++) {
      const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
      const rect = r.getClientRects()[0];
      if (rect) chars.push([n.data[i], rect.top]);
    }
  }
  const out = [];
  for (let i = 1; i < chars.length; i++) if (chars[i][1] > chars[i - 1][1] + 2) out.push(chars[i - 1][0]);
  return [e.textContent, out];
})
"""


def _broken_mid_word(page) -> list:
    bad = []
    for text, before_breaks in page.locator(".id").evaluate_all(BREAKS):
        bad += [(text, c) for c in before_breaks if c not in "/_-.#?&=\\ ,"]
    return bad


def _long_named(tmp: Path) -> Path:
    """The seeds under long names, and an exact copy of the original: two copies of it, one closer."""
    folder = tmp / "gazette" / "2026" / "03" / "04"
    folder.mkdir(parents=True)
    for f in SEEDS.iterdir():
        shutil.copy(f, folder / f"{LONG}-{f.name}")
    shutil.copy(SEEDS / SEED_ORIGINAL, folder / f"{LONG}-exact-copy.txt")
    return tmp / "gazette"


def test_the_report_as_people_read_it(browser, tmp_path):
    """Parameters folded away; each copy against its source, the closest first; the cluster's other pairs
    listed and each openable; ids broken only after separators in a narrow window; an elided passage opens
    without script."""
    context = browser.new_context(viewport={"width": 760, "height": 1000}, java_script_enabled=False)
    page = context.new_page()
    result = scan(_long_named(tmp_path), OPTIONS)
    (written,) = write_output(result, plan_output(str(tmp_path / "report.html")), html=lambda: report_html(result))
    page.goto(written.as_uri())
    params = page.locator("details.params")
    assert params.count() == 1 and not params.evaluate("e => e.open")
    assert not page.locator("table.params").is_visible()
    assert "copy_group" not in page.locator("header.top").inner_text()
    params.locator("summary").click()
    assert "verify.copy_group" in page.locator("table.params").inner_text()
    against = page.locator("details.pair.against")
    assert against.count() == 2
    summaries = [against.nth(k).locator(":scope > summary").inner_text() for k in range(2)]
    assert "exact-copy" in summaries[0] and SEED_WRAPPER in summaries[1]  # the closest copy first
    assert all(f"{LONG}-{SEED_ORIGINAL}" in s.replace("\n", "") for s in summaries)  # each against the source
    others = page.locator("details.others")
    assert others.count() == 1 and not others.evaluate("e => e.open")
    others.locator(":scope > summary").click()
    other = others.locator("details.pair.other")
    assert other.count() == 1 and not other.locator("div.diff").is_visible()
    other.locator(":scope > summary").click()
    assert other.locator("div.diff").is_visible()
    assert _broken_mid_word(page) == []
    elided = page.locator("details.elided").first
    assert not elided.locator("table.inner").is_visible()
    note = elided.locator(":scope > summary").inner_text()
    assert "more shared characters" in note
    elided.locator(":scope > summary").click()
    hidden = " ".join(elided.locator("table.inner td:first-child").all_inner_texts())  # side A's column
    assert elided.locator("table.inner").is_visible() and len(hidden) > 500
    story = " ".join((SEEDS / SEED_ORIGINAL).read_text(encoding="utf-8").split())
    assert " ".join(hidden.split()[5:25]) in story  # the hidden middle of the passage, as the article has it
    _shot(page, tmp_path, "report-narrow.png")
    context.close()


def test_the_home_page_lists_searches_and_adds_with_the_token(page, tmp_path):
    location = _seed_index(tmp_path)
    with Server(location, token_file=token_file(tmp_path)) as srv:
        batch = [  # short items of their own words: they copy nothing and nothing copies them
            {
                "id": f"brief-{n:03d}.html",
                "html": f"<title>Brief number {n} | The Harbour Herald</title><p>"
                + " ".join(f"brief{n}word{k}" for k in range(60))
                + "</p>",
            }
            for n in range(60)
        ]
        assert srv.client.post("/api/articles", json={"articles": batch}, headers=AUTH).status_code == 201
        page.goto(srv.url + "/")
        text = page.locator("main").inner_text()
        assert "The index holds 64 articles." in text and "shard" not in text
        rows = page.locator("table.catalogue tbody tr, table.catalogue tr:has(td)")
        assert rows.count() == 50 and "64 articles, newest first; page 1 of 2" in text
        _shot(page, tmp_path, "serve-home.png")
        page.click("a[rel=next]")
        assert page.locator("table.catalogue tr:has(td)").count() == 14
        page.fill("input#q", "number 7")  # by title, which lost the site's name
        page.click("form.search button")
        titles = page.locator("table.catalogue tr:has(td) td:first-child").all_inner_texts()
        assert titles == ["Brief number 7"], titles
        page.fill("input#q", SEED_ORIGINAL[:8])  # by id
        page.click("form.search button")
        page.click("table.catalogue a:has-text('(no title)')")
        shown = " ".join(page.locator(".document").inner_text().split())
        assert SEED_ORIGINAL in shown and "(in the index)" in shown  # its page, not "the article asked about"
        assert "Not a copy of another article here, and not copied by one" in shown  # plain words
        # Add an article from the page: the token typed in the form, never stored.
        page.goto(srv.url + "/")
        page.fill("textarea#add-text", (SEEDS / SEED_WRAPPER).read_text(encoding="utf-8"))
        page.fill("input#add-id", "added-from-the-page.txt")
        page.fill("input#token", "not-the-token-at-all")
        page.click("form[action='/add'] button")
        assert "wrong token" in page.locator(".error").inner_text()
        assert srv.client.get("/api/health").json()["articles"] == 64
        page.fill("textarea#add-text", (SEEDS / SEED_WRAPPER).read_text(encoding="utf-8"))
        page.fill("input#add-id", "added-from-the-page.txt")
        page.fill("input#token", TOKEN)
        with page.expect_response(lambda r: r.url.endswith("/add")) as answer:
            page.click("form[action='/add'] button")
        assert "set-cookie" not in answer.value.headers and TOKEN not in answer.value.text()
        assert "was added" in page.locator(".ok").inner_text()
        assert page.locator("input#token").input_value() == ""
        assert srv.client.get("/api/health").json()["articles"] == 65
        _assert_inert(page)
    with Server(location) as srv:  # without a token file: no add form
        page.goto(srv.url + "/")
        assert page.locator("form[action='/add']").count() == 0


def test_a_pasted_articles_page_links_only_to_indexed_ones(page, tmp_path):
    with Server(_seed_index(tmp_path)) as srv:
        page.goto(srv.url + "/")
        page.fill("textarea#text", (SEEDS / SEED_WRAPPER).read_text(encoding="utf-8"))
        page.fill("input#id", "incoming-repost.txt")
        page.click("button[type=submit]")
        page.wait_for_selector("table.relations")
        hrefs = page.locator("a[href^='/article']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert hrefs and all("incoming-repost" not in h for h in hrefs), hrefs
        text = page.locator(".document").first.inner_text()
        assert "checked against the index, not in it" in text and "cluster" not in text.lower()
        assert f"A copy of {SEED_ORIGINAL}, its source" in " ".join(text.split())
        for link in hrefs:  # every link names an indexed article
            assert srv.client.get(link).status_code == 200, link
        elided = page.locator("details.pair details.elided").first  # a long shared passage, elided: it opens
        assert not elided.locator("table.inner").is_visible()
        elided.locator(":scope > summary").click()
        assert elided.locator("table.inner").is_visible()
