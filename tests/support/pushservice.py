"""A push service on 127.0.0.1 that checks what a real one checks, for the Web Push tests.

It verifies the VAPID token (RFC 8292: ES256 against the ``k=`` key, ``aud`` its own
origin, ``exp`` within 24 hours, a ``sub``), decrypts the ``aes128gcm`` payload (RFC 8291)
with the subscriber's private key, which ``subscriber()`` makes as a browser would, and
records what arrived. ``answer(subscriber, status)`` makes it refuse an endpoint
(410 gone, 429 too many) as Mozilla's and Google's services do.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

MAX_TOKEN_LIFETIME = 24 * 3600


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscriber:
    """One browser's subscription: the endpoint and keys it gives the server, and the
    private key and auth secret it keeps to decrypt."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        return b64(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64(self.auth_secret)

    def to_json(self) -> dict[str, Any]:
        """As ``PushSubscription.toJSON()`` in a browser."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        }


@dataclass
class Received:
    """One push accepted: the decrypted payload and the headers that matter."""

    subscriber: str
    payload: dict[str, Any]
    topic: str | None
    ttl: str | None
    urgency: str | None
    vapid_key: str
    claims: dict[str, Any]


@dataclass
class PushService:
    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Why requests were refused (a bad token, a payload that does not decrypt)."""
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.post("/push/{id}", self._push)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def subscriber(self) -> Subscriber:
        """A new browser subscription at this service."""
        ident = secrets.token_urlsafe(12)
        found = Subscriber(
            ident,
            f"{self.origin}/push/{ident}",
            ec.generate_private_key(ec.SECP256R1()),
            os.urandom(16),
        )
        self.subscribers[ident] = found
        return found

    def answer(self, subscriber: Subscriber, status: int) -> None:
        """From now on answer ``status`` (without reading the push) for this endpoint."""
        self.answers[subscriber.id] = status

    def to(self, subscriber: Subscriber) -> list[Received]:
        return [r for r in self.received if r.subscriber == subscriber.id]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Once ``count`` pushes have been accepted in all."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.received) >= count), timeout
            )
        return self.received

    def _vapid(self, request: web.Request) -> tuple[str, dict[str, Any]]:
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        if scheme != "vapid":
            raise ValueError("Authorization is not the vapid scheme")
        found = dict(p.strip().split("=", 1) for p in params.split(","))
        token, key = found["t"], found["k"]
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
        claims: dict[str, Any] = jwt.decode(
            token, public, algorithms=["ES256"], audience=self.origin, options={"require": ["exp"]}
        )
        if claims["exp"] > time.time() + MAX_TOKEN_LIFETIME:
            raise ValueError("exp is more than 24 hours ahead")
        if not claims.get("sub"):
            raise ValueError("no sub claim")
        return key, claims

    async def _push(self, request: web.Request) -> web.Response:
        ident = request.match_info["id"]
        subscriber = self.subscribers.get(ident)
        if subscriber is None:
            return web.Response(status=404)
        if ident in self.answers:
            return web.Response(status=self.answers[ident])
        try:
            key, claims = self._vapid(request)
        except (ValueError, KeyError, jwt.PyJWTError) as exc:
            self.refused.append(f"vapid: {exc}")
            return web.Response(status=403)
        if request.headers.get("Content-Encoding") != "aes128gcm" or "TTL" not in request.headers:
            self.refused.append("no aes128gcm Content-Encoding or no TTL")
            return web.Response(status=400)
        try:
            plain = http_ece.decrypt(
                await request.read(),
                private_key=subscriber.private_key,
                auth_secret=subscriber.auth_secret,
                version="aes128gcm",
            )
        except Exception as exc:  # http_ece raises its own and cryptography's errors
            self.refused.append(f"decrypt: {exc!r}")
            return web.Response(status=400)
        async with self._arrived:
            self.received.append(
                Received(
                    ident,
                    orjson.loads(plain),
                    request.headers.get("Topic"),
                    request.headers.get("TTL"),
                    request.headers.get("Urgency"),
                    key,
                    claims,
                )
            )
            self._arrived.notify_all()
        return web.Response(status=201, headers={"Location": f"{self.origin}/message/{ident}"})
