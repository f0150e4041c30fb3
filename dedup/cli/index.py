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
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    INPUT,
    OUTPUT,
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
# Parameters index add and query do not use (the index's postings find the candidates): no option for them.
IGNORED = ("candidates.",)


LOCATION_HELP = (
    "The index: a local folder, or redis://host:port/db#NAME (redis+cluster://host:port#NAME for a Redis "
    "Cluster){} (default: $DEDUP_INDEX, else the config file's index; see README, Defaults)."
)


def location_options(section: str, create: bool = False) -> Parser:
    """``--index LOCATION`` and ``--name``: a parent parser, their help in ``section``."""
    loc = Parser(add_help=False)
    group = loc.section(section)
    group.add_argument(
        "--index",
        metavar="LOCATION",
        required=True,
        help=LOCATION_HELP.format("; made when missing" if create else ""),
    )
    group.add_argument(
        "--name",
        help="The index's name on a Redis server, one of several there (default: the URL's #NAME, else default).",
    )
    return loc


def add_parsers(sub: Any, common: argparse.ArgumentParser, params: list[Param], scan: argparse.ArgumentParser) -> None:
    """Add ``index`` and ``query`` to the CLI's subparsers, and ``--index`` to ``scan``."""
    loc = location_options(INPUT)

    ix = sub.add_parser(
        "index",
        help="a persistent index of articles: add, stats, remove, compact",
        description="A persistent index of articles, on disk or in Redis, to query new articles against "
        "(dedup query) and to serve (dedup serve).",
        epilog="Run 'dedup index ACTION --help' for an action's options. " + EXIT_CODES_HELP,
    )
    ixs = ix.add_subparsers(dest="index_command", required=True, metavar="ACTION", parser_class=Parser)
    a = ixs.add_parser(
        "add",
        parents=[common, location_options(INPUT, create=True)],
        help="add articles (an unchanged one is skipped, a changed one replaced)",
        description="Add articles to the index (made when missing): an article already indexed unchanged is "
        "skipped, one whose text changed is replaced.",
        epilog=EXIT_CODES_HELP,
    )
    a.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="Files or folders of articles, read as scan reads them (folders recursively).",
    )
    add_ray_option(a, "PATH")
    add_param_options(a, params, BATCHES, ignored=IGNORED)
    s = ixs.add_parser(
        "stats",
        parents=[common, loc],
        help="counts and size of the index",
        description="The index's counts (articles, removed, shards) and sizes: a few lines on a terminal, JSON "
        "when stdout is not one.",
        epilog=EXIT_CODES_HELP,
    )
    s.section(OUTPUT).add_argument(
        "--format",
        choices=("text", "json"),
        default=None,
        help="text (one line a figure) or json (default: text on a terminal, else json).",
    )
    r = ixs.add_parser(
        "remove",
        parents=[common, loc],
        help="remove articles by id",
        description="Remove articles from the index by id; an id that is not indexed is an error (exit status "
        "2) after the others are removed.",
        epilog=EXIT_CODES_HELP,
    )
    r.add_argument("ids", nargs="+", metavar="ID", help="Ids of indexed articles, as query and index stats show them.")
    ixs.add_parser(
        "compact",
        parents=[common, loc],
        help="drop removed articles for good and merge shards",
        description="Drop removed articles for good and merge the index's shards into fewer.",
        epilog=EXIT_CODES_HELP,
    )

    q = sub.add_parser(
        "query",
        parents=[common, loc],
        help="which indexed articles each article copies, is copied by or overlaps with",
        description="For each article under PATH, the indexed articles it shares text with: relation, Jaccard, "
        "both containments and the shared passages with offsets into both texts. --format json prints scan's "
        "JSON shape (pairs and clusters name the query article, documents say whether they are indexed); "
        "the tables (-o FILE.jsonl/.csv/.parquet, --format jsonl/csv) are scan's, with the columns query and "
        "indexed after them.",
        epilog=EXIT_CODES_HELP,
    )
    q.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="Files or folders of articles to check, read as scan reads them (folders recursively).",
    )
    add_output_options(
        q, table="what each article copies or is copied by", default=None, shown_default="table; summary with -o FILE"
    )
    q.section(OUTPUT).add_argument(
        "--add",
        action="store_true",
        help="Then add the articles to the index, and say how many were added (default: only query).",
    )
    add_param_options(q, params, BATCHES, ignored=IGNORED)

    scan.section(INPUT).add_argument(
        "--index",
        metavar="LOCATION",
        help="Also compare the input with every article of this index, local or Redis, as well as within itself "
        "(default: none; DEDUP_INDEX does not apply to scan).",
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
    from ..featurestore import StoreError
    from ..index import open_index, with_next_step
    from ..index.service import store_params

    params = store_params(options) if options is not None else None
    try:
        return open_index(args.index, params=params, create=create, name=getattr(args, "name", None))
    except StoreError as e:
        raise StoreError(with_next_step(str(e))) from None


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
    from ..views.terminal import plural, query_table

    existing(args.paths)
    output_plan = plan(args)
    options = build_options(args, params)
    index = _open(args, options, create=args.add)
    result = archive.query(index, args.paths, options)
    warn_skipped(_skipped(result.skipped), args)
    answer = result.to_dict()
    put_out(dict_result(answer, QUERY_COLUMNS, query_table), output_plan, args.format, args)
    sys.stdout.flush()
    if args.add:
        with progress(args) as on_progress:
            out = archive.add(index, args.paths, options, on_progress)
        if not args.quiet:
            say(
                f"dedup: {plural(out.added, 'article')} added to the index, {out.replaced} replaced, "
                f"{out.unchanged} already there unchanged"
            )
    return EXIT_FOUND if args.exit_code and answer["pairs"] else EXIT_OK


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
        stats = index.stats()
        fmt = args.format or ("text" if sys.stdout.isatty() else "json")
        sys.stdout.write(json.dumps(stats) + "\n" if fmt == "json" else stats_text(stats))
    elif action == "remove":
        ids = list(dict.fromkeys(args.ids))
        with index.writing():
            present = set(index._live_refs(ids)[0])
            index.remove([i for i in ids if i in present])
        gone = [i for i in ids if i not in present]
        if gone:
            named = ", ".join(shown(i) for i in gone[:3]) + (f" and {len(gone) - 3} more" if len(gone) > 3 else "")
            say(
                f"dedup: error: not in the index: {named} ({len(ids) - len(gone)} of {len(ids)} removed); an "
                "indexed article's id is the one 'dedup query' shows as the indexed article"
            )
            return EXIT_USAGE
        if not args.quiet:
            say(f"dedup: {len(ids)} removed")
    elif action == "compact":
        index.compact()
        if not args.quiet:
            say("dedup: compacted")
    return EXIT_OK


def stats_text(stats: dict[str, Any]) -> str:
    """The index's statistics for a person: one ``name: value`` line each, sizes in KB/MB/GB."""

    def value(key: str, v: Any) -> str:
        if isinstance(v, bool) or v is None:
            return {True: "yes", False: "no", None: "unknown"}[v]
        if isinstance(v, int) and ("bytes" in key or key.endswith("size")):
            return human_bytes(v)
        if isinstance(v, int):
            return f"{v:,}"
        if isinstance(v, dict):
            return ", ".join(f"{k}={w}" for k, w in v.items())
        return shown(v)

    width = max((len(k) for k in stats), default=0)
    return "".join(f"{k.replace('_', ' '):<{width}}  {value(k, v)}\n" for k, v in stats.items())


def human_bytes(n: int) -> str:
    for unit, power in (("GB", 3), ("MB", 2), ("KB", 1)):
        if n >= 1024**power:
            return f"{n / 1024**power:.1f} {unit}"
    return f"{n} bytes"
