"""``GET /api/rooms/{room}/reads``: other members' read markers, asked for when shown.

A group's read markers are not pushed to its members (issue 15: each marker went
to every member, more frames than the messages themselves); a client that shows
"seen by" under a message asks here. Only a member gets an answer; anyone else
gets the 404 of a room that does not exist.
"""

from __future__ import annotations

from aiohttp import web

from parley.api.http import bearer, json
from parley.api.routes import room_in_path
from parley.auth import AuthService
from parley.protocol import validation
from parley.protocol.errors import not_found
from parley.store import NotMember, Store


class ReadsApi:
    def __init__(self, store: Store, auth: AuthService) -> None:
        self.store = store
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/rooms/{room}/reads", self.reads)]

    async def reads(self, request: web.Request) -> web.Response:
        """Members whose marker is at ``seq`` or beyond (every member's without ``seq``),
        highest marker first, the caller included."""
        user = await self.auth.user_for(bearer(request))
        room_id = room_in_path(request)
        raw = request.query.get("seq")
        at_least = 0 if raw is None else validation.whole_number(raw, "seq")
        try:
            found = await self.store.read_markers(room_id, user.id, at_least)
        except NotMember:
            raise not_found() from None
        return json({"room": str(room_id), "reads": [marker.to_json() for marker in found]})
