"""``dedup serve``: the index behind a JSON API (``/api/``) and server-rendered pages, on Starlette.

Why Starlette (with uvicorn): a small, well-kept ASGI toolkit (encode's, the base FastAPI is built on)
whose few dependencies (anyio) add no validation layer we would fight: requests here are checked by
hand so that every bad one is a 4xx with a one-line JSON error, and the OpenAPI description is a
plain dict (``openapi.py``). Uvicorn is the reference ASGI server.

Readers and the writer: queries read an immutable *snapshot* of the index (opened once, preloaded,
never re-reading its manifest), so any number run at once in the thread pool and never wait on a
write. Writes (add, replace, remove) go one at a time through an ``asyncio.Lock`` to a separate
writer handle (which also takes the index's own cross-process write lock), then a new snapshot is
opened, sharing the unchanged shards with the old one, preloaded and swapped in; requests already
running finish on the old one (a merged-away shard stays readable for ``shards.TRASH_SECONDS``). A
server killed at any moment leaves what the index's commits leave: whole shards only.

Safety: loopback by default; writes need ``Authorization: Bearer <token>`` compared in constant time
with the ``--token-file``'s (no token file: writes are refused); the body is capped (``max_bytes``,
checked on Content-Length and while reading) and a request's work is timed out; no request names a
file the server reads (an upload's file name is only its id); every page is Jinja2-autoescaped and
sent with a Content-Security-Policy forbidding scripts; every error is JSON under ``/api/``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..escape import name as shown
from ..index import open_index
from ..index.service import add_articles, query_articles
from ..ingest.model import Article, Skipped, clean_text
from ..ingest.reader import read_upload
from ..options import ScanOptions
from ..views import html
from ..views.data import ScanData
from .openapi import OPENAPI

log = logging.getLogger("dedup.serve")

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
MAX_BATCH = 1000  # articles in one add request


class ApiError(Exception):
    """A request the server refuses: a status and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Settings:
    location: str
    token: bytes | None = None
    max_bytes: int = 5 * 2**20
    timeout: float = 30.0
    options: ScanOptions = field(default_factory=lambda: ScanOptions(workers=1))


# ---------------------------------------------------------------------------------------------- the index


def snapshot(location: str, *previous: Any) -> Any:
    """The index at ``location`` opened for readers: preloaded, and frozen (it never re-reads its manifest,
    so one request sees one set of shards). Shard objects of ``previous`` handles (the writer, the last
    snapshot) still listed are shared as they are (a shard never changes), so only new shards are loaded,
    and a shard the writer merges away is followed into the index's trash, where it stays readable for
    ``shards.TRASH_SECONDS`` (the writer's ``_retire`` moves the shared object's path)."""
    index = open_index(location)
    taken: set[str] = set()
    for prev in previous:  # the writer's first: its objects are the ones it moves
        shared = getattr(prev, "_shards", None) or {}
        for name in index.shard_names:
            if name in shared and name not in taken:
                index._shards[name] = shared[name]
                taken.add(name)
    index.preload()
    index.refresh = lambda: None  # frozen: see above
    return index


class Service:
    """The reader snapshot, the writer and the write queue."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.writer = open_index(settings.location)
        self.writer.merge_after_append = False  # merged after the answer: see ``write``
        self.reader = snapshot(settings.location, self.writer)
        self.lock = asyncio.Lock()
        self.started = time.time()
        self._merging: asyncio.Task | None = None
        # Reads run at most a few at a time (one per core, at least two): more threads would only share the
        # GIL more thinly, and starve the writer's thread, which then answers adds seconds late.
        self.read_slots = asyncio.Semaphore(max(2, os.cpu_count() or 1))

    async def read(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(reader, *args)`` in the thread pool on the current snapshot, within the time limit."""

        async def run() -> Any:
            async with self.read_slots:
                return await run_in_threadpool(fn, self.reader, *args)

        try:
            return await asyncio.wait_for(run(), self.settings.timeout)
        except TimeoutError:
            raise ApiError(503, f"the request took longer than {self.settings.timeout:g} s") from None

    async def write(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(writer, *args)`` alone (writes queue here), then swap in a new reader snapshot. The
        shards' tiered merge runs after the answer, still alone (the next write waits for it; reads never)."""
        async with self.lock:

            def work() -> Any:
                out = fn(self.writer, *args)
                return out, snapshot(self.settings.location, self.writer, self.reader)

            out, self.reader = await run_in_threadpool(work)
        if self._merging is None or self._merging.done():
            self._merging = asyncio.create_task(self._merge())
        return out

    async def _merge(self) -> None:
        async with self.lock:

            def work() -> Any:
                with self.writer.writing():
                    before = list(self.writer.shard_names)
                    self.writer.merge()
                    changed = self.writer.shard_names != before
                return snapshot(self.settings.location, self.writer, self.reader) if changed else None

            try:
                fresh = await run_in_threadpool(work)
            except Exception:
                log.exception("merging the index's shards")
                return
            if fresh is not None:
                self.reader = fresh


# ---------------------------------------------------------------------------------------------- requests


def _json_text(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, f"request body is not UTF-8 (byte {e.start})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise ApiError(400, "invalid JSON: nested too deeply") from None
    except ValueError as e:
        raise ApiError(400, f"invalid JSON: {e}") from None


async def _body(request: Request) -> bytes:
    return await request.body()


def _article(doc_id: str, item: dict[str, Any]) -> Article:
    """An article from a JSON object with ``text`` or ``html`` (strings), read as a file of that kind is."""
    given = [k for k in ("text", "html") if k in item]
    if len(given) != 1:
        raise ApiError(422, 'give exactly one of "text" and "html"')
    value = item[given[0]]
    if not isinstance(value, str):
        raise ApiError(422, f'"{given[0]}" must be a string')
    return _read(doc_id, clean_text(value).encode("utf-8"), given[0], "utf-8")


def _read(doc_id: str, data: bytes, kind: str, forced: str | None = None) -> Article:
    got = read_upload(doc_id, data, kind, forced)
    if isinstance(got, Skipped):
        raise ApiError(422, f"{shown(doc_id)}: {got.reason}")
    return got


def _doc_id(value: Any, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, '"id" must be a non-empty string')
    if len(value) > 1000:
        raise ApiError(422, '"id" is longer than 1000 characters')
    return value


def _kind_of(filename: str | None, given: str | None) -> str:
    if given in ("text", "html"):
        return given
    if given:
        raise ApiError(422, 'kind must be "text" or "html"')
    low = (filename or "").lower()
    return "html" if low.endswith((".html", ".htm", ".xhtml")) else "text"


async def _query_article(request: Request) -> Article:
    """The article of a query request: JSON ``{"text"|"html", "id"?}``, or a multipart form with ``file``
    (an upload; its name is the id) or ``text`` fields."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await _form_article(request)
    if ctype not in ("application/json", ""):
        raise ApiError(415, "send application/json or multipart/form-data")
    data = _json_text(await _body(request))
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    return _article(_doc_id(data.get("id"), "query"), data)


async def _form_article(request: Request) -> Article:
    try:
        form = await request.form(max_files=1, max_fields=10)
    except ApiError:
        raise
    except Exception as e:  # malformed multipart
        raise ApiError(400, f"invalid form: {str(e)[:200]}") from None
    upload = form.get("file")
    kind = form.get("kind") or None
    doc_id = form.get("id") or None
    if isinstance(kind, UploadFile) or isinstance(doc_id, UploadFile):
        raise ApiError(422, "kind and id are text fields")
    if isinstance(upload, UploadFile) and (upload.filename or upload.size):
        data = await upload.read()
        name = doc_id or upload.filename or "upload"
        return _read(_doc_id(name, "upload"), data, _kind_of(upload.filename, kind))
    text = form.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(422, "paste an article's text or choose a file")
    return _read(_doc_id(doc_id, "query"), clean_text(text).encode("utf-8"), _kind_of(None, kind), "utf-8")


def _token_ok(request: Request) -> None:
    token = request.app.state.service.settings.token
    if token is None:
        raise ApiError(403, "writes are disabled: start the server with --token-file")
    auth = request.headers.get("authorization", "")
    scheme, _, given = auth.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "writes need Authorization: Bearer <token>")
    if not hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token):
        raise ApiError(403, "wrong token")


def _lookup(index: Any, doc_id: str) -> Article:
    """The indexed article with this id, as an Article (text and paragraphs from the index)."""
    _, refs = index._live_refs([doc_id])
    if not len(refs):
        raise ApiError(404, f"no indexed article {shown(doc_id)}")
    ref = int(refs[-1])
    row = index.rows(refs[-1:]).to_dicts()[0]
    paras = [tuple(p) for p in index.paragraphs([ref])[0].tolist()]
    return Article(
        id=row["id"],
        path=row["path"],
        text=index.texts([ref])[0],
        paragraphs=paras,
        body_start=int(row.get("body_start") or 0),
        title=row.get("title"),
        url=row.get("url"),
        site=row.get("site"),
        date=row.get("date"),
        encoding=row.get("encoding"),
        kind=row.get("kind") or "text",
    )


def _query(index: Any, article: Article, options: ScanOptions, exclude_self: bool = False) -> dict[str, Any]:
    return query_articles(index, [article], options, exclude_same_id=exclude_self).to_dict()


def _stats(index: Any) -> dict[str, Any]:
    stats = index.stats() if hasattr(index, "stats") else {}
    return {k: v for k, v in stats.items() if k != "location"} | {"location": shown(index.location)}


# ---------------------------------------------------------------------------------------------- the API


async def api_health(request: Request) -> JSONResponse:
    service = request.app.state.service
    return JSONResponse(
        {"status": "ok", "articles": int(service.reader.alive.sum()), "uptime": round(time.time() - service.started, 1)}
    )


async def api_stats(request: Request) -> JSONResponse:
    return JSONResponse(await request.app.state.service.read(_stats))


async def api_query(request: Request) -> JSONResponse:
    service = request.app.state.service
    article = await _query_article(request)
    return JSONResponse(await service.read(_query, article, service.settings.options))


async def api_article(request: Request) -> JSONResponse:
    service = request.app.state.service
    art = await service.read(_lookup, request.path_params["id"])
    return JSONResponse(
        {
            "id": shown(art.id),
            "path": shown(art.path),
            "title": art.title,
            "url": art.url,
            "site": art.site,
            "date": art.date,
            "chars": len(art.text),
            "text": art.text,
            "paragraphs": [{"start": s, "end": e} for s, e in art.paragraphs],
        }
    )


def _add_report(report: Any, index: Any) -> dict[str, Any]:
    return {
        "added": report.added,
        "replaced": report.replaced,
        "unchanged": report.unchanged,
        "articles": int(index.alive.sum()),
    }


async def api_add(request: Request) -> JSONResponse:
    _token_ok(request)
    service = request.app.state.service
    data = _json_text(await _body(request))
    items = data.get("articles") if isinstance(data, dict) and "articles" in data else [data]
    if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
        raise ApiError(422, f'"articles" must be a list of 1 to {MAX_BATCH} objects')
    articles = []
    for item in items:
        if not isinstance(item, dict):
            raise ApiError(422, "each article must be a JSON object")
        if "id" not in item:
            raise ApiError(422, 'each article needs an "id"')
        articles.append(_article(_doc_id(item["id"], ""), item))

    def add(index: Any) -> dict[str, Any]:
        return _add_report(add_articles(index, articles, service.settings.options), index)

    return JSONResponse(await service.write(add), status_code=201)


async def api_put(request: Request) -> JSONResponse:
    _token_ok(request)
    service = request.app.state.service
    data = _json_text(await _body(request))
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    article = _article(_doc_id(request.path_params["id"], ""), data)

    def put(index: Any) -> dict[str, Any]:
        return _add_report(add_articles(index, [article], service.settings.options), index)

    return JSONResponse(await service.write(put))


async def api_delete(request: Request) -> JSONResponse:
    _token_ok(request)
    service = request.app.state.service
    doc_id = request.path_params["id"]

    def remove(index: Any) -> int:
        with index.writing():
            return index.remove([doc_id])

    n = await service.write(remove)
    if not n:
        raise ApiError(404, f"no indexed article {shown(doc_id)}")
    return JSONResponse({"removed": n, "articles": int(service.reader.alive.sum())})


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(OPENAPI)


# ---------------------------------------------------------------------------------------------- pages


def _link(doc_id: str) -> str:
    return "/article?" + urlencode({"id": doc_id})


def _diff_link(a: str, b: str) -> str:
    return "/diff?" + urlencode({"a": a, "b": b})


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(html.render(template, link=_link, diff_link=_diff_link, **context), status_code=status)


def _scan_data(answer: dict[str, Any], texts: dict[tuple[bool, str], str]) -> ScanData:
    docs = answer["documents"]
    return ScanData(answer, lambda i: texts[(bool(docs[i].get("indexed")), docs[i]["id"])])


def _texts_of(index: Any, answer: dict[str, Any], article: Article) -> dict[tuple[bool, str], str]:
    """The text of every document of an answer: the query's own, the indexed ones from the index."""
    from ..escape import unname

    texts = {(False, shown(article.id)): article.text}
    for d in answer["documents"]:
        if d.get("indexed"):
            texts[(True, d["id"])] = _lookup(index, unname(d["id"])).text
    return texts


def _answer_view(index: Any, article: Article, options: ScanOptions, exclude_self: bool) -> dict[str, Any]:
    """A query's answer as the pages show it: the query's document view and each pair side by side."""
    answer = _query(index, article, options, exclude_self)
    data = _scan_data(answer, _texts_of(index, answer, article))
    docs = answer["documents"]
    me = next(i for i, d in enumerate(docs) if not d.get("indexed"))
    doc = html.document(data, me)
    pos = {(bool(d.get("indexed")), d["id"]): i for i, d in enumerate(docs)}
    diffs = []
    for r in answer["pairs"]:
        other = pos.get((True, r["indexed"]))
        if other is not None:
            # A query's pair names each article once; the views find the pair by the two ids.
            diffs.append(html.diff(data, me, other) if r["a"] != r["b"] else None)
    return {"doc": doc, "diffs": [d for d in diffs if d], "answer": answer}


async def page_home(request: Request) -> HTMLResponse:
    service = request.app.state.service
    return _page("home.html", stats=await service.read(_stats), error=None)


async def page_query(request: Request) -> HTMLResponse:
    service = request.app.state.service
    try:
        article = await _form_article(request)
    except ApiError as e:
        if e.status == 413:
            raise
        return _page("home.html", status=e.status, stats=await service.read(_stats), error=e.message)
    view = await service.read(_answer_view, article, service.settings.options, False)
    return _page("answer.html", title="What it copies and who copies it", sbs_links=False, **view)


async def page_article(request: Request) -> HTMLResponse:
    service = request.app.state.service
    doc_id = request.query_params.get("id")
    if not doc_id:
        raise ApiError(400, "which article? /article?id=ID")

    def view(index: Any) -> dict[str, Any]:
        return _answer_view(index, _lookup(index, doc_id), service.settings.options, True)

    return _page("answer.html", title="Indexed article", sbs_links=True, **await service.read(view))


async def page_diff(request: Request) -> HTMLResponse:
    service = request.app.state.service
    a, b = request.query_params.get("a"), request.query_params.get("b")
    if not a or not b:
        raise ApiError(400, "which two articles? /diff?a=ID&b=ID")

    def view(index: Any) -> dict[str, Any]:
        art_a, art_b = _lookup(index, a), _lookup(index, b)
        answer = _query(index, art_a, service.settings.options, exclude_self=a != b)
        texts = _texts_of(index, answer, art_a)
        docs = answer["documents"]
        me = next(i for i, d in enumerate(docs) if not d.get("indexed"))
        other = next((i for i, d in enumerate(docs) if d.get("indexed") and d["id"] == shown(b)), None)
        if other is None:  # no relation: B as the index has it, every paragraph as the answer would label it
            docs.append(
                {
                    "id": shown(art_b.id),
                    "indexed": True,
                    "chars": len(art_b.text),
                    "paragraphs": [{"start": s, "end": e, "label": "original"} for s, e in art_b.paragraphs],
                }
            )
            texts[(True, shown(art_b.id))] = art_b.text
            other = len(docs) - 1
        return {"diff": html.diff(_scan_data(answer, texts), me, other)}

    return _page("diff.html", **await service.read(view))


async def stylesheet(request: Request) -> Response:
    return Response(html.stylesheet(), media_type="text/css", headers={"Cache-Control": "max-age=300"})


# ---------------------------------------------------------------------------------------------- errors


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error(request, exc.status, exc.message)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "no such page", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
    return _error(request, exc.status_code, message, getattr(exc, "headers", None))


async def on_error(request: Request, exc: Exception) -> Response:
    log.exception("error serving %s", request.url.path)
    return _error(request, 500, f"internal error: {type(exc).__name__}")


def _error(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if _is_api(request) or request.method not in ("GET", "HEAD", "POST"):
        return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)
    return HTMLResponse(html.render("error.html", status=status, message=message), status_code=status, headers=headers)


# ---------------------------------------------------------------------------------------------- limits


class Limits:
    """ASGI middleware: the request body capped at ``max_bytes`` (413, from Content-Length before reading,
    else while reading) and the security headers on every response."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_big = f"request body larger than {self.max_bytes:,} bytes"

        async def send_secure(message: dict) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if length is not None:
            try:
                n = int(length)
            except ValueError:
                n = -1
            if n < 0 or n > self.max_bytes:
                status = 413 if n > self.max_bytes else 400
                body = json.dumps({"error": too_big if status == 413 else "bad Content-Length", "status": status})
                response = PlainTextResponse(body, status_code=status, media_type="application/json")
                response.headers["connection"] = "close"
                await response(scope, receive, send_secure)
                return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise ApiError(413, too_big)
            return message

        await self.app(scope, counted, send_secure)


def create_app(settings: Settings) -> Starlette:
    """The ASGI application over the index ``settings.location`` (opened and preloaded here)."""
    routes = [
        Route("/api/health", api_health, methods=["GET"]),
        Route("/api/stats", api_stats, methods=["GET"]),
        Route("/api/query", api_query, methods=["POST"]),
        Route("/api/articles", api_add, methods=["POST"]),
        Route("/api/articles/{id:path}", api_article, methods=["GET"]),
        Route("/api/articles/{id:path}", api_put, methods=["PUT"]),
        Route("/api/articles/{id:path}", api_delete, methods=["DELETE"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/", page_home, methods=["GET"]),
        Route("/query", page_query, methods=["POST"]),
        Route("/article", page_article, methods=["GET"]),
        Route("/diff", page_diff, methods=["GET"]),
        Route("/static/style.css", stylesheet, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error, Exception: on_error},
    )
    app.state.service = Service(settings)
    app.add_middleware(Limits, max_bytes=settings.max_bytes)
    return app


def quote_id(doc_id: str) -> str:
    """An id as a path segment of ``/api/articles/{id}``."""
    return quote(doc_id, safe="")
