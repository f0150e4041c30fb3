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

# The exit codes every command follows (README, Exit codes): 0 done (and, with --exit-code, no copies found),
# 1 copies found (only with --exit-code, as grep's and git diff's 1), 2 what was asked cannot be done as asked
# (a usage error, a missing or unusable input, index or saved scan, an unknown id, a busy port), 3 a failure
# while working (or --strict and inputs were skipped), 130 interrupted, 141 stdout closed early.
EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 3, 130, 141
EXIT_CODES_HELP = (
    "exit status: 0 done (with --exit-code: no copies found), 1 copies found (only with --exit-code), "
    "2 usage error or unusable input, index or id, 3 failure while working (or --strict and inputs were "
    "skipped), 130 interrupted, 141 output pipe closed early."
)
DEBUG_HINT = "(rerun with --debug for the trace)"
COLOR_CHOICES = ("auto", "always", "never")


class UsageError(Exception):
    """A problem with what the user asked for; reported in one line, exit status 2. The message is escaped."""


class Failure(Exception):
    """A problem found while doing what was asked (a stale saved scan, a full disk); one line, exit 3."""


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
    """argparse with its errors in one line (``dedup: error: ...``, the command's own ``--help`` as the next
    step), exit status 2, and its help in sections: arguments, common options, then ``SECTIONS``."""

    def __init__(self, *args: Any, parents: Any = (), add_help: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "common options"
        self.sections: dict[str, argparse._ArgumentGroup] = {}
        if add_help:
            self.add_argument("-h", "--help", action="help", help="Show this help and exit.")
        for title in SECTIONS:  # shown only when they hold an option
            self.sections[title] = self.add_argument_group(title)
        for parent in parents:  # as argparse adds parents, after the titles above so their groups merge
            self._add_container_actions(parent)
            self._defaults.update(parent._defaults)

    def section(self, name: str) -> argparse._ArgumentGroup:
        """The help section ``name`` (one of ``SECTIONS``)."""
        return self.sections[name]

    def error(self, message: str) -> typing.NoReturn:
        hint = f"see '{self.prog} --help'"
        self.exit(EXIT_USAGE, f"dedup: error: {shown(message)} ({hint})\n")


# The help sections after the common options, in this order.
SECTIONS = ("input", "output", "detection parameters (see README, Parameters)", "performance (results do not change)")
INPUT, OUTPUT, DETECTION, PERFORMANCE = SECTIONS


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, a little wider for the option column (long option names)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34)


def message_options() -> Parser:
    """The parent parser of every command that works: ``-q``, ``-v``, ``--debug``, ``--no-progress``,
    ``--color`` (in the command's common options)."""
    common = Parser(add_help=False)
    quiet = common.add_mutually_exclusive_group()
    quiet.add_argument(
        "-q", "--quiet", action="store_true", help="Print only errors on stderr: no progress, warnings or notes."
    )
    quiet.add_argument(
        "-v", "--verbose", action="store_true", help="Also print each phase and the time it took on stderr."
    )
    common.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default="auto",
        help="Colour and bold on stdout and stderr: auto (only on a terminal or with FORCE_COLOR set, and never "
        "when NO_COLOR is set), always, or never (default: auto).",
    )
    common.add_argument(
        "--no-progress", action="store_true", help="Show no progress bar (it is shown only on a terminal)."
    )
    common.add_argument("--debug", action="store_true", help="Print the full trace of an unexpected error.")
    return common


def console(args: argparse.Namespace | None = None, stderr: bool = False, width: int | None = None) -> Any:
    """A rich console for stdout (or stderr) as ``--color`` and ``NO_COLOR`` ask: ``never`` (or ``auto`` with
    ``NO_COLOR`` set, or not on a terminal) prints no escape sequence at all, so no bold or italic either."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    mode = getattr(args, "color", None) or "auto"
    tty = stream.isatty()
    if mode == "auto" and not os.environ.get("NO_COLOR") and os.environ.get("FORCE_COLOR"):
        mode = "always"  # FORCE_COLOR, as rich and most tools honour it; NO_COLOR wins over it
    plain = mode == "never" or (mode == "auto" and (not tty or bool(os.environ.get("NO_COLOR"))))
    if plain:
        return Console(stderr=stderr, color_system=None, highlight=False, soft_wrap=False, width=width)
    if mode == "always":
        return Console(
            stderr=stderr,
            force_terminal=True,
            color_system="standard" if not tty else "auto",
            highlight=False,
            width=width,
            no_color=False,
        )
    return Console(stderr=stderr, highlight=False, width=width, no_color=False)


def print_whole(renderable: Any, args: argparse.Namespace | None = None) -> None:
    """Print a table (or a group of them) on stdout. On a terminal it fits the terminal's width; elsewhere
    (a pipe, a file) it is as wide as its widest row, so no id is ever cut, folded or elided there and a
    saved table can be searched for one; trailing spaces are dropped."""
    if sys.stdout.isatty():
        console(args).print(renderable)
        return
    import io

    from rich.measure import Measurement

    probe = console(args, width=10_000)
    width = max(80, Measurement.get(probe, probe.options, renderable).maximum)
    out = console(args, width=width)
    buffer = io.StringIO()
    out.file = buffer
    out.print(renderable)
    sys.stdout.write("\n".join(line.rstrip() for line in buffer.getvalue().split("\n")))


@contextmanager
def progress(args: argparse.Namespace) -> Iterator[Any]:
    """A progress callback on stderr: a bar on a terminal unless quiet, phase lines with ``--verbose``; None
    when neither (nor is rich imported: a scan piped or written with ``-o`` starts ~0.1 s sooner)."""
    show_bar = sys.stderr.isatty() and not args.quiet and not args.no_progress
    if not show_bar and not args.verbose:
        yield None
        return
    from ..views.terminal import progress_reporter

    err = console(args, stderr=True)
    err.soft_wrap = True
    with progress_reporter(err, show_bar=show_bar, verbose=args.verbose) as on_progress:
        yield on_progress


def input_path(name: str) -> Path:
    """What a scan reads: a folder, or one file (an article, or a JSONL/CSV/Parquet/WARC of many)."""
    path = Path(name)
    if not path.exists():
        raise UsageError(f"{shown(name)}: no such file or folder; give a folder of articles or one file of them")
    if not (path.is_dir() or path.is_file()):
        raise UsageError(f"{shown(name)}: not a folder or a regular file (a device or a pipe is not read)")
    return path


def existing(names: list[str]) -> None:
    """Each of ``names`` exists (what ``index add`` and ``query`` read)."""
    for name in names:
        if not os.path.exists(name):
            raise UsageError(f"{shown(name)}: no such file or folder; check the path")


def folder(name: str) -> Path:
    path = Path(name)
    if not path.exists():
        raise UsageError(f"{shown(name)}: no such folder; --corpus takes the folder that holds the articles")
    if not path.is_dir():
        raise UsageError(f"{shown(name)}: not a folder; --corpus takes the folder that holds the articles")
    return path


def article(name: str) -> Path:
    path = Path(name)
    if not path.is_file():
        raise UsageError(f"{shown(name)}: no such file; give an article's path, or its id with --from RESULT.json")
    return path


def add_ray_option(parser: argparse.ArgumentParser, positional: str) -> None:
    """``--ray [ADDRESS]``: run the tasks on a Ray cluster (``dedup.distributed``). ``positional``: the
    command's positional, which must not follow a bare ``--ray`` (it would be taken as ADDRESS)."""
    parser.section(PERFORMANCE).add_argument(
        "--ray",
        nargs="?",
        const="auto",
        metavar="ADDRESS",
        help="Run on a Ray cluster (pip install 'dedup[ray]'): ADDRESS is host:port of its head, or auto for "
        "the cluster this machine is in, else a new one here; the input and the store must be at the same path "
        f"on every node (see README, Many machines). Write --ray=auto or --ray ADDRESS when {positional} "
        "follows it (default: no cluster, this machine's cores).",
    )


def ray_executor(args: argparse.Namespace) -> Any:
    """The Ray executor ``--ray`` asks for, or None without it; a usage error when Ray is not installed."""
    if getattr(args, "ray", None) is None:
        return None
    from .. import distributed

    if not distributed.available():
        raise UsageError(distributed.INSTALL_HINT)
    return distributed.connect(args.ray)
