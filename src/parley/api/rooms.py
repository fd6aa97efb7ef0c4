"""Running a group over HTTP: settings, roles, members, the directory of public rooms,
joining them, and hiding a direct conversation.

Each route checks the caller's role in the database (nobody has one in a direct room, so
its settings and members are 403 for both people), inside the store's transaction that
makes the change (``store/rooms.py``), never from a token or a cached room; then it tells
the room what changed through the announcer: settings and roles as ``room_updated``,
members coming and going as the ``room``/``left`` events the socket already knows.
"""

from __future__ import annotations

import dataclasses

from aiohttp import web

from parley.announcer import Announcer
from parley.api.http import bearer, json, read_json
from parley.api.routes import room_in_path
from parley.auth import AuthService
from parley.models import Room, RoomRole, User
from parley.protocol import validation
from parley.protocol.errors import ProtocolError, invalid, not_found
from parley.ratelimit import Action, UserLimits
from parley.store import NotAllowed, NotMember, RoomChange, Store

NOT_THE_DIRECTORY = "/api/rooms/{room:(?!directory$)[^/]+}"
"""``/api/rooms/{room}`` but for the directory's path, which is read-only (405, not 404)."""
DIRECTORY_PAGE = 20
MAX_DIRECTORY_PAGE = 50


def forbidden(what: str) -> ProtocolError:
    return ProtocolError("forbidden", f"your role in this room does not allow you to {what}")


def _no_member() -> ProtocolError:
    return ProtocolError("not_found", "no such member in this room")


def _member_id(value: object) -> int:
    """A user id string; one that names nobody the way ids are written names no member (404)."""
    if not isinstance(value, str):
        raise invalid("user must be an id string")
    try:
        return validation.object_id(value, "user")
    except ProtocolError:
        raise _no_member() from None


def _member_in_path(request: web.Request) -> int:
    return _member_id(request.match_info["user"])


def _role(value: object) -> RoomRole:
    if value == "admin":
        return "admin"
    if value == "member":
        return "member"
    raise invalid("role must be 'admin' or 'member' (hand the room over to make an owner)")


class RoomsApi:
    def __init__(
        self, store: Store, auth: AuthService, announcer: Announcer, limits: UserLimits
    ) -> None:
        self.store = store
        self.auth = auth
        self.announcer = announcer
        self.limits = limits

    def routes(self) -> list[web.RouteDef]:
        """Registered before ``Api``'s routes: ``/api/rooms/directory`` is not a room id."""
        return [
            web.get("/api/rooms/directory", self.directory),
            web.patch(NOT_THE_DIRECTORY, self.update),
            web.post("/api/rooms/{room}/members", self.add_member),
            web.delete("/api/rooms/{room}/members/me", self.leave),
            web.delete("/api/rooms/{room}/members/{user}", self.remove_member),
            web.put("/api/rooms/{room}/members/{user}/role", self.set_role),
            web.post("/api/rooms/{room}/owner", self.transfer),
            web.post("/api/rooms/{room}/join", self.join),
            web.post("/api/rooms/{room}/hide", self.hide),
        ]

    async def _user(self, request: web.Request) -> User:
        return await self.auth.user_for(bearer(request))

    async def _room(self, room_id: int, viewer_id: int) -> Room:
        room = await self.store.room(room_id, viewer_id)
        if room is None:
            raise not_found()
        return room

    async def _group(self, room_id: int, viewer_id: int) -> Room:
        room = await self._room(room_id, viewer_id)
        if room.kind != "group":
            raise invalid("members can only be added to a group")
        return room

    async def directory(self, request: web.Request) -> web.Response:
        await self._user(request)
        query = request.query
        text = validation.search_prefix(query.get("q", ""))
        raw_cursor, raw_limit = query.get("cursor"), query.get("limit")
        after = None if raw_cursor is None else validation.whole_number(raw_cursor, "cursor")
        limit = (
            DIRECTORY_PAGE
            if raw_limit is None
            else validation.whole_number(raw_limit, "limit", 1, MAX_DIRECTORY_PAGE)
        )
        found, more = await self.store.directory(text, after=after, limit=limit)
        return json(
            {
                "rooms": [r.to_json() for r in found],
                "next_cursor": str(found[-1].id) if more else None,
            }
        )

    async def update(self, request: web.Request) -> web.Response:
        """Rename, set or clear the topic, make public or invite-only: owners and admins."""
        user = await self._user(request)
        room_id = room_in_path(request)
        data = await read_json(request)
        change = RoomChange(
            name=validation.room_name(data["name"]) if "name" in data else None,
            topic=validation.room_topic(data["topic"]) if "topic" in data else None,
            public=validation.flag(data["public"], "public") if "public" in data else None,
        )
        try:
            await self.store.update_room(room_id, user.id, change)
        except NotMember:
            raise not_found() from None
        except NotAllowed:
            raise forbidden("change its settings") from None
        return await self._changed(room_id, user)

    async def add_member(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = room_in_path(request)
        data = await read_json(request)
        await self._group(room_id, user.id)
        username = validation.username(data.get("username"))
        found = await self.store.users_named([username])
        if not found:
            raise invalid(f"unknown user: {username}")
        await self.limits.take(Action.MEMBER, user.id)
        try:
            added = await self.store.add_member(room_id, user.id, found[0].id)
        except NotMember:
            raise not_found() from None
        except NotAllowed:
            raise forbidden("add members") from None
        room = await self._room(room_id, user.id)
        if added:
            await self.announcer.member_added(room, found[0].id)
        return json(room.to_json(), 201 if added else 200)

    async def join(self, request: web.Request) -> web.Response:
        """A public group, by anyone; the per-user limit of member adds holds for joins."""
        user = await self._user(request)
        room_id = room_in_path(request)
        await self.limits.take(Action.MEMBER, user.id)
        try:
            joined = await self.store.join_room(room_id, user.id)
        except NotMember:
            raise not_found() from None
        except NotAllowed:
            raise ProtocolError("forbidden", "this room is invite-only") from None
        room = await self._room(room_id, user.id)
        if joined:
            await self.announcer.member_added(room, user.id)
        return json(room.to_json(), 201 if joined else 200)

    async def leave(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = room_in_path(request)
        room = await self._room(room_id, user.id)
        if room.kind != "group":
            raise invalid("you cannot leave a direct conversation")
        try:
            await self.store.remove_member(room_id, user.id)
        except NotMember:
            raise not_found() from None
        await self._gone(room, user.id)
        return web.Response(status=204)

    async def remove_member(self, request: web.Request) -> web.Response:
        """The member's sockets on every gateway hear ``left`` and stop following the room."""
        user = await self._user(request)
        room_id = room_in_path(request)
        target = _member_in_path(request)
        room = await self._room(room_id, user.id)
        try:
            await self.store.expel_member(room_id, user.id, target)
        except NotMember:
            raise _no_member() from None
        except NotAllowed:
            raise forbidden("remove this member") from None
        await self._gone(room, target)
        return web.Response(status=204)

    async def set_role(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = room_in_path(request)
        target = _member_in_path(request)
        role = _role((await read_json(request)).get("role"))
        try:
            await self.store.set_member_role(room_id, user.id, target, role)
        except NotMember:
            raise _no_member() from None
        except NotAllowed:
            raise forbidden("change roles (only the owner does)") from None
        return await self._changed(room_id, user)

    async def transfer(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = room_in_path(request)
        data = await read_json(request)
        target = _member_id(data.get("user"))
        try:
            await self.store.transfer_ownership(room_id, user.id, target)
        except NotMember:
            raise _no_member() from None
        except NotAllowed:
            raise forbidden("hand the room over (only the owner does)") from None
        return await self._changed(room_id, user)

    async def hide(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = room_in_path(request)
        room = await self._room(room_id, user.id)
        if room.kind != "direct":
            raise invalid("only a direct conversation can be hidden")
        try:
            await self.store.hide_room(room_id, user.id)
        except NotMember:
            raise not_found() from None
        return web.Response(status=204)

    async def _changed(self, room_id: int, user: User) -> web.Response:
        room = await self._room(room_id, user.id)
        await self.announcer.room_updated(room, user)
        return json(room.to_json())

    async def _gone(self, room: Room, user_id: int) -> None:
        """Announce the room without ``user_id``, as a remaining member sees it (roles may
        have moved: a leaving owner's heir)."""
        remaining = [m for m in room.members if m.id != user_id]
        after = await self.store.room(room.id, remaining[0].id) if remaining else None
        left = after or dataclasses.replace(room, members=tuple(remaining))
        await self.announcer.member_left(dataclasses.replace(left, unread=0, mentions=0), user_id)
