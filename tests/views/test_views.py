"""``dedup diff`` and ``dedup show`` in real subprocesses: the scan's vocabulary, agreement with the scan,
saved results, progress, and views that work without colour."""

from __future__ import annotations

import json
import os
import pty
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dedup.views.diff import ELIDE_KEEP
from dedup.views.terminal import MARKS, passage_rows
from dedup.wording import say

pytestmark = [pytest.mark.cli, pytest.mark.slow]  # the real command line in a subprocess

ROOT = Path(__file__).resolve().parents[2]
RELATION_LINE = re.compile(r"^relation: (.*?)(?:\s{2,}|$)", re.M)


def _relation(run) -> str:
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    m = RELATION_LINE.search(run.stdout)
    assert m, run.stdout[:500]
    return m.group(1).strip()


def _edit(text: str, rng: random.Random, n: int = 3) -> str:
    """``text`` with ``n`` words replaced by others, as light edits of a copy do."""
    words = text.split(" ")
    for k in rng.sample(range(len(words)), n):
        words[k] = "zebra"
    return " ".join(words)


@pytest.fixture(scope="module")
def generated(tmp_path_factory, make_kit) -> Path:
    """~40 articles from real bodies: originals with exact copies, wrapped copies, site reposts, edited copies,
    excerpts sharing a passage, and unrelated articles."""
    kit = make_kit(0)
    rng = random.Random(5)
    files: dict[str, str] = {}
    for s in range(6):
        body = kit.body()
        files[f"s{s}/original.txt"] = body
        files[f"s{s}/wrapped.txt"] = kit.wrap(kit.article().take(150, 250) if s % 2 else body, factor=2)
        files[f"s{s}/repost.txt"] = kit.site_repost(body)
        files[f"s{s}/edited.txt"] = _edit(body, rng)
        if s < 2:
            files[f"s{s}/exact.txt"] = body
    for u in range(8):
        files[f"other/{u}.txt"] = kit.body()
    shared = kit.article().take(80, 120)
    files["mix/one.txt"] = "\n\n".join([kit.body(200, 300), shared, kit.body(200, 300)])
    files["mix/two.txt"] = "\n\n".join([kit.body(200, 300), shared, kit.body(200, 300)])
    root = tmp_path_factory.mktemp("generated")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def generated_scan(generated, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("saved") / "result.json"
    env = {**os.environ, "NO_COLOR": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "dedup", "scan", str(generated), "-o", str(out), "--format", "none", "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(out.read_text(encoding="utf-8")), out


def _expected(data: dict, a: str, b: str) -> str:
    """What diff must print for (a, b), from the scan's own pairs: the JSON's phrase with A for a, B for b."""
    for p in data["pairs"]:
        if {p["a"], p["b"]} == {a, b}:
            return say(p["phrase"], "A", "B") if p["a"] == a else say(p["phrase"], "B", "A")
    return "no relation"


def _kind(data: dict, a: str, b: str) -> str:
    """The scan's relation for (a, b), "none" when it lists no pair."""
    return next((p["relation"] for p in data["pairs"] if {p["a"], p["b"]} == {a, b}), "none")


def _sample_pairs(data: dict, n: int = 20) -> list[tuple[str, str]]:
    rng = random.Random(13)
    ids = sorted(d["id"] for d in data["documents"])
    listed = sorted((p["a"], p["b"]) for p in data["pairs"])
    picked = rng.sample(listed, min(len(listed), n // 2))
    picked = [(b, a) if rng.random() < 0.5 else (a, b) for a, b in picked]  # both orientations
    while len(picked) < n:
        a, b = rng.sample(ids, 2)
        if (a, b) not in picked:
            picked.append((a, b))
    return picked


def test_generated_corpus_has_every_relation(generated_scan):
    data, _ = generated_scan
    assert 35 <= len(data["documents"]) <= 45
    relations = {p["relation"] for p in data["pairs"]}
    assert {"exact", "near-duplicate", "contains"} <= relations, relations


def test_diff_agrees_with_scan_on_20_random_pairs(cli, generated, generated_scan):
    data, _ = generated_scan
    pairs = _sample_pairs(data)
    kinds = {_kind(data, a, b) for a, b in pairs}
    assert {"none", "contains"} <= kinds and len(kinds) >= 3, kinds

    def check(pair):
        a, b = pair
        run = cli("diff", generated / a, generated / b, "--corpus", generated)
        return pair, _relation(run)

    with ThreadPoolExecutor(2) as pool:
        for (a, b), got in pool.map(check, pairs):
            assert got == _expected(data, a, b), (a, b, got)


def test_diff_from_saved_scan_agrees_and_gives_json(cli, generated, generated_scan):
    data, saved = generated_scan
    for a, b in _sample_pairs(data)[:8]:
        run = cli("diff", generated / a, b, "--from", saved)  # a path, or an id of the saved scan
        assert _relation(run) == _expected(data, a, b)
        js = cli("diff", a, b, "--from", saved, "--format", "json")
        assert js.returncode == 0, js.stderr
        got = js.json()
        kind = _kind(data, a, b)
        assert got["relation"] == (None if kind == "none" else kind)
        assert got["reads"] == _expected(data, a, b)
        if got["relation"] == "contains":
            assert got["container"] in ("A", "B")


def test_diff_a_with_itself_is_exact(cli, seeds):
    path = seeds.dir / seeds.original
    assert _relation(cli("diff", path, path)) == "A and B are the same text"
    assert _relation(cli("diff", path, path, "--corpus", seeds.dir)) == "A and B are the same text"


def test_diff_never_says_contained_or_unrelated(cli, seeds):
    w, o = seeds.dir / seeds.wrapper, seeds.dir / seeds.original
    assert _relation(cli("diff", w, o, "--corpus", seeds.dir)) == "A wraps B"
    run = cli("diff", o, w, "--corpus", seeds.dir)
    assert _relation(run) == "B wraps A"
    unrelated = cli("diff", o, seeds.dir / seeds.others[0], "--corpus", seeds.dir)
    assert _relation(unrelated) == "no relation"
    for r in (run, unrelated):
        assert "contained" not in r.stdout and "unrelated" not in r.stdout


def _labels_in(stdout: str) -> list[str]:
    return re.findall(r"^\s*\[(syndicated|wrapper|boilerplate|original)\]", stdout, re.M)


def test_show_uses_the_scan_labels_live_and_saved(cli, generated, generated_scan):
    data, saved = generated_scan
    docs = {d["id"]: d for d in data["documents"]}
    for doc_id in ("s0/repost.txt", "s1/wrapped.txt", "mix/one.txt"):
        expected = [p["label"] for p in docs[doc_id]["paragraphs"]]
        live = cli("show", generated / doc_id, "--corpus", generated)
        assert live.returncode == 0, live.stderr
        assert _labels_in(live.stdout) == expected
        from_saved = cli("show", generated / doc_id, "--from", saved)
        assert from_saved.returncode == 0, from_saved.stderr
        assert _labels_in(from_saved.stdout) == expected
        assert from_saved.stdout == live.stdout


def test_show_text_prints_the_text_as_read(cli, seeds):
    run = cli("show", seeds.dir / seeds.original, "--text")
    assert run.returncode == 0, run.stderr
    assert run.stdout.rstrip("\n") == seeds.text(seeds.original).rstrip("\n")


def test_from_a_stale_scan_is_one_line(cli, tmp_path, seeds, write_files):
    folder = write_files(tmp_path / "in", {i: seeds.text(i) for i in seeds.ids})
    saved = tmp_path / "r.json"
    assert cli("scan", folder, "-o", saved, "--format", "none").returncode == 0
    (folder / seeds.original).write_text("changed since", encoding="utf-8")
    run = cli("show", folder / seeds.original, "--from", saved)
    assert run.returncode == 3
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr
    assert seeds.original in lines[0] and "scan" in lines[0]
    missing = cli("diff", "nope.txt", seeds.original, "--from", saved)
    assert missing.returncode == 2 and "nope.txt" in missing.stderr


def _edited_pair(tmp_path, kit) -> tuple[Path, Path, str, str]:
    body = kit.body(400, 600)
    words = body.split(" ")
    k = len(words) // 2
    old = words[k]
    words[k] = "zebrafish"
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(body, encoding="utf-8")
    b.write_text(" ".join(words), encoding="utf-8")
    return a, b, old, body


def test_changed_words_are_marked_in_plain_text(cli, tmp_path, kit):
    a, b, old, _ = _edited_pair(tmp_path, kit)
    run = cli("diff", a, b, "--full")
    assert _relation(run) == "A and B are near-duplicates (direction unknown)"
    word = re.match(r"\w+", old).group()
    assert f"{MARKS[0][0]}{word}" in run.stdout
    assert f"{MARKS[1][0]}zebrafish{MARKS[1][1]}" in run.stdout
    assert "\x1b[" not in run.stdout


def test_long_passages_are_elided_on_word_boundaries(cli, tmp_path, kit):
    a, b, _, body = _edited_pair(tmp_path, kit)
    assert len(body) > 3 * ELIDE_KEEP
    run = cli("diff", a, b)
    assert "more shared characters" in run.stdout and "--full shows them" in run.stdout
    full = cli("diff", a, b, "--full")
    assert "more shared characters" not in full.stdout
    # In process: the kept head ends and the kept tail starts at word boundaries.
    rows = passage_rows(body, body, full=False, marks=True)
    notes = [n for n, (left, _) in enumerate(rows) if "more shared characters" in left.plain]
    assert len(notes) == 1
    head = " ".join(left.plain for left, _ in rows[: notes[0]])
    tail = " ".join(left.plain for left, _ in rows[notes[0] + 1 :])
    words = body.split()
    assert head.split() == words[: len(head.split())]
    assert tail.split() == words[len(words) - len(tail.split()) :]


def test_full_columns_stay_in_step(cli, tmp_path, kit):
    """B has every paragraph of A, but with single line breaks and one paragraph broken in two: each
    paragraph still starts on the same output line in both columns."""
    paragraphs = list(kit.article().paragraphs[:6])
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\n\n".join(paragraphs), encoding="utf-8")
    second = paragraphs[1].split(" ")
    half = len(second) // 2
    b_paras = [paragraphs[0], " ".join(second[:half]), " ".join(second[half:]), *paragraphs[2:]]
    b.write_text("\n".join(b_paras), encoding="utf-8")
    run = cli("diff", a, b, "--full")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    for para in b_paras:
        start = " ".join(para.split()[:3])
        hits = [line for line in lines if start in line]
        assert any(line.count(start) == 2 for line in hits), (start, hits)


def _run_with_tty_stderr(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (so progress is drawn) and stdout on a pipe."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dedup", *args], stdout=subprocess.PIPE, stderr=slave, cwd=cwd, env=env
    )
    os.close(slave)
    # stdout is read beside the terminal: a result larger than a pipe's buffer would otherwise block the
    # child on stdout while this reads the terminal until the child closes it.
    with ThreadPoolExecutor(1) as pool:
        stdout = pool.submit(proc.stdout.read)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        out = stdout.result(timeout=120).decode()
    proc.wait(timeout=120)
    os.close(master)
    return proc.returncode, out, b"".join(chunks).decode(errors="replace")


def test_progress_on_a_terminal_only_and_never_on_stdout(generated, seeds):
    code, out, err = _run_with_tty_stderr(["scan", str(generated), "--format", "json"], ROOT)
    assert code == 0
    json.loads(out)  # stdout is untouched by the progress bar
    assert "read" in err and "/" in err
    code, out, err = _run_with_tty_stderr(["show", str(seeds.dir / seeds.original)], ROOT)
    assert code == 0 and "read" in err
    code, out, err = _run_with_tty_stderr(["show", str(seeds.dir / seeds.original), "-q"], ROOT)
    assert code == 0 and err == ""


def test_names_are_escaped_in_table_views_and_messages(cli, tmp_path, seeds, write_files):
    evil = "copy\x1b]0;pwned\x07\x1b[2J.txt"
    folder = write_files(tmp_path / "in", {i: seeds.text(i) for i in seeds.ids} | {evil: seeds.text(seeds.original)})
    out = tmp_path / "o\x1b[31m.json"
    run = cli("scan", folder, "-o", out, "--format", "table")
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout + run.stderr
    assert "copy\\x1b]0;pwned\\x07\\x1b[2J.txt" in run.stdout
    assert "o\\x1b[31m.json" in run.stderr
    diff = cli("diff", folder / evil, folder / seeds.original)
    assert diff.returncode == 0, diff.stderr
    assert "\x1b" not in diff.stdout + diff.stderr
    show = cli("show", folder / evil)
    assert show.returncode == 0 and "\x1b" not in show.stdout + show.stderr
    bad = cli("scan", folder, "-o", tmp_path / "x\x1b[2J.xlsx")
    assert bad.returncode == 2 and "\x1b" not in bad.stderr and "x\\x1b[2J.xlsx" in bad.stderr


def test_from_reads_records_and_pages_as_the_scan_did(cli, tmp_path, seeds, write_files):
    rows = [{"id": "x1", "body": seeds.text(seeds.original)}, {"id": "x2", "body": seeds.text(seeds.wrapper)}]
    page = "<html><head><title>T</title></head><body><p>One paragraph of a page.</p><p>And another one.</p></body>"
    folder = write_files(
        tmp_path / "in", {"rows.jsonl": "".join(json.dumps(r) + "\n" for r in rows), "page.html": page}
    )
    saved = tmp_path / "r.json"
    run = cli("scan", folder, "-o", saved, "--format", "none", "--text-field", "body", "--id-field", "id")
    assert run.returncode == 0, run.stderr
    assert _relation(cli("diff", "rows.jsonl#x1", "rows.jsonl#x2", "--from", saved)) == "B wraps A"
    show = cli("show", "page.html", "--from", saved)
    assert show.returncode == 0, show.stderr
    assert "One paragraph of a page." in show.stdout and "<p>" not in show.stdout
