"""Which files of a folder to leave out: ``--exclude GLOB`` and a ``.dedupignore`` file, as gitignore has it.

Each rule is one line (of ``.dedupignore``, in the scanned folder) or one ``--exclude``: blank lines and
lines starting with ``#`` say nothing; ``!`` before a pattern takes a path back in; a pattern ending in
``/`` matches folders only; a pattern holding a ``/`` (other than at its end) is matched against the path
relative to the folder (a leading ``/`` anchors it there), one without against the name at any depth; ``*``
and ``?`` match within a name, ``**`` across folders, ``[...]`` a character of a set. The last rule that
matches decides; a folder left out is not entered, so nothing inside it can be taken back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .files import InputError, open_regular

IGNORE_FILE = ".dedupignore"
MAX_IGNORE_FILE = 1 << 20  # bytes of .dedupignore read


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    negate: bool
    folders_only: bool


def _translate(glob: str) -> str:
    """A gitignore glob (without its ``!`` and trailing ``/``) as a regular expression on relative paths."""
    anchored = "/" in glob
    glob = glob.lstrip("/")
    out, i = [], 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and (end := glob.find("]", i + 2)) > 0:
            body = glob[i + 1 : end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif c == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    body = "".join(out)
    return ("" if anchored else "(?:.*/)?") + body + r"\Z"


def parse(lines: Sequence[str]) -> list[_Rule]:
    """The rules of gitignore-like lines (see the module doc); a line that is not a valid pattern is passed over."""
    rules = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        line = line.rstrip(" ") if not line.endswith("\\ ") else line
        negate = line.startswith("!")
        line = line[1:] if negate else line
        folders_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        try:
            rules.append(_Rule(re.compile(_translate(line), re.S), negate, folders_only))
        except re.error:
            continue
    return rules


class Ignore:
    """The rules of a folder: its ``.dedupignore``'s, then the ``--exclude`` ones (later rules decide, so the
    command line has the last word)."""

    def __init__(self, rules: list[_Rule]) -> None:
        self.rules = rules

    @classmethod
    def of(cls, root: str, exclude: Sequence[str]) -> Ignore:
        lines: list[str] = []
        path = os.path.join(root, IGNORE_FILE)
        if os.path.lexists(path):
            try:  # a regular file only, not through a link: a FIFO would block, a link could lead outside
                with open_regular(path) as f:
                    lines = f.read(MAX_IGNORE_FILE).decode("utf-8", "replace").splitlines()
            except (InputError, OSError):
                pass
        return cls(parse([*lines, *exclude]))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def excludes(self, rel: str, folder: bool) -> bool:
        """Whether the path ``rel`` (relative, with ``/``) is left out."""
        out = False
        for rule in self.rules:
            if rule.folders_only and not folder:
                continue
            if rule.pattern.match(rel):
                out = not rule.negate
        return out
