"""Private ``redis-server``s for the security tests: plain, password-protected (``--requirepass``) and TLS
(a throwaway CA and server certificate made with ``openssl``). Each on a free loopback port, no persistence;
``stop`` kills it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str  # without credentials
    proc: subprocess.Popen

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def _wait(port: int, proc: subprocess.Popen) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError("redis-server exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def start(tmp: Path, *extra: str, tls: bool = False) -> Server:
    """A redis-server on a free port with ``extra`` arguments (``--requirepass X``; TLS: ``tls_files``'s)."""
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--dir", str(tmp), "--save", "", "--appendonly", "no"]
    args += ["--port", "0", "--tls-port", str(port)] if tls else ["--port", str(port)]
    proc = subprocess.Popen([*args, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(port, proc)
    return Server(f"{'rediss' if tls else 'redis'}://127.0.0.1:{port}/0", proc)


def tls_supported() -> bool:
    """Whether this redis-server was built with TLS (it then accepts ``--tls-port``)."""
    if shutil.which("redis-server") is None or shutil.which("openssl") is None:
        return False
    out = subprocess.run(
        ["redis-server", "--port", "0", "--tls-port", "0", "--save", ""], capture_output=True, text=True, timeout=10
    )
    return "Bad directive" not in out.stdout + out.stderr


def tls_files(tmp: Path, name: str = "ca") -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it (openssl, a few ms)."""
    files = {k: tmp / f"{name}-{k}.pem" for k in ("ca", "ca-key", "cert", "key")}
    run = [*["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"], "-subj", f"/CN={name}-test-ca"]
    subprocess.run([*run, "-keyout", files["ca-key"], "-out", files["ca"]], check=True, capture_output=True)
    csr = tmp / f"{name}.csr"
    subprocess.run(
        [
            *["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"],
            "-keyout",
            files["key"],
            "-out",
            csr,
        ],
        check=True,
        capture_output=True,
    )
    ext = tmp / f"{name}.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(
        [*["openssl", "x509", "-req", "-days", "1", "-CAcreateserial"], "-in", csr, "-CA", files["ca"], "-CAkey"]
        + [files["ca-key"], "-out", files["cert"], "-extfile", ext],
        check=True,
        capture_output=True,
    )
    return files
