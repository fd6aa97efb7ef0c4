"""Health, readiness, metrics and the API description: what operators and tools read.

``/metrics`` and the detail of ``/readyz`` say how the deployment is built and
how it is failing, which is nobody else's business: they answer only a bearer
token equal to ``PARLEY_METRICS_TOKEN`` (the way Prometheus scrapes a protected
target: ``authorization: {credentials_file: ...}``). Without the setting
``/metrics`` is off. ``/readyz`` answers everyone with its status alone (load
balancers need no more); a failing check is logged when readiness changes.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from importlib.resources import files
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from parley.api.http import bearer, error, json
from parley.api.openapi import document

logger = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]
READY_TIMEOUT = 2.0


class Registered(Protocol):
    """A process's metrics: a gateway's ``Metrics`` or a worker's ``PersisterMetrics``."""

    registry: CollectorRegistry


class Ops:
    def __init__(
        self, metrics: Registered, checks: Mapping[str, Check], metrics_token: str | None
    ) -> None:
        self.metrics = metrics
        self.checks = checks
        self.metrics_token = metrics_token
        self._down: dict[str, str] = {}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.healthz),
            web.get("/readyz", self.readyz),
            web.get("/metrics", self.prometheus),
            web.get("/openapi.json", self.openapi),
            web.get("/api/docs", self.docs),
            web.get("/api/docs.js", self.docs_file),
            web.get("/api/docs.css", self.docs_file),
        ]

    def worker_routes(self) -> list[web.RouteDef]:
        """What a worker serves on its own port: liveness and its metrics."""
        return [web.get("/healthz", self.healthz), web.get("/metrics", self.prometheus)]

    def _operator(self, request: web.Request) -> bool:
        """The request carries the metrics token."""
        if self.metrics_token is None:
            return False
        return hmac.compare_digest(bearer(request).encode(), self.metrics_token.encode())

    async def healthz(self, request: web.Request) -> web.Response:
        return json({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        results = await asyncio.gather(
            *(asyncio.wait_for(check(), READY_TIMEOUT) for check in self.checks.values()),
            return_exceptions=True,
        )
        status = {
            name: "ok" if not isinstance(result, BaseException) else f"down: {result!r}"[:200]
            for name, result in zip(self.checks, results, strict=True)
        }
        down = {name: s for name, s in status.items() if s != "ok"}
        self._log_change(down)
        body: dict[str, object] = {"status": "unavailable" if down else "ok"}
        if self._operator(request):
            body["checks"] = status
        return json(body, 503 if down else 200)

    def _log_change(self, down: dict[str, str]) -> None:
        """One log line when the set of failing checks changes, not one per probe."""
        if down.keys() != self._down.keys():
            if down:
                logger.warning("not ready: %s", "; ".join(f"{k} {v}" for k, v in down.items()))
            else:
                logger.info("ready again")
        self._down = down

    async def prometheus(self, request: web.Request) -> web.Response:
        if self.metrics_token is None:
            return error(404, "not_found", "metrics are off: set PARLEY_METRICS_TOKEN")
        if not self._operator(request):
            response = error(401, "unauthorized", "metrics need the bearer token")
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return web.Response(
            body=generate_latest(self.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def openapi(self, request: web.Request) -> web.Response:
        return json(document())

    async def docs(self, request: web.Request) -> web.Response:
        page = files("parley.api").joinpath("docs.html").read_text()
        return web.Response(text=page, content_type="text/html")

    async def docs_file(self, request: web.Request) -> web.Response:
        name = request.path.rsplit("/", 1)[1]
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        return web.Response(text=files("parley.api").joinpath(name).read_text(), content_type=kind)
