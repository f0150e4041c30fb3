"""Defaults from the environment and config files, so ``--index`` and the like need not be repeated.

Where a value comes from, first found wins: the command line; ``DEDUP_INDEX`` (``--index`` of ``index``,
``query`` and ``serve``, never of ``scan``, whose ``--index`` changes what it compares); the project's
``dedup.toml`` (in the current folder or the nearest parent holding one); the user's
``$XDG_CONFIG_HOME/dedup/config.toml`` (``~/.config/dedup/config.toml``); the built-in default.
``DEDUP_CONFIG=FILE`` names the user's file instead, ``DEDUP_CONFIG=`` (empty) reads no file at all.

A file holds options by their long names without the dashes, at the top level for every command that
has the option, or under a command's table (``[scan]``, ``[query]``, ``[index-add]``, ``[serve]``) for
that command alone::

    index = "archive"          # a path is relative to the file's folder
    color = "never"
    [scan]
    format = "json"
    near-duplicate = 0.85

A key no command knows, or a value an option refuses, is a usage error naming the file and the key.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from pathlib import Path
from typing import Any

from .common import UsageError, shown

PROJECT_FILE = "dedup.toml"
# Options whose value is a path: relative to the config file's folder, not to where dedup runs.
PATHS = ("index", "store", "token-file", "corpus", "from")
# Commands that take DEDUP_INDEX as --index's default (scan's --index is a choice, not a location).
INDEX_FROM_ENV = ("index add", "index stats", "index remove", "index compact", "query", "serve")


def user_file() -> Path | None:
    """The user's config file: ``DEDUP_CONFIG``, else ``$XDG_CONFIG_HOME/dedup/config.toml``."""
    if "DEDUP_CONFIG" in os.environ:
        named = os.environ["DEDUP_CONFIG"]
        return Path(named) if named else None
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "dedup" / "config.toml"


def project_file(start: Path | None = None) -> Path | None:
    """The nearest ``dedup.toml`` in the current folder or its parents."""
    if os.environ.get("DEDUP_CONFIG") == "":
        return None
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise UsageError(f"{shown(path)}: cannot read the config file: {shown(e.strerror or e)}") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{shown(path)}: not valid TOML: {shown(e)}; fix it or set DEDUP_CONFIG= to skip it") from None


def _action(parser: argparse.ArgumentParser, key: str) -> argparse.Action | None:
    for action in parser._actions:
        if f"--{key}" in action.option_strings or (action.option_strings and action.dest == key.replace("-", "_")):
            return action
    return None


def _value(action: argparse.Action, key: str, value: Any, path: Path) -> Any:
    """``value`` of the file as the option would take it from the command line; a usage error otherwise."""
    where = f"{shown(path)}: {shown(key)}"
    if action.nargs == 0:  # a flag: true or false
        if not isinstance(value, bool):
            raise UsageError(f"{where}: must be true or false")
        if isinstance(action, argparse._StoreFalseAction) and key.startswith("no-"):
            return not value  # ``no-keep-x = true``: the option's default off
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UsageError(f"{where}: must be a string or a number")
    text = str(value)
    if key in PATHS and "://" not in text:
        text = str((path.parent / os.path.expanduser(text)).resolve()) if not os.path.isabs(text) else text
    try:
        converted = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, TypeError, ValueError) as e:
        raise UsageError(f"{where}: {shown(e)}") from None
    if action.choices is not None and converted not in action.choices:
        raise UsageError(f"{where}: {shown(text)} is not one of {', '.join(map(str, action.choices))}")
    return converted


def _apply(parser: argparse.ArgumentParser, action: argparse.Action, value: Any) -> None:
    parser.set_defaults(**{action.dest: value})
    action.required = False


def apply_defaults(commands: dict[str, argparse.ArgumentParser], environ: dict[str, str] | None = None) -> None:
    """Set each command's defaults from the config files and ``DEDUP_INDEX`` (see the module docstring).
    ``commands``: each command's parser by its name (``index add`` for the index's actions)."""
    environ = dict(os.environ if environ is None else environ)
    files = [f for f in (user_file(), project_file()) if f is not None and f.is_file()]
    for path in files:  # the user's first, so the project's file overrides it
        data = read(path)
        for key, value in data.items():
            if isinstance(value, dict):
                continue
            scope = [commands[c] for c in INDEX_FROM_ENV if c in commands] if key == "index" else commands.values()
            hits = [(p, a) for p in scope if (a := _action(p, key)) is not None]
            if not hits:
                raise UsageError(f"{shown(path)}: {shown(key)}: no command has an option --{shown(key)}")
            for parser, action in hits:
                _apply(parser, action, _value(action, key, value, path))
        for table, parser in _tables(data, commands, path):
            for key, value in table.items():
                action = _action(parser, key)
                if action is None:
                    raise UsageError(f"{shown(path)}: {shown(key)}: '{parser.prog}' has no option --{key}")
                _apply(parser, action, _value(action, key, value, path))
    location = environ.get("DEDUP_INDEX")
    if location:
        for name in INDEX_FROM_ENV:
            parser = commands.get(name)
            action = _action(parser, "index") if parser is not None else None
            if action is not None:
                _apply(parser, action, location)


def _tables(data: dict[str, Any], commands: dict[str, argparse.ArgumentParser], path: Path):
    """(table, parser) for each command table of a file: ``[scan]``, ``[index-add]``..."""
    for name, value in data.items():
        if not isinstance(value, dict):
            continue
        command = name.replace("-", " ", 1) if name.startswith("index-") else name
        if command not in commands or command == "index":
            known = ", ".join(c.replace(" ", "-") for c in commands if c != "index")
            raise UsageError(f"{shown(path)}: [{shown(name)}]: no such command ({known})")
        yield value, commands[command]
