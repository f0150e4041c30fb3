"""``dedup completion bash``: a small static bash completion, generated from the parser itself."""

from __future__ import annotations

import argparse
import re
from typing import Any


def add_parser(sub: Any) -> None:
    c = sub.add_parser("completion", help='print a bash completion script: eval "$(dedup completion bash)"')
    c.add_argument("shell", choices=("bash",))


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    """Every long option of ``parser``, as its usage line lists them."""
    return sorted(set(re.findall(r"--[\w-]+", parser.format_usage())))


def completion_script(parser: argparse.ArgumentParser, commands: dict[str, argparse.ArgumentParser]) -> str:
    """Commands, then each command's options and files. ``commands``: each command's parser, by name."""
    cases = [f'    {name}) opts="{" ".join(_flags(p))}" ;;' for name, p in commands.items()]
    return (
        '# bash completion for dedup: eval "$(dedup completion bash)"\n'
        "_dedup() {\n"
        '  local cur="${COMP_WORDS[COMP_CWORD]}" cmd="${COMP_WORDS[1]}" opts=""\n'
        '  if [ "$COMP_CWORD" -eq 1 ]; then\n'
        f'    COMPREPLY=($(compgen -W "{" ".join(commands)} --help --version" -- "$cur")); return\n'
        "  fi\n"
        '  case "$cmd" in\n' + "\n".join(cases) + "\n  esac\n"
        '  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur"));\n'
        '  else COMPREPLY=($(compgen -f -- "$cur")); fi\n'
        "}\n"
        "complete -o filenames -F _dedup dedup\n"
    )
