"""A small async client speaking Parley's HTTP API and WebSocket protocol, for tests."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from typing import Any

import aiohttp
import orjson

RECEIVE_TIMEOUT = 10.0
PASSWORD = "correct horse battery"
_names = itertools.count()


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}{next(_names)}_{secrets.token_hex(3)}"


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class Socket:
    """One WebSocket; ``expect`` waits for the next frame of a type, keeping the others."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.backlog: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(orjson.dumps(frame).decode())

    async def recv(self, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        if self.backlog:
            return self.backlog.pop(0)
        return await self._read(timeout)

    async def _read(self, timeout: float) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket closed: {msg.type} {self.ws.close_code} {msg.extra}")
        frame: dict[str, Any] = orjson.loads(msg.data)
        return frame

    async def expect(
        self, kind: str, timeout: float = RECEIVE_TIMEOUT, **match: Any
    ) -> dict[str, Any]:
        return await self.expect_any((kind,), timeout, **match)

    async def expect_any(
        self, kinds: tuple[str, ...], timeout: float = RECEIVE_TIMEOUT, **match: Any
    ) -> dict[str, Any]:
        """The next frame of any of ``kinds`` matching ``match``, keeping the others."""

        def fits(frame: dict[str, Any]) -> bool:
            return frame.get("type") in kinds and all(frame.get(k) == v for k, v in match.items())

        for i, frame in enumerate(self.backlog):
            if fits(frame):
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"no {kinds} frame matching {match} within {timeout} s")
            frame = await self._read(left)
            if fits(frame):
                return frame
            self.backlog.append(frame)

    async def settled(self, client_id: str, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        """The ``ack`` or ``error`` that settles the send ``client_id``; other frames are kept."""
        for i, frame in enumerate(self.backlog):
            if frame["type"] in ("ack", "error") and frame.get("client_id") == client_id:
                return self.backlog.pop(i)
        while True:
            frame = await self._read(timeout)
            if frame["type"] in ("ack", "error") and frame.get("client_id") == client_id:
                return frame
            self.backlog.append(frame)

    async def messages(self, room: str, count: int) -> list[dict[str, Any]]:
        """The next ``count`` message events of ``room``, in arrival order."""
        return [await self._next_message(room) for _ in range(count)]

    async def _next_message(self, room: str) -> dict[str, Any]:
        for i, frame in enumerate(self.backlog):
            if frame.get("type") == "message" and frame["message"]["room"] == room:
                return self.backlog.pop(i)["message"]  # type: ignore[no-any-return]
        while True:
            frame = await self._read(RECEIVE_TIMEOUT)
            if frame.get("type") == "message" and frame["message"]["room"] == room:
                return frame["message"]  # type: ignore[no-any-return]
            self.backlog.append(frame)

    async def entries(self, room: str, count: int) -> list[dict[str, Any]]:
        """The next ``count`` stream entries of ``room`` (message or event objects), in order."""
        return [await self._next_entry(room) for _ in range(count)]

    async def _next_entry(self, room: str) -> dict[str, Any]:
        def entry(frame: dict[str, Any]) -> dict[str, Any] | None:
            kind = frame.get("type")
            if kind == "message" or kind == "event":
                found: dict[str, Any] = frame[kind]
                if found["room"] == room:
                    return found
            return None

        for i, frame in enumerate(self.backlog):
            if (found := entry(frame)) is not None:
                del self.backlog[i]
                return found
        while True:
            frame = await self._read(RECEIVE_TIMEOUT)
            if (found := entry(frame)) is not None:
                return found
            self.backlog.append(frame)

    async def close(self) -> None:
        await self.ws.close()

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code


class Client:
    """One signed-in user."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url
        self.user: dict[str, Any] = {}
        self.access_token = ""
        self.refresh_token = ""
        self.password = PASSWORD

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @property
    def username(self) -> str:
        return str(self.user["username"])

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        auth: bool = True,
        expect: int | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.access_token}"} if auth else {}
        data = None if body is None else orjson.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.http.request(
            method, self.base_url + path, data=data, headers=headers
        ) as response:
            raw = await response.read()
            payload = orjson.loads(raw) if raw else None
            if expect is not None and response.status != expect:
                raise ApiError(response.status, payload)
            if expect is None and response.status >= 400:
                raise ApiError(response.status, payload)
            return payload

    async def register(self, username: str | None = None) -> Client:
        session = await self.call(
            "POST",
            "/api/auth/register",
            {
                "username": username or unique_name(),
                "password": self.password,
            },
            auth=False,
            expect=201,
        )
        self._adopt(session)
        return self

    def _adopt(self, session: dict[str, Any]) -> None:
        self.user = session["user"]
        self.access_token = session["access_token"]
        self.refresh_token = session["refresh_token"]

    async def direct(self, other: Client) -> dict[str, Any]:
        room: dict[str, Any] = await self.call(
            "POST", "/api/rooms", {"kind": "direct", "members": [other.username]}
        )
        return room

    async def group(self, name: str, *others: Client) -> dict[str, Any]:
        room: dict[str, Any] = await self.call(
            "POST",
            "/api/rooms",
            {
                "kind": "group",
                "name": name,
                "members": [o.username for o in others],
            },
            expect=201,
        )
        return room

    async def history(self, room: str, **params: Any) -> dict[str, Any]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        page: dict[str, Any] = await self.call(
            "GET", f"/api/rooms/{room}/messages" + (f"?{query}" if query else "")
        )
        return page

    async def connect(
        self, resume: dict[str, int] | None = None, ws_url: str | None = None
    ) -> Socket:
        return await self.connect_with(self.access_token, resume, ws_url)

    async def connect_with(
        self, token: str, resume: dict[str, int] | None = None, ws_url: str | None = None
    ) -> Socket:
        """A socket authenticated with ``token`` (another session's, say); ``ready`` read."""
        url = ws_url or self.base_url.replace("http://", "ws://") + "/ws"
        sock = Socket(await self.http.ws_connect(url, max_msg_size=0))
        hello: dict[str, Any] = {"type": "auth", "token": token}
        if resume is not None:
            hello["resume"] = resume
        await sock.send(hello)
        ready = await sock.recv()
        assert ready["type"] == "ready", ready
        return sock
