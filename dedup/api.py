"""``dedup.Index``: the persistent index from Python, as ``dedup index`` and ``dedup query`` use it.

A thin, documented face over ``dedup.index`` (the backends) and ``dedup.index.service`` (what add and
query do), for people who know datasketch's ``MinHashLSH.insert``/``query``: here what goes in is an
article (a file, a folder, or a text with its id), and what comes out is ``dedup query``'s answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from .index.service import AddReport, QueryResult
from .ingest.model import Article
from .options import ScanOptions

__all__ = ["Index", "read_article"]

PathLike = str | os.PathLike[str]


def read_article(path: PathLike, options: ScanOptions | None = None) -> Article:
    """One article file read as a scan reads it: ``.text`` is the text every offset of a result indexes (an
    HTML page's visible block text, not its markup), ``.paragraphs`` the (start, end) spans of its paragraphs,
    and ``.title``, ``.url``, ``.site``, ``.date`` what was found. ``ValueError`` with the reason when the file
    cannot be read as an article; for a file of many records use ``dedup.read_folder``."""
    from .ingest.model import Skipped
    from .ingest.reader import read_file

    items = read_file(path, (options or ScanOptions()).ingest)
    for item in items:
        if isinstance(item, Skipped):
            raise ValueError(f"{item.path}: {item.reason}")
    if len(items) != 1:
        raise ValueError(f"{os.fspath(path)}: holds {len(items)} articles, not one (use dedup.read_folder)")
    return items[0]  # type: ignore[return-value]


class Index:
    """A persistent index of articles, in a local folder or on Redis (``redis://host:port/db#NAME``).

    >>> ix = Index.open("./archive", create=True)
    >>> ix.add(["seeds/001_9fe7513b9c6ae974.txt"]).added
    1
    >>> answer = ix.query(["seeds/000_137fe5741023b456.txt"]).to_dict()   # dedup query's JSON
    >>> [(p["query"], p["relation"], p["indexed"]) for p in answer["pairs"]]

    ``options`` are the scan's parameters (``ScanOptions``); an index keeps the ``k``, ``num_perm`` and
    ``seed`` it was made with and refuses others.
    """

    def __init__(self, backend: Any, options: ScanOptions | None = None) -> None:
        self.backend = backend
        self.options = options or ScanOptions()

    @classmethod
    def open(
        cls,
        location: str | os.PathLike[str],
        create: bool = False,
        options: ScanOptions | None = None,
        name: str | None = None,
    ) -> Index:
        """The index at ``location`` (made when missing with ``create``); ``name``: one of several indexes on
        a Redis server. ``dedup.index.StoreError`` when it is missing or unusable."""
        from .index import open_index
        from .index.service import store_params

        options = options or ScanOptions()
        backend = open_index(os.fspath(location), params=store_params(options), create=create, name=name)
        return cls(backend, options)

    def add(self, paths: Sequence[PathLike]) -> AddReport:
        """Index every article under ``paths`` (files or folders, read as ``scan`` reads them): an unchanged
        article is a no-op, a changed one replaced. The report counts added, replaced, unchanged, skipped."""
        from .index.service import add

        return add(self.backend, list(paths), self.options)

    def add_text(self, doc_id: str, text: str, html: bool = False) -> AddReport:
        """Index one article given as text (or HTML, read as an HTML file is), under ``doc_id``."""
        from .index.service import add_articles

        return add_articles(self.backend, [_article(doc_id, text, html)], self.options)

    def remove(self, ids: Iterable[str]) -> int:
        """Remove articles by id; returns how many were indexed (an unknown id is not an error here)."""
        with self.backend.writing():
            return self.backend.remove(list(ids))

    def query(self, paths: Sequence[PathLike]) -> QueryResult:
        """What each article under ``paths`` copies, is copied by or shares passages with among the indexed
        ones: ``dedup query``'s answer (``.to_dict()`` is its JSON; nothing is added)."""
        from .index.service import query

        return query(self.backend, list(paths), self.options)

    def query_text(self, text: str, doc_id: str = "query", html: bool = False) -> QueryResult:
        """``query`` for one article given as text (or HTML)."""
        from .index.service import query_articles

        return query_articles(self.backend, [_article(doc_id, text, html)], self.options)

    def text(self, doc_id: str) -> str:
        """An indexed article's text as it was read (what the answers' offsets index); ``KeyError`` when
        no live article has this id."""
        _, refs = self.backend._live_refs([doc_id])
        if not len(refs):
            raise KeyError(f"{doc_id!r} is not in the index")
        return self.backend.texts([int(refs[-1])])[0]

    def stats(self) -> dict[str, Any]:
        """Counts and sizes: articles, removed_pending, shards, postings, bytes... (``dedup index stats``)."""
        return self.backend.stats()

    def compact(self) -> None:
        """Drop removed articles for good and merge shards."""
        self.backend.compact()

    def __len__(self) -> int:
        return int(self.backend.stats()["articles"])

    def __repr__(self) -> str:
        return f"Index({self.backend.location!r})"


def _article(doc_id: str, text: str, html: bool) -> Article:
    from .ingest.model import Skipped, clean_text
    from .ingest.reader import read_upload

    got = read_upload(doc_id, clean_text(text).encode("utf-8"), "html" if html else "text", "utf-8")
    if isinstance(got, Skipped):
        raise ValueError(f"{doc_id}: {got.reason}")
    return got
