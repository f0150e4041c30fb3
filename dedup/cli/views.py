"""``dedup diff A B`` and ``dedup show DOC``: two articles side by side, one article with its labels, in
the scan's terms: from a saved scan (``--from``), a scan of a corpus, or a scan of the articles alone."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .common import EXIT_OK, Failure, UsageError, article, folder, shown
from .params import Param, add_param_options, build_options
from .scan import run_scan, warn_result_skipped


def add_parsers(sub: Any, common: argparse.ArgumentParser, params: list[Param]) -> None:
    d = sub.add_parser(
        "diff",
        parents=[common],
        help="two articles side by side, shared passages aligned",
        description="Two articles side by side with the passages they share aligned, in the scan's terms: "
        "the relation it lists for them (or 'no relation') and each paragraph's label.",
    )
    d.add_argument("a", help="first article (a path, or an id of the saved scan with --from)")
    d.add_argument("b", help="second article")
    _add_context(d)
    d.add_argument("--full", action="store_true", help="print long shared passages in full")
    d.add_argument(
        "--format",
        choices=("text", "json", "html"),
        default="text",
        help="text view, the pair as JSON, or one self-contained HTML page",
    )
    add_param_options(d, params)

    w = sub.add_parser(
        "show",
        parents=[common],
        help="one article with each paragraph's label and who shares it",
        description="One article with each paragraph's label and the cluster members that share it.",
    )
    w.add_argument("doc", help="the article (a path, or an id of the saved scan with --from)")
    _add_context(w, default_note=" (default: the article's folder)")
    w.add_argument("--text", action="store_true", help="print only the article's text as the scan read it")
    w.add_argument(
        "--format", choices=("text", "html"), default="text", help="terminal view or one self-contained HTML page"
    )
    add_param_options(w, params)


def _add_context(parser: argparse.ArgumentParser, default_note: str = "") -> None:
    ctx = parser.add_mutually_exclusive_group()
    ctx.add_argument(
        "--corpus", metavar="DIR", help=f"scan DIR as context (boilerplate needs other articles){default_note}"
    )
    ctx.add_argument(
        "--from",
        dest="saved",
        metavar="RESULT.json",
        help="use a saved scan (dedup scan DIR -o RESULT.json) instead of scanning; texts are read from its files",
    )


def _context(args: argparse.Namespace, params: list[Param], names: list[str], default_corpus: str | None):
    """The views' data and the named articles' indices: from a saved scan, or a scan of the corpus."""
    from ..views.data import ScanData, from_file, from_result

    if args.saved is not None:
        saved = Path(args.saved)
        if not saved.is_file():
            raise UsageError(f"{shown(args.saved)}: no such file")
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


def _console():
    from rich.console import Console

    return Console(highlight=False)


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
    out = _console()
    marks = out.color_system is None or out.no_color
    out.print(diff_view(data, i, j, out.width, full=args.full, names=(args.a, args.b), marks=marks))
    return EXIT_OK


def run_show(args: argparse.Namespace, params: list[Param]) -> int:
    from ..views.terminal import show_view

    default = None if args.saved else str(Path(args.doc).parent)
    data, (i,) = _context(args, params, [args.doc], default)
    if args.text:
        from ..escape import text as inert

        text = data.text(i)
        sys.stdout.write((inert(text) if sys.stdout.isatty() else text) + ("" if text.endswith("\n") else "\n"))
        return EXIT_OK
    if args.format == "html":
        from ..views.html import show_html

        sys.stdout.write(show_html(data, i))
        return EXIT_OK
    _console().print(show_view(data, i))
    return EXIT_OK
