"""dedup: find republished copies of news articles and show what was copied.

>>> from dedup import scan
>>> result = scan("seeds/")
>>> result.clusters_frame
"""

from .align import AlignParams
from .ingest.model import IngestOptions
from .pipeline import ScanOptions, scan
from .read import Corpus, build_corpus, read_folder
from .result import ScanResult
from .verify import VerifyParams

__version__ = "0.2.0"
__all__ = [
    "AlignParams",
    "Corpus",
    "IngestOptions",
    "ScanOptions",
    "ScanResult",
    "VerifyParams",
    "build_corpus",
    "read_folder",
    "scan",
    "__version__",
]
