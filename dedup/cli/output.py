"""The output options that ``scan`` and ``query`` share (``--format``, ``-o FILE``, ``--force``), and
putting a result out through them: ``-o`` checked before anything is read, its files written as a set
(``dedup.output``), then stdout as ``--format`` asks.

A result here is its JSON contract as text and its four tables (by name), each written batch by batch as it
is made, never built whole; ``table`` is its rich view for a terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
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
    """What ``put_out`` needs of a result: its JSON contract as text, its tables batch by batch, its terminal
    view, each made only when asked for."""

    json_chunks: Callable[[], Iterable[str]]
    table_batches: Callable[[str], Iterable[Any]]  # a table (``tables.TABLES``) as polars frames
    table: Callable[[], Any]  # the rich view for a terminal
    html: Callable[[], str] | None = None  # the report (``-o FILE.html``), where the result has one


def put_out(result: Result, output_plan: Any, fmt: str, args: argparse.Namespace) -> None:
    """Write ``-o``'s files (one ``wrote`` line each unless quiet), then stdout as ``fmt`` asks."""
    if output_plan is not None:
        from ..output import write_output_of

        for written in write_output_of(output_plan, result.json_chunks, result.table_batches, result.html):
            if not args.quiet:
                say(f"dedup: wrote {shown(written)}")
    if fmt == "none":
        return
    if fmt == "table":
        from rich.console import Console

        Console(highlight=False).print(result.table())
        return
    from ..output import write_stdout_of

    write_stdout_of(fmt, sys.stdout.buffer, result.json_chunks, lambda: result.table_batches("documents"))


def scan_result(result: Any) -> Result:
    """A ``ScanResult`` as ``put_out`` takes it: written batch by batch, its table and report bounded
    (``terminal.TABLE_ROWS``, ``html.MAX_ENTRIES``)."""
    from ..views.data import terminal_extract
    from ..views.terminal import TABLE_ROWS, clusters_table

    def html() -> str:
        from ..views.html import report_html

        return report_html(result)

    def table() -> Any:
        return clusters_table(terminal_extract(result, TABLE_ROWS, TABLE_ROWS))

    return Result(result.json_chunks, result.table_batches, table, html)


def dict_result(data: dict[str, Any], extra: dict[str, Any], table: Callable[[dict[str, Any]], Any]) -> Result:
    """A result known by its JSON contract alone (a query's): the tables built from it, with ``extra`` columns."""
    from functools import cache

    from ..output.jsontext import value
    from ..output.tables import tables_from_dict

    tables = cache(lambda: tables_from_dict(data, extra))
    return Result(lambda: [value(data, 0) + "\n"], lambda t: [tables()[t]], lambda: table(data))
