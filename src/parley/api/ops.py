"""Health, readiness, metrics and the API description: what operators and tools read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from importlib.resources import files

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from parley.api.http import json
from parley.api.openapi import document
from parley.metrics import Metrics

Check = Callable[[], Awaitable[None]]
READY_TIMEOUT = 2.0


class Ops:
    def __init__(self, metrics: Metrics, checks: Mapping[str, Check]) -> None:
        self.metrics = metrics
        self.checks = checks

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
        ready = all(v == "ok" for v in status.values())
        return json(
            {"status": "ok" if ready else "unavailable", "checks": status}, 200 if ready else 503
        )

    async def prometheus(self, request: web.Request) -> web.Response:
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
