"""Readers stream: peak RSS and read rate of the HTML and WARC readers, against the HTML parser alone.

Builds, under ``--workdir``, a folder of ``--pages`` HTML pages and gzipped WARC files of the ``--warc-mb`` sizes
(on-disk size of the ``.warc.gz``), all from the 181 real pages in ``data/aeb/html`` repeated with varied ids: every
fourth word of each repeat carries a suffix unique to it, so no two repeats share a 5-word sequence (a scan sees
distinct articles, not 75 copies of each page) while the markup, the parser's work, stays the page's own. Then
measures, one at a time, each in a fresh subprocess (peak RSS from ``os.wait4``, so it is that process's own):

- ``parse``: selectolax (lexbor) parsing every page of the folder, nothing else: the rate to compare with;
- ``read html``: ``dedup.ingest.read_articles`` over the folder (walk, open, decode, parse, blocks, metadata);
- ``read warc``: ``dedup.ingest.read_articles`` over each WARC (gunzip, WARC/HTTP parsing, decode, parse, ...);
- ``scan warc``: ``dedup.scan`` over each WARC up to ``--scan-max-mb`` (phase 1 and 2 with the feature store).

Rates are MB/s of HTML (the HTTP bodies, uncompressed): the parser's input in every case. The WARC's own size
(compressed) is given beside it. Usage::

    python -m benchmarks.timing.ingest --pages 2000 --warc-mb 200,400 --json benchmarks/results/ingest.json
    python -m benchmarks.timing.ingest --render benchmarks/results/ingest.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
PAGES = BENCH / "data" / "aeb" / "html"
MB = 1 << 20
# The end of every fourth word in text between tags (not in markup, scripts are text too: harmless).
_WORD_ENDS = re.compile(r"(?<=>)([^<]*)")
# A word as the tokeniser counts it: a CJK character alone, else a run of word characters.
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|\w+")


# ---------------------------------------------------------------------------------------------- the inputs


def _split_page(html: str) -> list[str]:
    """The page cut after every fourth word of its text (CJK: character), so ``salt.join(parts)`` marks them."""
    cuts: list[int] = []
    for m in _WORD_ENDS.finditer(html):
        base = m.start(1)
        cuts.extend(base + w.end() for k, w in enumerate(_WORD.finditer(m.group(1))) if k % 4 == 0)
    bounds = [0, *cuts, len(html)]
    return [html[a:b] for a, b in zip(bounds, bounds[1:])]


def _base_pages() -> list[list[str]]:
    pages = []
    for p in sorted(PAGES.glob("*.html.gz")):
        html = gzip.decompress(p.read_bytes()).decode("utf-8", errors="replace")
        pages.append(_split_page(html))
    if not pages:
        raise SystemExit(f"no pages in {PAGES}")
    return pages


def _variants(pages: list[list[str]]) -> Iterator[tuple[int, bytes]]:
    """Endless distinct pages: repeat r of page i has every fourth word suffixed with ``q<r in base 36>``."""
    n = 0
    while True:
        r, i = divmod(n, len(pages))
        salt = "q" + _b36(r) if r else ""
        yield n, salt.join(pages[i]).encode("utf-8")
        n += 1


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, d = divmod(n, 36)
        out = digits[d] + out
        if n == 0:
            return out


def build_folder(root: Path, n_pages: int, pages: list[list[str]]) -> dict:
    """``n_pages`` pages as ``site-S/page-N.html`` (40 sites); returns their count and HTML bytes."""
    total = 0
    for n, html in _variants(pages):
        if n >= n_pages:
            break
        d = root / f"site-{n % 40:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"page-{n:06d}.html").write_bytes(html)
        total += len(html)
    return {"pages": n_pages, "html_bytes": total}


def _record(uri: str, html: bytes, date: str) -> bytes:
    """One gzipped WARC/1.0 response record (HTTP 200, text/html), written from the spec."""
    block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" + (
        f"Content-Length: {len(html)}\r\n\r\n".encode() + html
    )
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\n"
        f"WARC-Record-ID: <urn:uuid:{uuid.uuid4()}>\r\nWARC-Date: {date}\r\nWARC-Target-URI: {uri}\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(block)}\r\n\r\n"
    ).encode()
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    return z.compress(head) + z.compress(block) + z.compress(b"\r\n\r\n") + z.flush()


def build_warcs(root: Path, sizes_mb: list[int], pages: list[list[str]]) -> list[dict]:
    """One ``.warc.gz`` per size, streamed: each record goes to every file not yet at its size (the smaller
    files are prefixes of the larger). Returns per file: path, bytes on disk, records, HTML bytes."""
    targets = sorted(sizes_mb)
    files = [
        {"mb": s, "path": str(root / f"crawl-{s}mb.warc.gz"), "bytes": 0, "records": 0, "html_bytes": 0}
        for s in targets
    ]
    handles = [open(f["path"], "wb") for f in files]  # noqa: SIM115 - closed below
    try:
        for n, html in _variants(pages):
            open_ = [k for k, f in enumerate(files) if f["bytes"] < f["mb"] * MB]
            if not open_:
                break
            rec = _record(f"https://site-{n % 40:02d}.example/news/{n}", html, f"2026-01-{1 + n % 28:02d}T08:00:00Z")
            for k in open_:
                handles[k].write(rec)
                files[k]["bytes"] += len(rec)
                files[k]["records"] += 1
                files[k]["html_bytes"] += len(html)
    finally:
        for h in handles:
            h.close()
    return files


# ---------------------------------------------------------------------------------------------- the children


def _inner(mode: str, path: str) -> dict:
    """One measurement, in this (fresh) process."""
    t0 = time.perf_counter()
    out: dict = {}
    if mode == "parse":
        from selectolax.lexbor import LexborHTMLParser

        n = 0
        for p in sorted(Path(path).rglob("*.html")):
            tree = LexborHTMLParser(p.read_bytes().decode("utf-8", errors="replace"))
            n += tree.root is not None
        out["pages"] = n
    elif mode == "read":
        from dedup.ingest import Article, read_articles

        n = chars = skipped = 0
        for a in read_articles(path):
            if isinstance(a, Article):
                n += 1
                chars += len(a.text)
            else:
                skipped += 1
        out |= {"articles": n, "text_chars": chars, "skipped": skipped}
    elif mode == "scan":
        import dedup

        result = dedup.scan(path)
        out |= {
            "articles": len(result.documents_frame),
            "clusters": len(result.clusters_frame),
            "pairs": len(result.pairs),
            "timings": {k: round(v, 2) for k, v in result.timings.items()},
        }
    else:
        raise SystemExit(f"unknown mode {mode}")
    out["seconds"] = time.perf_counter() - t0
    return out


def run_child(mode: str, path: str | Path) -> dict:
    """``_inner`` in a fresh process; its result with wall time and peak RSS (``os.wait4``)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        out_file = tmp.name
    cmd = [sys.executable, "-m", "benchmarks.timing.ingest", "--inner", mode, str(path), "--inner-out", out_file]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=BENCH.parent)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    try:
        data = json.loads(Path(out_file).read_text()) if status == 0 else {"failed": status}
    finally:
        os.unlink(out_file)
    return (
        data
        | {"wall": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime}
        | {"load1": load}
    )


# ---------------------------------------------------------------------------------------------- the report


def render(report: dict) -> str:
    rows = ["| measurement | input | HTML MB | seconds | HTML MB/s | vs parser | peak RSS MB | articles |"]
    rows.append("|---|---|---:|---:|---:|---:|---:|---:|")
    parse_rate = None
    for m in report["measurements"]:
        rate = m["html_mb"] / m["seconds"] if m.get("seconds") else None
        if m["name"] == "parse":
            parse_rate = rate
        vs = f"{rate / parse_rate:.2f}" if rate and parse_rate else ""
        rows.append(
            f"| {m['name']} | {m['input']} | {m['html_mb']:.0f} | {m.get('seconds', float('nan')):.1f} | "
            f"{rate or float('nan'):.1f} | {vs} | {m['peak_rss_mb']:.0f} | {m.get('articles', m.get('pages', ''))} |"
        )
    env = report["env"]
    return (
        "\n".join(rows) + f"\n\nload average (1 min) before the runs: {', '.join(f'{x:.2f}' for x in env['load'])}; "
        f"{env['cpus']} CPUs; python {env['python']}\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", help="where the inputs go (default: a new folder under /tmp, deleted afterwards)")
    ap.add_argument("--keep", action="store_true", help="keep the inputs in --workdir (and reuse them next time)")
    ap.add_argument("--pages", type=int, default=2000, help="HTML pages in the folder (default 2000)")
    ap.add_argument("--warc-mb", default="200,2048", help="sizes of the .warc.gz files in MB (default 200,2048)")
    ap.add_argument("--scan-max-mb", type=int, default=2048, help="whole scans only on WARCs up to this size")
    ap.add_argument("--json", help="write the report here as JSON")
    ap.add_argument("--render", metavar="JSON", help="print the table of an earlier --json and exit")
    ap.add_argument("--inner", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--inner-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inner:
        data = _inner(*args.inner)
        data["self_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        Path(args.inner_out).write_text(json.dumps(data))
        return 0
    if args.render:
        sys.stdout.write(render(json.loads(Path(args.render).read_text())))
        return 0

    sizes = [int(s) for s in args.warc_mb.split(",") if s.strip()]
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    manifest_path = work / "manifest.json"
    want = {"pages": args.pages, "warc_mb": sorted(sizes)}
    try:
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        if manifest is None or manifest["want"] != want:
            t0 = time.perf_counter()
            pages = _base_pages()
            shutil.rmtree(work / "html", ignore_errors=True)
            folder = build_folder(work / "html", args.pages, pages)
            warcs = build_warcs(work, sizes, pages)
            manifest = {"want": want, "folder": folder, "warcs": warcs, "build_seconds": time.perf_counter() - t0}
            manifest_path.write_text(json.dumps(manifest))
            print(f"built inputs in {manifest['build_seconds']:.0f} s under {work}", file=sys.stderr)
        folder, warcs = manifest["folder"], manifest["warcs"]
        loads = [os.getloadavg()[0]]
        measurements = []

        def measure(name: str, mode: str, path: str | Path, label: str, html_bytes: int) -> None:
            print(f"{name} {label} ...", file=sys.stderr, flush=True)
            m = run_child(mode, path)
            measurements.append(m | {"name": name, "input": label, "html_mb": html_bytes / MB})
            loads.append(os.getloadavg()[0])
            print(f"  {json.dumps(measurements[-1])}", file=sys.stderr, flush=True)

        label = f"{folder['pages']} pages"
        measure("parse", "parse", work / "html", label, folder["html_bytes"])
        measure("read html", "read", work / "html", label, folder["html_bytes"])
        for w in warcs:
            label = f"WARC {w['bytes'] / MB:.0f} MB gz, {w['records']} records"
            measure("read warc", "read", w["path"], label, w["html_bytes"])
        for w in warcs:
            if w["mb"] <= args.scan_max_mb:
                label = f"WARC {w['bytes'] / MB:.0f} MB gz, {w['records']} records"
                measure("scan warc", "scan", w["path"], label, w["html_bytes"])
        report = {
            "env": {"load": loads, "cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "inputs": manifest,
            "measurements": measurements,
        }
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(report, indent=1))
        sys.stdout.write(render(report))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
