"""A time limit that stops the work, not only the answer: long work checks it between its phases.

``dedup serve`` runs a request's work in a thread under ``until(deadline)``; the query's phases call
``check()``, which raises ``Expired`` once the deadline has passed, so the thread ends within one phase of
its time limit and its slot is free again (an answer of 503 alone would leave it working). Outside a
deadline (the CLI, the scan) ``check()`` does nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Expired(Exception):
    """The work's time limit passed."""


_local = threading.local()


@contextmanager
def until(deadline: float | None) -> Iterator[None]:
    """Run the block under ``deadline`` (a ``time.monotonic()`` time; None: no limit), checked at once."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = deadline
    try:
        check()
        yield
    finally:
        _local.deadline = previous


def check() -> None:
    """Raise ``Expired`` when the current thread's deadline has passed."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise Expired("the time limit passed")
