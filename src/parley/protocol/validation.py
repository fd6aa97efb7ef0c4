"""Field rules shared by the HTTP API and the WebSocket frames."""

from __future__ import annotations

import re
from typing import Any

from parley.protocol.errors import invalid

MAX_BODY = 4000
MAX_CLIENT_ID = 64
_USERNAME = re.compile(r"[a-z0-9_.-]{3,32}")
# C0 and C1 controls, DEL, and the Unicode line/paragraph separators; newline and tab stay.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_MAX_ID = 2**63 - 1


def body(value: Any, client_id: str | None = None) -> str:
    if not isinstance(value, str):
        raise invalid("body must be a string", client_id)
    text = value.strip()
    if not text:
        raise invalid("body must not be empty", client_id)
    if len(text) > MAX_BODY:
        raise invalid(f"body must be at most {MAX_BODY} characters", client_id)
    if _CONTROL.search(text):
        raise invalid("body must not contain control characters", client_id)
    return text


def client_id(value: Any, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_CLIENT_ID:
        raise invalid(f"client_id must be a string of 1 to {MAX_CLIENT_ID} characters")
    return value


def object_id(value: Any, field: str, client_id: str | None = None) -> int:
    """Ids travel as decimal strings; anything else is a client mistake."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
        if 0 < number <= _MAX_ID:
            return number
    raise invalid(f"{field} must be an id string", client_id)


def seq(value: Any, field: str = "seq") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ID:
        raise invalid(f"{field} must be a non-negative integer")
    return value


def username(value: Any) -> str:
    if not isinstance(value, str) or not _USERNAME.fullmatch(value.lower()):
        raise invalid("username must be 3 to 32 characters of a-z, 0-9, _ . -")
    return value.lower()


def password(value: Any) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= 256:
        raise invalid("password must be 8 to 256 characters")
    return value


def display_name(value: Any, fallback: str) -> str:
    if value is None:
        return fallback
    if not isinstance(value, str):
        raise invalid("display_name must be a string")
    text = value.strip()
    if not 1 <= len(text) <= 64 or _CONTROL.search(text):
        raise invalid("display_name must be 1 to 64 characters without control characters")
    return text


def room_name(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid("name must be a string")
    text = value.strip()
    if not 1 <= len(text) <= 80 or _CONTROL.search(text):
        raise invalid("name must be 1 to 80 characters without control characters")
    return text
