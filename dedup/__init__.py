"""dedup: find republished copies of news articles and show what was copied.

>>> from dedup import scan
>>> result = scan("seeds/")
>>> result.clusters_frame
"""

from .pipeline import ScanOptions, scan
from .read import Corpus, build_corpus, read_folder
from .result import ScanResult

__version__ = "0.1.0"
__all__ = ["Corpus", "ScanOptions", "ScanResult", "build_corpus", "read_folder", "scan", "__version__"]
