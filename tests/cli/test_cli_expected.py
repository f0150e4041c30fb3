"""The command line as people expect it from the tools they know (issue 29): whole tables in a pipe,
grouped help, completion in bash, zsh and fish, one exit-code table, --exit-code, --color and NO_COLOR,
defaults from DEDUP_INDEX and config files, and one line with a next step for every error."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys

import pytest

from tests.conftest import ROOT

LONG = "2026-03-04-millbrook-council-approves-the-new-harbour-bridge-after-a-long-debate"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, seeds):
    """The seeds under long names in a nested folder: the ids are longer than any 80-column table allows."""
    root = tmp_path_factory.mktemp("long")
    for n, name in enumerate(seeds.ids):
        folder = root / "gazette" / "2026" / "03" / "04"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{LONG}-{n}-{name}").write_bytes((seeds.dir / name).read_bytes())
    return root


@pytest.fixture(scope="module")
def index(tmp_path_factory, corpus, seeds):
    """An index of the long-named original and the unrelated articles (not the wrapper, which is queried)."""
    loc = tmp_path_factory.mktemp("ix") / "index"
    paths = [p for p in (corpus / "gazette/2026/03/04").iterdir() if seeds.wrapper not in p.name]
    run = _cli_env({}, "index", "add", *paths, "--index", loc, "-q", "--workers", "1")
    assert run.returncode == 0, run.stderr
    return loc


def _cli_env(env: dict[str, str], *args, cwd=ROOT, input: str | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, its stdout a pipe, with ``env`` over a clean environment."""
    base = {k: v for k, v in os.environ.items() if k not in ("DEDUP_INDEX", "NO_COLOR", "COLUMNS")}
    base |= {"DEDUP_CONFIG": "", "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "dedup", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=base | env,
        timeout=300,
        input=input,
    )


def _wrapper(corpus, seeds):
    return next((corpus / "gazette/2026/03/04").glob(f"*{seeds.wrapper}"))


# ------------------------------------------------------------------------------------------ tables


def test_piped_tables_hold_every_id_whole(corpus, index, seeds):
    """Piped, scan's and query's tables are as wide as their rows: every id on one line, never cut or
    elided, so a saved table can be searched for an id; query's default is the table, as scan's."""
    scan = _cli_env({}, "scan", corpus)
    assert scan.returncode == 0, scan.stderr
    query = _cli_env({}, "query", _wrapper(corpus, seeds), "--index", index)
    assert query.returncode == 0, query.stderr
    for run, ids in ((scan, (seeds.wrapper, seeds.original)), (query, (seeds.wrapper, seeds.original))):
        out = run.stdout
        assert "…" not in out and "\x1b" not in out
        for name in ids:
            whole = [line for line in out.splitlines() if re.search(rf"{LONG}-\d-{re.escape(name)}", line)]
            assert whole, (name, out)
        assert all(line == line.rstrip() for line in out.splitlines())
    assert "│ A wraps B │" in query.stdout  # the relation is not cut either (the scan's words, issue 28)
    assert "5 documents, 1 cluster covering 2 documents, 1 related pair (0 partial)." in scan.stdout


def test_piped_diff_keeps_the_columns_level(seeds):
    run = _cli_env({}, "diff", seeds.dir / seeds.wrapper, seeds.dir / seeds.original)
    assert run.returncode == 0, run.stderr
    header = next(line for line in run.stdout.splitlines() if "A: " in line and "B: " in line)
    assert len(header) > 100  # one row holds both columns: side by side, not A above B


# ------------------------------------------------------------------------------------------ help


@pytest.mark.parametrize("command", [["scan"], ["query"], ["index", "add"], ["diff"], ["show"], ["serve"]])
def test_help_is_grouped_and_every_option_says_what_and_its_default(command):
    from dedup.cli import build_parser
    from dedup.cli.params import scan_params

    _, commands = build_parser(scan_params())
    parser = commands[" ".join(command)]
    text = parser.format_help()
    titles = [line[:-1] for line in text.splitlines() if re.fullmatch(r"[a-z][^:]*:", line)]
    order = ["arguments", "common options", "input", "output", "detection parameters (see README, Parameters)"]
    order += ["performance (results do not change)"]
    assert titles == [t for t in order if t in titles] and "common options" in titles, titles
    for action in parser._actions:
        if action.help is None or action.dest == "help":
            continue
        assert (
            action.help[0].isupper()
            or action.help[0] in "-.\"'"
            or action.help.split()[0]
            in (
                "text",
                "table",
            )
        ), action.dest
        assert action.help.rstrip().endswith("."), action.dest
        assert len(action.help.split()) >= 4, action.dest  # a sentence, not a placeholder
        assert "parameter (see README, Parameters)" not in action.help, action.dest  # its own sentence
        takes_value = action.nargs != 0 and action.option_strings
        if takes_value:
            assert "default" in action.help, action.option_strings


def test_an_option_the_command_ignores_is_refused_with_its_help():
    run = _cli_env({}, "query", "seeds", "--index", "nowhere", "--candidates", "lsh")
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "dedup: error: unrecognized arguments: --candidates lsh (see 'dedup query --help')"
    ), run.stderr
    run = _cli_env({}, "diff", "a", "b", "-o", "x.html")
    assert run.returncode == 2 and "see 'dedup diff --help'" in run.stderr


# ------------------------------------------------------------------------------------------ completion


def _script(shell: str) -> str:
    run = _cli_env({}, "completion", shell)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_bash_completes_commands_actions_options_and_choices(tmp_path):
    script = tmp_path / "dedup.bash"
    script.write_text(_script("bash"))
    program = (
        f"source {script}\n"
        't() { COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$1"; '
        '[[ "$1" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMPREPLY=(); '
        '_shtab_dedup; echo "${COMPREPLY[*]}"; }\n'
        't "dedup "; t "dedup index "; t "dedup scan --format "; t "dedup completion "; t "dedup scan -"\n'
    )
    out = subprocess.run(["bash", "-c", program], capture_output=True, text=True, cwd=tmp_path).stdout.splitlines()
    assert set(out[0].split()) >= {"scan", "diff", "show", "index", "query", "serve", "completion"}
    assert out[1].split() == ["add", "stats", "remove", "compact"]
    assert out[2].split() == ["table", "summary", "json", "jsonl", "csv", "none"]
    assert out[3].split() == ["bash", "zsh", "fish"]
    assert {"-o", "-q", "-v", "-h", "--help", "--exit-code", "--color", "--near-duplicate"} <= set(out[4].split())


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed (apt-get install fish)")
def test_fish_completes_commands_actions_options_and_choices(tmp_path):
    script = tmp_path / "dedup.fish"
    script.write_text(_script("fish"))
    assert subprocess.run(["fish", "-n", str(script)]).returncode == 0

    def complete(line: str) -> list[str]:
        program = f"source {script}; complete -C '{line}'"
        out = subprocess.run(["fish", "-c", program], capture_output=True, text=True, cwd=tmp_path).stdout
        return [row.split("\t")[0] for row in out.splitlines()]

    assert sorted(complete("dedup index ")) == ["add", "compact", "remove", "stats"]
    assert complete("dedup query --format ") == ["table", "summary", "json", "jsonl", "csv", "none"]
    assert complete("dedup completion ") == ["bash", "zsh", "fish"]
    assert {"-o", "-q", "-v", "--exit-code"} <= set(complete("dedup scan -"))


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed (apt-get install zsh)")
def test_zsh_script_loads_and_holds_commands_options_and_choices(tmp_path):
    """The script loads in zsh (after compinit); its command lists, run with zsh's ``_describe`` replaced by
    a printer, offer the commands and the index's actions, and scan's option specs hold the options and
    --format's choices."""
    script = tmp_path / "_dedup"
    script.write_text(_script("zsh"))
    program = (
        f"autoload -U compinit; compinit -u -d {tmp_path}/zcd; source {script}; "
        '_describe() { print -l -- "${(@P)2}"; }; '
        "_shtab_dedup_commands; print -- ---; _shtab_dedup_index_commands; print -- ---; "
        'print -l -- "${_shtab_dedup_scan_options[@]}"'
    )
    run = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    commands, actions, options = run.stdout.split("---\n")
    names = {c.split(":")[0] for c in commands.splitlines()}
    assert names >= {"scan", "diff", "show", "index", "query", "serve", "completion"}, commands
    assert sorted(a.split(":")[0] for a in actions.splitlines()) == ["add", "compact", "remove", "stats"]
    assert "(table summary json jsonl csv none)" in options and "--exit-code" in options and "-o" in options


# ------------------------------------------------------------------------------------------ exit codes


def test_exit_codes_follow_one_table(seeds, index, corpus, tmp_path):
    found = _cli_env({}, "scan", seeds.dir, "--exit-code", "--format", "none")
    assert found.returncode == 1, found.stderr
    alone = tmp_path / "alone"
    alone.mkdir()
    for name in seeds.others:
        (alone / name).write_bytes((seeds.dir / name).read_bytes())
    assert _cli_env({}, "scan", alone, "--exit-code", "--format", "none").returncode == 0
    q = _cli_env({}, "query", _wrapper(corpus, seeds), "--index", index, "--exit-code", "--format", "none")
    assert q.returncode == 1, q.stderr
    missing = _cli_env({}, "query", seeds.dir, "--index", tmp_path / "nothing")
    assert missing.returncode == 2
    assert "make one with 'dedup index add" in missing.stderr and len(missing.stderr.splitlines()) == 1
    gone = _cli_env({}, "index", "remove", "nosuch", "--index", index)
    assert gone.returncode == 2 and "not in the index: nosuch" in gone.stderr, gone.stderr
    assert len(gone.stderr.splitlines()) == 1


def test_serve_on_a_busy_port_or_a_missing_index_is_one_line_and_status_2(index, tmp_path):
    pytest.importorskip("uvicorn")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = _cli_env({}, "serve", "--index", index, "--port", port)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines() == [
        f"dedup: error: port {port} on 127.0.0.1 is in use by another program; stop it, or pick another port "
        "with --port (0: any free one)"
    ]
    run = _cli_env({}, "serve", "--index", tmp_path / "none", "--port", "0")
    assert run.returncode == 2 and "make one with 'dedup index add" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------ views, colour


def test_show_json_and_color_always(seeds):
    run = _cli_env({}, "show", seeds.dir / seeds.wrapper, "--format", "json")
    assert run.returncode == 0, run.stderr
    import json

    data = json.loads(run.stdout)
    assert data["document"]["id"] == seeds.wrapper and data["cluster"]["source"] == seeds.original
    labels = {p["label"] for p in data["paragraphs"]}
    assert {"wrapper", "syndicated"} <= labels
    (pair,) = data["pairs"]
    assert {pair["a"], pair["b"]} == {seeds.wrapper, seeds.original} and pair["passages"]
    text = (seeds.dir / seeds.wrapper).read_text(encoding="utf-8")
    assert all(0 <= p["start"] < p["end"] <= len(text) for p in data["paragraphs"])

    always = _cli_env({}, "scan", seeds.dir, "--color", "always")
    assert "\x1b[" in always.stdout  # asked for, even into a pipe (piped runs above have none)


def test_no_color_drops_bold_and_italic_too(seeds):
    """On a terminal (a pty), NO_COLOR leaves no escape sequence at all, bold and italic included."""
    import pty

    def on_terminal(env: dict[str, str]) -> bytes:
        master, slave = pty.openpty()
        base = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        cmd = [sys.executable, "-m", "dedup", "show", str(seeds.dir / seeds.wrapper), "--no-progress"]
        proc = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.DEVNULL, cwd=ROOT, env=base | env)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        proc.wait(timeout=120)
        os.close(master)
        return out

    common = {"DEDUP_CONFIG": "", "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "120"}
    assert b"\x1b[1m" in on_terminal(common)  # bold on a terminal
    assert b"\x1b[" not in on_terminal(common | {"NO_COLOR": "1"})


# ------------------------------------------------------------------------------------------ index commands


def test_index_stats_human_on_a_terminal_json_in_a_pipe_and_query_add_confirms(index, seeds, tmp_path):
    import json

    piped = _cli_env({}, "index", "stats", "--index", index)
    assert json.loads(piped.stdout)["articles"] == 4
    text = _cli_env({}, "index", "stats", "--index", index, "--format", "text").stdout
    assert re.search(r"^articles +4$", text, re.M) and "{" not in text
    copy = tmp_path / "ix"
    shutil.copytree(index, copy)
    added = _cli_env({}, "query", seeds.dir / seeds.wrapper, "--index", copy, "--add", "--format", "none")
    assert added.returncode == 0, added.stderr
    assert "dedup: 1 article added to the index, 0 replaced, 0 already there unchanged" in added.stderr


# ------------------------------------------------------------------------------------------ defaults


def test_defaults_from_config_files_and_dedup_index_flags_winning(index, tmp_path):
    """Precedence: flag, DEDUP_INDEX, the project's dedup.toml, the user's config, the built-in default."""
    home = tmp_path / "home"
    (home / "dedup").mkdir(parents=True)
    user = home / "dedup" / "config.toml"
    project = tmp_path / "proj"
    (project / "sub").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"XDG_CONFIG_HOME": str(home)}
    env.pop("DEDUP_CONFIG", None)

    def stats(*args, extra=None, cwd=project / "sub"):
        base = {k: v for k, v in os.environ.items() if k not in ("DEDUP_INDEX", "DEDUP_CONFIG")}
        return subprocess.run(
            [sys.executable, "-m", "dedup", "index", "stats", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=base | {"PYTHONPATH": str(ROOT)} | env | (extra or {}),
            timeout=120,
        )

    none = stats()
    assert none.returncode == 2 and "--index" in none.stderr  # no default anywhere: required
    user.write_text(f'index = "{index}"\n[index-stats]\nformat = "text"\n')
    run = stats()
    assert run.returncode == 0 and re.search(r"^articles +4$", run.stdout, re.M), run.stderr
    (project / "dedup.toml").write_text('[index-stats]\nformat = "json"\nindex = "missing-here"\n')
    run = stats()  # the project's file (found from a subfolder) beats the user's; its path is its folder's
    assert run.returncode == 2 and str(project / "missing-here") in run.stderr, run.stderr
    run = stats(extra={"DEDUP_INDEX": str(index)})  # the environment beats the files
    assert run.returncode == 0 and run.stdout.startswith("{"), run.stderr
    run = stats("--format", "text", extra={"DEDUP_INDEX": str(tmp_path / "nope")}, cwd=elsewhere)
    assert run.returncode == 2  # the flag --format applies, DEDUP_INDEX beats the user's file
    run = stats("--index", index, "--format", "text", extra={"DEDUP_INDEX": str(tmp_path / "nope")})
    assert run.returncode == 0 and "articles" in run.stdout  # flags beat everything
    (project / "dedup.toml").write_text("colour = 1\n")
    run = stats()
    assert run.returncode == 2
    assert run.stderr.strip() == f"dedup: error: {project / 'dedup.toml'}: colour: no command has an option --colour"
