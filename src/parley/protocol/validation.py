"""Field rules shared by the HTTP API and the WebSocket frames.

Every value a client sends passes through one of these before it reaches the
auth service, the store or the log, so a field is refused the same way
(``invalid_input``, 422 over HTTP) whichever store is behind: PostgreSQL cannot
hold a NUL that SQLite would store and echo to every member, and a record the
store refuses must never get as far as the log.

Lengths count every character sent, surrounding whitespace included; names and
bodies are then stored trimmed. The character classes are written as ``\\uXXXX``
escapes so ``parley.api.openapi`` can put the same rules in the JSON Schema
patterns of /openapi.json.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import emoji as emoji_data

from parley.protocol.errors import invalid

MAX_BODY = 4000
MAX_CLIENT_ID = 64
MAX_DISPLAY_NAME = 64
MAX_ROOM_NAME = 80
MAX_ROOM_TOPIC = 250
MAX_SEARCH = 32
MAX_SEARCH_TEXT = 200
MAX_GROUP_MEMBERS = 1000
MIN_PASSWORD, MAX_PASSWORD = 8, 256
MAX_TOKEN = 1024
MAX_EMOJI = 32
MAX_FILE_NAME = 255
MAX_ATTACHMENTS = 10
"""Files one message may carry."""
MAX_ID = 2**63 - 1
"""Ids and seqs are PostgreSQL BIGINTs."""

CONTROLS = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
"""C0 controls (NUL included), DEL, C1 controls, and the line and paragraph separators."""
BODY_CONTROLS = r"\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029"
"""``CONTROLS`` less newline and tab, which a message body may hold."""
BIDI = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Bidirectional formatting characters: in a name they can make it display as another."""
WHITESPACE = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""What ``str.strip()`` removes, spelled out: JSON Schema's ``\\s`` is not quite the same."""
USERNAME = r"[A-Za-z0-9_.-]{3,32}"
RFC3339 = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2}))?"
)
"""An RFC 3339 full-date, or date-time with an upper-case T and Z and at most microseconds."""
DIGITS = r"[0-9]{1,19}"
"""A decimal id or seq as text: ASCII digits only, and too short for ``int`` to work hard."""

# Lone surrogates cannot arrive in JSON or a query string (they are refused or replaced
# on decoding), but they cannot be encoded either, so the rules here refuse them too.
_SURROGATES = r"\ud800-\udfff"
_BODY_REFUSED = re.compile(f"[{BODY_CONTROLS}{_SURROGATES}]")
_SECRET_REFUSED = re.compile(f"[{CONTROLS}{_SURROGATES}]")
_LINE_REFUSED = re.compile(f"[{CONTROLS}{BIDI}{_SURROGATES}]")
_USERNAME = re.compile(USERNAME)
_DIGITS = re.compile(DIGITS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(RFC3339)


def body(value: Any, client_id: str | None = None, *, empty: bool = False) -> str:
    """``empty``: the message carries attachments, so it may have no text."""
    if empty and value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise invalid("body must be a string", client_id)
    if len(value) > MAX_BODY:
        raise invalid(f"body must be at most {MAX_BODY} characters", client_id)
    if _BODY_REFUSED.search(value):
        raise invalid("body must not contain control characters", client_id)
    text = value.strip()
    if not text:
        raise invalid("body must not be empty", client_id)
    return text


def _line(value: Any, field: str, longest: int, client_id: str | None = None) -> str:
    """One line of 1 to ``longest`` characters, with no control or bidi formatting character."""
    if not isinstance(value, str) or not 1 <= len(value) <= longest:
        raise invalid(f"{field} must be a string of 1 to {longest} characters", client_id)
    if _LINE_REFUSED.search(value):
        raise invalid(
            f"{field} must not contain control or bidirectional formatting characters", client_id
        )
    return value


def _name(value: Any, field: str, longest: int) -> str:
    text = _line(value, field, longest).strip()
    if not text:
        raise invalid(f"{field} must not be blank")
    return text


def file_name(value: Any) -> str:
    """An upload's name as shown and offered for saving: one line, no path separators."""
    name = _name(value, "name", MAX_FILE_NAME)
    if "/" in name or "\\" in name or name in (".", ".."):
        raise invalid("name must not contain a path")
    return name


def attachments(value: Any, client_id: str | None = None) -> tuple[int, ...]:
    """Upload ids a message carries: absent or a list of distinct id strings."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_ATTACHMENTS:
        raise invalid(f"attachments must be a list of at most {MAX_ATTACHMENTS} ids", client_id)
    ids = tuple(object_id(item, "attachments", client_id) for item in value)
    if len(set(ids)) != len(ids):
        raise invalid("attachments must not repeat an id", client_id)
    return ids


def client_id(value: Any, *, required: bool) -> str | None:
    """The sender's idempotency key, kept exactly as sent (it is echoed in acks and errors)."""
    if value is None and not required:
        return None
    return _line(value, "client_id", MAX_CLIENT_ID)


def token(value: Any, field: str) -> str:
    """An access or refresh token, before it is verified or fingerprinted."""
    return _line(value, field, MAX_TOKEN)


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})+"
"""A dotted domain name of an e-mail address (shared with the OpenAPI description)."""
_EMAIL = re.compile(r"[^@\s]{1,64}@" + EMAIL_DOMAIN)
MAX_EMAIL = 254


def email(value: Any) -> str:
    """An e-mail address: one line, a local part and a dotted domain name (no IP literal)."""
    text = _line(value, "email", MAX_EMAIL)
    if not _EMAIL.fullmatch(text):
        raise invalid("email must be an address like name@example.com")
    return text


def _decimal(text: str) -> int | None:
    return int(text) if _DIGITS.fullmatch(text) else None


def whole_number(
    text: str, field: str, low: int = 0, high: int = MAX_ID, client_id: str | None = None
) -> int:
    """A decimal number sent as text (a query parameter): no sign, space or other digit."""
    number = _decimal(text)
    if number is None or not low <= number <= high:
        raise invalid(f"{field} must be a whole number from {low} to {high}", client_id)
    return number


def object_id(value: Any, field: str, client_id: str | None = None) -> int:
    """Ids travel as decimal strings; anything else is a client mistake."""
    number = _decimal(value) if isinstance(value, str) else None
    if number is None or not 1 <= number <= MAX_ID:
        raise invalid(f"{field} must be an id string", client_id)
    return number


def seq(value: Any, field: str = "seq") -> int:
    """A JSON integer; booleans, floats and numbers past a BIGINT are refused."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise invalid(f"{field} must be a whole number from 0 to {MAX_ID}")
    return value


def target(value: Any, field: str, client_id: str | None = None) -> int:
    """The seq of a message in the room: a JSON integer from 1, within a BIGINT."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise invalid(f"{field} must be a whole number from 1 to {MAX_ID}", client_id)
    return value


def emoji(value: Any, client_id: str | None = None) -> str:
    """Exactly one emoji (a ZWJ sequence or a flag counts as one), as the emoji package knows."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_EMOJI:
        raise invalid(f"emoji must be a string of 1 to {MAX_EMOJI} characters", client_id)
    if not emoji_data.is_emoji(value):
        raise invalid("emoji must be a single emoji", client_id)
    return value


def username(value: Any) -> str:
    # ASCII is checked before lowering: "\u212a" (the Kelvin sign) lowers to "k".
    if not isinstance(value, str) or not _USERNAME.fullmatch(value):
        raise invalid("username must be 3 to 32 characters of a-z, 0-9, _ . -")
    return value.lower()


def members(value: Any, *, direct: bool) -> list[str]:
    """The usernames a room starts with, lowered, each once, in the order given."""
    if not isinstance(value, list):
        raise invalid("members must be a list of usernames")
    if direct and len(value) != 1:
        raise invalid("a direct room has exactly one other member")
    if len(value) > MAX_GROUP_MEMBERS:
        raise invalid(f"a group starts with at most {MAX_GROUP_MEMBERS} members")
    return list(dict.fromkeys(username(name) for name in value))


def password(value: Any) -> str:
    """Any characters but controls: argon2 hashes the UTF-8, so nothing is stored as sent."""
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise invalid(f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if _SECRET_REFUSED.search(value):
        raise invalid("password must not contain control characters")
    return value


def display_name(value: Any, fallback: str) -> str:
    if value is None:
        return fallback
    return _name(value, "display_name", MAX_DISPLAY_NAME)


def room_name(value: Any) -> str:
    return _name(value, "name", MAX_ROOM_NAME)


def room_topic(value: Any) -> str:
    """One line of at most 250 characters; "" (or only spaces) clears the topic."""
    if value == "":
        return ""
    return _line(value, "topic", MAX_ROOM_TOPIC).strip()


def flag(value: Any, field: str) -> bool:
    """A JSON boolean; 0, 1, "true" and null are refused, not guessed at."""
    if not isinstance(value, bool):
        raise invalid(f"{field} must be true or false")
    return value


def search_prefix(value: str) -> str:
    """The start of a username; it may be empty, and matches case-insensitively."""
    if len(value) > MAX_SEARCH or _LINE_REFUSED.search(value):
        raise invalid(f"q must be at most {MAX_SEARCH} characters, none of them control characters")
    return value.strip().lower()


def search_text(value: Any) -> str:
    """What a full-text search looks for: one line of 1 to 200 characters, not blank."""
    text = _line(value, "q", MAX_SEARCH_TEXT).strip()
    if not text:
        raise invalid("q must not be blank")
    return text


def instant(text: str, field: str) -> int:
    """An RFC 3339 date (midnight UTC) or date-time with its offset, as epoch microseconds.

    Only those two forms: ``datetime.fromisoformat`` alone would also take week dates,
    missing offsets (local time of the server) and other ISO 8601 spellings.
    """
    if _RFC3339.fullmatch(text):
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            else:
                moment = datetime.fromisoformat(text)
            return (moment - _EPOCH) // timedelta(microseconds=1)
        except (ValueError, OverflowError):
            pass
    raise invalid(f"{field} must be an RFC 3339 date (2026-12-02) or date-time (…T10:00:00Z)")


def choice(value: Any, field: str, allowed: Sequence[str]) -> str:
    """One of a few fixed words (a setting's values); anything else is refused by name."""
    if not isinstance(value, str) or value not in allowed:
        raise invalid(f"{field} must be one of {', '.join(allowed)}")
    return value
