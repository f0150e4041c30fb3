"""Command line: ``dedup scan DIR``.

Terminal concerns (progress, tables, colours, exit codes) live here and in
``report``; the pipeline itself never prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from . import __version__
from .pipeline import scan
from .read import find_articles

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
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    err = Console(stderr=True, highlight=False)
    try:
        if args.command == "scan":
            return _scan(args, err)
    except UsageError as e:
        err.print(f"dedup: error: {e}", markup=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return EXIT_USAGE


def _scan(args: argparse.Namespace, err: Console) -> int:
    from .report import clusters_table, progress_bar, write_output

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


if __name__ == "__main__":
    sys.exit(main())
