"""Read a folder of articles into a columnar corpus.

The only stage that touches files. Text is kept exactly as read (no newline
translation), so every offset the pipeline reports slices the file's text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

SUFFIXES = (".txt", ".md")

# A paragraph is a non-blank line (line breaks as str.splitlines() knows them), trimmed: from its
# first to its last non-space character. ``\s`` is exactly what ``str.strip()`` strips, and every
# line break is one.
_PARAGRAPH = re.compile(r"\S(?:[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*\S)?")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_DATE_KEYS = ("date", "published", "pubdate", "publication_date", "datepublished")


@dataclass
class Corpus:
    """Documents as parallel columns plus paragraph spans in CSR layout.

    ``para_offsets[i]:para_offsets[i+1]`` indexes the paragraphs of document i
    in ``para_starts``/``para_ends`` (code-point offsets into ``texts[i]``).
    """

    ids: list[str]
    paths: list[str]
    texts: list[str]
    dates: list[str | None]
    para_offsets: np.ndarray
    para_starts: np.ndarray
    para_ends: np.ndarray
    body_starts: np.ndarray  # where each text starts after its front matter (0 if none)
    errors: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def bodies(self) -> list[str]:
        """The texts with any front matter blanked out, same lengths, so offsets still hold."""
        return [t if b == 0 else " " * b + t[b:] for t, b in zip(self.texts, self.body_starts.tolist())]

    def paragraphs(self, i: int) -> np.ndarray:
        """(n, 2) array of the start/end offsets of document i's paragraphs."""
        lo, hi = self.para_offsets[i], self.para_offsets[i + 1]
        return np.stack([self.para_starts[lo:hi], self.para_ends[lo:hi]], axis=1)


def split_paragraphs(text: str, start: int = 0) -> list[tuple[int, int]]:
    """Spans of the non-blank lines of ``text`` from ``start``, trimmed of spaces."""
    return [m.span() for m in _PARAGRAPH.finditer(text, start)]


def front_matter(text: str) -> tuple[dict[str, str], int]:
    """Parse a leading ``---`` block of ``key: value`` lines; return it and where the body starts."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, 0
    meta = {}
    for line in m.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, m.end()


def parse_date(value: str | None) -> str | None:
    """ISO-8601 form of a publication date, or None when it cannot be read."""
    if not value:
        return None
    v = value.strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(v).isoformat()
    except ValueError:
        return None


def find_articles(root: Path) -> list[Path]:
    """Article files under ``root``, recursively, skipping hidden entries, sorted by path."""
    return [Path(path) for _, path in _find_articles(root)]


def _find_articles(root: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``find_articles`` as (id, path) strings: the id is the path relative to ``root``, with ``/``."""
    top = str(Path(root))  # normalised as Path would, so paths read the same as ``Path(dirpath) / name``
    prefix = top if top.endswith(os.sep) else top + os.sep
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = "" if dirpath == top else dirpath[len(prefix) :].replace(os.sep, "/") + "/"
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(SUFFIXES):
                found.append((rel + name, os.path.join(dirpath, name)))
    found.sort()
    return found


def read_text(path: Path) -> str:
    """UTF-8 text of a file exactly as stored; raises ValueError with a readable reason."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not valid UTF-8 (byte {data[e.start]:#04x} at offset {e.start})") from None


def _read_all(paths: list[str]) -> list[str | Exception]:
    """``read_text`` of each path, or the error it raised."""
    out: list[str | Exception] = []
    for path in paths:
        try:
            out.append(read_text(path))
        except (OSError, ValueError) as e:
            out.append(e)
    return out


def build_corpus(
    ids: Sequence[str],
    texts: Sequence[str],
    paths: Sequence[str] | None = None,
    dates: Sequence[str | None] | None = None,
) -> Corpus:
    """A corpus from in-memory texts (the library entry point; no files involved)."""
    if len(set(ids)) != len(ids):
        raise ValueError("document ids must be unique")
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
    counts, starts, ends, found_dates, bodies = [], [], [], [], []
    for i, text in enumerate(texts):
        meta, body = front_matter(text)
        bodies.append(body)
        date = dates[i] if dates is not None and dates[i] else None
        found_dates.append(parse_date(date or next((meta[k] for k in _DATE_KEYS if k in meta), None)))
        spans = split_paragraphs(text, body)
        counts.append(len(spans))
        starts.extend(s for s, _ in spans)
        ends.extend(e for _, e in spans)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Corpus(
        ids=list(ids),
        paths=list(paths) if paths is not None else list(ids),
        texts=list(texts),
        dates=found_dates,
        para_offsets=offsets,
        para_starts=np.asarray(starts, dtype=np.int64),
        para_ends=np.asarray(ends, dtype=np.int64),
        body_starts=np.asarray(bodies, dtype=np.int64),
    )


def read_folder(root: str | os.PathLike[str], files: Iterable[Path] | None = None) -> Corpus:
    """Read every article under ``root``; unreadable files become one-line errors, not failures."""
    root_path = Path(root)
    if files is None:
        found = _find_articles(root_path)
    else:
        found = [(path.relative_to(root_path).as_posix(), str(path)) for path in files]
    # One thread: with the files in the page cache, reading is Python work under the GIL, and a
    # thread pool measured slower (2 threads 1.2x, 8 threads 1.4x the time on 2 cores).
    read = _read_all([path for _, path in found])
    ids, paths, texts, errors = [], [], [], []
    for (doc_id, path), text in zip(found, read):
        if isinstance(text, Exception):
            reason = text.strerror if isinstance(text, OSError) and text.strerror else str(text)
            errors.append(f"{path}: {reason}; skipped")
            continue
        ids.append(doc_id)
        paths.append(path)
        texts.append(text)
    corpus = build_corpus(ids, texts, paths)
    corpus.errors = errors
    return corpus
