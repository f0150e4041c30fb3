"""Write a scan result: the JSON contract or the four tables, checked before the scan, written as a set.

``plan_output`` validates everything about ``-o FILE`` up front (suffix, folder, writability, files it
would replace), so a mistake costs a second, not a scan. ``write_output`` then writes every file of the
set under a temporary name in its target folder and renames them all at the end: a failure or a kill
while writing leaves the previous files (or none) in place, never new documents beside old pairs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .escape import csv_cell as csv_safe
from .escape import name as escape_name

if TYPE_CHECKING:
    import polars as pl

    from .result import ScanResult

OUTPUT_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet", ".html")
STDOUT_FORMATS = ("table", "json", "jsonl", "csv", "none")
# Tabular exports: the documents table goes to FILE itself, the others beside it as <stem>.<table><suffix>.
SIBLINGS = ("pairs", "paragraphs", "passages")


class OutputError(Exception):
    """A problem with the output path; one line naming the file (escaped)."""


@dataclass(frozen=True)
class OutputPlan:
    """The files ``-o FILE`` will write, by table (``json`` for the JSON file), already validated."""

    kind: str  # json, jsonl, csv, parquet or html
    files: dict[str, Path]
    force: bool = False


def _show(path: Path | str) -> str:
    return escape_name(str(path))


def output_files(path: Path) -> dict[str, Path]:
    """Every file ``-o path`` writes, by table: one for JSON, four for the tabular formats."""
    if path.suffix.lower() in (".json", ".html"):
        return {path.suffix.lower()[1:]: path}
    return {"documents": path} | {t: path.with_name(f"{path.stem}.{t}{path.suffix}") for t in SIBLINGS}


def plan_output(name: str, force: bool = False) -> OutputPlan:
    """Check ``-o name`` without writing anything; raise ``OutputError`` with one readable line."""
    if not name or not name.strip():
        raise OutputError("-o: empty file name; give a file ending in " + ", ".join(OUTPUT_SUFFIXES))
    path = Path(name)
    if name.endswith(("/", os.sep)) or path.name in ("", ".", "..") or path.is_dir():
        raise OutputError(f"{_show(name)}: is a folder name; -o needs a file name such as result.json")
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        got = f"{path.suffix!r}" if path.suffix else "none"
        known = ", ".join(OUTPUT_SUFFIXES)
        raise OutputError(f"{_show(path)}: unknown output format (suffix {got}); use one of {known}")
    files = output_files(path)
    _check_folder(path)
    for target in files.values():
        _check_target(target, force)
    return OutputPlan(kind=suffix[1:], files=files, force=force)


def _check_folder(path: Path) -> None:
    """The folder ``path`` goes in exists or can be made, and a file can be created there."""
    folder = path.parent
    missing: list[Path] = []
    probe = folder
    while True:
        try:
            st = probe.stat()
        except FileNotFoundError:
            missing.append(probe)
            if probe.parent == probe:
                raise OutputError(f"{_show(path)}: no such folder {_show(probe)}") from None
            probe = probe.parent
            continue
        except NotADirectoryError:
            missing.append(probe)
            probe = probe.parent
            continue
        except OSError as e:
            raise OutputError(f"{_show(path)}: cannot use folder {_show(probe)}: {e.strerror or e}") from None
        break
    import stat

    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{_show(path)}: {_show(probe)} is not a folder")
    # Create and remove a file (or, when folders are missing, a folder) there: the only reliable test of
    # writability (read-only mounts, /proc, ACLs, root ignoring mode bits).
    test = probe / f".dedup-probe-{secrets.token_hex(6)}"
    try:
        if missing:
            test.mkdir()
            test.rmdir()
        else:
            fd = os.open(test, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            os.unlink(test)
    except OSError as e:
        raise OutputError(f"{_show(path)}: cannot write in {_show(probe)}: {e.strerror or e}") from None


def _check_target(target: Path, force: bool) -> None:
    import stat

    try:
        st = target.lstat()
    except FileNotFoundError:
        return
    except OSError as e:
        raise OutputError(f"{_show(target)}: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{_show(target)}: is a folder")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        raise OutputError(f"{_show(target)}: exists and is not a regular file")
    if not force:
        raise OutputError(f"{_show(target)}: already exists; --force replaces it")


# ---------------------------------------------------------------- what is written


def result_dict(result: ScanResult) -> dict[str, Any]:
    """The JSON contract of a result: meta, documents, clusters, pairs."""
    return result.to_dict()


def skipped_files(result: ScanResult) -> list[tuple[str, str]]:
    """(path, reason) of each input the scan skipped."""
    skipped = getattr(result, "skipped", None)
    if skipped is not None:
        return [_path_reason(s) for s in skipped]
    out = []
    for message in getattr(getattr(result, "corpus", None), "errors", []):
        path, _, reason = message.removesuffix("; skipped").rpartition(": ")
        out.append((path, reason) if path else (message, "skipped"))
    return out


def _path_reason(item: Any) -> tuple[str, str]:
    """(path, reason) from a tuple, a dict or an object with ``path`` and ``reason``."""
    if isinstance(item, tuple | list):
        return str(item[0]), str(item[1])
    if isinstance(item, dict):
        return str(item.get("path")), str(item.get("reason"))
    return str(getattr(item, "path", item)), str(getattr(item, "reason", "skipped"))


def json_bytes(data: dict[str, Any]) -> bytes:
    """UTF-8 JSON; a lone surrogate left in a string becomes a ``\\udcXX`` escape, never an encoding error."""
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8", "backslashreplace")


def _csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no nested values: lists go in as JSON text; text cells are neutralised for spreadsheets."""
    import polars as pl

    cols = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List | pl.Struct | pl.Array):
            values = [None if v is None else csv_safe(json.dumps(v, ensure_ascii=False)) for v in frame[name].to_list()]
            cols.append(pl.Series(name, values, dtype=pl.Utf8))
        elif dtype == pl.Utf8:
            cols.append(frame[name].map_elements(csv_safe, return_dtype=pl.Utf8, skip_nulls=True))
        else:
            cols.append(frame[name])
    return pl.DataFrame(cols)


def write_frame(frame: pl.DataFrame, kind: str, target: Path | IO[bytes]) -> None:
    """One table as ``kind`` (jsonl, csv or parquet) to a path or a binary stream."""
    if kind == "parquet":
        frame.write_parquet(target)
    elif kind == "jsonl":
        frame.write_ndjson(target)
    elif kind == "csv":
        _csv_frame(frame).write_csv(target)
    else:
        raise ValueError(f"not a tabular format: {kind}")


def write_stdout(result: ScanResult, kind: str, stream: IO[bytes]) -> None:
    """``--format json|jsonl|csv`` on stdout: the whole JSON contract, or the documents table."""
    write_stdout_of(kind, stream, lambda: result_dict(result), lambda: result.documents_frame)


def write_stdout_of(
    kind: str, stream: IO[bytes], data: Callable[[], dict[str, Any]], documents: Callable[[], pl.DataFrame]
) -> None:
    """``--format json|jsonl|csv`` of any result: ``data()`` (the JSON contract) or ``documents()`` (its table)."""
    if kind == "json":
        stream.write(json_bytes(data()))
    else:
        buffer = io.BytesIO()
        write_frame(documents(), kind, buffer)
        stream.write(buffer.getvalue())
    stream.flush()


def _temp_beside(target: Path) -> Path:
    """A new empty file next to ``target``, created with the user's umask (mode 0666 & ~umask)."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def _install(tmp: Path, target: Path, force: bool) -> None:
    """Rename ``tmp`` to ``target``; without ``force``, never replace a file that appeared meanwhile."""
    if force:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails if target exists: no window for a race
    except FileExistsError:
        raise OutputError(f"{_show(target)}: already exists; --force replaces it") from None
    except OSError:  # a filesystem without hard links
        if target.exists():
            raise OutputError(f"{_show(target)}: already exists; --force replaces it") from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def write_output(result: ScanResult, plan: OutputPlan) -> list[Path]:
    """Write every file of ``plan`` under temporary names, then rename them all; return the files written.

    ``.json`` holds the whole output contract; ``.html`` the report a person reads (``report_html``). The
    tabular formats hold the documents table in FILE and
    the pairs, paragraphs and passages tables beside it (``<stem>.pairs<suffix>`` and so on).
    """
    from .report_html import report_html

    return write_output_of(plan, lambda: result_dict(result), result.tables, lambda: report_html(result))


def write_output_of(
    plan: OutputPlan,
    data: Callable[[], dict[str, Any]],
    tables: Callable[[], dict[str, pl.DataFrame]],
    html: Callable[[], str] | None = None,
) -> list[Path]:
    """``write_output`` of any result: ``data()`` is its JSON contract, ``tables()`` its four tables by name,
    ``html()`` its report (only the one the plan's format needs is called)."""
    first = next(iter(plan.files.values()))
    try:
        first.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{_show(first)}: cannot create folder {_show(first.parent)}: {e.strerror or e}") from None
    if plan.kind == "json":
        contents, frames = {"json": json_bytes(data())}, None
    elif plan.kind == "html":
        if html is None:
            raise OutputError(f"{_show(first)}: this result has no HTML report; use .json, .jsonl, .csv or .parquet")
        contents, frames = {"html": html().encode("utf-8", "backslashreplace")}, None
    else:
        contents, frames = None, tables()
    temps: dict[str, Path] = {}
    written: list[Path] = []
    try:
        for table, target in plan.files.items():
            _check_target(target, plan.force)  # a file that appeared during the scan
            temps[table] = tmp = _temp_beside(target)
            if contents is not None:
                tmp.write_bytes(contents[table])
            else:
                write_frame(frames[table], plan.kind, tmp)
        # Siblings first, the main file last: if FILE is new, its siblings are too.
        for table in list(plan.files)[::-1]:
            _install(temps.pop(table), plan.files[table], plan.force)
            written.append(plan.files[table])
    except OSError as e:
        name = e.filename or first
        raise OutputError(f"{_show(name)}: cannot write: {e.strerror or e}") from None
    finally:
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
    return written[::-1]
