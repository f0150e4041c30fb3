"""dedup: find republished copies of news articles and show what was copied.

>>> from dedup import scan
>>> result = scan("seeds/")
>>> result.clusters_frame
>>> result.text("000_137fe5741023b456.txt")      # the text as read: what the offsets index

>>> from dedup import Index                      # the persistent index: dedup index / dedup query
>>> ix = Index.open("./archive", create=True)

The names below are imported when first used, so ``import dedup`` (and the CLI's ``--help``) does not
load numpy and polars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

_EXPORTS = {
    "Index": "api",
    "read_article": "api",
    "AlignParams": "options",
    "IngestOptions": "options",
    "LabelParams": "options",
    "QueryParams": "options",
    "ScanOptions": "options",
    "VerifyParams": "options",
    "Corpus": "corpus",
    "build_corpus": "corpus",
    "read_folder": "corpus",
    "ScanResult": "result",
    "scan": "pipeline",
}
__all__ = [
    "AlignParams",
    "Corpus",
    "Index",
    "IngestOptions",
    "LabelParams",
    "QueryParams",
    "ScanOptions",
    "ScanResult",
    "VerifyParams",
    "__version__",
    "build_corpus",
    "read_article",
    "read_folder",
    "scan",
]

if TYPE_CHECKING:
    from .api import Index, read_article
    from .corpus import Corpus, build_corpus, read_folder
    from .options import AlignParams, IngestOptions, LabelParams, QueryParams, ScanOptions, VerifyParams
    from .pipeline import scan
    from .result import ScanResult


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        from importlib import import_module

        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
