"""Command line of the persistent index: ``dedup index add|stats|remove|compact``, ``dedup query`` and
``dedup scan DIR --index LOCATION``.

LOCATION is a local directory (the embedded default) or ``redis://host:port/db#NAME`` (also
``rediss://``, ``unix://``, ``redis+cluster://host:port#NAME``): NAME, or ``--name``, picks one of
several indexes on one server (default ``default``). Exit status as for ``scan``: 0 done, 1 failure
while working (Redis went away), 2 an unusable index or location (missing, corrupt, newer format,
Redis unreachable) or bad usage; one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import cli

COMMANDS = ("index", "query")


def add_parsers(sub: Any, common: argparse.ArgumentParser, params: list) -> None:
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
    ixs = ix.add_subparsers(dest="index_command", required=True, metavar="ACTION", parser_class=cli._Parser)
    a = ixs.add_parser(
        "add",
        parents=[common, loc],
        help="add articles (files or folders any reader takes); unchanged ones are skipped, changed ones replaced",
    )
    a.add_argument("paths", nargs="+", metavar="PATH")
    cli._add_params(a, params)
    _index_batches(a)
    s = ixs.add_parser("stats", parents=[common, loc], help="counts and size of the index, as JSON")
    s.add_argument("--format", choices=("json",), default="json", help=argparse.SUPPRESS)
    r = ixs.add_parser("remove", parents=[common, loc], help="remove articles by id")
    r.add_argument("ids", nargs="+", metavar="ID")
    ixs.add_parser("compact", parents=[common, loc], help="drop removed articles for good and merge shards")

    q = sub.add_parser(
        "query",
        parents=[common, loc],
        help="which indexed articles each article copies, is copied by or overlaps with (scan's JSON shape)",
        description="For each article under PATH, the indexed articles it shares text with: relation, Jaccard, "
        "both containments and the shared passages with offsets into both texts, as scan's JSON.",
    )
    q.add_argument("paths", nargs="+", metavar="PATH")
    q.add_argument("--add", action="store_true", help="then add the articles to the index")
    cli._add_params(q, params)
    _index_batches(q)

    scan = sub.choices.get("scan")
    if scan is not None:
        scan.add_argument(
            "--index",
            metavar="LOCATION",
            help="also compare the folder with every article of this index, local or Redis (and within itself)",
        )


def _index_batches(parser: argparse.ArgumentParser) -> None:
    """Adds batch ``ADD_BATCH`` articles by default: eight batches make one full shard, so each posting is
    rewritten once by merges (``dedup.index.merge``); the answers do not depend on it."""
    from .index.service import ADD_BATCH

    for action in parser._actions:
        if action.dest == "param_batch_docs":
            action.default = ADD_BATCH
            action.help = (action.help or "").replace("(default: 2000)", f"(default: {ADD_BATCH} when adding)")


def _open(args: argparse.Namespace, options: Any | None, create: bool) -> Any:
    from .index import open_index
    from .index.service import store_params

    params = store_params(options) if options is not None else None
    return open_index(args.index, params=params, create=create, name=args.name)


def _progress(args: argparse.Namespace):
    from .report import progress_reporter

    err = cli._stderr_console()
    show_bar = err.is_terminal and not args.quiet and not args.no_progress
    return progress_reporter(err, show_bar=show_bar, verbose=args.verbose)


def _warn(skipped: list, args: argparse.Namespace) -> None:
    if args.quiet:
        return
    for s in skipped:
        cli._say(f"dedup: warning: {cli._escape(s.path)}: {cli._escape(s.reason)}; skipped")


def _check_paths(paths: list[str]) -> None:
    import os

    for p in paths:
        if not os.path.exists(p):
            raise cli.UsageError(f"{cli._escape(p)}: no such file or folder")


def run(args: argparse.Namespace, params: list) -> int:
    """Run ``index ...``, ``query`` or ``scan --index``; StoreErrors become one line."""
    from .featurestore import StoreError
    from .index import IndexFailure

    try:
        return _dispatch(args, params)
    except cli.UsageError as e:
        cli._say(f"dedup: error: {e}")
        return cli.EXIT_USAGE
    except IndexFailure as e:  # the index went away while working
        cli._say(f"dedup: error: {cli._escape(e)}")
        return cli.EXIT_ERROR
    except StoreError as e:  # an unusable index: missing, corrupt, newer format, unreachable
        cli._say(f"dedup: error: {cli._escape(e)}")
        return cli.EXIT_USAGE


def _dispatch(args: argparse.Namespace, params: list) -> int:
    from .index import service as archive

    if args.command == "scan":
        return _scan(args, params)
    if args.command == "query":
        _check_paths(args.paths)
        options = cli.build_options(args, params)
        index = _open(args, options, create=args.add)
        result = archive.query(index, args.paths, options)
        _warn(result.skipped, args)
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        if args.add:
            with _progress(args) as on_progress:
                archive.add(index, args.paths, options, on_progress)
        return cli.EXIT_OK
    action = args.index_command
    if action == "add":
        _check_paths(args.paths)
        options = cli.build_options(args, params)
        index = _open(args, options, create=True)
        with _progress(args) as on_progress:
            out = archive.add(index, args.paths, options, on_progress)
        _warn(out.skipped, args)
        if not args.quiet:
            cli._say(
                f"dedup: {out.added} added, {out.replaced} replaced, {out.unchanged} unchanged, "
                f"{len(out.skipped)} skipped"
            )
        return cli.EXIT_OK
    index = _open(args, None, create=False)
    if action == "stats":
        sys.stdout.write(json.dumps(index.stats()) + "\n")
    elif action == "remove":
        with index.writing():
            n = index.remove(args.ids)
        if not args.quiet:
            cli._say(f"dedup: {n} removed, {len(set(args.ids)) - n} not in the index")
    elif action == "compact":
        index.compact()
        if not args.quiet:
            cli._say("dedup: compacted")
    return cli.EXIT_OK


def _scan(args: argparse.Namespace, params: list) -> int:
    from .index import service as archive
    from .output import plan_output

    folder = cli._folder(args.folder)
    plan = plan_output(args.output, force=args.force) if args.output is not None else None
    options = cli.build_options(args, params)
    args.name = None
    index = _open(args, options, create=False)
    with _progress(args) as on_progress:
        result = archive.scan_with_index(folder, index, options, on_progress)
    skipped = cli._warn_skipped(result, args)
    if plan is not None:
        from .output import write_output

        for written in write_output(result, plan):
            if not args.quiet:
                cli._say(f"dedup: wrote {cli._escape(written)}")
    cli._print_result(result, args.format)
    if args.strict and skipped:
        return cli.EXIT_ERROR
    return cli.EXIT_OK
