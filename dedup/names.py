"""Show file names safely: one escaping for every name printed or written (terminal, JSON, CSV).

A name is data, never terminal control: a name holding ``ESC ] 0 ; ... BEL`` must not retitle the
terminal, a newline must not forge a log line, U+202E must not reorder what is shown. Names read from
disk are ``str`` with undecodable bytes kept as ``surrogateescape`` surrogates (U+DC80-U+DCFF).

The escaping is injective (two different names never show the same), because the backslash itself
is escaped and the three escape forms do not overlap:

- ``\\xNN`` with NN < 0x80: that ASCII code point (C0 control, DEL, backslash);
- ``\\xNN`` with NN >= 0x80: the raw byte NN that was not valid UTF-8 (a surrogateescape surrogate);
- ``\\uNNNN``: that code point (C1 controls, bidi overrides and isolates, U+2028/U+2029, lone surrogates).
"""

from __future__ import annotations

import re

# C0 controls (tab and newline included), backslash, DEL, C1 controls, bidi embeddings/overrides
# (U+202A-202E) and isolates (U+2066-2069), line/paragraph separators, and every surrogate.
_UNSAFE = re.compile("[\x00-\x1f\\\\\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c < 0x80:
        return f"\\x{c:02x}"
    if 0xDC80 <= c <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{c - 0xDC00:02x}"
    return f"\\u{c:04x}"


def escape_name(s: str) -> str:
    """``s`` (a file name or id) with controls, bidi overrides, raw bytes and backslash shown as escapes.

    The result is printable, encodes to UTF-8, and differs for different inputs; ordinary Unicode
    (accents, CJK, emoji) is kept as is.
    """
    return _UNSAFE.sub(_escape, s)


def csv_safe(s: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula: ``'`` before a leading = + - @ tab or CR."""
    return "'" + s if s.startswith(_CSV_TRIGGERS) else s
