"""The persistent index on the command line: ``dedup index add|stats|remove|compact``, ``dedup query`` and
``dedup scan INPUT --index LOCATION``.

LOCATION is a local directory (the embedded default) or ``redis://host:port/db#NAME`` (also
``rediss://``, ``unix://``, ``redis+cluster://host:port#NAME``): NAME, or ``--name``, picks one of
several indexes on one server (default ``default``). Exit status as for ``scan``: 0 done, 1 failure
while working (Redis went away), 2 an unusable index or location (missing, corrupt, newer format,
Redis unreachable) or bad usage; one line on stderr, never a traceback.

``query`` prints and writes its result as ``scan`` does (``--format``, ``-o``): the JSON contract is
``QueryResult.to_dict()``; the tables are built from it (``dedup.output.tables.tables_from_dict``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..options import INDEX_BATCH_DOCS
from . import scan as scan_command
from .common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    Parser,
    UsageError,
    add_ray_option,
    existing,
    progress,
    ray_executor,
    say,
    shown,
    warn_skipped,
)
from .output import add_output_options, dict_result, plan, put_out
from .params import Param, add_param_options, build_options

# Index add and query read in batches of INDEX_BATCH_DOCS articles (see dedup.options).
BATCHES = {"batch_docs": (INDEX_BATCH_DOCS, " when adding")}


def add_parsers(sub: Any, common: argparse.ArgumentParser, params: list[Param], scan: argparse.ArgumentParser) -> None:
    """Add ``index`` and ``query`` to the CLI's subparsers, and ``--index`` to ``scan``."""
    loc = argparse.ArgumentParser(add_help=False)
    loc.add_argument(
        "--index",
        metavar="LOCATION",
        required=True,
        help="the index: a directory, or redis://host:port/db#NAME (redis+cluster://host:port#NAME for a cluster)",
    )
    loc.add_argument("--name", help="index name on a Redis server (default: the URL's #NAME, else 'default')")

    ix = sub.add_parser("index", help="a persistent index of articles: add, stats, remove, compact")
    ixs = ix.add_subparsers(dest="index_command", required=True, metavar="ACTION", parser_class=Parser)
    a = ixs.add_parser(
        "add",
        parents=[common, loc],
        help="add articles (files or folders any reader takes); unchanged ones are skipped, changed ones replaced",
    )
    a.add_argument("paths", nargs="+", metavar="PATH")
    add_ray_option(a)
    add_param_options(a, params, BATCHES)
    s = ixs.add_parser("stats", parents=[common, loc], help="counts and size of the index, as JSON")
    s.add_argument("--format", choices=("json",), default="json", help=argparse.SUPPRESS)
    r = ixs.add_parser("remove", parents=[common, loc], help="remove articles by id")
    r.add_argument("ids", nargs="+", metavar="ID")
    ixs.add_parser("compact", parents=[common, loc], help="drop removed articles for good and merge shards")

    q = sub.add_parser(
        "query",
        parents=[common, loc],
        help="which indexed articles each article copies, is copied by or overlaps with",
        description="For each article under PATH, the indexed articles it shares text with: relation, Jaccard, "
        "both containments and the shared passages with offsets into both texts. --format json prints scan's "
        "JSON shape (pairs and clusters name the query article, documents say whether they are indexed); "
        "the tables (-o FILE.jsonl/.csv/.parquet, --format jsonl/csv) are scan's, with the columns query and "
        "indexed after them.",
    )
    q.add_argument("paths", nargs="+", metavar="PATH")
    add_output_options(
        q,
        table="a table of what each article copies or is copied by",
        default=None,
        shown_default="table on a terminal, else json",
    )
    q.add_argument("--add", action="store_true", help="then add the articles to the index")
    add_param_options(q, params, BATCHES)

    scan.add_argument(
        "--index",
        metavar="LOCATION",
        help="also compare the folder with every article of this index, local or Redis (and within itself)",
    )


def run(args: argparse.Namespace, params: list[Param]) -> int:
    """Run ``index ...``, ``query`` or ``scan --index``; an index's errors become one line."""
    from ..featurestore import StoreError
    from ..index import IndexFailure

    try:
        if args.command == "scan":
            return scan_command.run(args, params, scanner=lambda *a: _scan_with_index(args, *a))
        if args.command == "query":
            return _query(args, params)
        return _index(args, params)
    except IndexFailure as e:  # the index went away while working
        say(f"dedup: error: {shown(e)}")
        return EXIT_ERROR
    except StoreError as e:  # an unusable index: missing, corrupt, newer format, unreachable
        say(f"dedup: error: {shown(e)}")
        return EXIT_USAGE


def _open(args: argparse.Namespace, options: Any | None, create: bool) -> Any:
    from ..index import open_index
    from ..index.service import store_params

    params = store_params(options) if options is not None else None
    return open_index(args.index, params=params, create=create, name=getattr(args, "name", None))


def _scan_with_index(args: argparse.Namespace, source: Path, options: Any, _: argparse.Namespace) -> tuple[Any, int]:
    """``scan --index``'s scanner: the input and every indexed article; returns the result and how many
    articles the input held (those the index held already included: they are one document each)."""
    from ..index import service as archive

    if args.store is not None:
        raise UsageError("--store does not go with --index (the scan's features go beside the index's)")
    index = _open(args, options, create=False)
    with scan_command.cluster_errors():
        executor = ray_executor(args)
        if executor is not None:
            from ..distributed import check_store

            check_store(executor, None)
        with progress(args) as on_progress:
            result = archive.scan_with_index(source, index, options, on_progress, executor=executor)
    return result, result.indexed_from + result.already_indexed


def _skipped(items: list) -> list[tuple[str, str]]:
    return [(s.path, s.reason) for s in items]


def _query(args: argparse.Namespace, params: list[Param]) -> int:
    from ..index import service as archive
    from ..output.tables import QUERY_COLUMNS
    from ..views.terminal import query_table

    existing(args.paths)
    output_plan = plan(args)
    options = build_options(args, params)
    index = _open(args, options, create=args.add)
    result = archive.query(index, args.paths, options)
    warn_skipped(_skipped(result.skipped), args)
    fmt = args.format or ("table" if sys.stdout.isatty() else "json")
    put_out(dict_result(result.to_dict(), QUERY_COLUMNS, query_table), output_plan, fmt, args)
    sys.stdout.flush()
    if args.add:
        with progress(args) as on_progress:
            archive.add(index, args.paths, options, on_progress)
    return EXIT_OK


def _index(args: argparse.Namespace, params: list[Param]) -> int:
    from ..index import service as archive

    action = args.index_command
    if action == "add":
        existing(args.paths)
        options = build_options(args, params)
        with scan_command.cluster_errors():
            executor = ray_executor(args)
            index = _open(args, options, create=True)
            with progress(args) as on_progress:
                out = archive.add(index, args.paths, options, on_progress, executor=executor)
        warn_skipped(_skipped(out.skipped), args)
        if not args.quiet:
            say(
                f"dedup: {out.added} added, {out.replaced} replaced, {out.unchanged} unchanged, "
                f"{len(out.skipped)} skipped"
            )
        return EXIT_OK
    index = _open(args, None, create=False)
    if action == "stats":
        sys.stdout.write(json.dumps(index.stats()) + "\n")
    elif action == "remove":
        with index.writing():
            n = index.remove(args.ids)
        if not args.quiet:
            say(f"dedup: {n} removed, {len(set(args.ids)) - n} not in the index")
    elif action == "compact":
        index.compact()
        if not args.quiet:
            say("dedup: compacted")
    return EXIT_OK
