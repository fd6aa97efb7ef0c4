"""The admin API under ``/api/admin``: the live overview of every gateway, users (search,
disable, enable, sign out everywhere), rooms, moderation (delete any message) and the
audit log of every admin action.

Every route starts with ``_admin``: no token is 401, a member's token 403, so a
route added here without it is caught by the test that walks the app's router.
Each action is written to the audit log after it took effect, with the client
address the proxy middleware resolved (``api/proxy.py``).
"""

from __future__ import annotations

from enum import StrEnum

from aiohttp import web

from parley.api.http import bearer, json
from parley.api.routes import room_in_path, seq_in_path
from parley.auth import Access, AuthService
from parley.figures import Board
from parley.protocol import validation
from parley.protocol.errors import ProtocolError, invalid
from parley.sending import SendPipeline
from parley.store import Store

PREFIX = "/api/admin"
PAGE = 50


class AuditAction(StrEnum):
    """What an audit entry records; the words the audit page shows."""

    DISABLE = "user.disable"
    ENABLE = "user.enable"
    LOGOUT_ALL = "user.logout_all"
    DELETE_MESSAGE = "message.delete"


def _page_size(raw: str | None) -> int:
    return PAGE if raw is None else validation.whole_number(raw, "limit", 1, 100)


def _offset(raw: str | None) -> int:
    return 0 if raw is None else validation.whole_number(raw, "offset", 0, 1_000_000)


def _no_user() -> ProtocolError:
    return ProtocolError("not_found", "no such user")


def _user_id(request: web.Request) -> int:
    try:
        return validation.object_id(request.match_info["user"], "user")
    except ProtocolError:
        raise _no_user() from None


class AdminApi:
    def __init__(
        self,
        store: Store,
        auth: AuthService,
        sending: SendPipeline,
        board: Board,
        interval: float,
    ) -> None:
        self.store = store
        self.auth = auth
        self.sending = sending
        self.board = board
        self.interval = interval

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{PREFIX}/overview", self.overview),
            web.get(f"{PREFIX}/users", self.users),
            web.post(f"{PREFIX}/users/{{user}}/disable", self.disable),
            web.post(f"{PREFIX}/users/{{user}}/enable", self.enable),
            web.post(f"{PREFIX}/users/{{user}}/logout-all", self.logout_all),
            web.get(f"{PREFIX}/rooms", self.rooms),
            web.delete(f"{PREFIX}/rooms/{{room}}/messages/{{seq}}", self.delete_message),
            web.get(f"{PREFIX}/audit", self.audit),
        ]

    async def _admin(self, request: web.Request) -> Access:
        access = await self.auth.access_for(bearer(request))
        if not access.admin:
            raise ProtocolError("forbidden", "this needs an admin")
        return access

    async def _audit(
        self, request: web.Request, access: Access, action: AuditAction, target: str
    ) -> None:
        client = (request.remote or "unknown")[:64]
        await self.store.record_audit(access.user.id, action.value, target, client)

    async def overview(self, request: web.Request) -> web.Response:
        """Every live gateway's, persister's and notifications worker's latest figures (the
        whole cluster's, through the board) and their sums; ``interval_seconds`` is how
        often they change, for the page's polling."""
        await self._admin(request)
        gateways = await self.board.gateways()
        workers = await self.board.workers()
        notifiers = await self.board.notifiers()
        return json(
            {
                "gateways": [g.to_json() for g in gateways],
                "persisters": [w.to_json() for w in workers],
                "notifiers": [n.to_json() for n in notifiers],
                "totals": {
                    "gateways": len(gateways),
                    "connections": sum(g.connections for g in gateways),
                    "messages_per_second": round(sum(g.messages_per_second for g in gateways), 2),
                    "send_errors": sum(g.send_errors for g in gateways),
                    "persister_lag": sum(w.lag for w in workers),
                    "dead_letters": sum(w.dead_letters for w in workers),
                    "notify_lag": sum(n.lag for n in notifiers),
                },
                "interval_seconds": self.interval,
            }
        )

    async def users(self, request: web.Request) -> web.Response:
        await self._admin(request)
        query = validation.search_prefix(request.query.get("q", ""))
        offset = _offset(request.query.get("offset"))
        limit = _page_size(request.query.get("limit"))
        found = await self.store.accounts(query, offset=offset, limit=limit + 1)
        return json(
            {
                "users": [a.to_json() for a in found[:limit]],
                "next_offset": offset + limit if len(found) > limit else None,
            }
        )

    async def disable(self, request: web.Request) -> web.Response:
        return await self._set_disabled(request, disabled=True)

    async def enable(self, request: web.Request) -> web.Response:
        return await self._set_disabled(request, disabled=False)

    async def _set_disabled(self, request: web.Request, *, disabled: bool) -> web.Response:
        access = await self._admin(request)
        user_id = _user_id(request)
        if disabled and user_id == access.user.id:
            raise invalid("you cannot disable your own account")
        if not await self.auth.set_disabled(user_id, disabled):
            raise _no_user()
        action = AuditAction.DISABLE if disabled else AuditAction.ENABLE
        await self._audit(request, access, action, f"user:{user_id}")
        return await self._account(user_id)

    async def logout_all(self, request: web.Request) -> web.Response:
        access = await self._admin(request)
        user_id = _user_id(request)
        if await self.store.account(user_id) is None:
            raise _no_user()
        await self.auth.revoke_all(user_id)
        await self._audit(request, access, AuditAction.LOGOUT_ALL, f"user:{user_id}")
        return web.Response(status=204)

    async def _account(self, user_id: int) -> web.Response:
        found = await self.store.account(user_id)
        if found is None:
            raise _no_user()
        return json(found.to_json())

    async def rooms(self, request: web.Request) -> web.Response:
        await self._admin(request)
        offset = _offset(request.query.get("offset"))
        limit = _page_size(request.query.get("limit"))
        found = await self.store.room_stats(offset=offset, limit=limit + 1)
        return json(
            {
                "rooms": [r.to_json() for r in found[:limit]],
                "next_offset": offset + limit if len(found) > limit else None,
            }
        )

    async def delete_message(self, request: web.Request) -> web.Response:
        """Moderation: the normal room ``delete`` event, sent by the admin through the send
        pipeline, so members see it as they see any delete (and resumes replay it)."""
        access = await self._admin(request)
        room_id, seq = room_in_path(request), seq_in_path(request)
        event = await self.sending.send(
            access.user, room_id, "", None, kind="delete", target=seq, moderator=True
        )
        await self._audit(request, access, AuditAction.DELETE_MESSAGE, f"room:{room_id}/seq:{seq}")
        return json({"event": None if event is None else event.to_json()})

    async def audit(self, request: web.Request) -> web.Response:
        await self._admin(request)
        raw = request.query.get("before")
        before = None if raw is None else validation.whole_number(raw, "before", 1)
        limit = _page_size(request.query.get("limit"))
        entries = await self.store.audit(before=before, limit=limit + 1)
        return json(
            {
                "entries": [e.to_json() for e in entries[:limit]],
                "next_before": str(entries[limit - 1].id) if len(entries) > limit else None,
            }
        )
