"""Bytes to text: BOMs, a forced or declared encoding, BOM-less UTF-16/32, UTF-8, else a detected legacy code page.

Decoding never fails: the last resort is Windows-1252 with every byte mapped (as browsers do), or the
chosen encoding with undecodable bytes replaced by U+FFFD; the label returned says which was used.

A byte-order mark is not part of the text: it is stripped, and the label says so (``utf-8-sig``,
``utf-16``, ``utf-32``), so a text's offsets count from the first character after it.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from ..escape import name as escape_name
from .labels import whatwg_codec

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
BOMS = tuple(bom for bom, _name, _label in _BOMS)  # the byte-order marks ``decode`` reads a file by
_WESTERN = frozenset({"cp1252", "latin-1", "iso8859-15", "iso8859-1", "cp850", "mac-roman"})
_META_CHARSET = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.I)
_NON_ASCII_LETTER = re.compile(r"[^\W\d_a-zA-Z]")
# Characters of UTF-16/32 text that text does not hold: C0 controls but whitespace, DEL, C1, non-characters.
_NOT_TEXT = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# Letters, digits and punctuation of the scripts of the world's text (Latin, Greek, Cyrillic, Armenian, Hebrew,
# Arabic, Indic, Thai, Georgian, Hangul, CJK...), whitespace included: what a right reading of BOM-less UTF-16
# is mostly made of (a wrong one scatters over the code space and hits surrogates).
_COMMON = re.compile(
    "[\t\n\r\x20-\x7e\xa0-\u074f\u0900-\u0eff\u10a0-\u11ff\u1e00-\u1fff\u2000-\u20cf"
    "\u2100-\u22ff\u3000-\u312f\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]"
)
_WIDE_SAMPLE = 1 << 16
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


def _wide_candidate(head: bytes) -> str | None:
    """The UTF-32/16 form the NUL bytes of ``head`` point to, by where they fall, or None.

    UTF-32: the top byte of every code point is 0 and most of the next ones too. UTF-16: letters of
    the ASCII and Latin-1 range have a 0 high byte, so NULs gather on one side (second in LE): at
    least 4 of them and twice as many as on the other side (stray NULs in UTF-8 fall on both).
    """
    n = len(head) // 4 * 4
    quarter = n // 4
    if quarter == 0:
        return None
    zeros = [head[i:n:4].count(0) for i in range(4)]
    if zeros[3] >= 0.95 * quarter and zeros[2] >= 0.5 * quarter:
        return "utf-32-le"
    if zeros[0] >= 0.95 * quarter and zeros[1] >= 0.5 * quarter:
        return "utf-32-be"
    even, odd = zeros[0] + zeros[2], zeros[1] + zeros[3]
    if max(even, odd) < 4 or max(even, odd) < 2 * min(even, odd):
        return None
    return "utf-16-le" if odd > even else "utf-16-be"


def _wide_text_share(head: bytes, name: str) -> float:
    """The share of common-script characters in ``head`` read as ``name``; -1 when it is not text at all.

    Not text: undecodable, or more control characters than one and 1% (UTF-16 text has no controls).
    """
    try:
        text = codecs.getincrementaldecoder(name)().decode(head, final=False)
    except UnicodeDecodeError:
        return -1.0
    if len(_NOT_TEXT.findall(text)) > 1 + 0.01 * len(text):
        return -1.0
    return len(_COMMON.findall(text)) / len(text) if text else 0.0


def wide_encoding(data: bytes) -> str | None:
    """The UTF-16/32 codec of ``data`` when it is text in one (with a BOM, or without one and NUL bytes), else None.

    With a BOM, the head must decode in that form and be nearly free of control characters. Without one,
    the form is where the NULs fall (``_wide_candidate``), else UTF-16 either way round when the bytes
    are not UTF-8; and the reading must also be mostly characters of common scripts, so neither binary
    data nor UTF-8 text with a few NULs passes.
    """
    head = data[:_WIDE_SAMPLE]
    bom = next(((b, name) for b, name, _label in _BOMS if head.startswith(b)), None)
    if bom is not None:
        mark, name = bom
        return name if name != "utf-8" and _wide_text_share(head[len(mark) :], name) >= 0 else None
    if b"\x00" not in head:
        return None
    wanted = _wide_candidate(head)
    if wanted:
        candidates: tuple[str, ...] = (wanted,)
    elif not _is_utf8(head):  # NULs on both sides (CJK text has both): either way round
        candidates = ("utf-16-le", "utf-16-be")
    else:
        return None
    share, best = max((_wide_text_share(head, name), name) for name in candidates)
    return best if share >= 0.7 else None


def _is_utf8(head: bytes) -> bool:
    """Whether ``head`` is UTF-8 (a character cut at its end allowed)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def declared_charset(head: bytes) -> str | None:
    """The charset an HTML page declares in a ``<meta>`` within its first 4 KB (the prescan browsers do)."""
    m = _META_CHARSET.search(head[:4096])
    return m.group(1).decode("ascii") if m else None


def decode(data: bytes, forced: str | None = None, declared: str | None = None) -> tuple[str, str | None]:
    """Text of ``data`` and the encoding used (None for plain UTF-8).

    Order: a forced encoding (``--encoding``); a BOM; a declared charset (HTTP header or HTML meta) when it
    is a label of the WHATWG Encoding Standard (``labels.py``) and the bytes decode in it (any other label is
    ignored, and the label returned says so); UTF-16/32 without a BOM (see ``wide_encoding``); UTF-8; UTF-8
    with stray bytes replaced when most of its non-ASCII text is valid UTF-8; else detection
    (charset-normalizer, Windows-1252 preferred).
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
    name, known = whatwg_codec(declared)
    if name and name != "utf-8" and not name.startswith("utf-16"):  # a declared UTF-16 is read as UTF-8 is
        if name == "cp1252":
            return _decode_1252(data), "cp1252"
        try:
            return data.decode(name), name
        except (UnicodeDecodeError, LookupError):
            pass
    if declared and not known:
        text, used = _undeclared(data)
        return text, f"{used or 'utf-8'} (declared charset {escape_name(declared[:40])!r} is not an encoding; detected)"
    return _undeclared(data)


def _undeclared(data: bytes) -> tuple[str, str | None]:
    """``decode`` of bytes without a usable BOM or declaration: UTF-16/32, UTF-8, else detected."""
    wide = wide_encoding(data)
    if wide is not None:  # UTF-16/32 without a BOM (with one it was read above)
        return _decode_replace(data, wide)
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
