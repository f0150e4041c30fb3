"""Writing a result out: the four tables and their fixed schemas (``tables.py``), the JSON contract as text
(``jsontext.py``), and the files ``-o FILE`` writes and stdout (``write.py``: checked before the scan, written
as a set). This package imports nothing above it: a result reaches it as its JSON chunks and table batches,
and the HTML report as a function that renders it (``dedup.views.html``).
"""

from .write import (
    OUTPUT_SUFFIXES,
    SIBLINGS,
    STDOUT_FORMATS,
    OutputError,
    OutputPlan,
    Written,
    json_bytes,
    output_files,
    plan_output,
    skipped_files,
    write_frame,
    write_json,
    write_output,
    write_output_of,
    write_stdout,
    write_stdout_of,
    write_table,
)

__all__ = [
    "OUTPUT_SUFFIXES",
    "SIBLINGS",
    "STDOUT_FORMATS",
    "OutputError",
    "OutputPlan",
    "Written",
    "json_bytes",
    "output_files",
    "plan_output",
    "skipped_files",
    "write_frame",
    "write_json",
    "write_output",
    "write_output_of",
    "write_stdout",
    "write_stdout_of",
    "write_table",
]
