"""Uploads read in the server's process or by a parse worker (``dedup.serve.parsing``): one small plain-text
article is read where it arrived, and its Article is the one a parse worker gives for it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from dedup.serve.parsing import INLINE_CHARS, ParsePool, small

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def test_a_small_text_is_read_here_as_a_parse_worker_reads_it():
    text = next(p for p in sorted(SEEDS.rglob("*.txt")) if 1000 < p.stat().st_size < INLINE_CHARS).read_text()
    jobs = [("q", text, "text", "utf-8"), ("b", text.encode(), "text", None), ("e", "\x00\x01" * 50, "text", None)]
    assert all(small([job]) for job in jobs)
    assert not small([("h", "<p>x</p>", "html", None)]) and not small(jobs[:2])
    assert not small([("big", "word " * (INLINE_CHARS // 5 + 1), "text", None)])

    async def both() -> tuple[list, list]:
        here = ParsePool(1)  # never started: the small texts do not need it
        got = [(await here.parse([job], time.monotonic() + 30))[0] for job in jobs]
        assert here.free is None
        worker = ParsePool(1)
        worker.start()
        try:
            return got, await worker.parse(jobs, time.monotonic() + 30)  # several jobs: sent to the worker
        finally:
            worker.close()

    got, want = asyncio.run(both())
    assert got == want and type(got[0]).__name__ == "Article" and type(got[2]).__name__ == "Skipped"
