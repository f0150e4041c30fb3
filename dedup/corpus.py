"""The in-memory corpus: documents as parallel columns, for the library entry points.

``build_corpus`` makes one from texts already in memory; ``read_folder`` reads a folder with the
same readers as ``scan`` (``dedup.ingest``). Text is kept exactly as read, so every offset the
pipeline reports slices it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .ingest.model import DATE_KEYS, IngestOptions, Skipped, front_matter, parse_date
from .ingest.wrap import text_paragraphs
from .phase1.normalise import bodies


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
        return bodies(self.texts, self.body_starts.tolist())

    def paragraphs(self, i: int) -> np.ndarray:
        """(n, 2) array of the start/end offsets of document i's paragraphs."""
        lo, hi = self.para_offsets[i], self.para_offsets[i + 1]
        return np.stack([self.para_starts[lo:hi], self.para_ends[lo:hi]], axis=1)


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
        found_dates.append(parse_date(date or next((meta[k] for k in DATE_KEYS if k in meta), None)))
        spans = text_paragraphs(text, body)
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


def read_folder(root: str | os.PathLike[str], options: IngestOptions | None = None) -> Corpus:
    """Every article under ``root``, read by ``dedup.ingest`` as ``scan`` reads them, in memory;
    inputs that cannot be read become one-line ``errors``, not failures."""
    from .ingest import read_articles

    ids, paths, texts, dates, errors = [], [], [], [], []
    paragraphs: list[list[tuple[int, int]]] = []
    body_starts: list[int] = []
    for a in read_articles(root, options or IngestOptions()):
        if isinstance(a, Skipped):
            errors.append(f"{a.path}: {a.reason}; skipped")
            continue
        ids.append(a.id)
        paths.append(a.path)
        texts.append(a.text)
        dates.append(a.date)
        paragraphs.append(a.paragraphs)
        body_starts.append(a.body_start)
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in paragraphs], out=offsets[1:])
    flat = np.array([span for p in paragraphs for span in p], dtype=np.int64).reshape(-1, 2)
    return Corpus(
        ids=ids,
        paths=paths,
        texts=texts,
        dates=dates,
        para_offsets=offsets,
        para_starts=flat[:, 0],
        para_ends=flat[:, 1],
        body_starts=np.asarray(body_starts, dtype=np.int64),
        errors=errors,
    )
