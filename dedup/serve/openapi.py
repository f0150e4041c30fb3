"""The OpenAPI description served at ``/openapi.json`` (written out: the API is small and checked by hand)."""

from __future__ import annotations

from ..version import __version__

_ERROR = {"$ref": "#/components/responses/Error"}
_ARTICLE_IN = {
    "type": "object",
    "description": 'an article: exactly one of "text" (plain text, read as a .txt file is) or "html" (a page)',
    "properties": {"id": {"type": "string"}, "text": {"type": "string"}, "html": {"type": "string"}},
}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "URL-encoded id"}
_AUTH = [{"token": []}]
_ADDED = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in ("added", "replaced", "unchanged", "articles")},
}


def _errors(*codes: int) -> dict:
    return {str(c): _ERROR for c in codes}


OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "dedup serve",
        "version": __version__,
        "description": "Near-duplicate and syndication detection against a persistent index. Every error is "
        'JSON {"error": "...", "status": N}. Writes need Authorization: Bearer <token>.',
    },
    "paths": {
        "/api/health": {
            "get": {
                "summary": "liveness, the article count and the index's generation, and which server process answered",
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "status": {"type": "string"},
                                        "articles": {"type": "integer"},
                                        "generation": {"type": "integer"},
                                        "worker": {"type": "integer", "description": "the answering process's id"},
                                        "uptime": {"type": "number"},
                                    },
                                }
                            }
                        },
                    }
                },
            }
        },
        "/api/stats": {"get": {"summary": "the index's statistics", "responses": {"200": {"description": "stats"}}}},
        "/api/query": {
            "post": {
                "summary": "what an article copies and who copies it (the JSON contract of `dedup query`)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ARTICLE_IN},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "text": {"type": "string"},
                                    "kind": {"type": "string", "enum": ["text", "html"]},
                                    "id": {"type": "string"},
                                },
                            }
                        },
                    },
                },
                "responses": {
                    "200": {"description": "meta, documents (indexed or not), clusters, pairs with passages"},
                    **_errors(400, 408, 413, 415, 422, 503),
                },
            }
        },
        "/api/articles": {
            "post": {
                "summary": "add articles (an unchanged one is a no-op, a changed one replaced)",
                "security": _AUTH,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    _ARTICLE_IN,
                                    {
                                        "type": "object",
                                        "properties": {"articles": {"type": "array", "items": _ARTICLE_IN}},
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "201": {"description": "added", "content": {"application/json": {"schema": _ADDED}}},
                    **_errors(400, 401, 403, 408, 413, 422, 503),
                },
            }
        },
        "/api/articles/{id}": {
            "get": {
                "summary": "an indexed article: metadata, text and paragraph spans",
                "parameters": [_ID],
                "responses": {"200": {"description": "the article"}, **_errors(404, 503)},
            },
            "put": {
                "summary": "add or replace the article with this id",
                "security": _AUTH,
                "parameters": [_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ARTICLE_IN}}},
                "responses": {
                    "200": {"description": "added or replaced", "content": {"application/json": {"schema": _ADDED}}},
                    **_errors(400, 401, 403, 408, 413, 422, 503),
                },
            },
            "delete": {
                "summary": "remove the article with this id",
                "security": _AUTH,
                "parameters": [_ID],
                "responses": {"200": {"description": "removed"}, **_errors(401, 403, 404, 503)},
            },
        },
    },
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        "responses": {
            "Error": {
                "description": "a refused request",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                        }
                    }
                },
            }
        },
    },
}
