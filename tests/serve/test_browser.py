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

from dedup import ScanOptions, scan
from dedup.index import open_index, service
from dedup.output import plan_output, write_output
from dedup.views.html import report_html
from tests.conftest import ROOT, SEED_ORIGINAL, SEED_WRAPPER, SEEDS
from tests.support.serving import AUTH, Server, token_file

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
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
    pair = page.locator("details.pair").first
    assert SEED_WRAPPER in pair.locator("thead").inner_text()
    _check_seed_diff(page, pair)
    body = pair.locator("tbody.shared").first
    assert int(body.get_attribute("data-a-start")) == passage["a_start"]
    assert int(body.get_attribute("data-b-end")) == passage["b_end"]
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
    assert "Content-Security-Policy" in html and SEED_ORIGINAL in html


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
