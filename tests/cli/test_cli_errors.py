"""No traceback ever reaches a user: unexpected errors, a closed pipe and Ctrl-C, in real subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}

# Runs the real CLI with the pipeline's scan replaced by a bug, as a stand-in for any unexpected error.
BUGGY = """
import sys
import dedup.cli as cli
import dedup.pipeline
def boom(*args, **kwargs):
    raise RuntimeError("something broke\\n\\x1b[2Jon two lines")
dedup.pipeline.scan = boom
sys.exit(cli.main(sys.argv[1:]))
"""


def _python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=120, **kwargs
    )


def test_an_unexpected_error_is_one_line_with_a_hint(tmp_path):
    run = _python("-c", BUGGY, "scan", "seeds/")
    assert run.returncode == 3
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("dedup: error: RuntimeError: something broke")
    assert "--debug" in lines[0]
    assert "\x1b" not in run.stderr


def test_debug_shows_the_trace():
    run = _python("-c", BUGGY, "scan", "seeds/", "--debug")
    assert run.returncode == 3
    assert "Traceback" in run.stderr
    assert "RuntimeError" in run.stderr


def test_closed_stdout_exits_quietly():
    """The reader closes the pipe before dedup writes (| head -c0, | false): exit 141, nothing on stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dedup", "scan", "seeds/", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=ENV,
    )
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141
    assert err.decode() == ""


def test_pipe_into_head_and_false_has_no_traceback(tmp_path, seeds, write_files):
    folder = write_files(tmp_path / "in", {f"{n:03d}-{i}": seeds.text(i) for n in range(30) for i in seeds.ids})
    for reader in ("head -c1", "false", "head -n2"):
        cmd = f"set -o pipefail; {sys.executable} -m dedup scan {folder} --format json | {reader} >/dev/null"
        run = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=120)
        assert run.stderr == "", (reader, run.stderr)
        assert run.returncode in (0, 1, 141), (reader, run.returncode)  # 1: false's own status


def test_ctrl_c_is_one_line_and_130(tmp_path, seeds, write_files):
    folder = write_files(tmp_path / "in", {f"{n:04d}-{i}": seeds.text(i) for n in range(400) for i in seeds.ids})
    proc = subprocess.Popen(
        [sys.executable, "-m", "dedup", "scan", str(folder), "--verbose", "--workers", "1", "--format", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=ENV,
        text=True,
    )
    first = proc.stderr.readline()  # "dedup: read ...": the scan has started, the handler is in place
    assert first.startswith("dedup: "), first
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    proc.wait(timeout=120)
    assert "Traceback" not in rest
    if proc.returncode == 0:  # the scan finished first: nothing to check
        return
    assert proc.returncode == 130, rest
    assert rest.strip().splitlines()[-1] == "dedup: interrupted"


def test_usage_errors_are_one_line(cli, tmp_path):
    for args in (["scan"], ["nope"], ["scan", "seeds/", "--k", "x"], ["diff", "seeds/"], ["show"]):
        run = cli(*args)
        assert run.returncode == 2, args
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1, (args, run.stderr)
        assert lines[0].startswith("dedup: error: ")


def test_help_shows_parameters_with_defaults(cli):
    run = cli("scan", "--help")
    assert run.returncode == 0
    text = " ".join(run.stdout.split())
    for flag, default in [
        ("--k", "5"),
        ("--num-perm", "128"),
        ("--near-duplicate", "0.8"),
        ("--contains", "0.5"),
        ("--partial-min-shared", "50"),
        ("--boilerplate-min-docs", "3"),
        ("--max-file-size", "50MB"),
        ("--workers", "all cores"),
    ]:
        assert flag in text, flag
        at = text.index(flag + " ")
        assert f"(default: {default})" in text[at:], flag
    for flag in ("--text-field", "--id-field", "--date-field", "--url-field", "--encoding", "--follow-links"):
        assert flag in text
    for flag in ("--strict", "--force", "--quiet", "--verbose", "--debug"):
        assert flag in text
