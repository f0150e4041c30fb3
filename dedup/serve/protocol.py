"""Uvicorn's HTTP/1.1 protocol with the limits a server facing the network needs and uvicorn lacks.

- A request head must arrive within ``HEAD_SECONDS`` of the connection opening (or of the last answer on a
  kept-alive one); uvicorn has no such timeout, so connections that never send a request stayed open forever.
- At most ``MAX_IDLE`` connections wait for a request head at once; one more closes the one that has waited
  longest (a client that sends its request at once is never the oldest). Uvicorn's ``limit_concurrency``
  counts idle connections too, so 256 silent ones locked every other client out; it is not used.
- Uvicorn's own answer to a request it cannot parse (``Content-Length: abc``) is JSON with the security
  headers, as every other error of the server.

Uvicorn answers by itself in two more cases, left as they are (plain text, without these headers): a 500
when the application fails before answering (``app.py`` answers every error itself) and a 503 when
``limit_concurrency`` is reached (not set here).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS = 10.0
MAX_IDLE = 512
SECURITY_HEADERS: list[tuple[bytes, bytes]] = []  # filled by app.py: the headers every answer carries


class GuardedH11Protocol(H11Protocol):
    """``H11Protocol`` with a request-head timeout, a cap on idle connections and JSON for its own 400."""

    idle: OrderedDict[GuardedH11Protocol, None] = OrderedDict()  # waiting for a request head, oldest first

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._wait_for_head()

    def _wait_for_head(self) -> None:
        self._stop_waiting()
        idle = GuardedH11Protocol.idle
        while len(idle) >= MAX_IDLE:
            oldest, _ = idle.popitem(last=False)
            oldest._close_idle()
        idle[self] = None
        self._head_timer = self.loop.call_later(HEAD_SECONDS, self._close_idle)

    def _stop_waiting(self) -> None:
        GuardedH11Protocol.idle.pop(self, None)
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _close_idle(self) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a request head arrived: it is being answered
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.DONE):
            self._wait_for_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": "invalid HTTP request", "status": 400}).encode()
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *SECURITY_HEADERS,
        ]
        try:
            self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request")))
            self.transport.write(self.conn.send(h11.Data(data=body)))
            self.transport.write(self.conn.send(h11.EndOfMessage()))
        except h11.LocalProtocolError:
            pass
        self.transport.close()


def protocol_class(**_: Any) -> type[GuardedH11Protocol]:
    return GuardedH11Protocol
