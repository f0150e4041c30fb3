"""A huge text held as UTF-8 blocks instead of one ``str``: what a scan keeps of a very large plain-text file.

CPython stores a ``str`` at 1, 2 or 4 bytes a character, by its widest character: one emoji in 200 MB of
text makes a 740 MB ``str``. ``LongText`` keeps the text as blocks of UTF-8 (about a byte a character for
Western text) with the character offset where each block starts, and decodes only the blocks a caller looks
at. It offers what phase 1 needs of a text, with the meaning ``str`` gives it and character (code-point)
offsets into the whole text: ``len``, indexing and slicing, ``find``, ``startswith``/``endswith`` with
positions, ``in``, ``isascii``, its pieces for tokenising (``segments``, cut exactly where
``normalise.segments`` cuts a ``str``), the code points at many positions at once (``codes_at``), its UTF-8
size and writing it out. A consumer that needs anything else asks for the whole ``str`` (``whole``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import BinaryIO

import numpy as np

_WHITESPACE = re.compile(r"\s")  # as ``normalise.segments`` cuts: just after the first white space past a size


def _codes(chars: str) -> np.ndarray:
    return np.frombuffer(chars.encode("utf-32-le", "surrogatepass"), np.uint32)


class LongText:
    """The text held as UTF-8 (lone surrogates kept) in one buffer ``data``: block i is ``data[bounds[i]:
    bounds[i + 1]]``, whose characters start at ``starts[i]``; the last entry of ``starts`` is the text's
    length. One buffer, not a list of block objects: a large one is its own mapping, given back to the
    system when freed, where many blocks of a megabyte would stay in the heap as freed memory."""

    __slots__ = ("_ascii", "_cache", "_data", "_offsets", "_starts")

    def __init__(
        self, data: bytes | bytearray | np.ndarray, bounds: Sequence[int], starts: Sequence[int], ascii: bool
    ) -> None:
        if len(starts) != len(bounds) or not len(starts):
            raise ValueError("bounds and starts must have one entry more than there are blocks")
        self._data = memoryview(data).cast("B")
        self._offsets = np.asarray(bounds, dtype=np.int64)
        self._starts = np.asarray(starts, dtype=np.int64)
        self._ascii = ascii
        self._cache: dict[int, str] = {}  # the last two blocks decoded (callers walk forward)

    @classmethod
    def from_str(cls, text: str, block_chars: int = 1 << 20) -> LongText:
        """``text`` in blocks of ``block_chars`` characters (tests and small callers; a reader builds the blocks
        as it decodes)."""
        starts = [*range(0, len(text), block_chars), len(text)]
        blocks = [text[a:b].encode("utf-8", "surrogatepass") for a, b in zip(starts[:-1], starts[1:])]
        bounds = np.r_[0, np.cumsum([len(b) for b in blocks], dtype=np.int64)]
        return cls(b"".join(blocks), bounds, starts, text.isascii())

    @property
    def _n_blocks(self) -> int:
        return len(self._starts) - 1

    def _decode(self, i: int) -> str:
        return str(self._data[int(self._offsets[i]) : int(self._offsets[i + 1])], "utf-8", "surrogatepass")

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __repr__(self) -> str:
        return f"LongText({len(self)} characters in {self._n_blocks} blocks)"

    def _block(self, i: int) -> str:
        got = self._cache.get(i)
        if got is None:
            got = self._decode(i)
            if len(self._cache) >= 2:
                self._cache.pop(next(iter(self._cache)))
            self._cache[i] = got
        return got

    def _where(self, pos: int) -> int:
        """The block holding character ``pos`` (0 <= pos < len)."""
        return int(np.searchsorted(self._starts, pos, side="right")) - 1

    def _bounds(self, start: int | None, end: int | None) -> tuple[int, int]:
        n = len(self)
        lo, hi, _ = slice(start, end).indices(n)
        return lo, max(lo, hi)

    def __getitem__(self, key: int | slice) -> str:
        if isinstance(key, slice):
            if key.step not in (None, 1):
                raise ValueError("LongText slices take no step")
            lo, hi = self._bounds(key.start, key.stop)
            if lo >= hi:
                return ""
            first, last = self._where(lo), self._where(hi - 1)
            starts = self._starts
            if first == last:
                s = int(starts[first])
                return self._block(first)[lo - s : hi - s]
            parts = [self._block(first)[lo - int(starts[first]) :]]
            parts += [self._decode(i) for i in range(first + 1, last)]
            parts.append(self._block(last)[: hi - int(starts[last])])
            return "".join(parts)
        n = len(self)
        pos = key + n if key < 0 else key
        if not 0 <= pos < n:
            raise IndexError("LongText index out of range")
        i = self._where(pos)
        return self._block(i)[pos - int(self._starts[i])]

    def whole(self) -> str:
        """The text as one ``str`` (all of it in memory: only for a consumer that needs it)."""
        return str(self._data[: int(self._offsets[-1])], "utf-8", "surrogatepass")

    def find(self, sub: str, start: int | None = None, end: int | None = None) -> int:
        """``str.find``: the first position of ``sub`` in ``self[start:end]``, or -1; searched in each block in
        place, and across each block's end in the few characters either side of it."""
        lo, hi = self._bounds(start, end)
        if not sub:
            return lo if lo <= len(self) else -1
        reach = len(sub) - 1
        pos = lo
        while pos < hi:
            i = self._where(pos)
            first, last = int(self._starts[i]), int(self._starts[i + 1])
            at = self._block(i).find(sub, pos - first, min(hi, last) - first)
            if at >= 0:
                return first + at
            if reach and last < hi:  # a match that starts in this block and ends in the next
                a = max(pos, last - reach)
                at = self[a : min(hi, last + reach)].find(sub)
                if at >= 0:
                    return a + at
            pos = last
        return -1

    def find_all(self, subs: Sequence[str]) -> list[list[int]]:
        """For each of ``subs``, where it occurs, as repeated ``find`` calls give them (each search from the end of
        the last match); all found in one walk over the blocks, each decoded once."""
        found: list[list[int]] = [[] for _ in subs]
        nxt = [0] * len(subs)
        for i in range(self._n_blocks):
            last = int(self._starts[i + 1])
            for k, sub in enumerate(subs):
                while sub:
                    at = self.find(sub, nxt[k], last + len(sub) - 1)  # a match that starts in this block
                    if at < 0:
                        nxt[k] = max(nxt[k], last)
                        break
                    found[k].append(at)
                    nxt[k] = at + len(sub)
        return found

    def __contains__(self, sub: str) -> bool:
        return self.find(sub) >= 0

    def startswith(self, prefix: str, start: int = 0) -> bool:
        return self[start : start + len(prefix)] == prefix if start <= len(self) else False

    def endswith(self, suffix: str, start: int = 0, end: int | None = None) -> bool:
        lo, hi = self._bounds(start, end)
        return hi - lo >= len(suffix) and self[hi - len(suffix) : hi] == suffix

    def isascii(self) -> bool:
        return self._ascii

    def utf8_size(self) -> int:
        """Bytes of the text in UTF-8 (lone surrogates kept)."""
        return int(self._offsets[-1])

    def write_utf8(self, f: BinaryIO) -> int:
        """Write the text's UTF-8 to ``f``, block by block; returns the bytes written."""
        return f.write(self._data[: int(self._offsets[-1])])

    def segments(self, start: int = 0, size: int = 1 << 21) -> Iterator[str]:
        """The text from ``start`` in the pieces ``normalise.segments`` cuts a ``str`` into (each about ``size``
        characters, cut just after the first white space past it), decoded a block at a time."""
        if start >= len(self):
            return
        i = self._where(start)
        held = [self._block(i)[start - int(self._starts[i]) :]]  # decoded, not yet given out
        count = len(held[0])
        need = size  # look for a cut once this much is held (doubled after a stretch without white space)
        i += 1
        while True:
            if count > need or i >= self._n_blocks:
                buf = "".join(held)
                pos = 0
                while len(buf) - pos > size:
                    m = _WHITESPACE.search(buf, pos + size)
                    if m is None:
                        break
                    yield buf[pos : m.end()]
                    pos = m.end()
                held, count = [buf[pos:]], len(buf) - pos
                need = size if count <= size else 2 * count  # no white space past ``size``: wait for more
                del buf
                if i >= self._n_blocks:
                    if count:
                        yield held[0]  # the text's end: what no white space past ``size`` cuts
                    return
            block = self._decode(i)
            held.append(block)
            count += len(block)
            i += 1

    def codes_at(self, at: np.ndarray) -> np.ndarray:
        """The code points at positions ``at`` (each 0 <= p < len, in any order), each block touched decoded
        once and only its looked-at characters converted."""
        at = np.asarray(at, dtype=np.int64)
        out = np.zeros(len(at), dtype=np.uint32)
        if not len(at):
            return out
        owner = np.searchsorted(self._starts, at, side="right") - 1
        order = np.argsort(owner, kind="stable")
        bounds = np.flatnonzero(np.diff(owner[order])) + 1
        for group in np.split(order, bounds):
            i = int(owner[group[0]])
            local = (at[group] - int(self._starts[i])).tolist()
            chars = itemgetter(*local, 0)(self._block(i))[:-1]  # always a tuple
            out[group] = _codes("".join(chars))
        return out


def is_long(text: object) -> bool:
    """Whether ``text`` is a ``LongText`` (phase 1 then reads it segment by segment)."""
    return isinstance(text, LongText)
