"""JSON in and out, and the one place errors become ``{"error": {code, message}}``."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from parley.auth import AuthError
from parley.models import JSON
from parley.protocol.errors import ProtocolError
from parley.store import StoreFailed

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024

_STATUS = {
    "invalid_input": 422,
    "not_found": 404,
    "rate_limited": 429,
    "unavailable": 503,
    "unauthorized": 401,
    "forbidden": 403,
    "invalid_credentials": 401,
    "username_taken": 409,
    "last_sign_in_method": 409,
    "too_large": 413,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json(data: JSON, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def bearer(request: web.Request) -> str:
    """The token of an ``Authorization: Bearer …`` header, or ""."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def error(status: int, code: str, message: str) -> web.Response:
    return json({"error": {"code": code, "message": message}}, status)


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProtocolError("invalid_input", "request body must be valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_input", "request body must be a JSON object")
    return data


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (ProtocolError, AuthError) as exc:
        logger.info("%s %s: %s", request.method, request.path, exc.message)
        default = 400 if isinstance(exc, ProtocolError) else 401
        response = error(_STATUS.get(exc.code, default), exc.code, exc.message)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return response
    except StoreFailed as exc:
        # The database is down (or restarting): a documented, retryable answer, not a 500.
        # /readyz logs the outage once; a line per request would bury it.
        logger.debug("%s %s: %s", request.method, request.path, exc)
        return error(503, "unavailable", "the service is unavailable; retry shortly")
    except web.HTTPRequestEntityTooLarge:
        return error(413, "invalid_input", f"request body is over {MAX_BODY_BYTES} bytes")
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        code = "not_found" if exc.status == 404 else "invalid_input"
        response = error(exc.status, code, exc.reason)
        if "Allow" in exc.headers:  # a 405 names the methods the path does take
            response.headers["Allow"] = exc.headers["Allow"]
        return response
