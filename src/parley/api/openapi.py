"""The OpenAPI 3.1 description of the HTTP API, served at /openapi.json.

Written by hand next to the routes it describes; a test checks that every
route in ``Api.routes()`` appears here and nothing else does.
"""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from parley import __version__
from parley.protocol import validation
from parley.protocol.errors import ErrorCode

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


def _errors(*statuses: str) -> JSON:
    return {
        s: {
            "description": _ERROR_TEXT[s],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for s in statuses
    }


_ERROR_TEXT = {
    "401": "Missing, invalid or expired token",
    "404": "Unknown room, or you are not a member",
    "409": "Username taken",
    "413": "Body over 64 KiB",
    "422": "A field is missing or invalid",
    "429": "Rate limited",
    "503": "Not stored; retry with the same client_id",
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


def _text(longest: int, refused: str, *, shortest: int = 1, blank: bool = True) -> JSON:
    """A string rule of ``parley.protocol.validation`` as JSON Schema.

    ``refused`` is a character class body; ``blank=False`` asks for one
    character that is not whitespace (names and bodies are stored trimmed).
    """
    anything = f"[^{refused}]*"
    pattern = anything if blank else f"{anything}[^{validation.WHITESPACE}{refused}]{anything}"
    return {
        "type": "string",
        "minLength": shortest,
        "maxLength": longest,
        "pattern": f"^{pattern}$",
    }


def _nullable(schema: JSON) -> JSON:
    return {**schema, "type": [schema["type"], "null"]}


_STR = {"type": "string"}
_ID = {"type": "string", "pattern": f"^{validation.DIGITS}$"}
_SEQ = {"type": "integer", "minimum": 0, "maximum": validation.MAX_ID}
_LINE = validation.CONTROLS + validation.BIDI
_USERNAME = {"type": "string", "pattern": f"^{validation.USERNAME}$"}
_PASSWORD = _text(validation.MAX_PASSWORD, validation.CONTROLS, shortest=validation.MIN_PASSWORD)
_DISPLAY_NAME = _text(validation.MAX_DISPLAY_NAME, _LINE, blank=False)
_ROOM_NAME = _text(validation.MAX_ROOM_NAME, _LINE, blank=False)
_BODY_TEXT = _text(validation.MAX_BODY, validation.BODY_CONTROLS, blank=False)
_CLIENT_ID = _text(validation.MAX_CLIENT_ID, _LINE)
_TOKEN = _text(validation.MAX_TOKEN, _LINE)
_ROOM_ID = {
    "name": "room",
    "in": "path",
    "required": True,
    "description": "A room id: ASCII digits; anything else is an unknown room (404)",
    "schema": _ID,
}


_DIRECT = {
    "type": "object",
    "required": ["kind", "members"],
    "properties": {
        "kind": {"const": "direct"},
        "members": {"type": "array", "items": _USERNAME, "minItems": 1, "maxItems": 1},
    },
}
_GROUP = _obj(
    ["kind", "name", "members"],
    kind={"const": "group"},
    name=_ROOM_NAME,
    members={"type": "array", "items": _USERNAME, "maxItems": validation.MAX_GROUP_MEMBERS},
)


@cache
def document() -> JSON:
    credentials = _obj(["username", "password"], username=_USERNAME, password=_PASSWORD)
    refresh = _obj(["refresh_token"], refresh_token=_TOKEN)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parley",
            "version": __version__,
            "description": "Parley's HTTP API. The WebSocket protocol at /ws, and the "
            "characters each text field refuses, are described in docs/protocol.md.",
        },
        "paths": {
            "/api/auth/register": {
                "post": _op(
                    "Create an account and a session",
                    {**_ok("201", "Signed up", _ref("Session")), **_errors("409", "413", "422")},
                    body=_obj(
                        ["username", "password"],
                        username=_USERNAME,
                        password=_PASSWORD,
                        display_name=_nullable(_DISPLAY_NAME),
                    ),
                    secure=False,
                )
            },
            "/api/auth/login": {
                "post": _op(
                    "Sign in",
                    {
                        **_ok("200", "Signed in", _ref("Session")),
                        **_errors("401", "413", "422", "429"),
                    },
                    body=credentials,
                    secure=False,
                )
            },
            "/api/auth/refresh": {
                "post": _op(
                    "Rotate a refresh token for a new pair",
                    {**_ok("200", "New tokens", _ref("Session")), **_errors("401", "413", "422")},
                    body=refresh,
                    secure=False,
                )
            },
            "/api/auth/logout": {
                "post": _op(
                    "End the session of a refresh token",
                    {"204": {"description": "Signed out"}, **_errors("413", "422")},
                    body=refresh,
                    secure=False,
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
                        **_errors("401", "422"),
                    },
                    params=[
                        {
                            "name": "q",
                            "in": "query",
                            "schema": _text(validation.MAX_SEARCH, _LINE, shortest=0),
                        }
                    ],
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
                        **_errors("401", "413", "422"),
                    },
                    body={"oneOf": [_GROUP, _DIRECT]},
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
                        **_errors("401", "404", "413", "422"),
                    },
                    body=_obj(["username"], username=_USERNAME),
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
                    params=[
                        _ROOM_ID,
                        {"name": "before", "in": "query", "schema": _SEQ},
                        {"name": "after", "in": "query", "schema": _SEQ},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                    ],
                ),
                "post": _op(
                    "Send a message (same pipeline as the WebSocket send)",
                    {
                        **_ok("201", "Stored", _ref("Message")),
                        **_errors("401", "404", "413", "422", "429", "503"),
                    },
                    body=_obj(["body"], body=_BODY_TEXT, client_id=_nullable(_CLIENT_ID)),
                    params=[_ROOM_ID],
                ),
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": {
                "User": _obj(
                    ["id", "username", "display_name"], id=_ID, username=_STR, display_name=_STR
                ),
                "Message": _obj(
                    ["id", "room", "seq", "sender", "body", "created_at", "client_id"],
                    id=_ID,
                    room=_ID,
                    seq={"type": "integer", "minimum": 1},
                    sender=_ref("User"),
                    body=_STR,
                    created_at={"type": "string", "format": "date-time"},
                    client_id={"type": ["string", "null"]},
                ),
                "Room": _obj(
                    ["id", "kind", "name", "members", "last_seq", "unread", "last_message"],
                    id=_ID,
                    kind={"enum": ["group", "direct"]},
                    name={"type": ["string", "null"]},
                    members={"type": "array", "items": _ref("User")},
                    last_seq={"type": "integer", "minimum": 0},
                    unread={"type": "integer", "minimum": 0},
                    last_message={"oneOf": [_ref("Message"), {"type": "null"}]},
                ),
                "Session": _obj(
                    ["user", "access_token", "refresh_token", "expires_in"],
                    user=_ref("User"),
                    access_token=_STR,
                    refresh_token=_STR,
                    expires_in={"type": "integer"},
                ),
                "Error": _obj(
                    ["error"],
                    error=_obj(
                        ["code", "message"], code={"enum": list(get_args(ErrorCode))}, message=_STR
                    ),
                ),
            },
        },
    }
