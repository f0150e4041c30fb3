"""Make article text safe to print: data is never markup or terminal control."""

from __future__ import annotations

import re

# C0 and C1 controls (but tab and newline), DEL, and the bidirectional overrides
# that can reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def inert(text: str) -> str:
    """``text`` with control characters (ANSI escapes included) shown as visible escapes."""
    return _UNSAFE.sub(_escape, text)
