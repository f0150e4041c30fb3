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
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
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

from ..deadline import Expired, check, until
from ..escape import name as shown
from ..escape import raw, unname
from ..index import StoreError, open_index
from ..index.service import check_params, query_articles
from ..ingest.model import Article, Skipped
from ..options import ScanOptions
from ..views import html
from ..views.data import ScanData
from . import protocol
from .openapi import OPENAPI
from .parsing import Job, ParsePool
from .writer import apply_write, forward

log = logging.getLogger("dedup.serve")

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
MAX_BATCH = 1000  # articles in one add request
PAGE_PAIRS = 10  # related articles side by side on one page
PAGE_CHARS = 2_000_000  # ... and at most about this much text of them (at least one pair a page)
WRITE_SECONDS = 120.0  # a write forwarded to the writer process waits this long for its answer, then 503
MAX_INFLIGHT = 64  # requests with a body (POST, PUT) at work at once, each holding up to max_bytes; more: 503
BODY_SECONDS = 10.0  # a request body must arrive within this (or the time limit, when longer): 408
# Ids the API takes: no control characters (C0, DEL, C1), line separators or lone surrogates, which a URL
# path or a page cannot carry back. Ids already indexed from file names (undecodable bytes) are reached by
# the form every answer shows them in (``escape.name``).
_BAD_ID = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


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
    show_paths: bool = False  # the index's location and server details, to requests with the token only
    parse_workers: int = 2
    processes: int = 1  # server processes sharing the machine (``--workers``): this one's share of the cores
    writer: str | None = None  # the writer process's socket (``writer.py``); None: this process writes


# ---------------------------------------------------------------------------------------------- the index


def snapshot(location: str, *previous: Any) -> Any:
    """The index at ``location`` opened for readers: preloaded, and frozen (it never re-reads its manifest,
    so one request sees one set of shards). Shard objects of ``previous`` handles (the writer, the last
    snapshot) still listed are shared as they are (a shard never changes), so only new shards are loaded,
    and a shard a writer merges away is followed into the index's trash, where it stays readable for
    ``shards.TRASH_SECONDS`` (this process's writer moves the shared object's path; another process's, the
    reader finds it there: ``ShardIndex._follow``). A shard merged away between reading the manifest and
    opening it: the manifest is read again."""
    live = [prev for prev in previous if prev is not None]
    for attempt in range(3):
        try:
            index = open_index(location, reuse=live)  # the writer's first: its objects are the ones it moves
            index.preload()  # a shard another process merged away meanwhile: its files are gone, read again
            break
        except (StoreError, FileNotFoundError):
            if attempt == 2:
                raise
    for prev in live:
        caches = getattr(prev, "query_caches", None)  # by (shard, row): valid while the shard is listed
        if caches is not None and getattr(index, "query_caches", None) is None:
            index.query_caches = caches
    index.refresh = lambda: None  # frozen: see above
    return index


class Service:
    """The reader snapshot, the writer and the write queue.

    Several server processes (``--workers``) may serve one index, each with its own Service: writes are
    serialised by the index's own write lock, and ``current`` swaps in a new snapshot as soon as the index's
    generation differs from the snapshot's, whoever committed. A request takes one snapshot and keeps it
    to its end, so it sees the index before an add or after it, never in between."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.writer = None if settings.writer else open_index(settings.location)
        if self.writer is not None:
            check_params(self.writer, settings.options)  # an index every query would refuse is refused at the start
            self.writer.merge_after_append = False  # merged after the answer: see ``write``
        self.reader = snapshot(settings.location, self.writer)
        check_params(self.reader, settings.options)
        self._swap = threading.Lock()
        self.lock = asyncio.Lock()
        self.started = time.time()
        self._merging: asyncio.Task | None = None
        # Reads run at most a few at a time (this process's share of the cores, at least two): more threads would
        # only share the GIL more thinly, and starve the writer's thread, which then answers adds seconds late. A
        # thread is the slot: it is free when the work has stopped (``deadline.check`` between phases), not when
        # the answer went out.
        threads = max(2, (os.cpu_count() or 1) // max(1, settings.processes))
        self.readers = ThreadPoolExecutor(threads, thread_name_prefix="dedup-read")
        self.parser = ParsePool(settings.parse_workers)
        self.parser.start()

    def current(self) -> Any:
        """The snapshot of the index as committed now: the one held, unless the index's generation moved on
        (an add by any process), then a new one, opened once however many requests ask at the same time.
        When the generation cannot be read (Redis away), the snapshot held."""
        reader = self.reader
        try:
            now = reader.generation()
        except StoreError as e:
            log.warning("%s", shown(str(e)))
            return reader
        if now == reader.seen_generation:
            return reader
        with self._swap:
            if self.reader is reader:
                self.reader = snapshot(self.settings.location, self.writer, reader)
            return self.reader

    async def fresh(self) -> Any:
        """``current`` off the event loop (it may open a snapshot)."""
        return await asyncio.get_running_loop().run_in_executor(None, self.current)

    def expired(self) -> ApiError:
        return ApiError(503, f"the request took longer than {self.settings.timeout:g} s")

    async def read(self, deadline: float, fn: Any, *args: Any) -> Any:
        """Run ``fn(reader, *args)`` on a reader thread on the current snapshot, until ``deadline``."""

        def work() -> Any:
            with until(deadline):
                return fn(self.current(), *args)

        future = asyncio.get_running_loop().run_in_executor(self.readers, work)
        future.add_done_callback(lambda f: f.cancelled() or f.exception())  # an expired one ends quietly
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - time.monotonic()))
        except (TimeoutError, Expired):
            raise self.expired() from None

    async def parse(self, deadline: float, jobs: list[Job]) -> list[Article]:
        """The articles of uploads, read in a worker process until ``deadline``; 422 for one without words."""
        try:
            got = await self.parser.parse(jobs, deadline)
        except Expired:
            raise self.expired() from None
        for item in got:
            if isinstance(item, Skipped):
                raise ApiError(422, f"{shown(item.path)}: {item.reason}")
        return got

    def _swap_in(self) -> None:
        """A new snapshot after this process's write (the writer's shards shared)."""
        with self._swap:
            self.reader = snapshot(self.settings.location, self.writer, self.reader)

    async def write(self, op: str, argument: Any) -> Any:
        """The write ``op`` (``apply_write``) alone: forwarded to the server's one writer process when there is one
        (``writer.py``; its answer), else run here (writes queue here, and on the index's lock across
        processes); then the new snapshot swapped in. Here, the shards' tiered merge runs after the answer,
        still alone (the next write waits for it; reads never)."""
        if self.settings.writer:
            return await self._forward(op, argument)
        async with self.lock:

            def work() -> Any:
                out = apply_write(self.writer, self.settings.options, op, argument)
                self._swap_in()
                return out

            out = await run_in_threadpool(work)
        if self._merging is None or self._merging.done():
            self._merging = asyncio.create_task(self._merge())
        return out

    async def _forward(self, op: str, argument: Any) -> Any:
        """``op`` sent to the writer process and its answer; this process's snapshot is then the committed index
        (so this worker's next request, as any worker's, sees the write)."""
        try:
            got = await run_in_threadpool(forward, self.settings.writer, op, argument, WRITE_SECONDS)
        except (OSError, EOFError) as e:
            what = type(e).__name__
            raise ApiError(503, f"the index's writer did not answer ({what}); the write may not be made") from None
        if got[0] != "ok":
            raise ApiError(got[1], got[2])
        try:
            await self.fresh()
        except (StoreError, OSError) as e:  # the write is made: the next request opens the snapshot again
            log.warning("%s", shown(str(e)))
        return got[1]

    async def _merge(self) -> None:
        async with self.lock:

            def work() -> None:
                with self.writer.writing():
                    before = list(self.writer.shard_names)
                    self.writer.merge()
                    changed = self.writer.shard_names != before
                if changed:
                    self._swap_in()

            try:
                await run_in_threadpool(work)
            except Exception:
                log.exception("merging the index's shards")


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


def _article(doc_id: str, item: dict[str, Any]) -> Job:
    """The job of reading an article from a JSON object with ``text`` or ``html`` (strings), as a file of
    that kind is read."""
    given = [k for k in ("text", "html") if k in item]
    if len(given) != 1:
        raise ApiError(422, 'give exactly one of "text" and "html"')
    value = item[given[0]]
    if not isinstance(value, str):
        raise ApiError(422, f'"{given[0]}" must be a string')
    return (doc_id, value, given[0], "utf-8")  # cleaned and encoded by the worker, off the event loop


def _doc_id(value: Any, default: str) -> str:
    """An id the API takes: one that every request can name again (see ``_BAD_ID``), else 422."""
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, '"id" must be a non-empty string')
    if len(value) > 1000:
        raise ApiError(422, '"id" is longer than 1000 characters')
    if m := _BAD_ID.search(value):
        raise ApiError(422, f'"id" holds {shown(m.group())}: control characters cannot be named in a URL')
    return value


def _deadline(request: Request) -> float:
    """When this request's time is up (set by ``Limits`` as it arrived)."""
    return (
        request.scope.get("state", {}).get("deadline") or time.monotonic() + request.app.state.service.settings.timeout
    )


def _kind_of(filename: str | None, given: str | None) -> str:
    if given in ("text", "html"):
        return given
    if given:
        raise ApiError(422, 'kind must be "text" or "html"')
    low = (filename or "").lower()
    return "html" if low.endswith((".html", ".htm", ".xhtml")) else "text"


async def _query_article(request: Request) -> Job:
    """The article of a query request: JSON ``{"text"|"html", "id"?}``, or a multipart form with ``file``
    (an upload; its name is the id) or ``text`` fields."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":  # a form-encoded body is refused (415), as the README says
        return await _form_article(request)
    if ctype not in ("application/json", ""):
        raise ApiError(415, "send application/json or multipart/form-data")
    data = await _json_body(request)
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    return _article(_doc_id(data.get("id"), "query"), data)


async def _json_body(request: Request) -> Any:
    """The request's JSON, parsed by a parse worker: off the event loop, and outside this process's
    interpreter lock, which ``json.loads`` holds for the whole body (tens of milliseconds for 5 MB)."""
    body = await _body(request)
    if len(body) < 65536:
        return _json_text(body)
    service = request.app.state.service
    try:
        status, value = await service.parser.json(body, _deadline(request))
    except Expired:
        raise service.expired() from None
    if status == "error":
        raise ApiError(400, value)
    return value


async def _form_article(request: Request, default_id: str | None = "query") -> Job:
    """The article of a form: an uploaded ``file`` (its name is the id unless ``id`` is given) or pasted
    ``text``; ``default_id`` None: pasted text needs an ``id`` (adding it to the index)."""
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
        name = doc_id or _BAD_ID.sub("_", upload.filename or "") or "upload"
        return (_doc_id(name, "upload"), data, _kind_of(upload.filename, kind), None)
    text = form.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(422, "paste an article's text or choose a file")
    if doc_id is None and default_id is None:
        raise ApiError(422, "give the pasted article an id to index it under")
    return (_doc_id(doc_id, default_id or ""), text, _kind_of(None, kind), "utf-8")


def _has_token(request: Request) -> bool:
    """Whether the request carries the right token (reads do not need it; it shows them more)."""
    try:
        _token_ok(request)
    except ApiError:
        return False
    return True


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


def _find(index: Any, doc_id: str) -> tuple[str, Any]:
    """The id as indexed and its live refs, ``doc_id`` given in any form (``ShardIndex.resolve``: as every
    answer shows it, too)."""
    ids = index.resolve([doc_id])
    if not ids:
        return doc_id, []
    return ids[0], index._live_refs(ids)[1]


def _lookup(index: Any, doc_id: str) -> Article:
    """The indexed article with this id, as an Article (text and paragraphs from the index)."""
    doc_id, refs = _find(index, doc_id)
    if not len(refs):
        raise ApiError(404, f"no indexed article {shown(doc_id)}")
    ref = int(refs[-1])
    row = index.rows(refs[-1:]).to_dicts()[0]
    paras = [tuple(p) for p in index.paragraphs([ref])[0].tolist()]
    return Article(
        id=raw(row["id"]),  # as read: the index holds the stored form (``escape.stored``)
        path=raw(row["path"]),
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


_PRIVATE = ("location", "cache", "server_used_memory")  # where the index is, and the server's internals


def _stats(index: Any, private: bool = False) -> dict[str, Any]:
    """The index's statistics; where it lives and the server's internals only when ``private``."""
    stats = index.stats() if hasattr(index, "stats") else {}
    out = {k: v for k, v in stats.items() if k not in _PRIVATE}
    if private:
        out |= {k: stats[k] for k in _PRIVATE if k in stats} | {"location": shown(index.location)}
    return out


def _private(request: Request) -> bool:
    return request.app.state.service.settings.show_paths and _has_token(request)


def _public_answer(answer: dict[str, Any], private: bool) -> dict[str, Any]:
    """A query's answer without the index's location in ``meta`` unless ``private``."""
    if private:
        return answer
    meta = answer.get("meta")
    if isinstance(meta, dict) and "index" in meta:
        answer["meta"] = {k: v for k, v in meta.items() if k != "index"}
    for doc in answer.get("documents", []):
        if doc.get("indexed") and doc.get("path") != doc.get("id"):
            doc["path"] = None  # a file of the server's, named by its id
    return answer


# ---------------------------------------------------------------------------------------------- the API


async def api_health(request: Request) -> JSONResponse:
    """Liveness, the articles of the index as committed now, its generation, and which process answered."""
    service = request.app.state.service
    reader = await service.fresh()
    return JSONResponse(
        {
            "status": "ok",
            "articles": int(reader.alive.sum()),
            "generation": int(getattr(reader, "gen", 0)),
            "worker": os.getpid(),
            "uptime": round(time.time() - service.started, 1),
        }
    )


async def api_stats(request: Request) -> JSONResponse:
    return JSONResponse(await request.app.state.service.read(_deadline(request), _stats, _private(request)))


async def api_query(request: Request) -> JSONResponse:
    service = request.app.state.service
    deadline = _deadline(request)
    (article,) = await service.parse(deadline, [await _query_article(request)])
    answer = await service.read(deadline, _query, article, service.settings.options)
    return JSONResponse(_public_answer(answer, _private(request)))


async def api_article(request: Request) -> JSONResponse:
    service = request.app.state.service
    art = await service.read(_deadline(request), _lookup, request.path_params["id"])
    private = _private(request)
    return JSONResponse(
        {
            "id": shown(art.id),
            **({"path": shown(art.path)} if private or art.path == art.id else {}),
            "title": art.title,
            "url": art.url,
            "site": art.site,
            "date": art.date,
            "chars": len(art.text),
            "text": art.text,
            "paragraphs": [{"start": s, "end": e} for s, e in art.paragraphs],
        }
    )


async def api_add(request: Request) -> JSONResponse:
    _token_ok(request)
    service = request.app.state.service
    data = await _json_body(request)
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
    articles = await service.parse(_deadline(request), articles)
    return JSONResponse(await service.write("add", articles), status_code=201)


async def api_put(request: Request) -> JSONResponse:
    _token_ok(request)
    service = request.app.state.service
    data = await _json_body(request)
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    (article,) = await service.parse(_deadline(request), [_article(_doc_id(request.path_params["id"], ""), data)])
    return JSONResponse(await service.write("add", [article]))


async def api_delete(request: Request) -> JSONResponse:
    _token_ok(request)
    service = request.app.state.service
    doc_id = request.path_params["id"]
    answer = await service.write("remove", doc_id)
    if not answer["removed"]:
        raise ApiError(404, f"no indexed article {shown(doc_id)}")
    return JSONResponse(answer)


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(OPENAPI)


# ---------------------------------------------------------------------------------------------- pages


def _link(doc_id: str) -> str:
    """The page of an indexed article, named by its id as shown (``escape.name``: always valid UTF-8)."""
    return "/article?" + urlencode({"id": _shown_once(doc_id)})


def _diff_link(a: str, b: str) -> str:
    return "/diff?" + urlencode({"a": _shown_once(a), "b": _shown_once(b)})


def _shown_once(doc_id: str) -> str:
    """An id as answers show it: ids from answers already are (they are valid UTF-8); a raw one with
    undecodable bytes (surrogates) is escaped here."""
    return shown(doc_id) if _BAD_ID.search(doc_id) else doc_id


def _list_link(query: str, page: int) -> str:
    """A page of the home page's list of indexed articles."""
    return "/?" + urlencode({k: v for k, v in (("q", query), ("page", page)) if v}) + "#articles"


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    page = html.render(template, link=_link, diff_link=_diff_link, list_link=_list_link, **context)
    return HTMLResponse(page, status_code=status)


def _scan_data(answer: dict[str, Any], texts: Any) -> ScanData:
    """``texts``: a mapping, or a function of the key, from (indexed, id as shown) to the document's text."""
    docs = answer["documents"]
    get = texts if callable(texts) else texts.__getitem__
    return ScanData(answer, lambda i: get((bool(docs[i].get("indexed")), docs[i]["id"])))


def _texts_of(
    index: Any, answer: dict[str, Any], article: Article, only: set[str] | None = None
) -> dict[tuple[bool, str], str]:
    """The text of the documents of an answer: the query's own, the indexed ones (those in ``only``, as
    shown, when given) from the index."""
    texts = {(False, shown(article.id)): article.text}
    for d in answer["documents"]:
        if d.get("indexed") and (only is None or d["id"] in only):
            texts[(True, d["id"])] = _lookup(index, unname(d["id"])).text
    return texts


def _pages(chars: list[int]) -> list[tuple[int, int]]:
    """The related articles split into pages: at most ``PAGE_PAIRS`` a page and, past the first of a page,
    no more than ``PAGE_CHARS`` of text (``chars``: each pair's two texts), so a page's size is bounded."""
    pages, start, size = [], 0, 0
    for i, n in enumerate(chars):
        if i > start and (i - start >= PAGE_PAIRS or size + n > PAGE_CHARS):
            pages.append((start, i))
            start, size = i, 0
        size += n
    if start < len(chars) or not pages:
        pages.append((start, len(chars)))
    return pages


def _answer_view(
    index: Any, article: Article, options: ScanOptions, exclude_self: bool, page: int = 0
) -> dict[str, Any]:
    """A query's answer as the pages show it: the query's document view and, one page of them at a time, the
    related articles side by side (``_pages``). ``exclude_self``: the article is an indexed one (its page), so
    it is named as indexed and linked; a pasted article is neither (its id names no indexed article, even
    when one has that id)."""
    answer = _query(index, article, options, exclude_self)
    docs = answer["documents"]
    me = next(i for i, d in enumerate(docs) if not d.get("indexed"))
    pos = {(bool(d.get("indexed")), d["id"]): i for i, d in enumerate(docs)}
    related = [pos[(True, r["indexed"])] for r in answer["pairs"] if r["a"] != r["b"] and (True, r["indexed"]) in pos]
    pages = _pages([int(docs[me].get("chars") or 0) + int(docs[i].get("chars") or 0) for i in related])
    page = min(max(page, 0), len(pages) - 1)
    lo, hi = pages[page]
    check()
    # Only the texts this page shows are read from the index.
    shown_ids = {docs[i]["id"] for i in related[lo:hi]}
    texts = _texts_of(index, answer, article, shown_ids)
    data = _scan_data(answer, lambda key: texts.get(key, ""))
    doc = html.document(data, me)
    doc["indexed"] = exclude_self
    diffs = []
    for other in related[lo:hi]:
        check()
        d = html.diff(data, me, other)
        d["a_linked"] = exclude_self  # A is the article asked about: linked only when it is indexed
        diffs.append(d)
    return {
        "doc": doc,
        "diffs": diffs,
        "answer": answer,
        "page": page + 1,
        "pages": len(pages),
        "related": len(related),
        "first": lo + 1,
        "last": hi,
    }


PER_PAGE = 50  # indexed articles a page of the home page's list


def catalogue(index: Any) -> Any:
    """The snapshot's live articles (id, title, site, date), newest first (undated last, then by id): what the
    home page lists and searches. Built once per snapshot (a snapshot never changes) and kept on it."""
    import polars as pl

    cached = getattr(index, "_dedup_catalogue", None)
    if cached is not None:
        return cached
    columns = ["id", "title", "site", "date"]
    alive, bases = index.alive, index.bases
    parts = []
    for k, name in enumerate(index.shard_names):
        docs = index._shard(name).docs.select(columns)
        parts.append(docs.filter(pl.Series(alive[bases[k] : bases[k + 1]])))
    frame = pl.concat(parts) if parts else pl.DataFrame(schema={c: pl.Utf8 for c in columns})
    frame = frame.sort(["date", "id"], descending=[True, False], nulls_last=True)
    index._dedup_catalogue = frame
    return frame


def _listing(index: Any, query: str, page: int) -> dict[str, Any]:
    """One page (from 1) of the indexed articles whose id, title, site or date holds ``query`` (any case)."""
    import polars as pl

    frame = catalogue(index)
    if query:
        needle = query.lower()
        hit = pl.lit(False)
        for c in ("id", "title", "site", "date"):
            hit = hit | pl.col(c).fill_null("").str.to_lowercase().str.contains(needle, literal=True)
        frame = frame.filter(hit)
    total = frame.height
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    rows = frame.slice((page - 1) * PER_PAGE, PER_PAGE).to_dicts()
    for r in rows:
        r["id"] = raw(r["id"])  # as read: the index holds the stored form
        r["shown"] = shown(r["id"])
    return {"rows": rows, "total": total, "page": page, "pages": pages, "query": query}


async def _home(request: Request, status: int = 200, **extra: Any) -> HTMLResponse:
    """The home page: the check form, the list of indexed articles (``?q=`` searched, ``?page=``), and the add
    form when the server has a token; ``extra``: an error or what was added."""
    service = request.app.state.service
    query = (request.query_params.get("q") or "").strip()[:200]
    page = _page_number(request) + 1
    private = _private(request)

    def view(index: Any) -> dict[str, Any]:
        return {"stats": _stats(index, private), "listing": _listing(index, query, page)}

    context = await service.read(_deadline(request), view)
    context |= {"error": None, "add_error": False, "added": None, "writable": service.settings.token is not None}
    return _page("home.html", status=status, **(context | extra))


async def page_home(request: Request) -> HTMLResponse:
    return await _home(request)


async def page_add(request: Request) -> HTMLResponse:
    """The home page's add form: the article (pasted or uploaded) and the write token typed in the form.
    The token is compared as the API's (constant time) and never stored: no cookie, no session."""
    service = request.app.state.service
    deadline = _deadline(request)
    if service.settings.token is None:
        return await _home(request, 403, error="adding is disabled: the server has no --token-file", add_error=True)
    try:
        try:
            form = await request.form(max_files=1, max_fields=10)
        except Exception as e:  # malformed multipart
            raise ApiError(400, f"invalid form: {str(e)[:200]}") from None
        given = form.get("token")
        if not isinstance(given, str) or not given.strip():
            raise ApiError(401, "type the write token to add an article")
        if not hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), service.settings.token):
            raise ApiError(403, "wrong token: the article was not added")
        (article,) = await service.parse(deadline, [await _form_article(request, default_id=None)])
    except ApiError as e:
        if e.status in (413, 503):
            raise
        return await _home(request, e.status, error=e.message, add_error=True)

    report = await service.write("add", [article])
    what = "added" if report["added"] else "replaced" if report["replaced"] else "already indexed, unchanged"
    return await _home(request, added={"id": article.id, "shown": shown(article.id), "what": what})


async def page_query(request: Request) -> HTMLResponse:
    service = request.app.state.service
    deadline = _deadline(request)
    try:
        (article,) = await service.parse(deadline, [await _form_article(request)])
    except ApiError as e:
        if e.status in (413, 503):
            raise
        return await _home(request, e.status, error=e.message)
    view = await service.read(deadline, _answer_view, article, service.settings.options, False)
    return _page("answer.html", title="What it copies and who copies it", sbs_links=False, page_link=None, **view)


def _page_number(request: Request) -> int:
    try:
        return max(0, int(request.query_params.get("page", "1")) - 1)
    except ValueError:
        raise ApiError(400, "page must be a number") from None


async def page_article(request: Request) -> HTMLResponse:
    service = request.app.state.service
    doc_id = request.query_params.get("id")
    if not doc_id:
        raise ApiError(400, "which article? /article?id=ID")
    page = _page_number(request)

    def view(index: Any) -> dict[str, Any]:
        return _answer_view(index, _lookup(index, doc_id), service.settings.options, True, page)

    def page_link(n: int) -> str:
        return "/article?" + urlencode({"id": _shown_once(doc_id), "page": n})

    got = await service.read(_deadline(request), view)
    return _page("answer.html", title="Indexed article", sbs_links=True, page_link=page_link, **got)


async def page_diff(request: Request) -> HTMLResponse:
    service = request.app.state.service
    a, b = request.query_params.get("a"), request.query_params.get("b")
    if not a or not b:
        raise ApiError(400, "which two articles? /diff?a=ID&b=ID")

    def view(index: Any) -> dict[str, Any]:
        art_a, art_b = _lookup(index, a), _lookup(index, b)
        answer = _query(index, art_a, service.settings.options, exclude_self=art_a.id != art_b.id)
        texts = _texts_of(index, answer, art_a, {shown(art_b.id)})
        docs = answer["documents"]
        me = next(i for i, d in enumerate(docs) if not d.get("indexed"))
        other = next((i for i, d in enumerate(docs) if d.get("indexed") and d["id"] == shown(art_b.id)), None)
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
        return {"diff": html.diff(_scan_data(answer, lambda key: texts.get(key, "")), me, other)}

    return _page("diff.html", **await service.read(_deadline(request), view))


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


SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
protocol.SECURITY_HEADERS[:] = SECURITY_HEADERS  # uvicorn's own 400 carries them too


class Limits:
    """ASGI middleware: the request body capped at ``max_bytes`` (413, from Content-Length before reading,
    else while reading) and read within ``BODY_SECONDS`` (408); at most ``MAX_INFLIGHT`` requests with a body
    at work at once (503 at once for more; reads such as ``/api/health`` always go through); the request's
    deadline (its arrival plus the time limit) set for the handlers;
    the security headers on every response."""

    def __init__(self, app: Any, max_bytes: int, timeout: float = 30.0) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout
        self.inflight = 0

    async def _refuse(self, scope: dict, receive: Any, send: Any, status: int, message: str) -> None:
        body = json.dumps({"error": message, "status": status})
        response = PlainTextResponse(body, status_code=status, media_type="application/json")
        response.headers["connection"] = "close"
        await response(scope, receive, send)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        deadline = arrived + self.timeout  # the request's work
        body_deadline = arrived + max(self.timeout, BODY_SECONDS)  # its body, sent by a slow client
        scope.setdefault("state", {})["deadline"] = deadline
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_big = f"request body larger than {self.max_bytes:,} bytes"

        async def send_secure(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        if length is not None:
            try:
                n = int(length)
            except ValueError:
                n = -1
            if n < 0 or n > self.max_bytes:
                status = 413 if n > self.max_bytes else 400
                await self._refuse(
                    scope, receive, send_secure, status, too_big if status == 413 else "bad Content-Length"
                )
                return
        if scope.get("method") in ("POST", "PUT") and self.inflight >= MAX_INFLIGHT:
            await self._refuse(scope, receive, send_secure, 503, f"busy: {MAX_INFLIGHT} requests at work; retry")
            return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            try:
                message = await asyncio.wait_for(receive(), max(0.0, body_deadline - time.monotonic()))
            except TimeoutError:
                limit = max(self.timeout, BODY_SECONDS)
                raise ApiError(408, f"the request body did not arrive within {limit:g} s") from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise ApiError(413, too_big)
            return message

        counts = scope.get("method") in ("POST", "PUT")
        self.inflight += counts
        try:
            await self.app(scope, counted, send_secure)
        finally:
            self.inflight -= counts


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
        Route("/add", page_add, methods=["POST"]),
        Route("/article", page_article, methods=["GET"]),
        Route("/diff", page_diff, methods=["GET"]),
        Route("/static/style.css", stylesheet, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error, Exception: on_error},
    )
    app.state.service = Service(settings)
    app.add_middleware(Limits, max_bytes=settings.max_bytes, timeout=settings.timeout)
    return app


def quote_id(doc_id: str) -> str:
    """An id as a path segment of ``/api/articles/{id}``."""
    return quote(doc_id, safe="")
