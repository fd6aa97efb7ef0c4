"""The Web Push channel: a notification to every browser the person subscribed.

Each subscription gets the payload encrypted to its keys (RFC 8291, ``aes128gcm``) and a
VAPID token (RFC 8292) signed with the server's key, posted by pywebpush's async path on
one shared aiohttp session: the request never blocks the event loop, and no thread pool
is needed (the encryption itself is one ECDH and one AES-GCM block, well under a
millisecond, so it stays on the loop). The push service's answer decides what follows:
404/410 mean the browser unsubscribed and the row is dropped; 429 and 5xx (or no answer)
mean try later (``DeliveryFailed(retry=True)``), and the devices that already have it
are remembered, so a retry does not show it twice there.

The endpoint is a URL a browser chose, so any user could point it anywhere: it must be
https to a public address. Hosts are checked when registered and again when resolved
(``PublicResolver``), so a name that later resolves to a private address reaches
nothing. ``allow_private`` lifts this for tests and development, where the push
service runs on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import ipaddress
import logging
import re
import socket
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher, WebPushException

from parley.notify.base import ChannelName, DeliveryFailed, Notification
from parley.store.push import PushSubscription

logger = logging.getLogger(__name__)

MAX_ENDPOINT = 1024
"""Push services' endpoints are 150-500 characters; the column holds 1024."""
MAX_PAYLOAD = 3000
"""Push services accept 4096 bytes of encrypted record; this leaves room for the record's
header, padding and tag."""
TOKEN_LIFETIME = 12 * 3600
"""RFC 8292 caps ``exp`` at 24 hours; half of that leaves room for clocks that disagree."""
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
REMEMBERED = 10_000
"""(idempotency key, subscription) pairs already delivered, kept for the retries."""
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class Subscriptions(Protocol):
    """The part of the store the channel uses."""

    async def users_push_subscriptions(
        self, user_ids: Sequence[int]
    ) -> dict[int, list[PushSubscription]]: ...
    async def drop_push_subscription(self, subscription_id: int) -> None: ...


def _b64decode(value: str) -> bytes | None:
    if not _BASE64URL.fullmatch(value):
        return None
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


def endpoint_problem(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` is no push endpoint to post to, or None when it is one."""
    if len(url) > MAX_ENDPOINT or not url.isascii() or not url.isprintable() or " " in url:
        return f"endpoint must be a URL of at most {MAX_ENDPOINT} printable ASCII characters"
    try:
        parts = urlsplit(url)  # raises on a bracketed host that is no IPv6 address
        host, _ = parts.hostname, parts.port
    except ValueError:
        return "endpoint has a bad host or port"
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        return "endpoint must be scheme://host/path, with no user or fragment"
    local = allow_private and host in _LOOPBACK
    if not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        return "endpoint must be an https:// URL"
    if allow_private:
        return None
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "endpoint must be on the public internet"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: checked again when resolved (PublicResolver)
    return None if address.is_global else "endpoint must be on the public internet"


def keys_problem(p256dh: str, auth: str) -> str | None:
    """Why the subscription's keys cannot be encrypted to, or None."""
    raw = _b64decode(p256dh) if len(p256dh) <= 128 else None
    if raw is None or len(raw) != 65:
        return "keys.p256dh must be a P-256 public key (65 bytes), base64url"
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return "keys.p256dh is not a point on P-256"
    secret = _b64decode(auth) if len(auth) <= 64 else None
    if secret is None or len(secret) != 16:
        return "keys.auth must be 16 bytes, base64url"
    return None


def public_key(vapid_private_key: str) -> str:
    """The applicationServerKey browsers subscribe with: the uncompressed point, base64url."""
    point = Vapid02.from_string(vapid_private_key).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def topic(key: str) -> str:
    """RFC 8030 ``Topic`` (at most 32 base64url characters) from the idempotency key: a
    retry replaces a copy the push service still holds instead of queueing a second."""
    digest = hashlib.sha256(key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def payload(notification: Notification) -> bytes:
    """What the service worker shows: title, body and the message to open on a click."""
    sender = notification.sender.display_name
    room = notification.room_name
    data = {
        "title": f"{sender} in {room}" if room is not None else sender,
        "body": notification.excerpt,
        "room": str(notification.room_id),
        "seq": notification.seq,
        "reason": str(notification.reason),
        "url": f"/rooms/{notification.room_id}/messages/{notification.seq}",
    }
    encoded = orjson.dumps(data)
    while len(encoded) > MAX_PAYLOAD:  # a long excerpt of many-byte characters
        data["body"] = str(data["body"])[: len(str(data["body"])) * 3 // 4] + "…"
        encoded = orjson.dumps(data)
    return encoded


class PublicResolver(AbstractResolver):
    """Resolves as aiohttp does, keeping only public addresses: a push endpoint's name
    that resolves to this host or the private network is refused at connect time."""

    def __init__(self) -> None:
        self._inner = aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [r for r in found if ipaddress.ip_address(r["host"]).is_global]
        if not public:
            raise OSError(f"{host} has no public address")
        return public

    async def close(self) -> None:
        await self._inner.close()


class WebPushChannel:
    """Delivers to every push subscription of the user; see the module's docstring."""

    name = ChannelName.PUSH

    def __init__(
        self,
        store: Subscriptions,
        *,
        vapid_private_key: str,
        subject: str,
        ttl: int,
        allow_private: bool = False,
    ) -> None:
        self.store = store
        self.vapid = Vapid02.from_string(vapid_private_key)
        self.subject = subject
        self.ttl = ttl
        self.allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None
        self._delivered: OrderedDict[tuple[str, int], None] = OrderedDict()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver = None if self.allow_private else PublicResolver()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver, limit=100),
                timeout=REQUEST_TIMEOUT,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver_many(self, notifications: Sequence[Notification]) -> None:
        """One subscriptions read for the batch's users, then each notification to its
        user's browsers, in order. A user with a notification to retry gets none of their
        later ones in this batch (they come in order on the retry)."""
        if not notifications:
            return
        subscriptions = await self.store.users_push_subscriptions(
            sorted({n.user_id for n in notifications})
        )
        stalled: set[int] = set()
        for notification in notifications:
            if notification.user_id in stalled:
                continue
            outcome = await self._deliver(notification, subscriptions.get(notification.user_id, []))
            if outcome == "retry":
                stalled.add(notification.user_id)
            elif outcome == "refused":
                logger.warning(
                    "push: cannot deliver %s: every push service refused it",
                    notification.key(self.name),
                )
        if stalled:
            raise DeliveryFailed("a push service asked to try again later", retry=True)

    async def _deliver(
        self, notification: Notification, subscriptions: list[PushSubscription]
    ) -> str | None:
        """Send to each of ``subscriptions`` not yet delivered to (dropping from it the
        gone): "retry" if one asked for it, "refused" if all refused, else None."""
        key = notification.key(self.name)
        waiting = [s for s in subscriptions if (key, s.id) not in self._delivered]
        if not waiting:
            return None
        body = payload(notification)
        headers = {"Topic": topic(key), "Urgency": "high"}
        outcomes = await asyncio.gather(*(self._send(s, body, headers) for s in waiting))
        for subscription, outcome in zip(waiting, outcomes, strict=True):
            if outcome == "delivered":
                self._remember(key, subscription.id)
            elif outcome == "gone":
                await self.store.drop_push_subscription(subscription.id)
                subscriptions.remove(subscription)
        if "retry" in outcomes:
            return "retry"
        if all(outcome == "refused" for outcome in outcomes):
            return "refused"
        return None

    def _remember(self, key: str, subscription_id: int) -> None:
        self._delivered[(key, subscription_id)] = None
        if len(self._delivered) > REMEMBERED:
            self._delivered.popitem(last=False)

    async def _send(
        self, subscription: PushSubscription, body: bytes, headers: dict[str, str]
    ) -> str:
        """ "delivered", "gone" (drop it), "retry" or "refused" (a bad request: log it)."""
        problem = endpoint_problem(subscription.endpoint, allow_private=self.allow_private)
        if problem is not None:
            logger.warning("push subscription %d dropped: %s", subscription.id, problem)
            return "gone"
        parts = urlsplit(subscription.endpoint)
        claims: dict[str, Any] = {
            "sub": self.subject,
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + TOKEN_LIFETIME,
        }
        info = {
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        }
        try:
            pusher = WebPusher(info, aiohttp_session=self._http())
            response = await pusher.send_async(
                body,
                {**headers, **self.vapid.sign(claims)},
                ttl=self.ttl,
                content_encoding="aes128gcm",
                timeout=REQUEST_TIMEOUT,
            )
        except WebPushException as exc:  # keys the library cannot encrypt to
            logger.warning("push subscription %d dropped: %s", subscription.id, exc)
            return "gone"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            logger.info("push to %s failed: %r", parts.hostname, exc)
            return "retry"
        assert isinstance(response, aiohttp.ClientResponse)  # not the curl debugging form
        status = response.status
        if status < 300:
            return "delivered"
        if status in (404, 410):
            return "gone"
        if status == 429 or status >= 500:
            logger.info("push to %s: %d, later", parts.hostname, status)
            return "retry"
        logger.warning("push to %s refused: %d %s", parts.hostname, status, response.reason)
        return "refused"
