"""Phase 1's read of many small plain text files at once: one compiled call per batch of files.

``read_entries(entries, options)`` yields what ``read_entry(entry, options, segmented=True)`` yields for each
entry, in order, the same articles and the same Skipped. For the common file (a ``.txt``/``.md`` of plain
UTF-8, not gzipped, no forced encoding, not huge) the compiled kernel (``dedup.kernels.native("read")``) opens,
reads, sniffs and decodes a run of files in one call without the GIL (``read_plain``), and finds every text's
trimmed lines and ``wrap``'s first test in a second (``paragraph_spans``): no Python object per paragraph, the
spans an array. Python is left with each text's front matter and the ``Article``. Every file the kernel does not
read so (any other kind, another encoding, a BOM, control bytes, a binary signature, an error of any kind, a
text ``wrap`` must look at) goes through ``read_entry``, which decides and words any problem as it always has.
Without the kernel (no compiler at install, ``DEDUP_KERNELS=numpy``) every file goes through ``read_entry``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from types import ModuleType

import numpy as np

from ..kernels import native
from . import text as text_module
from .files import is_gzip_name
from .model import DEFAULT_OPTIONS, Article, Entry, IngestOptions, Skipped, front_matter, has_words
from .reader import read_entry
from .wrap import _NEAR, _SAMPLE_CHARS, text_paragraphs

RUN = 256  # files a compiled call reads at most: their texts are held together until their articles are yielded
RUN_BYTES = 16 << 20  # and bytes (by the walk's sizes; a larger file alone): what a run holds stays bounded


def _plain(entry: Entry, options: IngestOptions) -> bool:
    """Whether ``entry`` may be read by the compiled path: a text file read whole as UTF-8 unless it is not."""
    return (
        entry.kind == "text"
        and options.encoding is None
        and entry.size <= text_module.LONG_BYTES
        and not is_gzip_name(entry.path)
    )


def read_entries(entries: Iterable[Entry], options: IngestOptions = DEFAULT_OPTIONS) -> Iterator[Article | Skipped]:
    """Every article of ``entries``, in order, as ``read_entry(entry, options, segmented=True)`` gives them."""
    kernel = native("read")
    if kernel is None:
        for entry in entries:
            yield from read_entry(entry, options, segmented=True)
        return
    run: list[Entry] = []
    size = 0
    for entry in entries:
        if run and (len(run) >= RUN or size + entry.size > RUN_BYTES):
            yield from _read_run(kernel, run, options)
            run, size = [], 0
        run.append(entry)
        size += entry.size
    if run:
        yield from _read_run(kernel, run, options)


def _read_run(kernel: ModuleType, run: list[Entry], options: IngestOptions) -> Iterator[Article | Skipped]:
    """The articles of one run of entries: the plain ones read by the kernel, the others by ``read_entry``."""
    most = min(options.max_file_size, text_module.LONG_BYTES)
    plain = [k for k, e in enumerate(run) if _plain(e, options)]
    texts: list[str | None] = [None] * len(run)
    for k, t in zip(plain, kernel.read_plain([os.fsencode(run[k].path) for k in plain], most), strict=True):
        texts[k] = t
    kept: dict[int, int] = {}  # entry -> its row in the kernel's spans
    heads: list[tuple[dict[str, str], int]] = []
    for k, t in enumerate(texts):
        if t is not None:
            meta, body = front_matter(t)
            if has_words(t, body):
                kept[k] = len(heads)
                heads.append((meta, body))
    spans, counts, even = kernel.paragraph_spans(
        [texts[k] for k in kept], np.array([body for _, body in heads], dtype=np.int64), _SAMPLE_CHARS, _NEAR
    )
    sizes = counts.tolist()
    ends = np.cumsum(counts).tolist()
    for k, entry in enumerate(run):
        t = texts[k]
        if t is None:
            yield from read_entry(entry, options, segmented=True)
            continue
        texts[k] = None  # not held here once yielded
        j = kept.get(k)
        if j is None:
            yield Skipped(entry.path, "no text")
            continue
        meta, body = heads[j]
        paragraphs = text_paragraphs(t, body) if even[j] else spans[ends[j] - sizes[j] : ends[j]]
        yield text_module.article_of(entry.id, entry.path, t, meta, body, paragraphs)
