"""``dedup serve``: the index behind an HTTP API and web pages (``app.py``); ``python -m dedup.serve``.

The command line's hooks: ``add_parser(subparsers)`` adds the ``serve`` sub-command and ``run(args)``
runs it (returns the exit status); ``serve(...)`` is the same from Python.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

from ..escape import name as shown

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index",
        required=True,
        metavar="LOCATION",
        help="The index to serve: a local folder, or redis://host:port/db#NAME (default: $DEDUP_INDEX, else the "
        "config file's index; see README, Defaults).",
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"Address to listen on (default: {DEFAULT_HOST}, this machine only; 0.0.0.0 for every interface).",
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"Port to listen on (default: {DEFAULT_PORT}; 0: any free one)."
    )
    p.add_argument(
        "--token-file",
        metavar="FILE",
        help="A file holding the token (16 characters or more) that writes (add, replace, remove) must send as "
        "'Authorization: Bearer TOKEN', and that the pages' add form asks for (default: none, read-only).",
    )
    p.add_argument(
        "--max-request",
        default="5MB",
        metavar="SIZE",
        help="Largest request body; a larger one is refused with 413 (default: 5MB).",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="Longest a request may work before it is answered with 503 (default: 30).",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="What the server logs on stderr: info logs one line per request (method, path, status) besides "
        "start-up and errors; warning and above log no requests (default: info).",
    )
    p.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="Server processes answering requests, each with one core's worth of queries; adds are committed "
        "one at a time whichever takes them, and every process answers from the new index after each "
        f"(default: the number of cores, {os.cpu_count() or 1} here; 1: one process).",
    )
    p.add_argument(
        "--show-paths",
        action="store_true",
        help="Show the index's location (and, for Redis, the cache folder and the server's memory) to requests "
        "that send the token (default: hidden from everyone).",
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to a CLI's sub-commands (``argparse``'s ``add_subparsers()`` result)."""
    p = subparsers.add_parser(
        "serve",
        help="the index behind an HTTP API and web pages",
        description="Serve an index: a JSON API under /api/ (OpenAPI at /openapi.json) and web pages to check an "
        "article, see an indexed one and two side by side. Binds to 127.0.0.1 unless --host says otherwise.",
        epilog="exit status: 0 stopped, 2 usage error, a missing or unusable index, or a port in use, 3 failure "
        "while serving, 130 interrupted.",
    )
    add_arguments(p)
    p.set_defaults(run=run)
    return p


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _parse_size(text: str) -> int:
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?B?)\s*", text, re.I)
    if not m:
        raise ValueError(f"invalid size {text!r}: use e.g. 200KB, 5MB")
    scale = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "M": 2**20, "MB": 2**20, "G": 2**30, "GB": 2**30}
    return int(float(m.group(1)) * scale[m.group(2).upper()])


def read_token(path: str) -> bytes:
    """The token in ``path`` (surrounding white space dropped); at least 16 characters."""
    token = Path(path).read_bytes().strip()
    if len(token) < 16:
        raise ValueError(f"{path}: the token must be at least 16 characters")
    return token


def serve(
    index: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token_file: str | None = None,
    max_request: int = 5 * 2**20,
    timeout: float = 30.0,
    log_level: str = "info",
    show_paths: bool = False,
    workers: int | None = None,
) -> int:
    """Open and preload the index, then serve it until interrupted; the exit status. ``PortInUse`` when the
    port is taken. ``workers`` processes (default: the cores) share one listening socket (``workers.py``);
    with one, this process serves.

    Uvicorn's settings: its HTTP/1.1 protocol with a request-head timeout and a cap on idle connections
    (``protocol.py``), request heads of at most 64 KB, 5 s keep-alive, and no ``limit_concurrency`` (it
    counted idle connections, so a few hundred silent ones locked everyone out; ``app.Limits`` bounds the
    requests at work instead)."""
    check_port(host, port)
    token = read_token(token_file) if token_file else None
    count = workers or os.cpu_count() or 1
    settings = {
        "location": index,
        "token": token.hex() if token is not None else None,
        "max_bytes": max_request,
        "timeout": timeout,
        "log_level": log_level,
        "show_paths": show_paths,
        "workers": count,
        "host": host,
        "port": port,
    }
    if count == 1:
        server = _server(settings)
        _announce(server, host)
        server.run()
        return 0
    return _supervise(settings, host, port, count)


def _server(settings: dict[str, Any]) -> Any:
    """A uvicorn server of the app over ``settings`` (``serve``'s, as JSON travels to a worker)."""
    import uvicorn

    from .app import Settings, create_app
    from .protocol import GuardedH11Protocol

    token = settings["token"]
    app = create_app(
        Settings(
            location=settings["location"],
            token=bytes.fromhex(token) if token is not None else None,
            max_bytes=settings["max_bytes"],
            timeout=settings["timeout"],
            show_paths=settings["show_paths"],
            processes=settings["workers"],
            writer=settings.get("writer"),
        )
    )
    log_level = settings["log_level"]
    config = uvicorn.Config(
        app,
        log_level=log_level,
        log_config=_log_config(),
        access_log=log_level in ("info", "debug"),
        http=GuardedH11Protocol,
        server_header=False,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=64 * 1024,
        host=settings["host"],
        port=settings["port"],
    )
    return uvicorn.Server(config)


def _supervise(settings: dict[str, Any], host: str, port: int, count: int) -> int:
    """``count`` worker processes on one socket (``workers.Supervisor``), once the index is known usable."""
    import socket

    from ..index import open_index
    from ..index.service import check_params
    from ..options import ScanOptions
    from .workers import Supervisor, listen

    index = open_index(settings["location"])  # a missing or unusable index: one line here, not one a worker
    check_params(index, ScanOptions(workers=1))
    index.close()
    if not _loopback_only(host):
        print(f"dedup: warning: listening on {host}, reachable from other machines", file=sys.stderr)
    sock = listen(host, port)
    supervisor = Supervisor(sock, count, settings)
    supervisor.install()
    try:
        supervisor.start()
    except RuntimeError as e:
        print(f"dedup: error: {e}", file=sys.stderr)
        return 3
    if supervisor.stopping is None:
        addr = sock.getsockname()
        shown_host = f"[{addr[0]}]" if sock.family == socket.AF_INET6 else addr[0]
        print(f"dedup: serving on http://{shown_host}:{addr[1]}/ ({count} workers)", file=sys.stderr, flush=True)
    return supervisor.run()


def run_worker(settings: dict[str, Any]) -> None:
    """One worker of ``_supervise``: the app on the inherited socket ``settings["fd"]``; it writes a line to
    the pipe ``settings["ready"]`` once it listens."""
    import socket

    from ..index.shards import use_receipts
    from .writer import receipts_folder

    use_receipts(receipts_folder(settings))  # the shards its writer checked: taken, not checked again
    server = _server(settings)
    sock = socket.socket(fileno=settings["fd"])
    started = server.startup

    async def startup(sockets: Any = None) -> None:
        await started(sockets=sockets)
        # A worker started again after one died: the supervisor no longer waits for the line.
        with contextlib.suppress(BrokenPipeError):
            os.write(settings["ready"], f"{os.getpid()}\n".encode())
        os.close(settings["ready"])

    server.startup = startup
    server.run(sockets=[sock])


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with its request lines on stderr too (uvicorn sends them to stdout): as every
    dedup command, the server says what it does on stderr."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


class PortInUse(Exception):
    """The address to listen on is taken (or not this machine's): one line, exit status 2."""


def check_port(host: str, port: int) -> None:
    """Bind ``host:port`` as uvicorn will (SO_REUSEADDR) and let go, so that a busy port is one line with the
    next step rather than uvicorn's raw ``[Errno 98]`` after the index was loaded."""
    import errno
    import socket

    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise PortInUse(f"cannot listen on {host}: {e.strerror or e}; check --host") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"port {port} on {host} is in use by another program; stop it, or pick another port with "
                    "--port (0: any free one)"
                ) from None
            raise PortInUse(f"cannot listen on {host}:{port}: {e.strerror or e}; check --host and --port") from None


def _announce(server: Any, host: str) -> None:
    """Print the address once the socket is bound (port 0 picks one), for people and tests."""
    started = server.startup

    async def startup(sockets: Any = None) -> None:
        await started(sockets=sockets)
        for s in server.servers:
            for sock in s.sockets:
                addr = sock.getsockname()
                shown_host = f"[{addr[0]}]" if ":" in addr[0] else addr[0]
                print(f"dedup: serving on http://{shown_host}:{addr[1]}/", file=sys.stderr, flush=True)

    server.startup = startup
    if not _loopback_only(host):
        print(f"dedup: warning: listening on {host}, reachable from other machines", file=sys.stderr)


def _loopback_only(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (``0``, ``0.0.0.0``, a name that resolves
    elsewhere, or one that does not resolve: not)."""
    import socket

    try:
        addrs = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False
    try:
        return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    """``dedup serve`` from parsed arguments; the exit status (README, Exit codes)."""
    from ..index import StoreError

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        print("dedup: error: dedup serve needs the serve extra: pip install 'dedup[serve]'", file=sys.stderr)
        return 2
    try:
        max_request = _parse_size(args.max_request)
    except ValueError as e:
        print(f"dedup: error: --max-request: {e}", file=sys.stderr)
        return 2
    try:
        status = serve(
            args.index,
            args.host,
            args.port,
            args.token_file,
            max_request,
            args.timeout,
            args.log_level,
            args.show_paths,
            args.workers,
        )
    except StoreError as e:
        from ..index import with_next_step

        print(f"dedup: error: {shown(with_next_step(str(e)))}", file=sys.stderr)
        return 2
    except PortInUse as e:
        print(f"dedup: error: {e}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as e:
        print(f"dedup: error: {shown(e)}", file=sys.stderr)
        return 3 if isinstance(e, OSError) and not isinstance(e, FileNotFoundError) else 2
    except KeyboardInterrupt:
        return 130
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dedup serve", description=add_parser.__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
