"""Web Push: the server's VAPID public key, and each browser's subscription.

``POST /api/push/subscriptions`` takes what ``PushSubscription.toJSON()`` gives (endpoint
and keys) and ties it to the session of the token, so signing out of that session ends
its notifications too; ``DELETE`` (by endpoint) removes one of the caller's own.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from parley.api.http import bearer, json, read_json
from parley.auth import AuthService
from parley.notify.webpush import endpoint_problem, keys_problem
from parley.protocol.errors import ProtocolError, invalid
from parley.store import Store


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(f"{field} must be a non-empty string")
    return value


class PushApi:
    def __init__(
        self, store: Store, auth: AuthService, public_key: str, *, allow_private: bool
    ) -> None:
        self.store = store
        self.auth = auth
        self.public_key = public_key
        self.allow_private = allow_private

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/push/key", self.key),
            web.post("/api/push/subscriptions", self.subscribe),
            web.delete("/api/push/subscriptions", self.unsubscribe),
        ]

    async def key(self, request: web.Request) -> web.Response:
        """Public: a browser needs it before it can subscribe, and it proves nothing."""
        return json({"public_key": self.public_key})

    def _endpoint(self, data: dict[str, Any]) -> str:
        endpoint = _text(data.get("endpoint"), "endpoint")
        problem = endpoint_problem(endpoint, allow_private=self.allow_private)
        if problem is not None:
            raise invalid(problem)
        return endpoint

    async def subscribe(self, request: web.Request) -> web.Response:
        access = await self.auth.access_for(bearer(request))
        data = await read_json(request)
        endpoint = self._endpoint(data)
        keys = data.get("keys")
        if not isinstance(keys, dict):
            raise invalid("keys must be an object with p256dh and auth")
        p256dh = _text(keys.get("p256dh"), "keys.p256dh")
        auth = _text(keys.get("auth"), "keys.auth")
        problem = keys_problem(p256dh, auth)
        if problem is not None:
            raise invalid(problem)
        await self.store.add_push_subscription(
            access.user.id, access.family, endpoint, p256dh, auth
        )
        return web.Response(status=204)

    async def unsubscribe(self, request: web.Request) -> web.Response:
        user = await self.auth.user_for(bearer(request))
        endpoint = self._endpoint(await read_json(request))
        if not await self.store.remove_push_subscription(user.id, endpoint):
            raise ProtocolError("not_found", "no push subscription of yours at that endpoint")
        return web.Response(status=204)
