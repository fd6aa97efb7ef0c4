"""The JSON endpoints under ``/api``; each handler validates, acts through the store, the
send pipeline or the announcer, and answers."""

from __future__ import annotations

from aiohttp import web

from parley.announcer import Announcer
from parley.api import session_cookie
from parley.api.http import bearer, json, read_json
from parley.auth import AuthError, AuthService, Session
from parley.models import DraftKind, Message, SearchFilter, User
from parley.protocol import validation
from parley.protocol.errors import ProtocolError, invalid, not_found
from parley.ratelimit import Action, UserLimits
from parley.sending import SendPipeline
from parley.store import Store

USER_SEARCH_LIMIT = 20
MAX_SEARCH_RESULTS = 50


def _session(session: Session, *, with_refresh_token: bool) -> dict[str, object]:
    body: dict[str, object] = {
        "user": session.user.to_json(),
        "access_token": session.access_token,
        "expires_in": session.expires_in,
    }
    if with_refresh_token:
        body["refresh_token"] = session.refresh_token
    return body


def _limit(raw: str | None) -> int:
    return 50 if raw is None else validation.whole_number(raw, "limit", 1, 100)


def _cursor(raw: str | None, name: str) -> int | None:
    return None if raw is None else validation.whole_number(raw, name)


def _refresh_token(request: web.Request, data: dict[str, object], cookie: bool) -> str | None:
    """From the body (bots, and the web client's one-time move to the cookie), else the cookie.

    None when there is neither: no session to refresh (401) or to end (nothing to do).
    """
    if "refresh_token" in data:
        return validation.token(data["refresh_token"], "refresh_token")
    return session_cookie.token(request, cookie)


class Api:
    def __init__(
        self,
        store: Store,
        auth: AuthService,
        announcer: Announcer,
        sending: SendPipeline,
        limits: UserLimits,
        refresh_token_ttl: int,
    ) -> None:
        self.store = store
        self.auth = auth
        self.announcer = announcer
        self.sending = sending
        self.limits = limits
        self.refresh_token_ttl = refresh_token_ttl

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/auth/register", self.register),
            web.post("/api/auth/login", self.login),
            web.post("/api/auth/refresh", self.refresh),
            web.post("/api/auth/logout", self.logout),
            web.post("/api/auth/logout-all", self.logout_all),
            web.get("/api/me", self.me),
            web.get("/api/users", self.users),
            web.get("/api/rooms", self.rooms),
            web.post("/api/rooms", self.create_room),
            web.get("/api/rooms/{room}", self.room),
            web.get("/api/rooms/{room}/messages", self.messages),
            web.patch("/api/rooms/{room}/messages/{seq}", self.edit_message),
            web.delete("/api/rooms/{room}/messages/{seq}", self.delete_message),
            web.put("/api/rooms/{room}/messages/{seq}/reactions/{emoji}", self.react),
            web.delete("/api/rooms/{room}/messages/{seq}/reactions/{emoji}", self.unreact),
            web.get("/api/rooms/{room}/events", self.events),
            web.post("/api/rooms/{room}/messages", self.post_message),
            web.get("/api/search", self.search),
        ]

    async def _user(self, request: web.Request) -> User:
        return await self.auth.user_for(bearer(request))

    # auth

    async def register(self, request: web.Request) -> web.Response:
        cookie = session_cookie.wanted(request)
        data = await read_json(request)
        username = validation.username(data.get("username"))
        password = validation.password(data.get("password"))
        display = validation.display_name(data.get("display_name"), username)
        client = request.remote or "unknown"
        session = await self.auth.register(username, password, display, client)
        return self._signed_in(request, session, cookie, 201)

    async def login(self, request: web.Request) -> web.Response:
        cookie = session_cookie.wanted(request)
        data = await read_json(request)
        username = validation.username(data.get("username"))
        password = validation.password(data.get("password"))
        client = request.remote or "unknown"
        session = await self.auth.login(username, password, client)
        return self._signed_in(request, session, cookie)

    async def refresh(self, request: web.Request) -> web.Response:
        cookie = session_cookie.wanted(request)
        token = _refresh_token(request, await read_json(request), cookie)
        if token is None:
            raise AuthError("unauthorized", "no refresh token or session cookie: sign in again")
        return self._signed_in(request, await self.auth.refresh(token), cookie)

    async def logout(self, request: web.Request) -> web.Response:
        cookie = session_cookie.wanted(request)
        token = _refresh_token(request, await read_json(request), cookie)
        if token is not None:
            await self.auth.logout(token)
        response = web.Response(status=204)
        if cookie:
            session_cookie.clear(request, response)
        return response

    async def logout_all(self, request: web.Request) -> web.Response:
        """Sign out everywhere: every session of the user ends and their sockets close.

        The bearer token says who; the web client's cookie is cleared as well.
        """
        cookie = session_cookie.wanted(request)
        user = await self._user(request)
        await self.auth.revoke_all(user.id)
        response = web.Response(status=204)
        if cookie:
            session_cookie.clear(request, response)
        return response

    def _signed_in(
        self, request: web.Request, session: Session, cookie: bool, status: int = 200
    ) -> web.Response:
        """The session in the body; for the web client, its refresh token in the cookie only."""
        response = json(_session(session, with_refresh_token=not cookie), status)
        if cookie:
            session_cookie.store(request, response, session.refresh_token, self.refresh_token_ttl)
        return response

    # users

    async def me(self, request: web.Request) -> web.Response:
        return json((await self._user(request)).to_json())

    async def users(self, request: web.Request) -> web.Response:
        await self._user(request)
        prefix = validation.search_prefix(request.query.get("q", ""))
        found = await self.store.search_users(prefix, USER_SEARCH_LIMIT)
        return json({"users": [u.to_json() for u in found]})

    # rooms

    async def rooms(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        return json({"rooms": [r.to_json() for r in await self.store.rooms(user.id)]})

    async def room(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room = await self.store.room(room_in_path(request), user.id)
        if room is None:
            raise not_found()
        return json(room.to_json())

    async def create_room(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        data = await read_json(request)
        kind = data.get("kind")
        if kind not in ("group", "direct"):
            raise invalid("kind must be 'group' or 'direct'")
        wanted = validation.members(data.get("members"), direct=kind == "direct")
        group_name = validation.room_name(data.get("name")) if kind == "group" else None
        public = validation.flag(data.get("public", False), "public")
        topic = validation.room_topic(data.get("topic", ""))
        found = await self.store.users_named(wanted)
        missing = sorted(set(wanted) - {u.username for u in found})
        if missing:
            raise invalid(f"unknown users: {', '.join(missing[:10])}")
        await self.limits.take(Action.ROOM, user.id)
        if group_name is None:
            room_id, created = await self.store.direct_room(user.id, found[0].id)
        else:
            members = [user.id, *(u.id for u in found)]
            room_id = await self.store.create_group(
                group_name, members, public=public, topic=topic or None
            )
            created = True
        room = await self.store.room(room_id, user.id)
        assert room is not None
        if created:
            await self.announcer.room_created(room)
        return json(room.to_json(), 201 if created else 200)

    # messages

    async def messages(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = room_in_path(request)
        before = _cursor(request.query.get("before"), "before")
        after = _cursor(request.query.get("after"), "after")
        around = _cursor(request.query.get("around"), "around")
        if sum(cursor is not None for cursor in (before, after, around)) > 1:
            raise invalid("give one of before, after and around")
        limit = _limit(request.query.get("limit"))
        if not await self.store.is_member(room_id, user.id):
            raise not_found()
        if around is not None:
            page, has_more = await self.store.around(room_id, around, limit)
        else:
            page, has_more = await self.store.page(room_id, before=before, after=after, limit=limit)
        return json({"messages": [m.to_json() for m in page], "has_more": has_more})

    async def search(self, request: web.Request) -> web.Response:
        """Full-text search in the rooms the caller is in now; a room filter for any other
        room, or for no possible room, finds nothing, so the answer never tells which exist."""
        user = await self._user(request)
        query = request.query
        room = _cursor(query.get("room"), "room")
        sender = query.get("sender")
        after, before = query.get("after"), query.get("before")
        limit = query.get("limit")
        wanted = SearchFilter(
            viewer_id=user.id,
            text=validation.search_text(query.get("q")),
            room_id=room,
            sender=None if sender is None else validation.username(sender),
            after=None if after is None else validation.instant(after, "after"),
            before=None if before is None else validation.instant(before, "before"),
            cursor=_cursor(query.get("cursor"), "cursor"),
            limit=20
            if limit is None
            else validation.whole_number(limit, "limit", 1, MAX_SEARCH_RESULTS),
        )
        hits, more = ([], False) if room == 0 else await self.store.search(wanted)
        return json(
            {
                "results": [hit.to_json() for hit in hits],
                "next_cursor": str(hits[-1].message.id) if more else None,
            }
        )

    async def events(self, request: web.Request) -> web.Response:
        """The stream after a seq, messages and room events, for a resume past the replay cap."""
        user = await self._user(request)
        room_id = room_in_path(request)
        after = _cursor(request.query.get("after"), "after") or 0
        limit = _limit(request.query.get("limit"))
        if not await self.store.is_member(room_id, user.id):
            raise not_found()
        last_seq = (await self.store.last_seqs([room_id])).get(room_id, 0)
        entries = await self.store.between(room_id, after, min(after + limit, last_seq))
        return json(
            {
                "entries": [
                    {"message": e.to_json()} if isinstance(e, Message) else {"event": e.to_json()}
                    for e in entries
                ],
                "last_seq": last_seq,
            }
        )

    async def post_message(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id = room_in_path(request)
        data = await read_json(request)
        client_id = validation.client_id(data.get("client_id"), required=False)
        files = validation.attachments(data.get("attachments"), client_id)
        body = validation.body(data.get("body"), client_id, empty=bool(files))
        reply_to = data.get("reply_to")
        target = None if reply_to is None else validation.target(reply_to, "reply_to", client_id)
        await self.sending.admit(user, client_id)
        message = await self.sending.send(
            user, room_id, body, client_id, target=target, attachments=files
        )
        if not isinstance(message, Message):
            raise _other_kind(client_id)
        return json(message.to_json(), 201)

    async def edit_message(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id, seq = room_in_path(request), seq_in_path(request)
        data = await read_json(request)
        client_id = validation.client_id(data.get("client_id"), required=False)
        body = validation.body(data.get("body"), client_id)
        return await self._change(user, room_id, body, client_id, kind="edit", target=seq)

    async def delete_message(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        room_id, seq = room_in_path(request), seq_in_path(request)
        raw = request.query.get("client_id")
        client_id = None if raw is None else validation.client_id(raw, required=True)
        return await self._change(user, room_id, "", client_id, kind="delete", target=seq)

    async def react(self, request: web.Request) -> web.Response:
        return await self._reaction(request, "react")

    async def unreact(self, request: web.Request) -> web.Response:
        return await self._reaction(request, "unreact")

    async def _reaction(self, request: web.Request, kind: DraftKind) -> web.Response:
        user = await self._user(request)
        room_id, seq = room_in_path(request), seq_in_path(request)
        emoji = validation.emoji(request.match_info["emoji"])
        return await self._change(user, room_id, "", None, kind=kind, target=seq, emoji=emoji)

    async def _change(
        self,
        user: User,
        room_id: int,
        body: str,
        client_id: str | None,
        *,
        kind: DraftKind,
        target: int,
        emoji: str | None = None,
    ) -> web.Response:
        """A room event through the send pipeline, as the socket's edit/delete/react frames."""
        await self.sending.admit(user, client_id)
        event = await self.sending.send(
            user, room_id, body, client_id, kind=kind, target=target, emoji=emoji
        )
        if isinstance(event, Message):
            raise _other_kind(client_id)
        return json({"event": None if event is None else event.to_json()})


def _other_kind(client_id: str | None) -> ProtocolError:
    """A retried client_id answers with its original entry; over HTTP that must be the kind the
    route returns (the socket's ack carries either)."""
    return invalid("this client_id already names another kind of entry in this room", client_id)


def seq_in_path(request: web.Request) -> int:
    """A message seq in the path; anything else names no message (404)."""
    try:
        return validation.whole_number(request.match_info["seq"], "seq", 1)
    except ProtocolError:
        raise ProtocolError("not_found", "no such message in this room") from None


def room_in_path(request: web.Request) -> int:
    """A path that names no room the way ids are written names no room: 404, like a missing one."""
    try:
        return validation.object_id(request.match_info["room"], "room")
    except ProtocolError:
        raise not_found() from None
