"""The JSON endpoints under ``/api``; each handler validates, acts through the store, the
send pipeline or the announcer, and answers."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from parley.announcer import Announcer
from parley.api.http import json, read_json
from parley.auth import AuthService, Session
from parley.models import User
from parley.protocol import validation
from parley.protocol.errors import invalid, not_found
from parley.sending import SendPipeline
from parley.store import NotMember, Store

MAX_GROUP_MEMBERS = 1000
USER_SEARCH_LIMIT = 20


def _session(session: Session) -> dict[str, object]:
    return {
        "user": session.user.to_json(),
        "access_token": session.access_token,
        "refresh_token": session.refresh_token,
        "expires_in": session.expires_in,
    }


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise invalid("limit must be a whole number from 1 to 100")
    return int(raw)


def _cursor(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise invalid(f"{name} must be a non-negative whole number")
    return int(raw)


def _refresh_token(data: dict[str, object]) -> str:
    token = data.get("refresh_token")
    if not isinstance(token, str) or not token or len(token) > 256:
        raise invalid("refresh_token must be a non-empty string")
    return token


class Api:
    def __init__(
        self, store: Store, auth: AuthService, announcer: Announcer, sending: SendPipeline
    ) -> None:
        self.store = store
        self.auth = auth
        self.announcer = announcer
        self.sending = sending

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/auth/register", self.register),
            web.post("/api/auth/login", self.login),
            web.post("/api/auth/refresh", self.refresh),
            web.post("/api/auth/logout", self.logout),
            web.get("/api/me", self.me),
            web.get("/api/users", self.users),
            web.get("/api/rooms", self.rooms),
            web.post("/api/rooms", self.create_room),
            web.get("/api/rooms/{room}", self.room),
            web.post("/api/rooms/{room}/members", self.add_member),
            web.delete("/api/rooms/{room}/members/me", self.leave),
            web.get("/api/rooms/{room}/messages", self.messages),
            web.post("/api/rooms/{room}/messages", self.post_message),
        ]

    async def _user(self, request: web.Request) -> User:
        return await self.auth.user_for(_bearer(request))

    # auth

    async def register(self, request: web.Request) -> web.Response:
        data = await read_json(request)
        username = validation.username(data.get("username"))
        password = validation.password(data.get("password"))
        display = validation.display_name(data.get("display_name"), username)
        return json(_session(await self.auth.register(username, password, display)), 201)

    async def login(self, request: web.Request) -> web.Response:
        data = await read_json(request)
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise invalid("username and password must be strings")
        client = request.remote or "unknown"
        return json(_session(await self.auth.login(username.lower()[:64], password, client)))

    async def refresh(self, request: web.Request) -> web.Response:
        token = _refresh_token(await read_json(request))
        return json(_session(await self.auth.refresh(token)))

    async def logout(self, request: web.Request) -> web.Response:
        await self.auth.logout(_refresh_token(await read_json(request)))
        return web.Response(status=204)

    # users

    async def me(self, request: web.Request) -> web.Response:
        return json((await self._user(request)).to_json())

    async def users(self, request: web.Request) -> web.Response:
        await self._user(request)
        prefix = request.query.get("q", "").strip().lower()[:32]
        found = await self.store.search_users(prefix, USER_SEARCH_LIMIT)
        return json({"users": [u.to_json() for u in found]})

    # rooms

    async def rooms(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        return json({"rooms": [r.to_json() for r in await self.store.rooms(user.id)]})

    async def room(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room = await self.store.room(_room_id(request), user.id)
        if room is None:
            raise not_found()
        return json(room.to_json())

    async def create_room(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        data = await read_json(request)
        kind = data.get("kind")
        names = data.get("members")
        if kind not in ("group", "direct"):
            raise invalid("kind must be 'group' or 'direct'")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise invalid("members must be a list of usernames")
        wanted = list(dict.fromkeys(n.lower() for n in names))
        if kind == "direct" and len(wanted) != 1:
            raise invalid("a direct room has exactly one other member")
        if len(wanted) > MAX_GROUP_MEMBERS:
            raise invalid(f"a group starts with at most {MAX_GROUP_MEMBERS} members")
        found = await self.store.users_named(wanted)
        missing = sorted(set(wanted) - {u.username for u in found})
        if missing:
            raise invalid(f"unknown users: {', '.join(missing[:10])}")
        if kind == "direct":
            room_id, created = await self.store.direct_room(user.id, found[0].id)
        else:
            name = validation.room_name(data.get("name"))
            room_id = await self.store.create_group(name, [user.id, *(u.id for u in found)])
            created = True
        room = await self.store.room(room_id, user.id)
        assert room is not None
        if created:
            await self.announcer.room_created(room)
        return json(room.to_json(), 201 if created else 200)

    async def add_member(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = _room_id(request)
        data = await read_json(request)
        room = await self.store.room(room_id, user.id)
        if room is None:
            raise not_found()
        if room.kind != "group":
            raise invalid("members can only be added to a group")
        username = data.get("username")
        if not isinstance(username, str):
            raise invalid("username must be a string")
        found = await self.store.users_named([username.lower()])
        if not found:
            raise invalid(f"unknown user: {username[:32]}")
        try:
            added = await self.store.add_member(room_id, user.id, found[0].id)
        except NotMember:
            raise not_found() from None
        room = await self.store.room(room_id, user.id)
        assert room is not None
        if added:
            await self.announcer.member_added(room, found[0].id)
        return json(room.to_json(), 201 if added else 200)

    async def leave(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = _room_id(request)
        room = await self.store.room(room_id, user.id)
        if room is None:
            raise not_found()
        if room.kind != "group":
            raise invalid("you cannot leave a direct conversation")
        try:
            await self.store.remove_member(room_id, user.id)
        except NotMember:
            raise not_found() from None
        remaining = tuple(m for m in room.members if m.id != user.id)
        await self.announcer.member_left(
            dataclasses.replace(room, members=remaining, unread=0), user.id
        )
        return web.Response(status=204)

    # messages

    async def messages(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = _room_id(request)
        before = _cursor(request.query.get("before"), "before")
        after = _cursor(request.query.get("after"), "after")
        if before is not None and after is not None:
            raise invalid("give either before or after, not both")
        limit = _limit(request.query.get("limit"))
        if not await self.store.is_member(room_id, user.id):
            raise not_found()
        page, has_more = await self.store.page(room_id, before=before, after=after, limit=limit)
        return json({"messages": [m.to_json() for m in page], "has_more": has_more})

    async def post_message(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = _room_id(request)
        data = await read_json(request)
        client_id = validation.client_id(data.get("client_id"), required=False)
        body = validation.body(data.get("body"), client_id)
        self.sending.admit(user, client_id)
        message = await self.sending.send(user, room_id, body, client_id)
        return json(message.to_json(), 201)


def _room_id(request: web.Request) -> int:
    raw = request.match_info["room"]
    if not raw.isdigit() or len(raw) > 18 or int(raw) == 0:
        raise not_found()
    return int(raw)
