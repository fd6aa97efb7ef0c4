"""Serves the built web UI, falling back to index.html for the client-side routes."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from parley.api.http import error

_RESERVED = ("/api/", "/ws", "/healthz", "/readyz", "/metrics", "/openapi.json")
_IMMUTABLE = "public, max-age=31536000, immutable"


def routes(web_dir: Path | None) -> list[web.RouteDef]:
    root = web_dir.resolve() if web_dir is not None else None

    async def serve(request: web.Request) -> web.StreamResponse:
        if request.path.startswith(_RESERVED):
            return error(404, "not_found", "no such endpoint")
        if root is None or not (root / "index.html").is_file():
            return web.Response(
                text="Parley is running. The web UI is not built: run `make web`.\n",
                content_type="text/plain",
            )
        target = (root / request.match_info["tail"]).resolve()
        if target.is_relative_to(root) and target.is_file():
            # Vite fingerprints everything under assets/, so it can be cached forever.
            cache = _IMMUTABLE if target.parent.name == "assets" else "no-cache"
            return web.FileResponse(target, headers={"Cache-Control": cache})
        return web.FileResponse(root / "index.html", headers={"Cache-Control": "no-cache"})

    return [web.get("/{tail:.*}", serve)]
