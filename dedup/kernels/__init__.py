"""Compiled loops for the per-character steps numpy can only express with full-size temporaries.

Two kinds. ``native(name)`` gives a Cython extension module ``dedup.kernels._<name>``, compiled at install time
(setup.py) and loaded at no cost beyond an import; None where it was not built (no C compiler at install) or
``DEDUP_KERNELS=numpy`` asks for the numpy code. The numba kernels below are the older, opt-in kind.

``load()`` loads the numba kernels (``dedup.kernels.loops``), compiled once and cached on disk; ``compiled()``
is then that module, or None: not loaded, numba missing, ``DEDUP_KERNELS=numpy`` in the environment, or the
kernels fail to compile here. Each caller keeps its numpy code as the fallback; both give the same bits (a
test compares whole scans). numba is optional (not a dependency) and opt-in (``DEDUP_KERNELS=numba``): measured
per kernel, what it speeds up is within the noise of a scan once the numpy code works in small batches, and
loading it costs ~0.6 s of CPU and ~120 MB in every process (benchmarks/README.md).

The on-disk cache (numba's ``cache=True``) lives in ``NUMBA_CACHE_DIR`` when the user set it, else in ``numba``
under dedup's cache folder (``$DEDUP_CACHE_DIR``, else ``~/.cache/dedup``), else in the temporary directory; when
none can be written (a read-only install, a locked-down home) the kernels are compiled in memory, silently.
Loading takes ~0.6 s of CPU with a warm cache (numba's import and LLVM), a few seconds to compile without one;
a scan loads them in the parent before forking its workers, which then share them.
"""

from __future__ import annotations

import importlib
import os
import stat
import tempfile
import threading
import warnings
from pathlib import Path
from types import ModuleType

_lock = threading.Lock()
_state: dict[str, ModuleType | None] = {}


def native(name: str) -> ModuleType | None:
    """The compiled extension ``dedup.kernels._<name>``, or None: not built on this machine, or
    ``DEDUP_KERNELS=numpy`` in the environment (the callers' numpy code then runs, giving the same bits)."""
    if not wanted():
        return None
    key = "_" + name
    if key not in _state:
        try:
            _state[key] = importlib.import_module(f"{__name__}.{key}")
        except ImportError:
            _state[key] = None
    return _state[key]


def wanted() -> bool:
    """Whether loaded kernels may run: not with ``DEDUP_KERNELS=numpy``, which forces the numpy code (to compare
    the two, or where a JIT is unwelcome)."""
    return os.environ.get("DEDUP_KERNELS", "auto").strip().lower() != "numpy"


def _writable(folder: Path) -> bool:
    """Whether ``folder`` (created, mode 0700, if missing) can be written and is ours alone: a cache holds code
    (numba's) and data this process trusts, so a folder another user could have planted or can write to (in a
    shared temporary directory) is not used."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            return False
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            return True
    except OSError:
        return False


def cache_base() -> Path:
    """dedup's cache folder: ``$DEDUP_CACHE_DIR``, else ``$XDG_CACHE_HOME/dedup`` (``~/.cache/dedup``)."""
    if os.environ.get("DEDUP_CACHE_DIR"):
        return Path(os.environ["DEDUP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dedup"


def writable_cache(name: str) -> Path | None:
    """``name`` under ``cache_base()`` or, failing that, under the temporary directory, created and writable;
    None when neither can be written."""
    for folder in (cache_base() / name, Path(tempfile.gettempdir()) / f"dedup-{name}-{os.getuid()}"):
        if _writable(folder):
            return folder
    return None


def cache_dir() -> Path | None:
    """A folder numba's on-disk cache can be written to, or None (see the module)."""
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given:
        return Path(given) if _writable(Path(given)) else None
    return writable_cache("numba")


def compiled() -> ModuleType | None:
    """The compiled kernels (``dedup.kernels.loops``) when ``load()`` loaded them and they are wanted, else None
    (the callers' numpy code runs). Never loads them itself: loading costs ~0.6 s of CPU (numba's import and its
    cache) and ~120 MB a process, so the caller decides (``phase1.normalise.prepare``)."""
    loops = _state.get("loops")
    return loops if loops is not None and wanted() else None


def load() -> ModuleType | None:
    """Load the compiled kernels (once; see the module) and return them, or None when not wanted or not
    available."""
    if not wanted():
        return None
    with _lock:
        if "loops" not in _state:
            _state["loops"] = _load()
    return _state["loops"]


def forced() -> bool:
    """Whether ``DEDUP_KERNELS=numba`` asks for the compiled kernels."""
    return os.environ.get("DEDUP_KERNELS", "auto").strip().lower() == "numba"


def _load() -> ModuleType | None:
    folder = cache_dir()
    if folder is not None:
        os.environ.setdefault("NUMBA_CACHE_DIR", str(folder))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numba's warnings about its cache: the kernels work without it
            from . import loops

            loops.warm()
    except Exception:  # noqa: BLE001 - no numba, or no compiler for this machine: the numpy code runs
        return None
    return loops


def backend() -> str:
    """``numba`` or ``numpy``: which code the scan's kernels run (for benchmarks and ``--version``-like reports)."""
    return "numba" if compiled() is not None else "numpy"
