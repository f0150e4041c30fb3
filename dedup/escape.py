"""Escaping, done at the edges only: names and text are stored and passed around as read, and made
safe here, once, where they reach a terminal, JSON, CSV or a log (one function per medium).

Names (``name``): ids and paths as JSON, CSV, Parquet, the terminal and error lines show them.
Text (``text``): article text printed to a terminal. CSV cells (``csv_cell``).

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
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c < 0x80:
        return f"\\x{c:02x}"
    if 0xDC80 <= c <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{c - 0xDC00:02x}"
    return f"\\u{c:04x}"


def name(s: str) -> str:
    """A name as read (a file path or id) as every output shows it: controls, bidi overrides, undecodable
    bytes and backslash as escapes (``\\xNN``, ``\\uNNNN``); injective, printable, valid UTF-8. Ordinary
    Unicode (accents, CJK, emoji) is kept as is."""
    return _UNSAFE.sub(_escape, s)


def stored_name(s: str) -> str:
    """A name in its stored form (``stored``) as every output shows it: the same as ``name`` of the raw name."""
    return s[1:] if s.startswith(_MARK) else _UNSAFE.sub(_escape, s)


_ESCAPE_FORM = re.compile(r"\\x([0-9a-f]{2})|\\u([0-9a-f]{4})")


def unname(shown: str) -> str:
    """The raw name that ``name`` shows as ``shown`` (undecodable bytes as surrogateescape surrogates): what
    to open when a name comes back from a saved result."""

    def back(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            c = int(m.group(1), 16)
            return chr(c) if c < 0x80 else chr(0xDC00 + c)
        return chr(int(m.group(2), 16))

    return _ESCAPE_FORM.sub(back, shown)


# A stored name is the name as read, except one with undecodable bytes (or, impossibly for a path, a
# leading NUL): Parquet and polars hold valid UTF-8 only, so that one is kept as NUL + its shown form.
# No path holds a NUL, so the two forms never meet and the round trip is lossless.
_MARK = "\x00"
_SURROGATE = re.compile("[\ud800-\udfff]")


def stored(raw: str) -> str:
    """``raw`` as the feature store and the result frames hold it (valid UTF-8, lossless)."""
    if raw.startswith(_MARK) or _SURROGATE.search(raw):
        return _MARK + _UNSAFE.sub(_escape, raw)
    return raw


def raw(stored_name: str) -> str:
    """The name as read (undecodable bytes as surrogateescape surrogates) from its stored form: what to open."""
    return unname(stored_name[1:]) if stored_name.startswith(_MARK) else stored_name


def csv_cell(s: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula: ``'`` before a leading = + - @ tab or CR."""
    return "'" + s if s.startswith(CSV_TRIGGERS) else s


# Text: C0 and C1 controls (but tab and newline), DEL, and the bidirectional overrides that can reorder
# what a terminal shows. Unlike a name, text keeps its backslashes and line structure.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_text(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def text(s: str) -> str:
    """Article text for a terminal: control characters (ANSI escapes included) shown as visible escapes."""
    return _UNSAFE_TEXT.sub(_escape_text, s)
