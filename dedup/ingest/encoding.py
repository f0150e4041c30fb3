"""Bytes to text: BOMs, a forced or declared encoding, UTF-8, else a detected legacy code page.

Decoding never fails: the last resort is Windows-1252 with every byte mapped (as browsers do), or the
chosen encoding with undecodable bytes replaced by U+FFFD; the label returned says which was used.

A byte-order mark is not part of the text: it is stripped, and the label says so (``utf-8-sig``,
``utf-16``, ``utf-32``), so a text's offsets count from the first character after it.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
# As the WHATWG encoding standard: these labels mean Windows-1252 on the web.
_AS_1252 = frozenset({"latin-1", "iso8859-1", "ascii", "cp1252", "iso8859-15"})
_WESTERN = frozenset({"cp1252", "latin-1", "iso8859-15", "iso8859-1", "cp850", "mac-roman"})
_META_CHARSET = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.I)
_NON_ASCII_LETTER = re.compile(r"[^\W\d_a-zA-Z]")
_LETTER = re.compile(r"[^\W\d_]")


def _c1_passthrough(e: UnicodeDecodeError) -> tuple[str, int]:
    """Map the 5 bytes Windows-1252 leaves undefined to the C1 code points, as browsers do."""
    return "".join(chr(b) for b in e.object[e.start : e.end]), e.end


codecs.register_error("dedup-c1", _c1_passthrough)


def codec_name(label: str | None) -> str | None:
    """The canonical Python codec name of ``label``, or None when it is not a known text encoding."""
    if not label:
        return None
    try:
        info = codecs.lookup(label.strip().strip("\"'"))
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _decode_replace(data: bytes, name: str) -> tuple[str, str]:
    """``data`` in ``name`` with bad bytes replaced; the label notes when a replacement happened."""
    try:
        return data.decode(name), name
    except UnicodeDecodeError:
        return data.decode(name, "replace"), f"{name} (undecodable bytes replaced)"


def _decode_1252(data: bytes) -> str:
    return data.decode("cp1252", "dedup-c1")


def _looks_western(text: str) -> bool:
    """Whether a Windows-1252 reading looks like Western-European text (few accented letters a word)."""
    letters = len(_LETTER.findall(text))
    return letters > 0 and len(_NON_ASCII_LETTER.findall(text)) <= 0.25 * letters


def detect_legacy(data: bytes) -> str:
    """The most likely 8-bit (or other) encoding of bytes that are not UTF-8, Windows-1252 preferred."""
    best = from_bytes(data).best()
    if best is None:
        return "cp1252"
    found = codec_name(best.encoding) or "cp1252"
    candidates = {codec_name(c) for c in best.could_be_from_charset} | {found}
    if candidates & _WESTERN:
        return "cp1252"
    if _looks_western(_decode_1252(data)) and from_bytes(data, cp_isolation=["cp1252"]).best() is not None:
        return "cp1252"
    return found


def declared_charset(head: bytes) -> str | None:
    """The charset an HTML page declares in a ``<meta>`` within its first 4 KB (the prescan browsers do)."""
    m = _META_CHARSET.search(head[:4096])
    return m.group(1).decode("ascii") if m else None


def decode(data: bytes, forced: str | None = None, declared: str | None = None) -> tuple[str, str | None]:
    """Text of ``data`` and the encoding used (None for plain UTF-8).

    Order: a forced encoding (``--encoding``); a BOM; a declared charset (HTTP header or HTML meta) when
    the bytes decode in it; UTF-8; UTF-8 with stray bytes replaced when most of its non-ASCII text is valid
    UTF-8; else detection (charset-normalizer, Windows-1252 preferred).
    """
    if forced:
        name = codec_name(forced) or "utf-8"
        if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
            return data[3:].decode("utf-8", "replace"), "utf-8-sig"
        text, label = _decode_replace(data, name)
        return text, None if label == "utf-8" else label
    for bom, name, label in _BOMS:
        if data.startswith(bom):
            text, used = _decode_replace(data[len(bom) :], name)
            return text, label if used == name else f"{label} (undecodable bytes replaced)"
    name = codec_name(declared)
    if name and name != "utf-8":
        if name in _AS_1252:
            return _decode_1252(data), "cp1252"
        try:
            return data.decode(name), name
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    if sum(not c.isascii() for c in text) - bad >= 2 * bad:  # UTF-8 with a few stray bytes (a crawl's usual fault)
        return text, "utf-8 (undecodable bytes replaced)"
    name = detect_legacy(data)
    if name == "cp1252":
        return _decode_1252(data), "cp1252"
    return _decode_replace(data, name)
