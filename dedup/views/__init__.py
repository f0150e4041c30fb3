"""Showing a scan to a person: what every view shares (``data.py``: the scan as ``ScanData``, a pair in the
order asked for, relation phrases, the bounded extracts of a result), the word diff of a shared passage
(``diff.py``), and its two media, the terminal (``terminal.py``, rich) and the web (``html.py``, Jinja2: the
report, ``--format html`` pages and ``dedup serve``'s pages). Nothing below this package imports it, but for
``ScanResult.compare``'s use of ``data.oriented_pair``.
"""
