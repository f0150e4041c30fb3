"""Start-up: a scan that prints no table (``-o FILE``'s summary, ``--format none``) imports no terminal views."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]


def _imported(*argv: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``python -X importtime -m dedup ARGV`` in a real process; its result and the modules it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dedup", *argv], capture_output=True, text=True, cwd=ROOT
    )
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return proc, modules


def test_a_scan_written_to_a_file_imports_neither_rich_nor_the_terminal_views(tmp_path):
    out = tmp_path / "r.parquet"
    proc, modules = _imported("scan", "seeds/", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    # The summary line is still printed, and the file is written.
    assert proc.stdout == "5 documents, 1 cluster covering 2 documents, 1 related pair (0 partial).\n"
    assert pl.read_parquet(out).height == 5
    assert "dedup.pipeline" in modules  # the listing is real: the scan's own modules are in it
    assert not {m for m in modules if m == "rich" or m.startswith("rich.")}
    assert "dedup.views.terminal" not in modules


def test_verbose_and_the_table_still_use_the_terminal_views():
    proc, modules = _imported("scan", "seeds/", "-v", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "dedup: scanned in" in proc.stderr  # the phase lines (rich's console on stderr)
    assert "dedup.views.terminal" in modules and "rich.console" in modules
    assert "001_9fe7513b9c6ae974.txt" in proc.stdout  # the clusters table
