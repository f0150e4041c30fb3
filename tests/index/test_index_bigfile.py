"""``dedup index add`` of one huge text file (issue 30): read segment by segment as ``dedup scan`` reads it,
never whole, and stored as the same article read whole would be. The peak memory is measured in
``benchmarks/timing/index_bigfile.py``, not here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dedup.featurestore.layout import FILES, TOKEN_FILES
from dedup.index import open_index
from dedup.index import service as archive
from dedup.options import ScanOptions

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _huge_file(path: Path, size: int) -> None:
    """Paragraphs of words drawn from a small vocabulary (so text recurs within the file), a blank line
    after each, one of them with an emoji (four bytes a character once decoded), up to ``size`` bytes."""
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(3000)] + ["état", "naïve", "über"]
    paras, n = ["A huge page\n\n"], 13
    while n < size:
        para = " ".join(words[i] for i in rng.integers(0, len(words), int(rng.integers(8, 60)))) + "\n\n"
        if len(paras) == 1000:
            para = "emoji \U0001f600 " + para
        paras.append(para)
        n += len(para.encode())
    path.write_text("".join(paras), encoding="utf-8")


def _shard_files(location: Path) -> dict[str, bytes]:
    """The index's one shard: each file's bytes (docs.parquet as its rows, the file's bytes may differ), but
    the stored word tokens: phase 1 keeps none of a text past ``LONG_CHARS`` (they are found again from it)."""
    index = open_index(str(location))
    assert len(index.shard_names) == 1
    shard = index.root / "shards" / index.shard_names[0]
    out = {
        name: (shard / name).read_bytes()
        for name in FILES
        if name.split(".")[0] not in (*TOKEN_FILES, "docs") and (shard / name).exists()
    }
    out["docs"] = index.rows(np.asarray([0])).drop("path").to_dicts()
    return out


# ``dedup index add`` in a subprocess, with the sizes past which a text file is read segment by segment, kept
# as a ``LongText`` and tokenised segment by segment, and those segments' sizes, made small (64 KB / 4 KB
# read, 32 K / 8 K characters tokenised, instead of 8 MB / 16 MB and 8 M / 2 M), so a small file is many
# segments; the type of each text the segmented reader gives is noted in the file named by argv[1].
_CLI = """
import sys
from dedup.ingest import reader, text
from dedup.phase1 import features
text.LONG_BYTES, text.SEGMENT_BYTES, text.BLOCK_CHARS, text.LONG_CHARS = 1 << 16, 1 << 12, 1 << 13, 1 << 15
features.LONG_CHARS, features._SEGMENT_CHARS = 1 << 15, 1 << 13
read = reader.read_text_segmented
def noted(*a, **k):
    got = read(*a, **k)
    with open(sys.argv[1], "a") as f:
        f.write(type(getattr(got, "text", got)).__name__ + "\\n")
    return got
reader.read_text_segmented = noted
from dedup.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_index_add_streams_a_huge_file_into_the_article_read_whole(tmp_path):
    big = tmp_path / "in" / "huge.txt"
    big.parent.mkdir()
    _huge_file(big, 300_000)  # ~70 segments of 4 KB
    streamed, noted = tmp_path / "streamed", tmp_path / "noted"
    cmd = [sys.executable, "-c", _CLI, str(noted), "index", "add", str(big), "--index", str(streamed), "-q"]
    done = subprocess.run([*cmd, "--workers", "1"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert noted.read_text().split() == ["LongText"]  # read segment by segment, never as one ``str``
    # The same file read whole (``read_sources``: one ``str``), added in this process as the server adds.
    options = ScanOptions(workers=1)
    articles, skipped = archive.read_sources([big], options)
    assert not skipped and len(articles) == 1 and isinstance(articles[0].text, str)
    whole = tmp_path / "whole"
    out = archive.add_articles(open_index(str(whole), archive.store_params(options), create=True), articles, options)
    assert out.added == 1
    got, want = _shard_files(streamed), _shard_files(whole)
    assert got.keys() == want.keys() and "postings.npy" in got and "signatures.npy" in got
    for name in want:
        assert got[name] == want[name], name
