"""The client's address and scheme when Parley runs behind a reverse proxy.

A proxy appends the address it got a request from to ``X-Forwarded-For`` and
states the client's scheme in ``X-Forwarded-Proto``. Anybody can send those
headers, so they are believed only when the peer is a configured trusted proxy
(``PARLEY_TRUSTED_PROXIES``); the client is then the right-most address of
``X-Forwarded-For`` that is not itself a trusted proxy (a client can prepend
whatever it likes, but not append). From an untrusted peer both headers are
ignored. Handlers read the result as ``request.remote`` and ``request.secure``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

from parley.api.http import Handler
from parley.config import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def client_address(
    peer: Address, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> Address:
    """Who sent the request: ``peer``, or the hop that a chain of trusted proxies names."""
    current = peer
    if not _trusted(peer, trusted):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a trusted proxy passed on something unreadable: believe nothing further
        current = address
        if not _trusted(address, trusted):
            break
    return current


def middleware(trusted: Sequence[Network]) -> Middleware:
    """Rewrites ``remote`` and ``scheme`` of requests that come through a trusted proxy."""

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = _address(request.remote)
        if peer is None or not _trusted(peer, trusted):
            return await handler(request)
        remote = client_address(peer, request.headers.getall("X-Forwarded-For", ()), trusted)
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        scheme = proto if proto in ("http", "https") else request.scheme
        return await handler(request.clone(remote=str(remote), scheme=scheme))

    return forwarded
