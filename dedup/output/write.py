"""Write a scan result: the JSON contract or the four tables, checked before the scan, written as a set.

``plan_output`` validates everything about ``-o FILE`` up front (suffix, folder, writability, files it
would replace), so a mistake costs a second, not a scan. ``write_output`` then writes every file of the
set under a temporary name in its target folder and renames them all at the end: a failure or a kill
while writing leaves the previous files (or none) in place, never new documents beside old pairs.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from ..escape import CSV_TRIGGERS
from ..escape import name as escape_name

if TYPE_CHECKING:
    import polars as pl


OUTPUT_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet", ".html")
STDOUT_FORMATS = ("table", "summary", "json", "jsonl", "csv", "none")
# Tabular exports: the documents table goes to FILE itself, the others beside it as <stem>.<table><suffix>.
SIBLINGS = ("pairs", "paragraphs", "passages")


class Written(Protocol):
    """What the writers need of a result (``ScanResult`` has it): its JSON contract as text and each of its
    four tables (``tables.TABLES``) batch by batch."""

    def json_chunks(self) -> Iterable[str]: ...

    def table_batches(self, table: str) -> Iterable[pl.DataFrame]: ...


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


def skipped_files(result: Any) -> list[tuple[str, str]]:
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


def write_json(chunks: Iterable[str], stream: IO[bytes]) -> None:
    """JSON text written as it comes (``ScanResult.json_chunks``), encoded as ``json_bytes`` encodes it."""
    for chunk in chunks:
        stream.write(chunk.encode("utf-8", "backslashreplace"))


_CSV_TRIGGER = "^[" + "".join(f"\\x{ord(c):02x}" for c in CSV_TRIGGERS) + "]"


def _csv_text(column: pl.Series) -> pl.Series:
    """``escape.csv_cell`` of every cell, vectorised."""
    import polars as pl

    return pl.select(
        pl.when(pl.lit(column).str.contains(_CSV_TRIGGER)).then("'" + pl.lit(column)).otherwise(pl.lit(column))
    ).to_series()


def _csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no nested values: lists go in as JSON text (``json.dumps``); text cells are neutralised for
    spreadsheets (``escape.csv_cell``)."""
    import polars as pl

    from .jsontext import escaped

    cols = []
    for name, dtype in frame.schema.items():
        column = frame[name]
        if dtype == pl.List(pl.Utf8):
            items = pl.element().fill_null("null")  # never in a table of ours; as json.dumps would write it
            quoted = pl.when(pl.element().is_null()).then(items).otherwise('"' + escaped(pl.element()) + '"')
            text = "[" + pl.lit(column).list.eval(quoted).list.join(", ") + "]"
            column = pl.select(text.alias(name)).to_series()
        elif isinstance(dtype, pl.List | pl.Struct | pl.Array):
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in column.to_list()]
            column = pl.Series(name, values, dtype=pl.Utf8)
        cols.append(_csv_text(column).alias(name) if column.dtype == pl.Utf8 else column)
    return pl.DataFrame(cols)


def write_frame(frame: pl.DataFrame, kind: str, target: Path | IO[bytes], header: bool = True) -> None:
    """One table, or one batch of it (``header``: the CSV header first), as ``kind`` (jsonl, csv or parquet)
    to a path or a binary stream."""
    if kind == "parquet":
        frame.write_parquet(target)
    elif kind == "jsonl":
        frame.write_ndjson(target)
    elif kind == "csv":
        _csv_frame(frame).write_csv(target, include_header=header)
    else:
        raise ValueError(f"not a tabular format: {kind}")


def write_table(batches: Iterable[pl.DataFrame], kind: str, target: Path) -> None:
    """One table given batch by batch (at least one), as ``kind`` to the file ``target``: JSON lines and CSV
    appended batch after batch; Parquet as one file, the batches staged as Arrow files beside it and
    streamed into it (``sink_parquet``), so no more than a batch is held at a time."""
    batches = iter(batches)
    first = next(batches)
    if kind == "parquet":
        second = next(batches, None)
        if second is None:
            write_frame(first, kind, target)
            return
        _write_parquet_parts(itertools.chain([first, second], batches), target)
        return
    with open(target, "wb") as f:
        write_frame(first, kind, f)
        for batch in batches:
            write_frame(batch, kind, f, header=False)


def _write_parquet_parts(batches: Iterable[pl.DataFrame], target: Path) -> None:
    import polars as pl

    parts = target.with_name(target.name + ".parts")
    parts.mkdir()
    try:
        files = []
        for k, batch in enumerate(batches):
            files.append(parts / f"{k:06d}.arrow")
            batch.write_ipc(files[-1], compression="lz4")
        pl.scan_ipc(files).sink_parquet(target)
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def write_stdout(result: Written, kind: str, stream: IO[bytes]) -> None:
    """``--format json|jsonl|csv`` on stdout: the whole JSON contract, or the documents table."""
    write_stdout_of(kind, stream, result.json_chunks, lambda: result.table_batches("documents"))


def write_stdout_of(
    kind: str,
    stream: IO[bytes],
    json_chunks: Callable[[], Iterable[str]],
    documents: Callable[[], Iterable[pl.DataFrame]],
) -> None:
    """``--format json|jsonl|csv`` of any result: its JSON text (``json_chunks()``) or its documents table
    (``documents()``, batch by batch)."""
    if kind == "json":
        write_json(json_chunks(), stream)
    else:
        for k, batch in enumerate(documents()):
            buffer = io.BytesIO()
            write_frame(batch, kind, buffer, header=k == 0)
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


def write_output(result: Written, plan: OutputPlan, html: Callable[[], str] | None = None) -> list[Path]:
    """Write every file of ``plan`` under temporary names, then rename them all; return the files written.

    ``.json`` holds the whole output contract; ``.html`` the report a person reads, as ``html()`` renders it
    (``dedup.views.html.report_html``: the views are above this package). The tabular formats hold the
    documents table in FILE and the pairs, paragraphs and passages tables beside it (``<stem>.pairs<suffix>``
    and so on). Both are written batch by batch from the store and phase 2's arrays, never built whole.
    """
    return write_output_of(plan, result.json_chunks, result.table_batches, html)


def write_output_of(
    plan: OutputPlan,
    json_chunks: Callable[[], Iterable[str]],
    table_batches: Callable[[str], Iterable[pl.DataFrame]],
    html: Callable[[], str] | None = None,
) -> list[Path]:
    """``write_output`` of any result: ``json_chunks()`` is its JSON contract as text, ``table_batches(name)``
    each of its four tables batch by batch, ``html()`` its report (only what the plan's format needs is
    called)."""
    first = next(iter(plan.files.values()))
    try:
        first.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{_show(first)}: cannot create folder {_show(first.parent)}: {e.strerror or e}") from None
    if plan.kind == "html" and html is None:
        raise OutputError(f"{_show(first)}: this result has no HTML report; use .json, .jsonl, .csv or .parquet")
    temps: dict[str, Path] = {}
    written: list[Path] = []
    try:
        for table, target in plan.files.items():
            _check_target(target, plan.force)  # a file that appeared during the scan
            temps[table] = tmp = _temp_beside(target)
            if plan.kind == "json":
                with open(tmp, "wb") as f:
                    write_json(json_chunks(), f)
            elif plan.kind == "html":
                tmp.write_bytes(html().encode("utf-8", "backslashreplace"))
            else:
                write_table(table_batches(table), plan.kind, tmp)
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
