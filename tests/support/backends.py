"""A whole scan run with each kernel backend, for the tests that hold the compiled kernels to the numpy code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest


def scan_with(cli: Callable, folder: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The JSON of ``dedup scan FOLDER`` (timings aside) with ``DEDUP_KERNELS=backend`` (``auto``, ``numpy``,
    ``numba``), run as a real subprocess of the CLI."""
    monkeypatch.setenv("DEDUP_KERNELS", backend)
    run = cli("scan", folder, "--format", "json", "--no-progress")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    result["meta"].pop("timings", None)
    return result
