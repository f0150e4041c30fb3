"""``dedup completion bash|zsh|fish``: a completion script generated from the parser by shtab.

Why shtab: it writes a static script from the argparse parser itself (sub-commands, nested ones such as
``index add``, every option name, short ones included, and choice values such as ``--format <TAB>``), so
completing costs no Python start at each TAB and cannot disagree with ``--help``; it is a small,
dependency-free, maintained library (iterative's) with bash, zsh and fish (and tcsh) back ends.
"""

from __future__ import annotations

import argparse
from typing import Any

SHELLS = ("bash", "zsh", "fish")
# Where each shell's script goes (README, Shell completion says the same).
HOW = {
    "bash": 'eval "$(dedup completion bash)" in ~/.bashrc',
    "zsh": 'eval "$(dedup completion zsh)" in ~/.zshrc (after compinit)',
    "fish": "dedup completion fish > ~/.config/fish/completions/dedup.fish",
}


def add_parser(sub: Any) -> None:
    c = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for SHELL on stdout: sub-commands, option names and their "
        "choices complete, paths complete as files. " + "; ".join(f"{s}: {h}" for s, h in HOW.items()) + ".",
    )
    c.add_argument("shell", metavar="SHELL", choices=SHELLS, help="The shell: bash, zsh or fish.")


def mark_paths(parser: argparse.ArgumentParser) -> None:
    """Tell shtab which arguments are files or folders (the rest complete their choices, or nothing)."""
    import shtab

    folders = {"store"}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                mark_paths(sub)
        elif action.choices is None and action.nargs != 0 and action.dest not in ("help", "version"):
            action.complete = shtab.DIRECTORY if action.dest in folders else shtab.FILE  # type: ignore[attr-defined]


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of ``parser`` for ``shell``."""
    import shtab

    mark_paths(parser)
    return shtab.complete(parser, shell=shell)
