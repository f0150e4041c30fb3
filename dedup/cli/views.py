"""``dedup diff A B`` and ``dedup show DOC``: two articles side by side, one article with its labels, in
the scan's terms: from a saved scan (``--from``), a scan of a corpus, or a scan of the articles alone."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .common import (
    EXIT_CODES_HELP,
    EXIT_OK,
    INPUT,
    OUTPUT,
    Failure,
    UsageError,
    article,
    console,
    folder,
    print_whole,
    shown,
)
from .params import Param, add_param_options, build_options
from .scan import run_scan, warn_result_skipped


def add_parsers(sub: Any, common: argparse.ArgumentParser, params: list[Param]) -> None:
    d = sub.add_parser(
        "diff",
        parents=[common],
        help="two articles side by side, shared passages aligned",
        description="Two articles side by side with the passages they share aligned, in the scan's terms: "
        "the relation it lists for them (or 'no relation') and each paragraph's label. Side by side on a "
        "terminal at least 100 columns wide and whenever stdout is not a terminal (COLUMNS, else 160 "
        "columns wide); stacked, A above B, on a narrower terminal.",
        epilog=EXIT_CODES_HELP,
    )
    d.add_argument("a", metavar="A", help="The first article: a path, or an id of the saved scan with --from.")
    d.add_argument("b", metavar="B", help="The second article: a path, or an id of the saved scan with --from.")
    _add_context(d, default_note="default: the two articles alone, without boilerplate")
    d.section(OUTPUT).add_argument(
        "--full", action="store_true", help="Print long shared passages in full (default: elided in the middle)."
    )
    d.section(OUTPUT).add_argument(
        "--format",
        choices=("text", "json", "html"),
        default="text",
        help="text (the view for a terminal), json (the pair as the scan has it) or html (one self-contained "
        "page) (default: text).",
    )
    add_param_options(d, params)

    w = sub.add_parser(
        "show",
        parents=[common],
        help="one article with each paragraph's label and who shares it",
        description="One article with each paragraph's label and the cluster members that share it, in the "
        "scan's terms.",
        epilog=EXIT_CODES_HELP,
    )
    w.add_argument("doc", metavar="DOC", help="The article: a path, or an id of the saved scan with --from.")
    _add_context(w, default_note="default: a scan of the article's folder")
    w.section(OUTPUT).add_argument(
        "--text",
        action="store_true",
        help="Print only the article's text as the scan read it: what every offset of the result indexes "
        "(default: the labelled view).",
    )
    w.section(OUTPUT).add_argument(
        "--format",
        choices=("text", "json", "html"),
        default="text",
        help="text (the view for a terminal), json (the document, its paragraphs and its pairs as the scan "
        "has them) or html (one self-contained page) (default: text).",
    )
    add_param_options(w, params)


def _add_context(parser: argparse.ArgumentParser, default_note: str) -> None:
    ctx = parser.section(INPUT).add_mutually_exclusive_group()
    ctx.add_argument(
        "--corpus",
        metavar="DIR",
        help=f"Scan DIR, which holds the articles, for context: boilerplate needs other articles ({default_note}).",
    )
    ctx.add_argument(
        "--from",
        dest="saved",
        metavar="RESULT.json",
        help="Use a saved scan (dedup scan DIR -o RESULT.json) instead of scanning; the texts are read from the "
        "files it names (default: scan).",
    )


def _context(args: argparse.Namespace, params: list[Param], names: list[str], default_corpus: str | None):
    """The views' data and the named articles' indices: from a saved scan, or a scan of the corpus."""
    from ..views.data import ScanData, from_file, from_result

    if args.saved is not None:
        saved = Path(args.saved)
        if not saved.is_file():
            raise UsageError(f"{shown(args.saved)}: no such file; save a scan first: dedup scan DIR -o RESULT.json")
        data: ScanData = from_file(saved)
        found = [data.find(n) for n in names]
        for n, i in zip(names, found):
            if i is None:
                raise UsageError(f"{shown(n)}: not in the saved scan {shown(args.saved)}")
        return data, found
    docs = [article(n) for n in names]
    options = build_options(args, params)
    corpus = args.corpus or default_corpus
    if corpus:
        root = folder(corpus)
        for n, d in zip(names, docs):
            if not d.resolve().is_relative_to(root.resolve()):
                raise UsageError(f"{shown(n)}: not inside {shown(corpus)}")
        result = run_scan(root, options, args)
        return _found(from_result(result), args, names, docs, root, result)
    # The articles alone: copies of them in a temporary folder, under their paths relative to their
    # common folder (the ids a scan of that folder would give), read by the same readers as any scan.
    import shutil
    import tempfile

    root = Path(os.path.commonpath([d.resolve().parent for d in docs]))
    with tempfile.TemporaryDirectory(prefix="dedup-") as tmp:
        for d in {d.resolve() for d in docs}:
            target = Path(tmp) / d.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(d, target)
        result = run_scan(Path(tmp), options, args)
        data, found = _found(from_result(result), args, names, docs, root, result)
        for i in found:
            data.text(i)  # read while the copies exist
    return data, found


def _found(data: Any, args: argparse.Namespace, names: list[str], docs: list[Path], root: Path, result: Any):
    warn_result_skipped(result, args)
    found = [data.find(d, root) for d in docs]
    for n, i in zip(names, found):
        if i is None:
            raise Failure(f"{shown(n)}: could not be read (see the warning above)")
    return data, found


def diff_width() -> int | None:
    """The diff's width: the terminal's on a terminal; elsewhere ``COLUMNS``, else 160, so that a piped or
    saved diff keeps its two columns level (``NARROW`` and wider) as on a wide terminal."""
    if sys.stdout.isatty():
        return None
    try:
        return max(int(os.environ.get("COLUMNS", "")), 40)
    except ValueError:
        return 160


def run_diff(args: argparse.Namespace, params: list[Param]) -> int:
    from ..views.data import diff_summary
    from ..views.terminal import diff_view

    data, (i, j) = _context(args, params, [args.a, args.b], None)
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(diff_summary(data, i, j), ensure_ascii=False) + "\n")
        return EXIT_OK
    if args.format == "html":
        from ..views.html import diff_html

        sys.stdout.write(diff_html(data, i, j, full=args.full))
        return EXIT_OK
    out = console(args, width=diff_width())
    marks = out.color_system is None or out.no_color
    out.print(diff_view(data, i, j, out.width, full=args.full, names=(args.a, args.b), marks=marks))
    return EXIT_OK


def show_summary(data: Any, i: int) -> dict[str, Any]:
    """One article as the scan has it, for ``dedup show --format json``: its row of the documents table,
    its paragraphs (offsets into its text as read, label, the cluster members sharing it) and every pair
    the scan lists for it (with passages when the scan's JSON has them)."""
    doc = dict(data.documents[i])
    paragraphs = [
        {"start": int(p["start"]), "end": int(p["end"]), "label": p["label"], "shared_with": list(who)}
        for p, who in zip(data.paragraphs(i), data.shared_with(i))
    ]
    pairs = [dict(r) for r in data.data["pairs"] if doc["id"] in (r["a"], r["b"])]
    for r in pairs:
        if "passages" in r and not isinstance(r["passages"], list):
            keys = ("a_start", "a_end", "b_start", "b_end")
            r["passages"] = [dict(zip(keys, p)) for p in r["passages"].tolist()]
    doc.pop("paragraphs", None)
    cluster = next((c for c in data.data["clusters"] if c["id"] == doc.get("cluster")), None)
    return {"document": doc, "cluster": cluster, "paragraphs": paragraphs, "pairs": pairs}


def run_show(args: argparse.Namespace, params: list[Param]) -> int:
    from ..views.terminal import show_view

    default = None if args.saved else str(Path(args.doc).parent)
    data, (i,) = _context(args, params, [args.doc], default)
    if args.text:
        from ..escape import text as inert

        text = data.text(i)
        sys.stdout.write((inert(text) if sys.stdout.isatty() else text) + ("" if text.endswith("\n") else "\n"))
        return EXIT_OK
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(show_summary(data, i), ensure_ascii=False, default=_plain) + "\n")
        return EXIT_OK
    if args.format == "html":
        from ..views.html import show_html

        sys.stdout.write(show_html(data, i))
        return EXIT_OK
    print_whole(show_view(data, i), args) if not sys.stdout.isatty() else console(args).print(show_view(data, i))
    return EXIT_OK


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON takes them."""
    return value.tolist() if hasattr(value, "tolist") else str(value)
