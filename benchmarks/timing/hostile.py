"""Hostile inputs, before and after issue 27: the same probes against two source trees, in one run.

    git archive d189e38 | tar -x -C /tmp/before        # the code before the fixes
    python -m benchmarks.timing.hostile --before /tmp/before [--after .] [--skip-server]

Each probe runs in a fresh interpreter with ``PYTHONPATH`` set to the tree it measures:

- ``html``: ``extract`` of N nested ``<div>`` (25k, 50k before, where it is quadratic; 25k, 100k, 400k after);
- ``server``: ``dedup serve --timeout 1`` on the seeds, with a second process polling ``/api/health`` every
  20 ms: a POST /api/query of 100k nested ``<div>`` (its answer and time, health's slowest answer); six
  concurrent 4.7 MB HTML queries (their answers, health's slowest, the server's CPU seconds in the 3 s after
  the answers, its peak RSS); 300 idle connections, then GET /api/stats (its status);
- ``csv``: the peak RSS of reading a CSV whose one line is 200 MB (the per-record limit 50 MB);
- ``parquet``: the peak RSS of reading 8 rows x 40 MB of text in one row group (350 KB of zstd).

Prints one JSON object with the load average beside each probe.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(tree: Path, code: str, timeout: float = 900) -> dict:
    """Run ``code`` (which prints one JSON object last) with ``tree`` first on the path; adds the peak RSS."""
    # VmHWM, not ru_maxrss: the latter keeps the high-water mark of the forked parent across exec.
    script = code + "\nimport re as _re\nprint('PEAK', int(_re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status')"
    script += ".read()).group(1)) // 1024)\n"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tree, env=env, capture_output=True, text=True, timeout=timeout
    )
    lines = out.stdout.strip().splitlines()
    result = json.loads(lines[-2]) if len(lines) >= 2 else {"error": out.stderr[-500:]}
    result["peak_mb"] = int(lines[-1].split()[1]) if lines and lines[-1].startswith("PEAK") else None
    result["seconds"] = round(time.perf_counter() - t, 2)
    result["load"] = os.getloadavg()[0]
    return result


HTML = """
import json, time
from dedup.ingest.html import extract
n = {n}
t = time.perf_counter(); page = extract("<div>" * n + "some words"); took = time.perf_counter() - t
print(json.dumps({{"n": n, "extract_s": round(took, 3), "text": page.text}}))
"""

CSV = """
import json
from dedup.ingest import read_file
out = [type(x).__name__ for x in read_file({path!r})]
print(json.dumps({{"read": out}}))
"""

PARQUET = """
import json
from dedup.ingest import read_file
out = [(type(x).__name__, getattr(x, "reason", "")[:80]) for x in read_file({path!r})]
print(json.dumps({{"read": out}}))
"""

SERVER = r"""
import json, os, socket, subprocess, sys, tempfile, time, re
from concurrent.futures import ThreadPoolExecutor
import httpx
from dedup import ScanOptions
from dedup.index import open_index, service
tmp = tempfile.mkdtemp()
index = open_index(tmp + "/i", params=service.store_params(ScanOptions(workers=1)), create=True)
service.add(index, ["seeds"], ScanOptions(workers=1))
proc = subprocess.Popen([sys.executable, "-m", "dedup.serve", "--index", tmp + "/i", "--port", "0", "--timeout", "1"],
                        stderr=subprocess.PIPE, text=True)
while True:
    line = proc.stderr.readline()
    m = re.search(r"serving on (http://127\.0\.0\.1:\d+)/", line)
    if m:
        url = m.group(1); break
import threading
threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # its log, drained
WATCH = '''
import sys, time, httpx
c = httpx.Client(base_url=sys.argv[1], timeout=None)
print("ready", flush=True)
while True:
    t = time.perf_counter(); c.get("/api/health"); print(time.perf_counter() - t, flush=True); time.sleep(0.02)
'''
def watched(fn):
    w = subprocess.Popen([sys.executable, "-c", WATCH, url], stdout=subprocess.PIPE, text=True)
    w.stdout.readline()
    out = fn()
    time.sleep(0.5); w.terminate(); times = [float(x) for x in w.communicate()[0].split()]
    return out, round(max(times), 3), round(sorted(times)[int(0.9 * (len(times) - 1))], 3)
def cpu(pid):
    total = 0
    for p in [pid] + [int(e) for e in os.listdir("/proc") if e.isdigit() and open(f"/proc/{e}/stat").read().rsplit(")", 1)[1].split()[1] == str(pid)]:
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split(); total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total
def rss(pid):
    return int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1)) // 1024
c = httpx.Client(base_url=url, timeout=600)
res = {}
body = json.dumps({"html": "<div>" * 100_000 + "some words here"}).encode()
def nested():
    t = time.perf_counter(); r = c.post("/api/query", content=body, headers={"content-type": "application/json"})
    return r.status_code, round(time.perf_counter() - t, 2)
(res["nested_status"], res["nested_s"]), res["nested_health_worst_s"], res["nested_health_p90_s"] = watched(nested)
para = "<div><p>" + " ".join(f"word{i % 97}" for i in range(40)) + "</p></div>\n"
big = json.dumps({"html": para * (4_700_000 // len(para))}).encode()
def six():
    with ThreadPoolExecutor(6) as pool:
        t = time.perf_counter()
        got = list(pool.map(lambda _: c.post("/api/query", content=big, headers={"content-type": "application/json"}).status_code, range(6)))
        return got, round(time.perf_counter() - t, 2)
(res["six_status"], res["six_s"]), res["six_health_worst_s"], res["six_health_p90_s"] = watched(six)
before = cpu(proc.pid); time.sleep(3); res["six_cpu_s_after_answers"] = round(cpu(proc.pid) - before, 2)
res["server_peak_rss_mb"] = rss(proc.pid)
host, port = url.removeprefix("http://").split(":")
idle = [socket.create_connection((host, int(port))) for _ in range(300)]
time.sleep(0.3)
r = httpx.get(url + "/api/stats", timeout=30)
res["idle300_stats_status"] = r.status_code
res["idle300_content_type"] = r.headers.get("content-type")
for s in idle:
    s.close()
print(json.dumps(res), flush=True)
proc.kill(); proc.wait(30)
os._exit(0)
"""  # noqa: E501


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", type=Path, required=True, help="a source tree of the code before the fixes")
    ap.add_argument("--after", type=Path, default=ROOT)
    ap.add_argument("--skip-server", action="store_true")
    ap.add_argument("--sides", default="before,after", help="which trees to measure (before, after)")
    ap.add_argument("--probes", default="html,csv,parquet,server", help="which probes to run")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="hostile-bench-"))
    csv_path = tmp / "long.csv"
    with open(csv_path, "w") as f:
        f.write("id,text\n1,first article with words\n2,")
        for _ in range(200):
            f.write("x" * (1 << 20))
        f.write("\n3,third article with words\n")
    pq_path = tmp / "bomb.parquet"
    make = (  # in a child, so this process stays small
        "import polars as pl\nbig = 'word ' * (8 << 20)\n"
        "pl.DataFrame({'id': [str(i) for i in range(8)], 'text': [f'{i} {big}' for i in range(8)]})"
        f".write_parquet({str(pq_path)!r}, compression='zstd', row_group_size=8)\n"
    )
    subprocess.run([sys.executable, "-c", make], check=True)
    out: dict = {"parquet_file_bytes": pq_path.stat().st_size}
    probes = set(args.probes.split(","))
    sides = (("before", args.before, (25_000, 50_000)), ("after", args.after, (25_000, 100_000, 400_000)))
    for label, tree, sizes in sides:
        if label not in args.sides.split(","):
            continue
        side: dict = {}
        if "html" in probes:
            side["html"] = [_run(tree, HTML.format(n=n)) for n in sizes]
        if "csv" in probes:
            side["csv"] = _run(tree, CSV.format(path=str(csv_path)))
        if "parquet" in probes:
            side["parquet"] = _run(tree, PARQUET.format(path=str(pq_path)))
        if "server" in probes and not args.skip_server:
            side["server"] = _run(tree, SERVER)
        out[label] = side
        print(json.dumps({label: side}), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
