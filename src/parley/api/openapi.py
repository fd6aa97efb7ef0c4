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
from parley.protocol import schema, validation

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
    """``"409/identity"`` is a 409 with its own description."""
    return {k: v for s in statuses for k, v in _error(s.split("/")[0], _ERROR_TEXT[s]).items()}


_ERROR_TEXT = {
    "401": "Missing, invalid or expired token",
    "409/identity": "Your only way to sign in: set a password or link another account first",
    "403": "Session cookie from another origin, or without the X-Parley-Session header",
    "404": "Unknown room, or you are not a member",
    "404/message": "Unknown room (or not a member), or no such message in it (or deleted)",
    "403/message": "Not yours to edit (or to delete: only the room's owner or admins delete "
    "others')",
    "403/role": "Your role in the room does not allow it",
    "409": "Username taken",
    "413": "Body over 64 KiB",
    "422": "A field is missing or invalid",
    "429": "Rate limited",
    "503": "Not stored; retry with the same client_id",
}
_AUTH_503 = _error("503", "Sign-in limits cannot be checked (Redis down); try again")

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
_PROVIDER = {
    "name": "provider",
    "in": "path",
    "required": True,
    "description": "A configured provider's name (`GET /api/auth/providers`)",
    "schema": {"type": "string"},
}
_NEXT = {
    "name": "next",
    "in": "query",
    "required": False,
    "description": "Where to land afterwards: a path on this site (anything else is `/`)",
    "schema": {"type": "string"},
}
_REDIRECT = {
    "302": {
        "description": "To the provider, or back into the web client with the outcome in "
        "the fragment (`#oauth=signed_in`, `#oauth=linked`, `#oauth_error=CODE`)",
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
}


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
_EMAIL_PATTERN = f"^[^@\\s{_LINE}]{{1,64}}@{validation.EMAIL_DOMAIN}$"
_USERNAME = {"type": "string", "pattern": f"^{validation.USERNAME}$"}
_PASSWORD = _text(validation.MAX_PASSWORD, validation.CONTROLS, shortest=validation.MIN_PASSWORD)
_DISPLAY_NAME = _text(validation.MAX_DISPLAY_NAME, _LINE, blank=False)
_ROOM_NAME = _text(validation.MAX_ROOM_NAME, _LINE, blank=False)
_ROOM_TOPIC = _text(validation.MAX_ROOM_TOPIC, _LINE, shortest=0)
_BODY_TEXT = _text(validation.MAX_BODY, validation.BODY_CONTROLS, blank=False)
_CLIENT_ID = _text(validation.MAX_CLIENT_ID, _LINE)
_TOKEN = _text(validation.MAX_TOKEN, _LINE)
_SEQ_PATH = {
    "name": "seq",
    "in": "path",
    "required": True,
    "description": "The seq of a message of the room; anything else names no message (404)",
    "schema": {"type": "integer", "minimum": 1, "maximum": validation.MAX_ID},
}
_EMOJI_PATH = {
    "name": "emoji",
    "in": "path",
    "required": True,
    "description": "One emoji, percent-encoded",
    "schema": {"type": "string", "minLength": 1, "maxLength": validation.MAX_EMOJI},
}
_LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
}
_EVENT_ANSWER = _ok(
    "200",
    "The stored room event; null for a reaction that was already there (or not)",
    _obj(["event"], event={"anyOf": [_ref("RoomEvent"), {"type": "null"}]}),
)
_INSTANT = {"type": "string", "pattern": f"^{validation.RFC3339}$"}
_ROOM_ID = {
    "name": "room",
    "in": "path",
    "required": True,
    "description": "A room id: ASCII digits; anything else is an unknown room (404)",
    "schema": _ID,
}


_USER_PATH = {
    "name": "user",
    "in": "path",
    "required": True,
    "description": "A member's user id",
    "schema": _ID,
}

_ENDPOINT = {
    "type": "string",
    "maxLength": 1024,
    "pattern": "^https://[!-~]+$",
    "description": "The push service's URL for this browser: https, to a public address "
    "(http://127.0.0.1 too with PARLEY_PUSH_ALLOW_PRIVATE)",
}
_ENDPOINT_ONLY = _obj(["endpoint"], endpoint=_ENDPOINT)
_SUBSCRIPTION = _obj(
    ["endpoint", "keys"],
    endpoint=_ENDPOINT,
    keys=_obj(
        ["p256dh", "auth"],
        p256dh={
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{87}={0,2}$",
            "description": "The browser's P-256 public key (uncompressed point), base64url",
        },
        auth={
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{22}={0,2}$",
            "description": "The 16-byte auth secret, base64url",
        },
    ),
)

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
    topic=_ROOM_TOPIC,
    public={"type": "boolean"},
)

_UNREAD = _obj(["unread"], unread={"type": "integer", "minimum": 0})

# Shapes shared with the WebSocket protocol, described once in parley/protocol/schema.
_SHARED = (
    "User",
    "Message",
    "RoomEvent",
    "Room",
    "Error",
    "SearchPage",
    "DirectoryPage",
    "ReadMarkers",
    "Attachment",
    "Profile",
    "Settings",
    "Notification",
    "NotificationPage",
    "NotificationSettings",
    "NotificationLevel",
    "NotificationReason",
)
_FILE_ID = {
    "name": "file",
    "in": "path",
    "required": True,
    "description": "An upload's id; anything else is no file (404)",
    "schema": _ID,
}
_USER_ID = {"name": "user", "in": "path", "required": True, "schema": _ID}
_UPLOAD = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": _obj(["file"], file={"type": "string", "format": "binary"})
        },
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}
_FILE_BYTES = {
    "description": "The file, with nosniff, a sandbox CSP and, for anything but a PNG, "
    "JPEG, GIF or WebP image, Content-Disposition: attachment",
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}


def _file_routes() -> JSON:
    too_large = _error("413", "Over PARLEY_MAX_UPLOAD_BYTES (too_large); nothing kept")
    upload = _op(
        "Upload a file to a room (sent later with a message's attachments)",
        {
            **_ok("201", "Uploaded", _ref("Attachment")),
            **_errors("401", "404", "422"),
            **too_large,
        },
        params=[
            _ROOM_ID,
            {
                "name": "name",
                "in": "query",
                "description": "The file's name, for a raw body (multipart: the part's filename)",
                "schema": _text(validation.MAX_FILE_NAME, _LINE, blank=False),
            },
        ],
    )
    upload["requestBody"] = _UPLOAD
    avatar = _op(
        "Set your avatar (a PNG, JPEG, GIF or WebP image; cropped to 256 px)",
        {
            **_ok("200", "Set", _obj(["avatar"], avatar=_STR)),
            **_errors("401", "422"),
            **_error("413", "Over 5 MiB (too_large)"),
        },
    )
    avatar["requestBody"] = _UPLOAD
    served = {"200": _FILE_BYTES, "206": _FILE_BYTES, **_errors("401")}
    missing = _error("404", "No such file, or you may not see it")
    return {
        "/api/rooms/{room}/files": {"post": upload},
        "/api/files/{file}": {
            "get": _op("A file, to members of its room", {**served, **missing}, params=[_FILE_ID])
        },
        "/api/files/{file}/thumbnail": {
            "get": _op(
                "An image's thumbnail (WebP)",
                {"200": _FILE_BYTES, **_errors("401"), **missing},
                params=[_FILE_ID],
            )
        },
        "/api/me/avatar": {
            "put": avatar,
            "delete": _op(
                "Remove your avatar", {"204": {"description": "Removed"}, **_errors("401")}
            ),
        },
        "/api/users/{user}/avatar": {
            "get": _op(
                "A user's avatar (WebP), to any signed-in user",
                {"200": _FILE_BYTES, **_errors("401"), **_error("404", "No avatar")},
                params=[_USER_ID],
            )
        },
    }


@cache
def document() -> JSON:
    credentials = _obj(["username", "password"], username=_USERNAME, password=_PASSWORD)
    refresh = _obj([], refresh_token=_TOKEN)
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
                    {
                        **_ok("201", "Signed up", _ref("Session")),
                        **_errors("403", "409", "413", "422", "429"),
                        **_AUTH_503,
                    },
                    body=_obj(
                        ["username", "password"],
                        username=_USERNAME,
                        password=_PASSWORD,
                        display_name=_nullable(_DISPLAY_NAME),
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
                        **_errors("401", "403", "413", "422", "429"),
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
                    {
                        **_ok("200", "New tokens", _ref("Session")),
                        **_errors("401", "403", "413", "422"),
                    },
                    body=refresh,
                    secure=False,
                    params=[_COOKIE_SESSION, _REFRESH_COOKIE],
                )
            },
            "/api/auth/logout": {
                "post": _op(
                    "End the session of a refresh token (body, or the cookie, which is cleared)",
                    {"204": {"description": "Signed out"}, **_errors("401", "403", "413", "422")},
                    body=refresh,
                    secure=False,
                    params=[_COOKIE_SESSION, _REFRESH_COOKIE],
                )
            },
            "/api/auth/logout-all": {
                "post": _op(
                    "Sign out everywhere: end every session of yours and close their sockets",
                    {
                        "204": {"description": "Signed out everywhere"},
                        **_errors("401", "403", "422"),
                    },
                    params=[_COOKIE_SESSION],
                )
            },
            "/api/auth/providers": {
                "get": _op(
                    "The configured sign-in providers, for a button each",
                    _ok(
                        "200",
                        "Providers",
                        _obj(["providers"], providers={"type": "array", "items": _ref("Provider")}),
                    ),
                    secure=False,
                )
            },
            "/api/auth/oauth/{provider}/start": {
                "get": _op(
                    "Sign in with a provider: a browser navigation, answered with a redirect",
                    _REDIRECT,
                    secure=False,
                    params=[_PROVIDER, _NEXT],
                )
            },
            "/api/auth/oauth/{provider}/callback": {
                "get": _op(
                    "Where the provider sends the browser back; sets the session cookie",
                    _REDIRECT,
                    secure=False,
                    params=[
                        _PROVIDER,
                        *(
                            {"name": name, "in": "query", "required": False, "schema": _STR}
                            for name in ("code", "state", "error", "iss")
                        ),
                    ],
                )
            },
            "/api/auth/oauth/{provider}/link": {
                "post": _op(
                    "Start linking a provider's account to yours: the URL to navigate to",
                    {
                        **_ok("200", "Navigate there", _obj(["url"], url=_STR)),
                        **_errors("401", "413", "422"),
                        **_error("404", "No such provider"),
                        **_error("503", "The provider cannot be reached"),
                    },
                    body=_obj([], next=_STR),
                    params=[_PROVIDER],
                )
            },
            "/api/me": {
                "get": _op(
                    "The signed-in user", {**_ok("200", "You", _ref("User")), **_errors("401")}
                ),
                "patch": _op(
                    "Change your display name; people who share a room with you see it live",
                    {**_ok("200", "You, renamed", _ref("User")), **_errors("401", "413", "422")},
                    body=_obj(["display_name"], display_name=_DISPLAY_NAME),
                ),
            },
            "/api/me/settings": {
                "get": _op(
                    "Your settings (the defaults until the first save)",
                    {**_ok("200", "Settings", _ref("Settings")), **_errors("401")},
                ),
                "put": _op(
                    "Save your settings: every field, no others",
                    {**_ok("200", "Saved", _ref("Settings")), **_errors("401", "413", "422")},
                    body=_ref("Settings"),
                ),
            },
            "/api/users/{user}": {
                "get": _op(
                    "A user's profile with when they were last seen; only to people who share"
                    " a room with them",
                    {
                        **_ok("200", "Profile", _ref("Profile")),
                        **_errors("401"),
                        **_error("404", "No such user, or you share no room with them"),
                    },
                    params=[
                        {
                            "name": "user",
                            "in": "path",
                            "required": True,
                            "description": "A user's id",
                            "schema": _ID,
                        }
                    ],
                )
            },
            "/api/me/identities": {
                "get": _op(
                    "Your ways to sign in: a password or not, and linked provider accounts",
                    {
                        **_ok(
                            "200",
                            "Sign-in methods",
                            _obj(
                                ["has_password", "identities"],
                                has_password={"type": "boolean"},
                                identities={"type": "array", "items": _ref("Identity")},
                            ),
                        ),
                        **_errors("401"),
                    },
                )
            },
            "/api/me/identities/{identity}": {
                "delete": _op(
                    "Unlink a provider account",
                    {
                        "204": {"description": "Unlinked"},
                        **_errors("401", "409/identity"),
                        **_error("404", "No such linked account"),
                    },
                    params=[
                        {
                            "name": "identity",
                            "in": "path",
                            "required": True,
                            "description": "A linked account's id",
                            "schema": _ID,
                        }
                    ],
                )
            },
            "/api/push/key": {
                "get": _op(
                    "The server's VAPID public key: the applicationServerKey to subscribe with",
                    _ok("200", "The key", _obj(["public_key"], public_key=_STR)),
                    secure=False,
                )
            },
            "/api/push/subscriptions": {
                "post": _op(
                    "Register this browser's push subscription (PushSubscription.toJSON()), "
                    "tied to this session; registering its endpoint again replaces it",
                    {
                        "204": {"description": "Registered"},
                        **_errors("401", "413", "422"),
                    },
                    body=_SUBSCRIPTION,
                ),
                "delete": _op(
                    "Remove one of your push subscriptions, by endpoint",
                    {
                        "204": {"description": "Removed"},
                        **_errors("401", "413", "422"),
                        **_error("404", "No push subscription of yours at that endpoint"),
                    },
                    body=_ENDPOINT_ONLY,
                ),
            },
            "/api/me/password": {
                "post": _op(
                    "Set a password; changing one needs the current one",
                    {
                        "204": {"description": "Password set"},
                        **_errors("401", "413", "422", "429"),
                        **_error("403", "The current password is wrong"),
                        **_AUTH_503,
                    },
                    body=_obj(
                        ["password"], password=_PASSWORD, current_password=_nullable(_PASSWORD)
                    ),
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
                        **_errors("401", "413", "422", "429"),
                    },
                    body={"oneOf": [_GROUP, _DIRECT]},
                ),
            },
            "/api/rooms/directory": {
                "get": _op(
                    "Public groups whose name or topic contains q, by id",
                    {
                        **_ok("200", "A page of the directory", _ref("DirectoryPage")),
                        **_errors("401", "422"),
                    },
                    params=[
                        {
                            "name": "q",
                            "in": "query",
                            "schema": _text(validation.MAX_SEARCH, _LINE, shortest=0),
                        },
                        {
                            "name": "cursor",
                            "in": "query",
                            "schema": _ID,
                            "description": "next_cursor of the previous page",
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 50},
                        },
                    ],
                )
            },
            "/api/rooms/{room}": {
                "get": _op(
                    "One room",
                    {**_ok("200", "Room", _ref("Room")), **_errors("401", "404")},
                    params=[_ROOM_ID],
                ),
                "patch": _op(
                    "Rename a group, set or clear its topic, make it public or invite-only "
                    "(owners and admins); members hear room_updated",
                    {
                        **_ok("200", "The group as it is now", _ref("Room")),
                        **_errors("401", "403/role", "404", "413", "422"),
                    },
                    body=_obj([], name=_ROOM_NAME, topic=_ROOM_TOPIC, public={"type": "boolean"}),
                    params=[_ROOM_ID],
                ),
            },
            "/api/rooms/{room}/members": {
                "post": _op(
                    "Add a member to a group (owners and admins)",
                    {
                        **_ok("201", "Added", _ref("Room")),
                        **_ok("200", "Already a member", _ref("Room")),
                        **_errors("401", "403/role", "404", "413", "422", "429"),
                    },
                    body=_obj(["username"], username=_USERNAME),
                    params=[_ROOM_ID],
                )
            },
            "/api/rooms/{room}/members/me": {
                "delete": _op(
                    "Leave a group; an owner's passes to the longest-standing admin, else member",
                    {"204": {"description": "Left"}, **_errors("401", "404", "422")},
                    params=[_ROOM_ID],
                )
            },
            "/api/rooms/{room}/members/{user}": {
                "delete": _op(
                    "Remove a member (the owner: admins and members; an admin: members); "
                    "their sockets hear left",
                    {"204": {"description": "Removed"}, **_errors("401", "403/role", "404", "422")},
                    params=[_ROOM_ID, _USER_PATH],
                )
            },
            "/api/rooms/{room}/members/{user}/role": {
                "put": _op(
                    "Make a member an admin, or an admin a member (the owner)",
                    {
                        **_ok("200", "The group as it is now", _ref("Room")),
                        **_errors("401", "403/role", "404", "413", "422"),
                    },
                    body=_obj(["role"], role={"enum": ["admin", "member"]}),
                    params=[_ROOM_ID, _USER_PATH],
                )
            },
            "/api/rooms/{room}/owner": {
                "post": _op(
                    "Hand the group over to a member (the owner, who becomes an admin)",
                    {
                        **_ok("200", "The group as it is now", _ref("Room")),
                        **_errors("401", "403/role", "404", "413", "422"),
                    },
                    body=_obj(["user"], user=_ID),
                    params=[_ROOM_ID],
                )
            },
            "/api/rooms/{room}/join": {
                "post": _op(
                    "Join a public group",
                    {
                        **_ok("201", "Joined", _ref("Room")),
                        **_ok("200", "Already a member", _ref("Room")),
                        **_error("403", "The group is invite-only"),
                        **_errors("401", "404", "429"),
                    },
                    params=[_ROOM_ID],
                )
            },
            "/api/rooms/{room}/hide": {
                "post": _op(
                    "Hide a direct conversation from your room list until its next message",
                    {"204": {"description": "Hidden"}, **_errors("401", "404", "422")},
                    params=[_ROOM_ID],
                )
            },
            "/api/search": {
                "get": _op(
                    "Full-text search in the rooms you are a member of, newest first",
                    {
                        **_ok("200", "Matching live messages with snippets", _ref("SearchPage")),
                        **_errors("401", "422"),
                    },
                    params=[
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "description": 'Words, "a phrase", -excluded, or: alternatives',
                            "schema": _text(validation.MAX_SEARCH_TEXT, _LINE, blank=False),
                        },
                        {
                            "name": "room",
                            "in": "query",
                            "description": "A room id; one you are not in finds nothing",
                            "schema": _SEQ,
                        },
                        {"name": "sender", "in": "query", "schema": _USERNAME},
                        {
                            "name": "after",
                            "in": "query",
                            "description": "RFC 3339 date (midnight UTC) or date-time; inclusive",
                            "schema": _INSTANT,
                        },
                        {
                            "name": "before",
                            "in": "query",
                            "description": "RFC 3339 date (midnight UTC) or date-time; exclusive",
                            "schema": _INSTANT,
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 50},
                        },
                        {
                            "name": "cursor",
                            "in": "query",
                            "description": "next_cursor of the previous page",
                            "schema": {**_SEQ, "minimum": 1},
                        },
                    ],
                )
            },
            "/api/notifications": {
                "get": _op(
                    "Your in-app notifications, newest first, with the unread count",
                    {
                        **_ok("200", "A page of the inbox", _ref("NotificationPage")),
                        **_errors("401", "422"),
                    },
                    params=[
                        {
                            "name": "cursor",
                            "in": "query",
                            "description": "next_cursor of the previous page",
                            "schema": {**_SEQ, "minimum": 1},
                        }
                    ],
                )
            },
            "/api/notifications/read-all": {
                "post": _op(
                    "Mark every notification read",
                    {**_ok("200", "The unread count", _UNREAD), **_errors("401")},
                )
            },
            "/api/notifications/{id}/read": {
                "post": _op(
                    "Mark one notification read",
                    {**_ok("200", "The unread count", _UNREAD), **_errors("401", "404")},
                    params=[{"name": "id", "in": "path", "required": True, "schema": _ID}],
                )
            },
            "/api/me/notification-settings": {
                "get": _op(
                    "Your e-mail address and mode, digest interval and the levels of your rooms",
                    {
                        **_ok("200", "The settings", _ref("NotificationSettings")),
                        **_errors("401"),
                    },
                ),
                "put": _op(
                    "Change the e-mail address, mode or digest interval (fields left out stay)",
                    {
                        **_ok("200", "The settings", _ref("NotificationSettings")),
                        **_errors("401", "422"),
                    },
                    body={
                        **_obj(
                            [],
                            email=_nullable(
                                {
                                    "type": "string",
                                    "maxLength": validation.MAX_EMAIL,
                                    "pattern": _EMAIL_PATTERN,
                                }
                            ),
                            email_mode={"enum": ["off", "immediately", "digest"]},
                            digest_minutes={"type": "integer", "minimum": 5, "maximum": 10080},
                        ),
                        "additionalProperties": False,
                    },
                ),
            },
            "/api/rooms/{room}/notification-settings": {
                "put": _op(
                    "Your notification level in a room: all, mentions, or nothing (muted)",
                    {
                        **_ok(
                            "200",
                            "The level",
                            _obj(["room", "level"], room=_ID, level=_ref("NotificationLevel")),
                        ),
                        **_errors("401", "404", "422"),
                    },
                    body={
                        **_obj(["level"], level=_ref("NotificationLevel")),
                        "additionalProperties": False,
                    },
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
                            "name": "around",
                            "in": "query",
                            "description": "Up to limit messages centred on this seq "
                            "(has_more: older ones exist)",
                            "schema": _SEQ,
                        },
                        _LIMIT,
                    ],
                ),
                "post": _op(
                    "Send a message (same pipeline as the WebSocket send)",
                    {
                        **_ok("201", "Stored", _ref("Message")),
                        **_errors("401", "404", "413", "422", "429", "503"),
                    },
                    body=_obj(
                        ["body"],
                        body=_BODY_TEXT,
                        client_id=_nullable(_CLIENT_ID),
                        reply_to=_nullable(
                            {"type": "integer", "minimum": 1, "maximum": validation.MAX_ID}
                        ),
                        attachments={
                            "type": "array",
                            "items": _ID,
                            "maxItems": validation.MAX_ATTACHMENTS,
                            "uniqueItems": True,
                        },
                    ),
                    params=[_ROOM_ID],
                ),
            },
            "/api/rooms/{room}/messages/{seq}": {
                "patch": _op(
                    "Edit your message (an edit room event)",
                    {
                        **_EVENT_ANSWER,
                        **_errors("401", "403/message", "404/message", "413", "422", "429", "503"),
                    },
                    body=_obj(["body"], body=_BODY_TEXT, client_id=_nullable(_CLIENT_ID)),
                    params=[_ROOM_ID, _SEQ_PATH],
                ),
                "delete": _op(
                    "Delete a message: yours, or any in a room you own (a delete room event)",
                    {
                        **_EVENT_ANSWER,
                        **_errors("401", "403/message", "404/message", "422", "429", "503"),
                    },
                    params=[
                        _ROOM_ID,
                        _SEQ_PATH,
                        {"name": "client_id", "in": "query", "schema": _CLIENT_ID},
                    ],
                ),
            },
            "/api/rooms/{room}/messages/{seq}/reactions/{emoji}": {
                "put": _op(
                    "React to a message (a react room event; null when already there)",
                    {**_EVENT_ANSWER, **_errors("401", "404/message", "422", "429", "503")},
                    params=[_ROOM_ID, _SEQ_PATH, _EMOJI_PATH],
                ),
                "delete": _op(
                    "Remove your reaction (an unreact room event; null when there was none)",
                    {**_EVENT_ANSWER, **_errors("401", "404/message", "422", "429", "503")},
                    params=[_ROOM_ID, _SEQ_PATH, _EMOJI_PATH],
                ),
            },
            "/api/rooms/{room}/reads": {
                "get": _op(
                    "Seen by: members whose read marker is at seq or beyond (all without seq)",
                    {
                        **_ok("200", "Read markers, highest first", _ref("ReadMarkers")),
                        **_errors("401", "404", "422"),
                    },
                    params=[_ROOM_ID, {"name": "seq", "in": "query", "schema": _SEQ}],
                ),
            },
            "/api/rooms/{room}/events": {
                "get": _op(
                    "The stream after a seq: messages and room events in seq order",
                    {
                        **_ok(
                            "200",
                            "Entries",
                            _obj(
                                ["entries", "last_seq"],
                                entries={
                                    "type": "array",
                                    "items": {
                                        "oneOf": [
                                            _obj(["message"], message=_ref("Message")),
                                            _obj(["event"], event=_ref("RoomEvent")),
                                        ]
                                    },
                                },
                                last_seq=_SEQ,
                            ),
                        ),
                        **_errors("401", "404", "422"),
                    },
                    params=[_ROOM_ID, {"name": "after", "in": "query", "schema": _SEQ}, _LIMIT],
                ),
            },
            **_file_routes(),
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": {
                **schema.definitions(*_SHARED, ref_prefix="#/components/schemas/"),
                "Provider": _obj(
                    ["name", "display_name", "kind"],
                    name=_STR,
                    display_name=_STR,
                    kind={"enum": ["oidc", "github"]},
                ),
                "Identity": _obj(
                    ["id", "provider", "display_name", "label", "created_at"],
                    id=_ID,
                    provider=_nullable(_STR),
                    display_name=_STR,
                    label=_STR,
                    created_at=_STR,
                ),
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
