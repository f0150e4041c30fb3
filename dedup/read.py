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

# Line breaks as str.splitlines() knows them; a paragraph is a non-blank line.
_LINE = re.compile(r"[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")
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
    spans = []
    for m in _LINE.finditer(text, start):
        line = m.group()
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            spans.append((m.start() + lead, m.start() + lead + len(stripped)))
    return spans


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
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(SUFFIXES):
                found.append(Path(dirpath) / name)
    found.sort(key=lambda p: p.relative_to(root).as_posix())
    return found


def read_text(path: Path) -> str:
    """UTF-8 text of a file exactly as stored; raises ValueError with a readable reason."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not valid UTF-8 (byte {data[e.start]:#04x} at offset {e.start})") from None


def build_corpus(
    ids: Sequence[str],
    texts: Sequence[str],
    paths: Sequence[str] | None = None,
    dates: Sequence[str | None] | None = None,
) -> Corpus:
    """A corpus from in-memory texts (the library entry point; no files involved)."""
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
    ids, paths, texts, errors = [], [], [], []
    for path in files if files is not None else find_articles(root_path):
        try:
            text = read_text(path)
        except (OSError, ValueError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            errors.append(f"{path}: {reason}; skipped")
            continue
        ids.append(path.relative_to(root_path).as_posix())
        paths.append(str(path))
        texts.append(text)
    corpus = build_corpus(ids, texts, paths)
    corpus.errors = errors
    return corpus
