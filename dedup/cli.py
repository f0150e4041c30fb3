"""Command line: ``dedup scan DIR``, ``dedup diff A B``, ``dedup show DOC``.

Terminal concerns (progress, tables, colours, exit codes) live here and in ``report``/``views``; the
pipeline never prints. Whatever happens, the user sees one line per problem, never a traceback
(``--debug`` shows it). Exit status: 0 done, 1 error (or ``--strict`` and something was skipped),
2 usage error, 130 interrupted, 141 stdout closed early (``| head``).

Heavy modules (numpy, polars, the pipeline) are imported only once the arguments are checked, so a
mistake is reported in a fraction of a second.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141
DEBUG_HINT = "(rerun with --debug for the trace)"


class UsageError(Exception):
    """A problem with what the user asked for; reported in one line, exit status 2."""


class Failure(Exception):
    """A problem found while doing what was asked (a stale saved scan, a full disk); one line, exit 1."""


def _escape(s: object) -> str:
    from .escape import name as escape_name

    return escape_name(str(s))


def _say(message: str) -> None:
    """One line on stderr (the message is already escaped)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- parameters from ScanOptions

# What each parameter trades, for --help (the README's "Parameters" says the same at more length).
PARAM_HELP = {
    "k": "words per shingle: larger is stricter about word order and misses shorter shared passages",
    "num_perm": "MinHash permutations per signature: more is a finer Jaccard estimate, slower and bigger",
    "seed": "seed of the MinHash hashing: signatures compare only under the same seed",
    "workers": "worker processes for reading and signing (default: one per core); results do not change",
    "batch_docs": "most articles in one batch: larger is a little faster and uses more memory; results do not change",
    "batch_chars": "most characters in one batch (memory per worker); results do not change",
    "verify.near_duplicate": "near-duplicate: each holds at least this share of the other",
    "verify.contains": "contains: one holds at least this share of the other (but not both near-duplicate)",
    "verify.partial_min_shared": "partial: at least this many shingles (about as many words) of shared passages",
    "verify.min_shared": "fewest shared shingles for any relation: lower finds smaller overlaps, and more noise",
    "verify.boilerplate_min_docs": "text recurring in documents of this many different groups of copies is boilerplate",
    "verify.copy_group": "before boilerplate is known, documents are copies when one holds this share of the other",
    "verify.derived": "contains also: a text holding at least this share of another (with --derived-min-shared)",
    "verify.derived_min_shared": "fewest shared shingles for a derived copy: above one shared quotation",
    "verify.template_site_share": "recurring text is a site template when this share of its articles is on one site",
    "verify.boilerplate_min_groups_any_site": "text recurring in this many unrelated groups is boilerplate on any site",
    "ingest.text_field": "column or key holding the article text in JSON/JSONL/CSV/Parquet inputs",
    "ingest.id_field": "column or key holding the article id (default: the row number)",
    "ingest.date_field": "column or key holding the publication date",
    "ingest.url_field": "column or key holding the article URL",
    "ingest.title_field": "column or key holding the title",
    "ingest.encoding": "read every text file in this encoding instead of detecting it",
    "ingest.follow_links": "follow symlinks that lead outside the folder (default: only those inside)",
    "ingest.max_file_size": "skip (with a warning) an article file or record larger than this, e.g. 50MB",
}
# Groups whose fields are options without a prefix (--contains, --text-field); other nested groups
# get their name as prefix (--align-max-gap).
UNPREFIXED = ("verify", "ingest")
# Options the CLI promises even when this build's ScanOptions lacks the field: (dotted name, default).
PROMISED = (
    ("ingest.text_field", None),
    ("ingest.id_field", None),
    ("ingest.date_field", None),
    ("ingest.url_field", None),
    ("ingest.title_field", None),
    ("ingest.encoding", None),
    ("ingest.follow_links", False),
    ("ingest.max_file_size", 50 * 2**20),
    ("workers", None),
)
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*", re.I)


def parse_size(text: str) -> int:
    """A size such as ``50MB``, ``1.5G``, ``200k`` or ``1048576`` in bytes (K, M, G, T are powers of 1024)."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 50MB, 200KB, 1GB)")
    return int(float(m.group(1)) * 1024 ** " kmgt".index((m.group(2) or " ").lower()))


def _show_size(n: int) -> str:
    for unit, power in (("GB", 3), ("MB", 2), ("KB", 1)):
        if n % 1024**power == 0:
            return f"{n // 1024**power}{unit}"
    return str(n)


@dataclass(frozen=True)
class Param:
    """One scan parameter as a CLI option."""

    name: str  # dotted: "verify.contains"
    flag: str  # "--contains"
    kind: str  # int, float, str, bool, size
    default: Any
    available: bool  # False: promised by the CLI, not in this build's ScanOptions

    @property
    def dest(self) -> str:
        return "param_" + self.name.replace(".", "__")


def _kind(name: str, hint: Any, default: Any) -> str | None:
    if name.endswith("max_file_size"):
        return "size"
    if isinstance(default, bool):
        return "bool"
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else ()
    base = next((a for a in args if a is not type(None)), hint)
    for kind in (bool, int, float, str):
        if base is kind or isinstance(default, kind):
            return kind.__name__
    return None


def scan_params() -> list[Param]:
    """The CLI options generated from ``ScanOptions`` (and its nested parameter groups)."""
    from .options import ScanOptions

    params: list[Param] = []

    def walk(cls: type, instance: Any, prefix: str, flag_prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            value = getattr(instance, f.name)
            name = prefix + f.name
            if dataclasses.is_dataclass(value):
                walk(type(value), value, name + ".", "" if f.name in UNPREFIXED else f.name + "-")
                continue
            kind = _kind(name, hints.get(f.name), value)
            if kind is None:
                continue
            params.append(Param(name, "--" + (flag_prefix + f.name).replace("_", "-"), kind, value, True))

    walk(ScanOptions, ScanOptions(), "", "")
    known = {p.name for p in params}
    for name, default in PROMISED:
        if name not in known:
            flag = "--" + name.rpartition(".")[2].replace("_", "-")
            kind = "size" if name.endswith("max_file_size") else "bool" if isinstance(default, bool) else "str"
            params.append(Param(name, flag, "int" if name == "workers" else kind, default, False))
    return params


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _add_params(parser: argparse.ArgumentParser, params: list[Param]) -> None:
    group = parser.add_argument_group("scan parameters (see README, Parameters)")
    for p in params:
        text = PARAM_HELP.get(p.name, p.name.replace("_", " ").replace(".", ": "))
        if p.kind == "bool":
            group.add_argument(p.flag, dest=p.dest, action="store_true", default=p.default, help=text)
            continue
        shown = "all cores" if p.name == "workers" else "none" if p.default is None else p.default
        if p.kind == "size":
            shown = _show_size(p.default)
        convert: Callable[[str], Any] = {
            "size": parse_size,
            "float": _threshold,
            "int": _count,
            "str": str,
        }[p.kind]
        metavar = {"size": "SIZE", "float": "SHARE", "int": "N", "str": "NAME"}[p.kind]
        group.add_argument(
            p.flag, dest=p.dest, type=convert, default=p.default, metavar=metavar, help=f"{text} (default: {shown})"
        )


def build_options(args: argparse.Namespace, params: list[Param]) -> Any:
    """``ScanOptions`` from the parsed options; a promised option this build lacks is a usage error if used."""
    from .options import ScanOptions

    groups: dict[str, dict[str, Any]] = {"": {}}
    for p in params:
        value = getattr(args, p.dest, p.default)
        if not p.available:
            if value != p.default:
                raise UsageError(f"{p.flag}: not supported by this build of the scan")
            continue
        group, _, field_name = p.name.rpartition(".")
        groups.setdefault(group, {})[field_name] = value
    options = ScanOptions()
    try:
        nested = {g: dataclasses.replace(getattr(options, g), **vals) for g, vals in groups.items() if g}
        return dataclasses.replace(options, **groups[""], **nested)
    except (TypeError, ValueError) as e:
        raise UsageError(f"invalid scan parameters: {e}") from None


# ---------------------------------------------------------------- the parser


class _Parser(argparse.ArgumentParser):
    """argparse with its errors in one line (``dedup: error: ...``), exit status 2."""

    def error(self, message: str) -> typing.NoReturn:
        hint = f"see '{self.prog} --help'"
        self.exit(EXIT_USAGE, f"dedup: error: {_escape(message)} ({hint})\n")


def _parser(params: list[Param]) -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    talk = common.add_argument_group("messages")
    quiet = talk.add_mutually_exclusive_group()
    quiet.add_argument("-q", "--quiet", action="store_true", help="print only errors on stderr (no progress, warnings)")
    quiet.add_argument("-v", "--verbose", action="store_true", help="also print each phase and timings on stderr")
    talk.add_argument("--debug", action="store_true", help="print the full trace of an unexpected error")
    talk.add_argument("--no-progress", action="store_true", help="no progress bar (it is shown only on a terminal)")

    p = _Parser(
        prog="dedup",
        description="Find republished copies of news articles and show what was copied.",
        epilog="exit status: 0 done, 1 error (or --strict and files were skipped), 2 usage error, "
        "130 interrupted, 141 output pipe closed early. Run 'dedup COMMAND --help' for a command's options.",
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"dedup {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser(
        "scan",
        parents=[common],
        help="find clusters of copies in a folder of articles",
        description="Find clusters of copies in a folder of articles. stdout gets the --format output; "
        "stderr gets progress (on a terminal), warnings about skipped files and errors.",
    )
    s.add_argument("folder", metavar="INPUT", help="folder of articles, searched recursively (or one file of them)")
    s.add_argument(
        "--format",
        choices=("table", "json", "jsonl", "csv", "none"),
        default="table",
        help="what to print on stdout: a table of clusters, the whole result as JSON (with meta), or the "
        "documents table as JSON lines or CSV (one row per article; -o FILE.jsonl/.csv also writes pairs, "
        "paragraphs and passages), or nothing (default: table)",
    )
    s.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="also write the result, by suffix: .json (everything) or .jsonl/.csv/.parquet "
        "(documents in FILE, and STEM.pairs, STEM.paragraphs, STEM.passages beside it)",
    )
    s.add_argument("--force", action="store_true", help="replace existing output files")
    s.add_argument("--strict", action="store_true", help="exit 1 when any input file was skipped")
    _add_params(s, params)

    d = sub.add_parser(
        "diff",
        parents=[common],
        help="two articles side by side, shared passages aligned",
        description="Two articles side by side with the passages they share aligned, in the scan's terms: "
        "the relation it lists for them (or 'no relation') and each paragraph's label.",
    )
    d.add_argument("a", help="first article (a path, or an id of the saved scan with --from)")
    d.add_argument("b", help="second article")
    _add_context(d)
    d.add_argument("--full", action="store_true", help="print long shared passages in full")
    d.add_argument("--format", choices=("text", "json"), default="text", help="text view or the pair as JSON")
    _add_params(d, params)

    w = sub.add_parser(
        "show",
        parents=[common],
        help="one article with each paragraph's label and who shares it",
        description="One article with each paragraph's label and the cluster members that share it.",
    )
    w.add_argument("doc", help="the article (a path, or an id of the saved scan with --from)")
    _add_context(w, default_note=" (default: the article's folder)")
    w.add_argument("--text", action="store_true", help="print only the article's text as the scan read it")
    _add_params(w, params)

    from .cli_index import add_parsers  # index, query, scan --index (issue 12)

    add_parsers(sub, common, params)
    c = sub.add_parser("completion", help='print a bash completion script: eval "$(dedup completion bash)"')
    c.add_argument("shell", choices=("bash",))
    return p


def _add_context(parser: argparse.ArgumentParser, default_note: str = "") -> None:
    ctx = parser.add_mutually_exclusive_group()
    ctx.add_argument(
        "--corpus", metavar="DIR", help=f"scan DIR as context (boilerplate needs other articles){default_note}"
    )
    ctx.add_argument(
        "--from",
        dest="saved",
        metavar="RESULT.json",
        help="use a saved scan (dedup scan DIR -o RESULT.json) instead of scanning; texts are read from its files",
    )


# ---------------------------------------------------------------- entry point


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
        _say("dedup: interrupted")
        return EXIT_INTERRUPTED
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        if debug:
            import traceback

            traceback.print_exc()
        detail = str(e).strip() or type(e).__name__
        _say(f"dedup: error: {_escape(type(e).__name__)}: {_escape(detail)} {DEBUG_HINT}")
        return EXIT_ERROR


def _run(argv: list[str]) -> int:
    if argv[:1] == ["completion"] or "--version" in argv or argv[:1] in (["-h"], ["--help"]):
        params: list[Param] = []
    else:
        params = scan_params()
    args = _parser(params).parse_args(argv)
    if args.command == "completion":
        sys.stdout.write(completion_script(_parser(scan_params())))
        return EXIT_OK
    from .output import OutputError
    from .views import ViewError

    try:
        if args.command in ("index", "query") or getattr(args, "index", None):
            from .cli_index import run

            return run(args, params)
        if args.command == "scan":
            return _scan(args, params)
        if args.command == "diff":
            return _diff(args, params)
        return _show(args, params)
    except (UsageError, OutputError) as e:
        _say(f"dedup: error: {e}")
        return EXIT_USAGE
    except (Failure, ViewError) as e:
        _say(f"dedup: error: {e}")
        return EXIT_ERROR


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _run_scan(source: Any, options: Any, args: argparse.Namespace) -> Any:
    """The scan with progress on stderr (a bar on a terminal unless quiet; phase lines with --verbose)."""
    from .pipeline import scan
    from .report import progress_reporter

    err = _stderr_console()
    show_bar = err.is_terminal and not args.quiet and not args.no_progress
    with progress_reporter(err, show_bar=show_bar, verbose=args.verbose) as on_progress:
        return scan(source, options, progress=on_progress)


def _warn_skipped(result: Any, args: argparse.Namespace) -> int:
    """One warning per skipped input (escaped) and a summary line; return how many were skipped."""
    from .output import skipped_files

    skipped = skipped_files(result)
    if not args.quiet:
        for path, reason in skipped:
            _say(f"dedup: warning: {_escape(path)}: {_escape(reason)}; skipped")
        if len(skipped) > 1:
            _say(f"dedup: {len(skipped)} files skipped")
    return len(skipped)


def _folder(name: str) -> Path:
    folder = Path(name)
    if not folder.exists():
        raise UsageError(f"{_escape(name)}: no such folder")
    if not folder.is_dir():
        raise UsageError(f"{_escape(name)}: not a folder")
    return folder


def _input(name: str) -> Path:
    """What ``scan`` reads: a folder, or one file (an article, or a JSONL/CSV/Parquet/WARC of many)."""
    path = Path(name)
    if not path.exists():
        raise UsageError(f"{_escape(name)}: no such file or folder")
    if not (path.is_dir() or path.is_file()):
        raise UsageError(f"{_escape(name)}: not a folder or a regular file")
    return path


def _scan(args: argparse.Namespace, params: list[Param]) -> int:
    from .output import plan_output

    folder = _input(args.folder)
    plan = plan_output(args.output, force=args.force) if args.output is not None else None
    options = build_options(args, params)
    result = _run_scan(folder, options, args)
    skipped = _warn_skipped(result, args)
    if len(result.documents_frame) == 0:
        raise UsageError(f"{_escape(args.folder)}: no readable articles found")
    if plan is not None:
        from .output import write_output

        for written in write_output(result, plan):
            if not args.quiet:
                _say(f"dedup: wrote {_escape(written)}")
    _print_result(result, args.format)
    if args.strict and skipped:
        _say(f"dedup: error: {skipped} input file{'s' * (skipped != 1)} skipped (--strict)")
        return EXIT_ERROR
    return EXIT_OK


def _print_result(result: Any, fmt: str) -> None:
    if fmt == "none":
        return
    if fmt == "table":
        from rich.console import Console

        from .output import result_dict
        from .report import clusters_table

        Console(highlight=False).print(clusters_table(result_dict(result)))
        return
    from .output import write_stdout

    write_stdout(result, fmt, sys.stdout.buffer)


# ---------------------------------------------------------------- diff and show


def _article(path: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{_escape(path)}: no such file")
    return p


def _context(args: argparse.Namespace, params: list[Param], names: list[str], default_corpus: str | None):
    """The views' data and the named articles' indices: from a saved scan, or a scan of the corpus."""
    from .views import ScanData, from_file, from_result

    if args.saved is not None:
        saved = Path(args.saved)
        if not saved.is_file():
            raise UsageError(f"{_escape(args.saved)}: no such file")
        data: ScanData = from_file(saved)
        found = [data.find(n) for n in names]
        for n, i in zip(names, found):
            if i is None:
                raise UsageError(f"{_escape(n)}: not in the saved scan {_escape(args.saved)}")
        return data, found
    docs = [_article(n) for n in names]
    options = build_options(args, params)
    corpus = args.corpus or default_corpus
    if corpus:
        root = _folder(corpus)
        for n, d in zip(names, docs):
            if not d.resolve().is_relative_to(root.resolve()):
                raise UsageError(f"{_escape(n)}: not inside {_escape(corpus)}")
        result = _run_scan(root, options, args)
        return _found(from_result(result), args, names, docs, root, result)
    # The articles alone: copies of them in a temporary folder, under their paths relative to their
    # common folder (the ids a scan of that folder would give), read by the same readers as any scan.
    import shutil
    import tempfile

    root = Path(os.path.commonpath([d.resolve().parent for d in docs]))
    with tempfile.TemporaryDirectory(prefix="dedup-") as tmp:
        for d in {d.resolve() for d in docs}:
            target = Path(tmp) / d.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(d, target)
        result = _run_scan(Path(tmp), options, args)
        data, found = _found(from_result(result), args, names, docs, root, result)
        for i in found:
            data.text(i)  # read while the copies exist
    return data, found


def _found(data: Any, args: argparse.Namespace, names: list[str], docs: list[Path], root: Path, result: Any):
    _warn_skipped(result, args)
    found = [data.find(d, root) for d in docs]
    for n, i in zip(names, found):
        if i is None:
            raise Failure(f"{_escape(n)}: could not be read (see the warning above)")
    return data, found


def _view_console():
    from rich.console import Console

    return Console(highlight=False)


def _diff(args: argparse.Namespace, params: list[Param]) -> int:
    from .views import diff_summary, diff_view

    data, (i, j) = _context(args, params, [args.a, args.b], None)
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(diff_summary(data, i, j), ensure_ascii=False) + "\n")
        return EXIT_OK
    out = _view_console()
    marks = out.color_system is None or out.no_color
    out.print(diff_view(data, i, j, out.width, full=args.full, names=(args.a, args.b), marks=marks))
    return EXIT_OK


def _show(args: argparse.Namespace, params: list[Param]) -> int:
    from .views import show_view

    default = None if args.saved else str(Path(args.doc).parent)
    data, (i,) = _context(args, params, [args.doc], default)
    if args.text:
        from .escape import text as inert

        text = data.text(i)
        sys.stdout.write((inert(text) if sys.stdout.isatty() else text) + ("" if text.endswith("\n") else "\n"))
        return EXIT_OK
    _view_console().print(show_view(data, i))
    return EXIT_OK


# ---------------------------------------------------------------- shell completion


def completion_script(parser: argparse.ArgumentParser) -> str:
    """A small static bash completion for ``dedup``: commands, then each command's options and files."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    cases = []
    for name, p in sub.choices.items():
        flags = sorted(f for a in p._actions for f in a.option_strings if f.startswith("--"))  # noqa: SLF001
        cases.append(f'    {name}) opts="{" ".join(flags)}" ;;')
    commands = " ".join(sub.choices)
    return (
        '# bash completion for dedup: eval "$(dedup completion bash)"\n'
        "_dedup() {\n"
        '  local cur="${COMP_WORDS[COMP_CWORD]}" cmd="${COMP_WORDS[1]}" opts=""\n'
        '  if [ "$COMP_CWORD" -eq 1 ]; then\n'
        f'    COMPREPLY=($(compgen -W "{commands} --help --version" -- "$cur")); return\n'
        "  fi\n"
        '  case "$cmd" in\n' + "\n".join(cases) + "\n  esac\n"
        '  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur"));\n'
        '  else COMPREPLY=($(compgen -f -- "$cur")); fi\n'
        "}\n"
        "complete -o filenames -F _dedup dedup\n"
    )


if __name__ == "__main__":
    sys.exit(main())
