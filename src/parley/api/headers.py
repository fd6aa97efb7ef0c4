"""Security headers on every response: what the browser may load, frame and leak.

The web UI is built to need nothing beyond its own origin: scripts and styles
are files (no inline code), the API and the socket are same-origin. A strict
Content-Security-Policy then turns an injected ``<script>`` into a refused
load instead of a stolen session; ``frame-ancestors`` (and ``X-Frame-Options``
for older browsers) stops clickjacking; ``nosniff`` stops a JSON or text body
being run as a script; ``no-referrer`` keeps room URLs out of the sites that
messages link to.
"""

from __future__ import annotations

from aiohttp import web

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # blob: for attachments and avatars, fetched with the bearer token then shown.
        "img-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


async def add(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: also reaches static files, errors and aiohttp's own 404s."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
