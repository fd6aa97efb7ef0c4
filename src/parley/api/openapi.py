"""The OpenAPI 3.1 description of the HTTP API, served at /openapi.json.

Written by hand next to the routes it describes; the object shapes (User,
Message, Room, Error) come from the protocol's schema, so they are described
once for HTTP and the WebSocket. A test checks that every route in
``Api.routes()`` appears here and nothing else does.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from parley import __version__
from parley.protocol import schema

JSON = dict[str, Any]


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: JSON) -> JSON:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(status: str, description: str, schema: JSON | None = None) -> JSON:
    response: JSON = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return {status: response}


def _error(status: str, description: str) -> JSON:
    return {
        status: {
            "description": description,
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    }


def _errors(*statuses: str) -> JSON:
    return {k: v for s in statuses for k, v in _error(s, _ERROR_TEXT[s]).items()}


_ERROR_TEXT = {
    "400": "Malformed JSON",
    "401": "Missing, invalid or expired token",
    "403": "Session cookie from another origin, or without the X-Parley-Session header",
    "404": "Unknown room, or you are not a member",
    "409": "Username taken",
    "413": "Body over 64 KiB",
    "422": "A field is missing or invalid",
    "429": "Rate limited",
    "503": "Not stored; retry with the same client_id",
}
_AUTH_503 = _error("503", "Sign-in limits cannot be checked (Redis down); try again")

_ROOM_ID = {"name": "room", "in": "path", "required": True, "schema": {"type": "string"}}
_COOKIE_SESSION = {
    "name": "X-Parley-Session",
    "in": "header",
    "required": False,
    "description": "`cookie`: the refresh token travels in the HttpOnly `parley_refresh` "
    "cookie (Path=/api/auth, SameSite=Strict), never in the body (the web client)",
    "schema": {"enum": ["cookie"]},
}
_REFRESH_COOKIE = {
    "name": "parley_refresh",
    "in": "cookie",
    "required": False,
    "description": "The web client's refresh token; only read with X-Parley-Session: cookie",
    "schema": {"type": "string"},
}
_SECURE: list[JSON] = [{"bearer": []}]


def _op(
    summary: str,
    responses: JSON,
    *,
    body: JSON | None = None,
    secure: bool = True,
    params: list[JSON] | None = None,
) -> JSON:
    op: JSON = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = _body(body)
    if secure:
        op["security"] = _SECURE
    if params:
        op["parameters"] = params
    return op


def _obj(required: list[str], **props: JSON) -> JSON:
    return {"type": "object", "required": required, "properties": props}


_STR = {"type": "string"}

# Shapes shared with the WebSocket protocol, described once in parley/protocol/schema.
_SHARED = ("User", "Message", "Room", "Error")


@cache
def document() -> JSON:
    credentials = _obj(["username", "password"], username=_STR, password=_STR)
    refresh = _obj([], refresh_token=_STR)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parley",
            "version": __version__,
            "description": "Parley's HTTP API. The WebSocket protocol at /ws is "
            "described in docs/protocol.md.",
        },
        "paths": {
            "/api/auth/register": {
                "post": _op(
                    "Create an account and a session",
                    {
                        **_ok("201", "Signed up", _ref("Session")),
                        **_errors("403", "409", "422", "429"),
                        **_AUTH_503,
                    },
                    body=_obj(
                        ["username", "password"], username=_STR, password=_STR, display_name=_STR
                    ),
                    secure=False,
                    params=[_COOKIE_SESSION],
                )
            },
            "/api/auth/login": {
                "post": _op(
                    "Sign in",
                    {
                        **_ok("200", "Signed in", _ref("Session")),
                        **_errors("401", "403", "422", "429"),
                        **_AUTH_503,
                    },
                    body=credentials,
                    secure=False,
                    params=[_COOKIE_SESSION],
                )
            },
            "/api/auth/refresh": {
                "post": _op(
                    "Rotate a refresh token (body, or the cookie) for a new pair",
                    {**_ok("200", "New tokens", _ref("Session")), **_errors("401", "403", "422")},
                    body=refresh,
                    secure=False,
                    params=[_COOKIE_SESSION, _REFRESH_COOKIE],
                )
            },
            "/api/auth/logout": {
                "post": _op(
                    "End the session of a refresh token (body, or the cookie, which is cleared)",
                    {"204": {"description": "Signed out"}, **_errors("403", "422")},
                    body=refresh,
                    secure=False,
                    params=[_COOKIE_SESSION, _REFRESH_COOKIE],
                )
            },
            "/api/me": {
                "get": _op(
                    "The signed-in user", {**_ok("200", "You", _ref("User")), **_errors("401")}
                )
            },
            "/api/users": {
                "get": _op(
                    "Find users by username prefix",
                    {
                        **_ok(
                            "200",
                            "Matches",
                            _obj(["users"], users={"type": "array", "items": _ref("User")}),
                        ),
                        **_errors("401"),
                    },
                    params=[{"name": "q", "in": "query", "schema": _STR}],
                )
            },
            "/api/rooms": {
                "get": _op(
                    "Your rooms, newest activity first",
                    {
                        **_ok(
                            "200",
                            "Rooms",
                            _obj(["rooms"], rooms={"type": "array", "items": _ref("Room")}),
                        ),
                        **_errors("401"),
                    },
                ),
                "post": _op(
                    "Create a group, or open the direct room with one user",
                    {
                        **_ok("201", "Created", _ref("Room")),
                        **_ok("200", "The existing direct room", _ref("Room")),
                        **_errors("401", "422"),
                    },
                    body=_obj(
                        ["kind", "members"],
                        kind={"enum": ["group", "direct"]},
                        name=_STR,
                        members={"type": "array", "items": _STR},
                    ),
                ),
            },
            "/api/rooms/{room}": {
                "get": _op(
                    "One room",
                    {**_ok("200", "Room", _ref("Room")), **_errors("401", "404")},
                    params=[_ROOM_ID],
                )
            },
            "/api/rooms/{room}/members": {
                "post": _op(
                    "Add a member to a group",
                    {
                        **_ok("201", "Added", _ref("Room")),
                        **_ok("200", "Already a member", _ref("Room")),
                        **_errors("401", "404", "422"),
                    },
                    body=_obj(["username"], username=_STR),
                    params=[_ROOM_ID],
                )
            },
            "/api/rooms/{room}/members/me": {
                "delete": _op(
                    "Leave a group",
                    {"204": {"description": "Left"}, **_errors("401", "404", "422")},
                    params=[_ROOM_ID],
                )
            },
            "/api/rooms/{room}/messages": {
                "get": _op(
                    "A page of history in ascending seq",
                    {
                        **_ok(
                            "200",
                            "Messages",
                            _obj(
                                ["messages", "has_more"],
                                messages={"type": "array", "items": _ref("Message")},
                                has_more={"type": "boolean"},
                            ),
                        ),
                        **_errors("401", "404", "422"),
                    },
                    params=[_ROOM_ID]
                    + [
                        {"name": n, "in": "query", "schema": {"type": "integer"}}
                        for n in ("before", "after", "limit")
                    ],
                ),
                "post": _op(
                    "Send a message (same pipeline as the WebSocket send)",
                    {
                        **_ok("201", "Stored", _ref("Message")),
                        **_errors("401", "404", "422", "429", "503"),
                    },
                    body=_obj(["body"], body=_STR, client_id=_STR),
                    params=[_ROOM_ID],
                ),
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": {
                **schema.definitions(*_SHARED, ref_prefix="#/components/schemas/"),
                "Session": _obj(
                    ["user", "access_token", "expires_in"],
                    user=_ref("User"),
                    access_token=_STR,
                    refresh_token=_STR,
                    expires_in={"type": "integer"},
                ),
            },
        },
    }
