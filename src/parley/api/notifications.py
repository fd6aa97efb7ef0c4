"""The notifications API: the in-app inbox and the preferences that decide who hears what.

``GET /api/notifications?cursor=`` pages the inbox newest first with the unread count;
``POST /api/notifications/{id}/read`` and ``/read-all`` mark read. ``GET/PUT
/api/me/notification-settings`` hold the e-mail address and mode (off, immediately,
digest every N minutes) and the levels of the rooms the user is in; ``PUT
/api/rooms/{room}/notification-settings`` sets one room's level (all, mentions, nothing).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from parley.api.http import bearer, json, read_json
from parley.api.routes import room_in_path
from parley.auth import AuthService
from parley.models import User
from parley.notify.decide import Level
from parley.notify.store import NotificationStore
from parley.protocol import validation
from parley.protocol.errors import ProtocolError, invalid, not_found
from parley.store import Store
from parley.store.notifications import EMAIL_MODES, UserSettings

PAGE = 30
DIGEST_MINUTES = (5, 7 * 24 * 60)
"""The shortest and longest digest interval a user may pick."""


def _no_notification() -> ProtocolError:
    return ProtocolError("not_found", "no such notification")


def _settings(body: dict[str, Any], current: UserSettings) -> UserSettings:
    """The settings ``body`` asks for; fields it leaves out keep their value."""
    unknown = set(body) - {"email", "email_mode", "digest_minutes"}
    if unknown:
        raise invalid(f"unknown field {sorted(unknown)[0][:32]!r}")
    address = current.email
    if "email" in body:
        address = None if body["email"] is None else validation.email(body["email"])
    mode = body.get("email_mode", current.email_mode)
    if mode not in EMAIL_MODES:
        raise invalid("email_mode must be off, immediately or digest")
    minutes = body.get("digest_minutes", current.digest_minutes)
    low, high = DIGEST_MINUTES
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high:
        raise invalid(f"digest_minutes must be a whole number from {low} to {high}")
    if mode != "off" and address is None:
        raise invalid("set an email address before turning e-mail on")
    return UserSettings(email=address, email_mode=mode, digest_minutes=minutes)


def _level(body: dict[str, Any]) -> Level:
    if set(body) != {"level"} or body["level"] not in tuple(Level):
        raise invalid('send {"level": "all" | "mentions" | "nothing"}')
    return Level(body["level"])


class NotificationsApi:
    def __init__(self, store: Store, notes: NotificationStore, auth: AuthService) -> None:
        self.store = store
        self.notes = notes
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/notifications", self.inbox),
            web.post("/api/notifications/read-all", self.read_all),
            web.post("/api/notifications/{id}/read", self.read),
            web.get("/api/me/notification-settings", self.get_settings),
            web.put("/api/me/notification-settings", self.put_settings),
            web.put("/api/rooms/{room}/notification-settings", self.put_room),
        ]

    async def _user(self, request: web.Request) -> User:
        return await self.auth.user_for(bearer(request))

    async def inbox(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        raw = request.query.get("cursor")
        before = None if raw is None else validation.whole_number(raw, "cursor", 1)
        items, more, unread = await self.notes.notifications(user.id, before, PAGE)
        return json(
            {
                "notifications": [i.to_json() for i in items],
                "unread": unread,
                "next_cursor": str(items[-1].id) if more and items else None,
            }
        )

    async def read(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        try:
            notification = validation.object_id(request.match_info["id"], "id")
        except ProtocolError:
            raise _no_notification() from None
        if not await self.notes.has_notification(user.id, notification):
            raise _no_notification()
        await self.notes.read_notifications(user.id, notification)
        return await self._unread(user)

    async def read_all(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        await self.notes.read_notifications(user.id, None)
        return await self._unread(user)

    async def _unread(self, user: User) -> web.Response:
        _, _, unread = await self.notes.notifications(user.id, None, 0)
        return json({"unread": unread})

    async def get_settings(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        return await self._settings_of(user)

    async def put_settings(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        body = await read_json(request)
        current = (await self.notes.notification_settings([user.id])).get(user.id, UserSettings())
        await self.notes.put_notification_settings(user.id, _settings(body, current))
        return await self._settings_of(user)

    async def _settings_of(self, user: User) -> web.Response:
        settings = (await self.notes.notification_settings([user.id])).get(user.id, UserSettings())
        levels = await self.notes.user_room_levels(user.id)
        # A level outlives the membership (it applies again on rejoining), but the rooms
        # a user has left are none of their settings, nor theirs to see.
        rooms = set(await self.store.room_ids(user.id))
        return json(
            {
                **settings.to_json(),
                "rooms": {str(room): level for room, level in levels.items() if room in rooms},
            }
        )

    async def put_room(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room = room_in_path(request)
        level = _level(await read_json(request))
        if not await self.store.is_member(room, user.id):
            raise not_found()
        await self.notes.put_room_level(room, user.id, level)
        return json({"room": str(room), "level": level})
