"""What dedup wrote itself, recognised by what its writers put in, so a scan never reads its own output.

A report or a saved result left in the scanned folder (``dedup scan DIR -o DIR/report.html``) would be
read as an article that holds every story, and named their source. So, from a file's first bytes:

- an HTML page dedup wrote (the report, ``diff``/``show --format html``, the server's pages) carries
  ``<meta name="generator" content="dedup">`` in its head;
- a result as JSON (``-o r.json``, ``--format json``, a query's) starts ``{"meta": {"dedup_version": ...``;
- a result table (``-o r.jsonl/.csv/.parquet``: documents, pairs, paragraphs, passages) has exactly the
  table's columns first, in their order (``dedup.output.tables.SCHEMAS``; a query's add theirs after them): the
  first line's keys, the CSV header, the Parquet schema;
- an index or feature store folder has its manifest (``index.json`` or ``manifest.json``) of format
  ``dedup-index`` or ``dedup-feature-store``.

Names alone decide nothing: an article called ``report.html`` is read.
"""

from __future__ import annotations

import json
import os
import re
import stat

from .files import InputError, open_regular

GENERATOR = '<meta name="generator" content="dedup">'
HEAD = 1 << 16  # bytes looked at
# The leading columns of the tables dedup writes, in order (``dedup.output.tables.SCHEMAS`` starts with them; a test
# keeps it so).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "documents": (
        "id",
        "path",
        "chars",
        "bytes",
        "date",
        "cluster",
        "role",
        "source",
        "title",
        "url",
        "site",
        "encoding",
    ),
    "pairs": ("a", "b", "relation", "jaccard", "a_in_b", "b_in_a"),
    "paragraphs": ("doc", "start", "end", "label", "shared_with"),
    "passages": ("a", "b", "a_start", "a_end", "b_start", "b_end"),
}
_RESULT_JSON = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"meta"\s*:\s*\{\s*"dedup_version"\s*:')
_MANIFEST = re.compile(rb'"format"\s*:\s*"dedup-(index|feature-store)"')
_MANIFESTS = ("index.json", "manifest.json")


def _head(path: str) -> bytes:
    with open_regular(path) as f:
        return f.read(HEAD)


def _table(columns: list[str]) -> str | None:
    """Which of dedup's tables ``columns`` are (theirs first, in order), or None."""
    for name, cols in TABLE_COLUMNS.items():
        if tuple(columns[: len(cols)]) == cols:
            return name
    return None


def html_written_by_dedup(data: bytes) -> bool:
    """Whether an HTML page's bytes are a page dedup wrote (its generator mark in the head)."""
    return GENERATOR.encode() in data[:HEAD]


def written_by_dedup(path: str, kind: str) -> str | None:
    """What output of dedup the file at ``path`` (an input of ``kind``) is, as a Skipped reason says it, or
    None when it is not one (or cannot be told: the reader then says what is wrong with it)."""
    if kind not in ("json", "jsonl", "csv", "parquet") or path.lower().endswith(".gz"):
        return None
    try:
        if kind == "parquet":
            import polars as pl

            table = _table(list(pl.read_parquet_schema(path)))
            return f"a result table ({table}) written by dedup, not articles" if table else None
        head = _head(path)
    except (InputError, OSError, ValueError):
        return None
    except Exception:  # noqa: BLE001 - a damaged Parquet footer: the reader says what is wrong
        return None
    if kind == "json":
        return "a result written by dedup, not articles" if _RESULT_JSON.match(head) else None
    line = head.split(b"\n", 1)[0].strip().lstrip(b"\xef\xbb\xbf")
    if kind == "csv":
        columns = line.decode("utf-8", "replace").split(",")
    else:
        try:
            row = json.loads(line)
        except ValueError:
            return None
        if not isinstance(row, dict):
            return None
        columns = list(row)
    table = _table([c.strip() for c in columns])
    return f"a result table ({table}) written by dedup, not articles" if table else None


def dedup_folder(path: str) -> str | None:
    """The Skipped reason of a folder that is an index or a feature store dedup wrote, else None."""
    for name in _MANIFESTS:
        manifest = os.path.join(path, name)
        try:
            st = os.lstat(manifest)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        try:
            m = _MANIFEST.search(_head(manifest))
        except (InputError, OSError):
            continue
        if m:
            what = "an index" if m.group(1) == b"index" else "a feature store"
            return f"{what} written by dedup, not articles"
    return None
