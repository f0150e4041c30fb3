"""Command line: ``dedup scan``, ``diff``, ``show``, ``index add|stats|remove|compact``, ``query``,
``serve`` (its options and runner live in ``dedup.serve``), ``completion``; one module per command group
(``scan``, ``views``, ``index``, ``completion``) on shared helpers (``common``: parser, errors, messages,
progress; ``params``: the parameter options generated from ``dedup.options``; ``output``:
``--format``/``-o``/``--force`` of ``scan`` and ``query``).

Terminal concerns (progress, tables, colours, exit codes) live here and in ``report``/``views``; the
pipeline never prints. Whatever happens, the user sees one line per problem, never a traceback
(``--debug`` shows it). Exit status (``common.EXIT_CODES_HELP``, README *Exit codes*): 0 done, 1 copies
found (only with ``--exit-code``), 2 usage error or unusable input, index or id, 3 failure while working (or
``--strict`` and something was skipped), 130 interrupted, 141 stdout closed early (``| head``). Defaults
come from ``DEDUP_INDEX`` and config files (``config``).

Building the parser imports nothing heavy: numpy, polars, the pipeline and the index are imported only
inside the functions that run a command, so ``--help`` and a mistake are answered at once.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..serve import add_parser as add_serve_parser
from . import completion, config, index, scan, views
from .common import (
    DEBUG_HINT,
    EXIT_BROKEN_PIPE,
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Failure,
    Parser,
    UsageError,
    message_options,
    say,
    shown,
)
from .params import Param, scan_params

__all__ = ["build_parser", "main"]


def build_parser(params: list[Param]) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The ``dedup`` parser, and each command's parser by name (``index add`` for the index's actions)."""
    from ..version import __version__

    common = message_options()
    p = Parser(
        prog="dedup",
        description="Find republished copies of news articles and show what was copied.",
        epilog=f"{EXIT_CODES_HELP} Run 'dedup COMMAND --help' for a command's options; defaults can come from "
        "DEDUP_INDEX and config files (README, Defaults).",
    )
    p.add_argument("--version", action="version", version=f"dedup {__version__}", help="Print the version.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    scan_parser = scan.add_parser(sub, common, params)
    views.add_parsers(sub, common, params)
    index.add_parsers(sub, common, params, scan_parser)
    add_serve_parser(sub)
    completion.add_parser(sub)
    commands = dict(sub.choices)
    for action in commands["index"]._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands |= {f"index {name}": q for name, q in action.choices.items()}
    return p, commands


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure becomes one line on stderr and an exit status, never a traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        code = _run(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (| head): say nothing, and keep Python's exit-time flush from failing too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        say("dedup: interrupted")
        return EXIT_INTERRUPTED
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        if debug:
            import traceback

            traceback.print_exc()
        detail = str(e).strip() or type(e).__name__
        say(f"dedup: error: {shown(type(e).__name__)}: {shown(detail)} {DEBUG_HINT}")
        return EXIT_ERROR


def _parse(parser: argparse.ArgumentParser, commands: dict[str, argparse.ArgumentParser], argv: list[str]):
    """Parse ``argv``; an option the command does not have is refused by that command's parser, so the
    message names it and points to its ``--help`` (``dedup diff --help``, not ``dedup --help``)."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        name = args.command + (f" {args.index_command}" if args.command == "index" else "")
        commands[name].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _run(argv: list[str]) -> int:
    params = scan_params()
    parser, commands = build_parser(params)
    try:
        config.apply_defaults(commands)
    except UsageError as e:
        say(f"dedup: error: {e}")
        return EXIT_USAGE
    args = _parse(parser, commands, argv)
    if args.command == "completion":
        sys.stdout.write(completion.completion_script(parser, args.shell))
        return EXIT_OK
    if args.command == "serve":
        return args.run(args)
    from ..output import OutputError
    from ..views.data import ViewError

    try:
        if args.command in ("index", "query") or getattr(args, "index", None):
            return index.run(args, params)
        if args.command == "scan":
            return scan.run(args, params)
        if args.command == "diff":
            return views.run_diff(args, params)
        return views.run_show(args, params)
    except (UsageError, OutputError) as e:
        say(f"dedup: error: {e}")
        return EXIT_USAGE
    except (Failure, ViewError) as e:
        say(f"dedup: error: {e}")
        return EXIT_ERROR
