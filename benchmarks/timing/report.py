"""A large scan's HTML report in a browser: written, opened, paged and scrolled (headless Debian chromium).

    python -m benchmarks.corpora.synth /tmp/corpus --docs 20000
    python -m benchmarks.timing.report --corpus /tmp/corpus --out /tmp/report.html

Prints one JSON object: the scan's size (articles, clusters, pairs), the time to scan and to write the report,
its size, and in the browser the time to load it, to show page 10 (``#page-10``, CSS ``:target``), to open a
cluster, to scroll to the end, and the JS heap used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

SHOWN_PAGE = 10  # the page shown by its anchor: a large report has at least this many

# Headless chromium as this benchmark and the browser tests start it (the tests import it: a benchmark never
# imports the test tree).
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--screenshot", type=Path)
    args = ap.parse_args(argv)

    from dedup import ScanOptions, scan
    from dedup.output import plan_output, write_output
    from dedup.views.html import report_html

    out: dict = {"load_before": [round(x, 2) for x in os.getloadavg()]}
    t = time.perf_counter()
    result = scan(args.corpus, ScanOptions(workers=args.workers))
    out["scan_s"] = round(time.perf_counter() - t, 1)
    data = result.to_dict()
    out |= {"articles": len(data["documents"]), "clusters": len(data["clusters"]), "pairs": len(data["pairs"])}
    t = time.perf_counter()
    write_output(result, plan_output(str(args.out), force=True), html=lambda: report_html(result))
    out["report_write_s"] = round(time.perf_counter() - t, 1)
    out["report_mb"] = round(args.out.stat().st_size / 2**20, 1)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t = time.perf_counter()
        page.goto(args.out.as_uri(), wait_until="load", timeout=300_000)
        out["browser_load_s"] = round(time.perf_counter() - t, 2)
        out["pages"] = page.locator("section.page").count()
        out["visible_clusters_on_first_page"] = page.locator("section.page:visible details.cluster").count()
        if out["pages"] < SHOWN_PAGE:
            browser.close()
            sys.exit(
                f"timing.report: {args.out} has {out['pages']} pages; showing page {SHOWN_PAGE} needs at least "
                f"{SHOWN_PAGE}: use a larger corpus"
            )
        t = time.perf_counter()
        page.goto(args.out.as_uri() + f"#page-{SHOWN_PAGE}")
        page.locator(f"#page-{SHOWN_PAGE} details.cluster").first.wait_for(state="visible")
        out["show_page_10_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        cluster = page.locator(f"#page-{SHOWN_PAGE} details.cluster").first
        cluster.locator("> summary").click()
        cluster.locator("details.pair > summary").first.click()
        cluster.locator("details.pair[open] table.sbs").first.wait_for(state="visible")
        out["open_cluster_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        page.mouse.wheel(0, 100_000)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        out["scroll_to_end_s"] = round(time.perf_counter() - t, 2)
        heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0")
        out["js_heap_mb"] = round(heap / 2**20, 1)
        if args.screenshot:
            page.goto(args.out.as_uri() + f"#page-{SHOWN_PAGE}")
            page.screenshot(path=str(args.screenshot))
        browser.close()
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
