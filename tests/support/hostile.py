"""A folder built the way an attacker (or an unlucky user) would: FIFOs, links out, loops, hostile names.

``make_hostile_folder(path)`` creates it and returns what a reader must make of it, so both the
ingest tests and the CLI tests can use one fixture. ``remove_hostile_folder(path)`` undoes what
``shutil.rmtree`` cannot (1,000-deep nesting, a chmod 000 folder).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AEB_BODIES = ROOT / "benchmarks" / "data" / "aeb" / "ground-truth.json"
SEED_ORIGINAL = ROOT / "seeds" / "001_9fe7513b9c6ae974.txt"
DEPTH = 1000

# Names that would drive a terminal if printed raw: set the title (OSC 0), clear the screen (CSI 2J),
# write the clipboard (OSC 52), forge a log line (newline), reverse the display (U+202E), a C1 CSI.
HOSTILE_NAMES = (
    "\x1b]0;pwned\x07.txt",
    "\x1b[2J.txt",
    "\x1b]52;c;ZWNobyBwd25lZA==\x07.txt",
    "forged\nWARNING everything is fine.txt",
    "\u202etxt.exe.txt",
    "c1\x9b31m.txt",
)
BAD_UTF8_NAME = b"bad\xffname.txt"


def _bodies(n: int) -> list[str]:
    """``n`` distinct real article bodies (aeb), each a few paragraphs, so no two of them are near-duplicates."""
    data = json.loads(AEB_BODIES.read_text(encoding="utf-8"))
    out = []
    for key in sorted(data):
        body = data[key]["articleBody"]
        paras = [p.strip() for p in body.split("\n") if p.strip()]
        if len(" ".join(paras).split()) >= 200 and body.isascii():
            out.append("\n\n".join(paras[:6]))
        if len(out) == n:
            return out
    raise RuntimeError("not enough aeb bodies")


def make_hostile_folder(path: str | os.PathLike[str]) -> dict:
    """Build the hostile folder under ``path``; return what to expect of it.

    Returns ``{"root", "good": {id: text}, "skipped": {path: reason fragment}, "forbidden": [text],
    "unreadable_blocks": bool}``: ``good`` are the articles a reader must yield, each once (ids relative,
    undecodable name bytes as surrogateescape); ``skipped`` the inputs that must each give exactly one
    Skipped whose reason contains the fragment; ``forbidden`` text from outside the folder that must
    never be read. When running as root, chmod 000 does not stop reads (``unreadable_blocks`` is
    False): the unreadable folder's article is then in ``good`` instead of ``skipped``.
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    top = str(root)
    bodies = _bodies(len(HOSTILE_NAMES) + 4)
    original = SEED_ORIGINAL.read_text(encoding="utf-8")
    good: dict[str, str] = {}
    skipped: dict[str, str] = {}

    def write(rel: str, text: str, is_good: bool = True) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("utf-8"))
        if is_good:
            good[rel] = text

    # Two good articles that are copies of each other, and a link to one of them (inside: read).
    write("news/original.txt", original)
    write("news/copy.txt", original)
    os.symlink("news/original.txt", root / "inside_link.txt")
    good["inside_link.txt"] = original

    # Hostile names holding good, distinct articles (read; shown escaped).
    for name, body in zip(HOSTILE_NAMES, bodies):
        write(name, body)
    bad = os.path.join(os.fsencode(top), BAD_UTF8_NAME)
    fd = os.open(bad, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, bodies[len(HOSTILE_NAMES)].encode("utf-8"))
    os.close(fd)
    good[os.fsdecode(BAD_UTF8_NAME)] = bodies[len(HOSTILE_NAMES)]

    # 1,000-deep nesting with one article at the bottom (made without recursion).
    deep = top
    for _ in range(DEPTH):
        deep = os.path.join(deep, "d")
        os.mkdir(deep)
    bottom_rel = "/".join(["d"] * DEPTH) + "/bottom.txt"
    with open(os.path.join(deep, "bottom.txt"), "w", encoding="utf-8") as f:
        f.write(bodies[len(HOSTILE_NAMES) + 1])
    good[bottom_rel] = bodies[len(HOSTILE_NAMES) + 1]

    # Not regular files, or pointing outside: each one Skipped, never opened.
    os.mkfifo(root / "wire_story.txt")
    skipped[os.path.join(top, "wire_story.txt")] = "not a regular file (FIFO)"
    os.symlink("/dev/zero", root / "zero.txt")
    skipped[os.path.join(top, "zero.txt")] = "outside the folder"
    os.symlink("/etc/passwd", root / "passwd.txt")
    skipped[os.path.join(top, "passwd.txt")] = "outside the folder"
    os.symlink("/etc", root / "etc")
    skipped[os.path.join(top, "etc")] = "outside the folder"
    os.symlink("missing.txt", root / "broken.txt")
    skipped[os.path.join(top, "broken.txt")] = "broken link"
    # A folder symlink loop: a link back to the root, and one to its parent folder.
    os.symlink(".", root / "news" / "loop")
    skipped[os.path.join(top, "news", "loop")] = "already read"

    # No words: empty, blank, punctuation only.
    for rel, text in (("empty.txt", ""), ("blank.txt", "  \n\t\r\n \n"), ("punct.txt", "... -- !!! ?\n* * *\n")):
        write(rel, text, is_good=False)
        skipped[os.path.join(top, rel)] = "no text"

    # Ignored silently: hidden entries. Listed, never read: a kind dedup does not read (issue 28).
    write(".hidden.txt", bodies[0], is_good=False)
    write(".git/config.txt", bodies[0], is_good=False)
    write("notes.bin", "binary-ish", is_good=False)
    skipped[os.path.join(top, "notes.bin")] = "unsupported (.bin)"

    # A folder nobody may read.
    locked = root / "locked"
    locked.mkdir()
    (locked / "secret.txt").write_text(bodies[len(HOSTILE_NAMES) + 2], encoding="utf-8")
    os.chmod(locked, 0)
    try:
        os.listdir(locked)
        blocks = False
    except PermissionError:
        blocks = True
    if blocks:
        skipped[str(locked)] = "Permission denied"
    else:
        good["locked/secret.txt"] = bodies[len(HOSTILE_NAMES) + 2]

    forbidden = [line for line in Path("/etc/passwd").read_text(errors="replace").splitlines()[:1] if line]
    return {"root": root, "good": good, "skipped": skipped, "forbidden": forbidden, "unreadable_blocks": blocks}


def remove_hostile_folder(path: str | os.PathLike[str]) -> None:
    """Delete the folder: unlock the chmod 000 folder and remove the deep nesting without recursion."""
    top = os.fspath(path)
    locked = os.path.join(top, "locked")
    if os.path.isdir(locked) and not os.path.islink(locked):
        os.chmod(locked, stat.S_IRWXU)
    stack = [top]
    order = []
    while stack:
        d = stack.pop()
        order.append(d)
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            else:
                os.unlink(e.path)
    for d in reversed(order):
        os.rmdir(d)
