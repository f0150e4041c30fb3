"""The output options that ``scan`` and ``query`` share (``--format``, ``-o FILE``, ``--force``), and
putting a result out through them: ``-o`` checked before anything is read, its files written as a set
(``dedup.output``), then stdout as ``--format`` asks.

A result here is its JSON contract (``data``) and its four tables (``tables``, by name), both built only
when asked for; ``table`` is the rich view of the contract for a terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .common import say, shown

FORMATS = ("table", "json", "jsonl", "csv", "none")


def add_output_options(parser: argparse.ArgumentParser, table: str, default: str | None, shown_default: str) -> None:
    """``--format``, ``-o FILE`` and ``--force``. ``table``: what the table shows; ``default`` None: chosen
    when run (``format_of``)."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=default,
        help=f"what to print on stdout: {table}, the whole result as JSON (with meta), or the "
        "documents table as JSON lines or CSV (one row per article; -o FILE.jsonl/.csv also writes pairs, "
        f"paragraphs and passages), or nothing (default: {shown_default})",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="also write the result, by suffix: .json (everything), .jsonl/.csv/.parquet "
        "(documents in FILE, and STEM.pairs, STEM.paragraphs, STEM.passages beside it), or .html (a report "
        "to read in a browser: scan only)",
    )
    parser.add_argument("--force", action="store_true", help="replace existing output files")


def plan(args: argparse.Namespace) -> Any:
    """The checked ``-o`` plan (``dedup.output.OutputPlan``), or None: call before reading anything."""
    if args.output is None:
        return None
    from ..output import plan_output

    return plan_output(args.output, force=args.force)


@dataclass
class Result:
    """What ``put_out`` needs of a result: its JSON contract, its tables, its terminal view."""

    data: Callable[[], dict[str, Any]]
    tables: Callable[[], dict[str, Any]]
    documents: Callable[[], Any]  # the documents table alone (stdout jsonl/csv)
    table: Callable[[dict[str, Any]], Any]  # the rich view of the contract
    html: Callable[[], str] | None = None  # the report (``-o FILE.html``), where the result has one


def put_out(result: Result, output_plan: Any, fmt: str, args: argparse.Namespace) -> None:
    """Write ``-o``'s files (one ``wrote`` line each unless quiet), then stdout as ``fmt`` asks."""
    if output_plan is not None:
        from ..output import write_output_of

        for written in write_output_of(output_plan, result.data, result.tables, result.html):
            if not args.quiet:
                say(f"dedup: wrote {shown(written)}")
    if fmt == "none":
        return
    if fmt == "table":
        from rich.console import Console

        Console(highlight=False).print(result.table(result.data()))
        return
    from ..output import write_stdout_of

    write_stdout_of(fmt, sys.stdout.buffer, result.data, result.documents)


def scan_result(result: Any) -> Result:
    """A ``ScanResult`` as ``put_out`` takes it."""
    from functools import cache

    from ..output import result_dict
    from ..report import clusters_table

    def html() -> str:
        from ..report_html import report_html

        return report_html(result)

    data = cache(lambda: result_dict(result))
    return Result(data, result.tables, lambda: result.documents_frame, clusters_table, html)


def dict_result(data: dict[str, Any], extra: dict[str, Any], table: Callable[[dict[str, Any]], Any]) -> Result:
    """A result known by its JSON contract alone (a query's): the tables built from it, with ``extra`` columns."""
    from functools import cache

    from ..tables import tables_from_dict

    tables = cache(lambda: tables_from_dict(data, extra))
    return Result(lambda: data, tables, lambda: tables()["documents"], table)
