"""What every command shares: the parser class, exit codes and the two errors, the one-line messages,
``-q/-v/--debug/--no-progress`` and the progress bar, and the checks of the paths a user types.

Light on purpose (argparse, ``dedup.escape``): every ``--help`` goes through here; rich and the pipeline
are imported inside the functions that run a command.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import escape

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141
DEBUG_HINT = "(rerun with --debug for the trace)"


class UsageError(Exception):
    """A problem with what the user asked for; reported in one line, exit status 2. The message is escaped."""


class Failure(Exception):
    """A problem found while doing what was asked (a stale saved scan, a full disk); one line, exit 1."""


def shown(name: object) -> str:
    """A raw name (a path the user typed, a file the OS gave) as messages show it: ``escape.name``."""
    return escape.name(str(name))


def say(message: str) -> None:
    """One line on stderr (the message is already escaped)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def warn_skipped(skipped: list[tuple[str, str]], args: argparse.Namespace) -> int:
    """One warning per skipped input, (raw path, reason), unless quiet; files of kinds dedup does not read
    are counted in one line instead (a folder of a crawl may hold thousands of images; each is listed in
    ``meta.inputs.skipped``). Return how many were skipped."""
    if not args.quiet:
        for path, reason in skipped:
            if not reason.startswith("unsupported ("):
                say(f"dedup: warning: {shown(path)}: {shown(reason)}; skipped")
        if unsupported := unsupported_count(skipped):
            n = sum(unsupported.values())
            kinds = ", ".join(f"{k} {v}" for k, v in unsupported.items())
            say(
                f"dedup: warning: {n} file{'s' * (n != 1)} of kinds dedup does not read skipped ({shown(kinds)}); "
                "listed in meta.inputs.skipped"
            )
    return len(skipped)


def unsupported_count(skipped: list[tuple[str, str]]) -> dict[str, int]:
    """How many skipped files are of each kind dedup does not read (``.docx``, ``no extension``), most first."""
    counts: dict[str, int] = {}
    for _, reason in skipped:
        if reason.startswith("unsupported ("):
            kind = reason[len("unsupported (") :].split(",")[0].rstrip(")")
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def found_instead(skipped: list[tuple[str, str]]) -> str:
    """What a folder without a readable article held instead, in a few words: "3 files skipped: 2 of kinds
    dedup does not read (.docx 2), 1 written by dedup"."""
    if not skipped:
        return "no input files (.txt, .md, .html, .json, .jsonl, .csv, .parquet, .warc)"
    unsupported = unsupported_count(skipped)
    own = sum(1 for _, r in skipped if "written by dedup" in r)
    other: dict[str, int] = {}  # the rest by what their reasons start with ("no text", "binary", ...)
    for _, reason in skipped:
        if not reason.startswith("unsupported (") and "written by dedup" not in reason:
            head = re.split(r" \(|: |;", reason, maxsplit=1)[0]
            other[head] = other.get(head, 0) + 1
    parts = []
    if unsupported:
        kinds = ", ".join(f"{k} {v}" for k, v in unsupported.items())
        parts.append(f"{sum(unsupported.values())} of kinds dedup does not read ({kinds})")
    if own:
        parts.append(f"{own} written by dedup")
    parts += [f"{v} {k}" for k, v in sorted(other.items(), key=lambda kv: (-kv[1], kv[0]))]
    n = len(skipped)
    return f"{n} file{'s' * (n != 1)} skipped: " + ", ".join(parts)


class Parser(argparse.ArgumentParser):
    """argparse with its errors in one line (``dedup: error: ...``), exit status 2."""

    def error(self, message: str) -> typing.NoReturn:
        hint = f"see '{self.prog} --help'"
        self.exit(EXIT_USAGE, f"dedup: error: {shown(message)} ({hint})\n")


def message_options() -> Parser:
    """The parent parser of every command that works: ``-q``, ``-v``, ``--debug``, ``--no-progress``."""
    common = Parser(add_help=False)
    talk = common.add_argument_group("messages")
    quiet = talk.add_mutually_exclusive_group()
    quiet.add_argument("-q", "--quiet", action="store_true", help="print only errors on stderr (no progress, warnings)")
    quiet.add_argument("-v", "--verbose", action="store_true", help="also print each phase and timings on stderr")
    talk.add_argument("--debug", action="store_true", help="print the full trace of an unexpected error")
    talk.add_argument("--no-progress", action="store_true", help="no progress bar (it is shown only on a terminal)")
    return common


@contextmanager
def progress(args: argparse.Namespace) -> Iterator[Any]:
    """A progress callback on stderr: a bar on a terminal unless quiet, phase lines with ``--verbose``."""
    from rich.console import Console

    from ..views.terminal import progress_reporter

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    show_bar = err.is_terminal and not args.quiet and not args.no_progress
    with progress_reporter(err, show_bar=show_bar, verbose=args.verbose) as on_progress:
        yield on_progress


def input_path(name: str) -> Path:
    """What a scan reads: a folder, or one file (an article, or a JSONL/CSV/Parquet/WARC of many)."""
    path = Path(name)
    if not path.exists():
        raise UsageError(f"{shown(name)}: no such file or folder")
    if not (path.is_dir() or path.is_file()):
        raise UsageError(f"{shown(name)}: not a folder or a regular file")
    return path


def existing(names: list[str]) -> None:
    """Each of ``names`` exists (what ``index add`` and ``query`` read)."""
    for name in names:
        if not os.path.exists(name):
            raise UsageError(f"{shown(name)}: no such file or folder")


def folder(name: str) -> Path:
    path = Path(name)
    if not path.exists():
        raise UsageError(f"{shown(name)}: no such folder")
    if not path.is_dir():
        raise UsageError(f"{shown(name)}: not a folder")
    return path


def article(name: str) -> Path:
    path = Path(name)
    if not path.is_file():
        raise UsageError(f"{shown(name)}: no such file")
    return path


def add_ray_option(parser: argparse.ArgumentParser) -> None:
    """``--ray [ADDRESS]``: run the tasks on a Ray cluster (``dedup.distributed``)."""
    parser.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        metavar="ADDRESS",
        help="run on a Ray cluster (pip install 'dedup[ray]'): ADDRESS host:port of its head, or 'auto' (the "
        "default) for the cluster this machine is in, else a new one here; the input and the store must be at "
        "the same path on every node (see README, Many machines). Put it after INPUT, or give ADDRESS",
    )


def ray_executor(args: argparse.Namespace) -> Any:
    """The Ray executor ``--ray`` asks for, or None without it; a usage error when Ray is not installed."""
    if getattr(args, "ray", None) is None:
        return None
    from .. import distributed

    if not distributed.available():
        raise UsageError(distributed.INSTALL_HINT)
    return distributed.connect(args.ray)
