"""Profiles and settings: ``PATCH /api/me`` (display name), ``GET /api/users/{id}`` (a
profile with "last seen"), ``GET``/``PUT /api/me/settings`` (the web client's settings).

A profile answers only the user themself and people who share a room with them; anyone
else gets the same ``not_found`` as for an id nobody has, so "last seen" does not leak
to strangers and ids cannot be probed for accounts.
"""

from __future__ import annotations

from typing import cast

from aiohttp import web

from parley.announcer import Announcer
from parley.api.http import bearer, json, read_json
from parley.auth import AuthService
from parley.models import HOUR_CYCLES, THEMES, HourCycle, Profile, Settings, Theme, User
from parley.presence import Presence
from parley.protocol import validation
from parley.protocol.errors import ProtocolError, invalid
from parley.store import Store

NO_SUCH_USER = "no such user, or you share no room with them"
SETTINGS_FIELDS = frozenset({"theme", "hour_cycle"})


class Profiles:
    def __init__(
        self, store: Store, auth: AuthService, announcer: Announcer, presence: Presence
    ) -> None:
        self.store = store
        self.auth = auth
        self.announcer = announcer
        self.presence = presence

    def routes(self) -> list[web.RouteDef]:
        return [
            web.patch("/api/me", self.update_me),
            web.get("/api/users/{user}", self.profile),
            web.get("/api/me/settings", self.settings),
            web.put("/api/me/settings", self.put_settings),
        ]

    async def _user(self, request: web.Request) -> User:
        return await self.auth.user_for(bearer(request))

    async def update_me(self, request: web.Request) -> web.Response:
        """A new display name, told live to everyone who shares a room with the user."""
        user = await self._user(request)
        data = await read_json(request)
        # Other fields are ignored, as everywhere in the API; a null name is a mistake here,
        # not "the username" as at registration.
        if data.get("display_name") is None:
            raise invalid("display_name must be a string")
        name = validation.display_name(data["display_name"], user.username)
        if name == user.display_name:
            return json(user.to_json())
        renamed = await self.store.set_display_name(user.id, name)
        if renamed is None:
            raise ProtocolError("unauthorized", "no such user")
        await self.announcer.user_updated(renamed)
        return json(renamed.to_json())

    async def profile(self, request: web.Request) -> web.Response:
        viewer = await self._user(request)
        try:
            user_id = validation.object_id(request.match_info["user"], "user")
        except ProtocolError:
            raise ProtocolError("not_found", NO_SUCH_USER) from None
        found = await self.store.visible_user(viewer.id, user_id)
        if found is None:
            raise ProtocolError("not_found", NO_SUCH_USER)
        user, last_seen = found
        online = user_id in await self.presence.online([user_id])
        return json(Profile(user, online, None if online else last_seen).to_json())

    async def settings(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        return json((await self.store.settings(user.id)).to_json())

    async def put_settings(self, request: web.Request) -> web.Response:
        """The whole settings object: both fields, nothing else."""
        user = await self._user(request)
        data = await read_json(request)
        if set(data) != SETTINGS_FIELDS:
            raise invalid("settings must have exactly the fields theme and hour_cycle")
        wanted = Settings(
            theme=cast(Theme, validation.choice(data["theme"], "theme", THEMES)),
            hour_cycle=cast(
                HourCycle, validation.choice(data["hour_cycle"], "hour_cycle", HOUR_CYCLES)
            ),
        )
        await self.store.put_settings(user.id, wanted)
        return json(wanted.to_json())
