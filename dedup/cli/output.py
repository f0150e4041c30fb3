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

from .common import OUTPUT, print_whole, say, shown

FORMATS = ("table", "summary", "json", "jsonl", "csv", "none")


def add_output_options(parser: argparse.ArgumentParser, table: str, default: str | None, shown_default: str) -> None:
    """``--format``, ``-o FILE``, ``--force`` and ``--exit-code``, in the output section. ``table``: what
    the table shows; ``default`` None: chosen when run."""
    out = parser.section(OUTPUT)
    out.add_argument(
        "--format",
        choices=FORMATS,
        default=default,
        help=f"What to print on stdout: table ({table}; whole, never cut, when stdout is not a terminal), summary "
        "(one line: how many documents, clusters and related pairs), json (the whole result, with meta), jsonl or "
        "csv (the documents table, one row per article; -o FILE.jsonl or .csv also writes the pairs, paragraphs "
        f"and passages), or none (default: {shown_default}).",
    )
    out.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="Also write the result to FILE, by its suffix: .json (everything), .jsonl, .csv or .parquet "
        "(documents in FILE; STEM.pairs, STEM.paragraphs and STEM.passages beside it), or .html (a report to "
        "read in a browser; scan only) (default: none).",
    )
    out.add_argument("--force", action="store_true", help="Replace output files that exist (default: refuse).")
    out.add_argument(
        "--exit-code",
        action="store_true",
        help="Exit with status 1 when copies were found (any related pair), 0 when none, as grep and "
        "git diff --exit-code do, for scripts and CMS hooks (default: 0 either way).",
    )


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
    summary: Callable[[], str]  # one line: how many documents, clusters and related pairs
    html: Callable[[], str] | None = None  # the report (``-o FILE.html``), where the result has one


def default_format(fmt: str | None, output_plan: Any) -> str:
    """``--format`` as asked, or by default the table, and with ``-o FILE`` a one-line summary: the result is
    in the file, and a table of every cluster on stdout besides would cost a large result's scan seconds."""
    if fmt is not None:
        return fmt
    return "summary" if output_plan is not None else "table"


def put_out(result: Result, output_plan: Any, fmt: str | None, args: argparse.Namespace) -> None:
    """Write ``-o``'s files (one ``wrote`` line each unless quiet), then stdout as ``fmt`` asks (None: the
    default, ``default_format``)."""
    fmt = default_format(fmt, output_plan)
    if output_plan is not None:
        from ..output import write_output_of

        for written in write_output_of(output_plan, result.json_chunks, result.table_batches, result.html):
            if not args.quiet:
                say(f"dedup: wrote {shown(written)}")
    if fmt == "none":
        return
    if fmt == "table":
        print_whole(result.table(), args)
        return
    if fmt == "summary":
        sys.stdout.write(result.summary() + "\n")
        return
    from ..output import write_stdout_of

    write_stdout_of(fmt, sys.stdout.buffer, result.json_chunks, lambda: result.table_batches("documents"))


def scan_result(result: Any) -> Result:
    """A ``ScanResult`` as ``put_out`` takes it: written batch by batch, its table and report bounded
    (``terminal.TABLE_ROWS``, ``html.MAX_ENTRIES``)."""
    from ..views.counts import counts_line

    def html() -> str:
        from ..views.html import report_html

        return report_html(result)

    def table() -> Any:  # rich and the terminal's views only when a table is printed
        from ..views.data import terminal_extract
        from ..views.terminal import TABLE_ROWS, clusters_table

        return clusters_table(terminal_extract(result, TABLE_ROWS, TABLE_ROWS))

    return Result(result.json_chunks, result.table_batches, table, lambda: counts_line(result.counts()), html)


def dict_result(data: dict[str, Any], extra: dict[str, Any], table: Callable[[dict[str, Any]], Any]) -> Result:
    """A result known by its JSON contract alone (a query's): the tables built from it, with ``extra`` columns."""
    from functools import cache

    from ..output.jsontext import value
    from ..output.tables import tables_from_dict
    from ..views.counts import contract_counts, counts_line

    tables = cache(lambda: tables_from_dict(data, extra))
    return Result(
        lambda: [value(data, 0) + "\n"],
        lambda t: [tables()[t]],
        lambda: table(data),
        lambda: counts_line(contract_counts(data)),
    )
