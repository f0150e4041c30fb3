"""Binary files under a text name: what the first bytes say a file is, before anything decodes it.

An executable, an image or a PDF named ``.txt``/``.html`` would otherwise decode as Windows-1252 and
join the corpus as an "article" of garbage. ``binary_kind`` looks at the head of the bytes (after
gunzipping a ``.gz``) and names what it looks like: a known file signature (``PDF``, ``ELF``, ...),
``NUL bytes``, or ``control characters``; None means text.

Text is never called binary for bytes that text legitimately has: UTF-16/32 (with or without a BOM:
their NULs are half or three quarters of the bytes) is recognised by ``encoding.wide_encoding``;
legacy 8-bit and multi-byte encodings (Windows-1252, KOI8-R, Shift-JIS, GB18030...) only use bytes
0x80-0xFF beyond ASCII, which are never counted; a stray NUL or control character (a DOS end-of-file
mark, an ESC of ISO-2022-JP or of terminal colours) is below the thresholds.
"""

from __future__ import annotations

import re

from .encoding import wide_encoding

SAMPLE = 1 << 16  # bytes looked at: the head of the file

# (pattern on the first bytes, name). Patterns are specific enough that no text starts with them.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (rb"\x7fELF", "ELF"),
    (rb"%PDF-\d", "PDF"),
    (rb"\x89PNG\r\n\x1a\n", "PNG"),
    (rb"\xff\xd8\xff", "JPEG"),
    (rb"GIF8[79]a", "GIF"),
    (rb"RIFF....WEBP", "WebP"),
    (rb"RIFF....(?:WAVE|AVI )", "RIFF audio/video"),
    (rb"PK(?:\x03\x04|\x05\x06|\x07\x08)", "ZIP"),
    (rb"\x1f\x8b[\x08]", "gzip"),
    (rb"BZh[1-9]1AY&SY", "bzip2"),
    (rb"\xfd7zXZ\x00", "xz"),
    (rb"\x28\xb5\x2f\xfd", "zstd"),
    (rb"7z\xbc\xaf\x27\x1c", "7z"),
    (rb"Rar!\x1a\x07", "RAR"),
    (rb"SQLite format 3\x00", "SQLite"),
    (rb"(?:\xfe\xed\xfa[\xce\xcf]|[\xce\xcf]\xfa\xed\xfe)", "Mach-O"),
    (rb"\xca\xfe\xba\xbe\x00\x00\x00[\x01-\x14]", "Mach-O"),  # fat binary: a few architectures
    (rb"\xca\xfe\xba\xbe\x00\x00\x00[\x2d-\xff]", "Java class"),  # class file: major version >= 45
    (rb"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 (doc/xls/msg)"),
    (rb"\x00asm", "WebAssembly"),
    (rb"(?:II\*\x00|MM\x00\*)", "TIFF"),
    (rb"OggS\x00", "Ogg"),
    (rb"fLaC", "FLAC"),
    (rb"ID3[\x02-\x04]\x00", "MP3"),
    (rb"....ftyp", "MP4/QuickTime"),
    (rb"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (rb"wOF[F2]", "WOFF font"),
    (rb"PAR1", "Parquet"),
    (rb"ARROW1\x00", "Arrow"),
    (rb"\x00\x00\x01\x00\x01\x00", "ICO"),
)
# All of them as one pattern, tried in the order above (one match instead of thirty).
_SIGNATURE = re.compile(b"|".join(b"(?P<s%d>%s)" % (i, p) for i, (p, _) in enumerate(_SIGNATURES)), re.S)
_MZ = b"MZ"
# C0 control bytes that text does not use: all but tab, LF, VT, FF, CR, SUB (DOS end of file) and ESC.
_CONTROLS = bytes([*range(0x00, 0x09), 0x0E, *range(0x0F, 0x1A), *range(0x1C, 0x20), 0x7F])
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROLS)
# Binary when NULs are more than 1 + 1 per 1000 bytes, or other controls more than 3 and 5% of the bytes.
_NUL_RATE = 1 / 1000
_CONTROL_RATE = 0.05
_CONTROL_MIN = 3


def _is_pe(head: bytes) -> bool:
    """A Windows/DOS executable: ``MZ`` and, at the offset stored at 0x3C, a ``PE\\0\\0`` header."""
    if not head.startswith(_MZ) or len(head) < 64:
        return False
    at = int.from_bytes(head[60:64], "little")
    return head[at : at + 4] == b"PE\x00\x00"


def binary_kind(data: bytes) -> str | None:
    """What ``data`` looks like when it is not text (``PDF``, ``NUL bytes``...), or None for text."""
    head = data[:SAMPLE]
    if (m := _SIGNATURE.match(head)) is not None:
        return _SIGNATURES[int(m.lastgroup[1:])][1]
    if _is_pe(head):
        return "PE/MZ executable"
    if not head or wide_encoding(head) is not None:
        return None
    if head.count(0) > 1 + _NUL_RATE * len(head):
        return "NUL bytes"
    controls = len(head.translate(None, _NOT_CONTROL))
    if controls > max(_CONTROL_MIN, _CONTROL_RATE * len(head)):
        return "control characters"
    return None


def binary_reason(data: bytes) -> str | None:
    """The Skipped reason for binary ``data`` (``binary (PDF)``), or None when it is text."""
    kind = binary_kind(data)
    return f"binary ({kind})" if kind else None
