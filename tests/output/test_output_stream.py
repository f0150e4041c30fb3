"""The result written batch by batch (``ScanResult.json_chunks``, ``table_batches``, ``output.write_table``) is
what the whole result built at once gives: the JSON byte for byte (``json_bytes(to_dict())``), the tables row
for row, whatever the batch size."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import scan
from dedup.output import json_bytes, jsontext, write_frame, write_table
from dedup.output.tables import TABLES, covering, shared_with, tables_from_dict

BATCHES = (1, 3, 50_000)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, seeds):
    """Seeds, copies of the original under names JSON and CSV must escape, an HTML page whose title holds
    quotes, a backslash and controls, and a name that is not UTF-8."""
    root = tmp_path_factory.mktemp("hostile")
    original = seeds.text(seeds.original)
    files = {
        **{i: seeds.text(i) for i in seeds.ids},
        'q"uote\\back.txt': original,
        "=formula,comma.txt": "An intro of this copy.\n\n" + original,
        "tab\there\nnewline.txt": original + "\n\nA footer of this one.",
        "sub/päge.html": '<html><head><title>He said "hi" \\ \x01 there</title></head><body>'
        + "".join(f"<p>{p}</p>" for p in original.split("\n\n"))
        + "</body></html>",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    with open(os.path.join(os.fsencode(root), b"caf\xe9.txt"), "wb") as f:
        f.write(original.encode("utf-8"))
    return scan(root)


def test_json_text_is_json_dumps_byte_for_byte(hostile):
    want = json_bytes(hostile.to_dict())
    assert b'\\"' in want and b"\\\\x" in want  # the corpus does exercise the escapes
    for rows in BATCHES:
        assert "".join(hostile.json_chunks(rows)).encode("utf-8", "backslashreplace") == want, rows


def test_tables_are_the_whole_result_s_in_any_batch_size(hostile):
    reference = tables_from_dict(hostile.to_dict())  # the tables built from the JSON contract, in its order
    reference["paragraphs"] = reference["paragraphs"].with_columns(pl.col("shared_with").list.sort())
    assert reference["paragraphs"]["shared_with"].list.len().max() >= 2
    for rows in BATCHES:
        for table in TABLES:
            got = pl.concat(list(hostile.table_batches(table, rows)))
            want = reference[table]
            if table in ("pairs", "passages"):  # the tables keep phase 2's pair order, the JSON sorts by id
                got, want = got.sort(got.columns), want.sort(want.columns)
            assert got.schema == want.schema and got.equals(want), (table, rows)


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet"])
def test_a_table_written_in_batches_is_the_table_written_whole(hostile, tmp_path, kind):
    for table in TABLES:
        whole = pl.concat(list(hostile.table_batches(table)))
        buffer = io.BytesIO()
        write_frame(whole, kind, buffer)
        for rows in (1, 3):
            target = tmp_path / f"{table}-{rows}.{kind}"
            write_table(hostile.table_batches(table, rows), kind, target)
            if kind == "parquet":  # one valid file, its row groups as written
                got = pl.read_parquet(target)
                assert got.schema == whole.schema and got.equals(whole), (table, rows)
            else:
                assert target.read_bytes() == buffer.getvalue(), (table, rows)
    assert [p.name for p in tmp_path.iterdir() if p.suffix != f".{kind}"] == []  # no staged parts left


@settings(deadline=None)
@given(st.lists(st.text(), max_size=20))
def test_json_strings_as_json_escapes_them(texts):
    texts = [t.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for t in texts]  # polars holds UTF-8
    got = jsontext.strings(pl.Series(texts, dtype=pl.Utf8)).to_list()
    assert got == [json.dumps(t, ensure_ascii=False) for t in texts]


@settings(deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False) | st.floats(0, 1), max_size=50))
def test_json_floats_as_python_writes_them_rounded(values):
    s = pl.Series(values, dtype=pl.Float64).round(4)
    assert jsontext.literals(s).to_list() == [json.dumps(v) for v in s.to_list()]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_covering_is_shared_with_vectorised(data):
    n_docs = data.draw(st.integers(1, 4))
    paragraphs, spans = [], []
    for d in range(n_docs):
        cuts = sorted(data.draw(st.lists(st.integers(0, 200), max_size=8)))
        paragraphs.append([(a, b) for a, b in zip(cuts[::2], cuts[1::2])])
        for other in data.draw(st.lists(st.integers(0, 5), max_size=3, unique=True)):
            n = data.draw(st.integers(1, 3))
            s = [sorted(data.draw(st.tuples(st.integers(0, 200), st.integers(0, 200)))) for _ in range(n)]
            spans.append((d, other, np.array(s, dtype=np.int64)))
    offsets = np.cumsum([0] + [len(p) for p in paragraphs])
    flat = np.array([p for ps in paragraphs for p in ps], dtype=np.int64).reshape(-1, 2)
    span_doc = np.array([d for d, _, s in spans for _ in s], dtype=np.int64)
    span_other = np.array([o for _, o, s in spans for _ in s], dtype=np.int64)
    rows = np.concatenate([s for _, _, s in spans]) if spans else np.zeros((0, 2), dtype=np.int64)
    para, other = covering(offsets, flat[:, 0], flat[:, 1], span_doc, rows[:, 0], rows[:, 1], span_other)
    got = sorted(zip(para.tolist(), other.tolist()))
    want = []
    for d, ps in enumerate(paragraphs):
        mine = [(str(o), s) for dd, o, s in spans if dd == d]
        for k, who in enumerate(shared_with(ps, mine)):
            want += [(int(offsets[d]) + k, int(o)) for o in who]
    assert got == sorted(want)


@pytest.fixture(scope="module")
def two_clusters(tmp_path_factory, seeds):
    """The seeds (the wrapper and its original: one cluster) and a copy of another seed: a second cluster."""
    root = tmp_path_factory.mktemp("two")
    for i in seeds.ids:
        (root / i).write_text(seeds.text(i), encoding="utf-8")
    (root / "copy-of-002.txt").write_text("A new intro.\n\n" + seeds.text(seeds.others[0]), encoding="utf-8")
    return scan(root)


def test_the_terminal_table_is_bounded_and_says_so(two_clusters):
    from rich.console import Console

    from dedup.views.data import terminal_extract
    from dedup.views.terminal import clusters_table

    def shown(view) -> str:
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(clusters_table(view))
        return console.export_text()

    whole = shown(two_clusters.to_dict())
    assert shown(terminal_extract(two_clusters, 2, 2)) == whole  # within the bound: the table of the whole contract
    one = shown(terminal_extract(two_clusters, 1, 0))
    assert "and 1 more clusters" in one and "copy-of-002.txt" not in one
    assert whole.splitlines()[-1] == one.splitlines()[-1]  # the counts are the whole result's


def test_the_html_report_is_bounded_and_says_so(two_clusters, monkeypatch):
    from dedup.views import html as report_html

    # ids carry <wbr> after their separators (a browser breaks them only there); the text a reader sees is whole
    whole = report_html.report_html(two_clusters).replace("<wbr>", "")
    assert "copy-of-002.txt" in whole and "shows the first" not in whole
    monkeypatch.setattr(report_html, "MAX_ENTRIES", 1)
    one = report_html.report_html(two_clusters).replace("<wbr>", "")
    assert "shows the first 1 of 2 entries" in one and "copy-of-002.txt" not in one
    assert "2 clusters" in one  # the summary counts the whole result
