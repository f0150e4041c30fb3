"""``dedup scan INPUT``: clusters of copies in a folder (or a file) of articles.

``scan INPUT --index LOCATION`` runs through ``run`` too, with the index's scanner (``cli.index``): the
same checks, messages, outputs and exit codes, the indexed articles added to the comparison.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .common import (
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_FOUND,
    EXIT_OK,
    INPUT,
    PERFORMANCE,
    Failure,
    UsageError,
    add_ray_option,
    found_instead,
    input_path,
    progress,
    ray_executor,
    say,
    shown,
    warn_skipped,
)
from .output import add_output_options, plan, put_out, scan_result
from .params import Param, add_param_options, build_options

# A scan of ``source`` with ``options``: the result, and how many of its articles ``source`` gave.
Scanner = Callable[[Path, Any, argparse.Namespace], tuple[Any, int]]


def add_parser(sub: Any, common: argparse.ArgumentParser, params: list[Param]) -> argparse.ArgumentParser:
    s = sub.add_parser(
        "scan",
        parents=[common],
        help="find clusters of copies in a folder of articles",
        description="Find clusters of copies in a folder of articles. stdout gets what --format asks for; "
        "stderr gets progress (on a terminal), warnings about skipped files and errors.",
        epilog=EXIT_CODES_HELP,
    )
    s.add_argument(
        "folder",
        metavar="INPUT",
        help="A folder of articles, searched recursively, or one file of them (a JSONL, CSV, Parquet or WARC "
        "file of many articles, or a single article).",
    )
    s.section(INPUT).add_argument(
        "--strict", action="store_true", help="Exit with status 3 when any input was skipped (default: go on)."
    )
    add_output_options(s, table="the clusters", default=None, shown_default="table; summary with -o FILE")
    add_ray_option(s, "INPUT")
    s.section(PERFORMANCE).add_argument(
        "--store",
        metavar="FOLDER",
        help="Keep the scan's features in FOLDER (new or empty); with --ray on several machines, a folder "
        "every node shares (default: a temporary folder, removed after).",
    )
    add_param_options(s, params)
    return s


def run_scan(source: Path, options: Any, args: argparse.Namespace) -> Any:
    """The pipeline's scan with progress on stderr, here or on a Ray cluster (``--ray``)."""
    from ..featurestore import StoreError
    from ..pipeline import scan

    store = getattr(args, "store", None)  # diff and show scan a corpus too, with neither --store nor --ray
    with cluster_errors():
        executor = ray_executor(args)
        if executor is not None:
            from ..distributed import check_store

            check_store(executor, store)
        with progress(args) as on_progress:
            try:
                return scan(source, options, progress=on_progress, store=store, executor=executor)
            except StoreError as e:
                raise UsageError(shown(e)) from None


@contextmanager
def cluster_errors() -> Iterator[None]:
    """A cluster's failures as the CLI's one-line errors: a failed task (exit 1), a cluster that cannot be
    joined or a store the nodes cannot share (exit 2)."""
    from ..distributed import SharedStoreNeeded, TaskError, Unreachable

    try:
        yield
    except TaskError as e:
        raise Failure(shown(e)) from None
    except (SharedStoreNeeded, Unreachable) as e:
        raise UsageError(shown(e)) from None


def pipeline_scanner(source: Path, options: Any, args: argparse.Namespace) -> tuple[Any, int]:
    result = run_scan(source, options, args)
    return result, len(result.frame)


def warn_result_skipped(result: Any, args: argparse.Namespace) -> int:
    """A warning per input the scan skipped, and a count when there are several; return how many."""
    from ..output import skipped_files

    skipped = warn_skipped(skipped_files(result), args)
    if skipped > 1 and not args.quiet:
        say(f"dedup: {skipped} files skipped")
    return skipped


def run(args: argparse.Namespace, params: list[Param], scanner: Scanner = pipeline_scanner) -> int:
    source = input_path(args.folder)
    output_plan = plan(args)
    options = build_options(args, params)
    result, articles = scanner(source, options, args)
    if articles == 0:
        from ..output import skipped_files

        # a line for each input that was read and failed; the error counts them all by reason, with the files
        # of kinds dedup does not read (no count lines beside it)
        held = skipped_files(result)
        warn_skipped([(path, reason) for path, reason in held if not reason.startswith("unsupported (")], args)
        raise UsageError(f"{shown(args.folder)}: no readable articles found ({found_instead(held)})")
    skipped = warn_result_skipped(result, args)
    put_out(scan_result(result), output_plan, args.format, args)
    if args.strict and skipped:
        say(f"dedup: error: {skipped} input file{'s' * (skipped != 1)} skipped (--strict)")
        return EXIT_ERROR
    return EXIT_FOUND if args.exit_code and found_copies(result) else EXIT_OK


def found_copies(result: Any) -> bool:
    """Whether a scan found any related pair (what ``--exit-code`` reports)."""
    return bool(result.counts()["pairs"]) if hasattr(result, "counts") else bool(len(result.pairs_frame))
