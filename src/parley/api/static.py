"""Serves the built web UI, falling back to index.html for the client-side routes."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from parley.api.http import error

_RESERVED = ("/ws", "/healthz", "/readyz", "/metrics", "/openapi.json")
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
        try:
            target = (root / request.match_info["tail"]).resolve()
            found = target.is_relative_to(root) and target.is_file()
        except (OSError, ValueError):  # a NUL in the path, a name over the filesystem's limit
            return error(404, "not_found", "no such file")
        if found:
            # Vite fingerprints everything under assets/, so it can be cached forever.
            cache = _IMMUTABLE if target.parent.name == "assets" else "no-cache"
            return web.FileResponse(target, headers={"Cache-Control": cache})
        return web.FileResponse(root / "index.html", headers={"Cache-Control": "no-cache"})

    # Not under /api/: there an unknown path is a JSON 404, and a known one with another
    # method a 405 whose Allow header lists only the API's methods.
    return [web.get("/{tail:(?!api/).*}", serve)]
