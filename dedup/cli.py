"""Command line: ``dedup scan DIR``, ``dedup diff A B``, ``dedup show DOC``.

Terminal concerns (progress, tables, colours, exit codes) live here and in
``report``; the pipeline itself never prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rich.console import Console

from . import __version__
from .pipeline import scan
from .read import find_articles, read_folder

EXIT_OK, EXIT_USAGE = 0, 2
OUTPUT_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")


class UsageError(Exception):
    """A problem with what the user asked for; reported in one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dedup", description="Find republished copies of news articles.")
    p.add_argument("--version", action="version", version=f"dedup {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scan", help="find clusters of copies in a folder of articles")
    s.add_argument("folder", help="folder of .txt and .md articles, searched recursively")
    s.add_argument("--format", choices=("table", "json"), default="table", help="what to print on stdout")
    s.add_argument("-o", "--output", metavar="FILE", help="also write the result: .json, .jsonl, .csv or .parquet")
    s.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    d = sub.add_parser("diff", help="show two articles with their shared passages aligned")
    d.add_argument("a", help="first article")
    d.add_argument("b", help="second article")
    d.add_argument("--corpus", metavar="DIR", help="scan DIR for context (boilerplate needs other articles)")
    d.add_argument("--full", action="store_true", help="print long shared passages in full")
    w = sub.add_parser("show", help="one article with each paragraph's label and who shares it")
    w.add_argument("doc", help="the article")
    w.add_argument("--corpus", metavar="DIR", help="folder it was published in (default: the article's folder)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        if args.command == "scan":
            return _scan(args, err)
        if args.command == "diff":
            return _diff(args, err)
        if args.command == "show":
            return _show(args, err)
    except UsageError as e:
        err.print(f"dedup: error: {e}", markup=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return EXIT_USAGE


def _scan(args: argparse.Namespace, err: Console) -> int:
    from .output import write_output
    from .report import clusters_table, progress_bar

    folder = Path(args.folder)
    if not folder.exists():
        raise UsageError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    if args.output:
        out = Path(args.output)
        if out.suffix.lower() not in OUTPUT_SUFFIXES:
            raise UsageError(f"{out}: unknown output format {out.suffix!r}; use one of {', '.join(OUTPUT_SUFFIXES)}")
    files = find_articles(folder)
    if not files:
        raise UsageError(f"{folder}: no .txt or .md articles found")
    show_progress = not args.no_progress and err.is_terminal and len(files) >= 200
    with progress_bar(err, enabled=show_progress) as on_progress:
        result = scan(folder, progress=on_progress)
    for message in result.corpus.errors:
        err.print(f"dedup: warning: {message}", markup=False)
    if args.output:
        for written in write_output(result, Path(args.output)):
            err.print(f"dedup: wrote {written}", markup=False)
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n")
    else:
        Console().print(clusters_table(result))
    return EXIT_OK


def _article(path: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{p}: no such file")
    return p.resolve()


def _context(docs: list[Path], corpus: str | None, err: Console):
    """Scan the articles with their corpus (or alone); return the result and their indices."""
    if corpus:
        root = Path(corpus).resolve()
        if not root.is_dir():
            raise UsageError(f"{corpus}: no such folder")
        files = sorted(set(find_articles(root)) | set(docs))
    else:
        root = Path(os.path.commonpath([d.parent for d in docs]))
        files = sorted(set(docs))
    for d in docs:
        if not d.is_relative_to(root):
            raise UsageError(f"{d}: not inside {root}")
    result = scan(read_folder(root, files=files))
    for message in result.corpus.errors:
        err.print(f"dedup: warning: {message}", markup=False)
    try:
        return result, [result.index_of(d.relative_to(root).as_posix()) for d in docs]
    except KeyError as e:
        raise UsageError(f"{e.args[0]}: could not be read") from None


def _diff(args: argparse.Namespace, err: Console) -> int:
    from .views import diff_view

    result, (i, j) = _context([_article(args.a), _article(args.b)], args.corpus, err)
    out = Console()
    out.print(diff_view(result, i, j, out.width, full=args.full, names=(args.a, args.b)))
    return EXIT_OK


def _show(args: argparse.Namespace, err: Console) -> int:
    from .views import show_view

    doc = _article(args.doc)
    result, (i,) = _context([doc], args.corpus or str(doc.parent), err)
    Console().print(show_view(result, i))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
