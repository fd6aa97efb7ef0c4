"""The records Parley passes between its parts, and their JSON shapes.

Ids are integers inside Parley and strings on the wire, so clients never meet
JavaScript's 2**53 limit and storage can change its key type later.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

RoomKind = Literal["group", "direct"]
EventKind = Literal["edit", "delete", "react", "unreact"]
DraftKind = Literal["message", "edit", "delete", "react", "unreact"]
RoomRole = Literal["owner", "admin", "member"]
SiteRole = Literal["admin", "member"]
JSON = dict[str, Any]

PREVIEW_CHARS = 200
"""How much of the original a reply quotes."""
MAX_REACTION_USERS = 100
"""Reacting users listed per emoji; the count stays exact past it."""


def now_micros() -> int:
    """Timestamps are integer microseconds since the epoch, the same in SQLite and PostgreSQL."""
    return time.time_ns() // 1000


def rfc3339(micros: int) -> str:
    """Format microseconds since the epoch as RFC 3339 UTC with milliseconds."""
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{_second(seconds)}{fraction // 1000:03d}Z"


@lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    """Messages come in bursts within the same second: format each second once (~5x faster)."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str

    def to_json(self) -> JSON:
        return {"id": str(self.id), "username": self.username, "display_name": self.display_name}


Theme = Literal["light", "dark", "system"]
HourCycle = Literal["auto", "12h", "24h"]
THEMES: tuple[Theme, ...] = ("light", "dark", "system")
HOUR_CYCLES: tuple[HourCycle, ...] = ("auto", "12h", "24h")


@dataclass(frozen=True, slots=True)
class Settings:
    """The web client's settings that follow a user across devices (``GET /api/me/settings``).

    ``hour_cycle``: "auto" shows times as the browser's locale does.
    """

    theme: Theme = "system"
    hour_cycle: HourCycle = "auto"

    def to_json(self) -> JSON:
        return {"theme": self.theme, "hour_cycle": self.hour_cycle}


@dataclass(frozen=True, slots=True)
class Profile:
    """A user as someone who shares a room with them sees them (``GET /api/users/{id}``).

    ``last_seen_at``: when their last connection closed, kept as long as they are offline;
    None when they are online now or have not connected since it was recorded.
    """

    user: User
    online: bool
    last_seen_at: int | None

    def to_json(self) -> JSON:
        return {
            "user": self.user.to_json(),
            "online": self.online,
            "last_seen": None if self.last_seen_at is None else rfc3339(self.last_seen_at),
        }


@dataclass(frozen=True, slots=True)
class ReadMarker:
    """How far one member has read a room: the "seen by" of a message at ``seq`` or before."""

    user: User
    seq: int

    def to_json(self) -> JSON:
        return {"user": self.user.to_json(), "seq": self.seq}


@dataclass(frozen=True, slots=True)
class Account:
    """A user as the admin pages and the token checks see them: role and disabled mark."""

    user: User
    role: SiteRole
    disabled_at: int | None
    created_at: int

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def to_json(self) -> JSON:
        return {
            **self.user.to_json(),
            "role": self.role,
            "disabled": self.disabled_at is not None,
            "disabled_at": None if self.disabled_at is None else rfc3339(self.disabled_at),
            "created_at": rfc3339(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin action (``store.schema.admin_audit``)."""

    id: int
    actor: User
    action: str
    target: str
    client: str
    created_at: int

    def to_json(self) -> JSON:
        return {
            "id": str(self.id),
            "actor": self.actor.to_json(),
            "action": self.action,
            "target": self.target,
            "client": self.client,
            "created_at": rfc3339(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class RoomStats:
    """A room as the admin's rooms page lists it."""

    id: int
    kind: RoomKind
    name: str | None
    members: int
    messages: int
    last_seq: int
    last_activity_at: int

    def to_json(self) -> JSON:
        return {
            "id": str(self.id),
            "kind": self.kind,
            "name": self.name,
            "members": self.members,
            "messages": self.messages,
            "last_seq": self.last_seq,
            "last_activity_at": rfc3339(self.last_activity_at),
        }


@dataclass(frozen=True, slots=True)
class DirectoryRoom:
    """A public group as the room directory lists it, for people not in it yet."""

    id: int
    name: str
    topic: str | None
    members: int

    def to_json(self) -> JSON:
        return {"id": str(self.id), "name": self.name, "topic": self.topic, "members": self.members}


@dataclass(frozen=True, slots=True)
class Identity:
    """An account at a sign-in provider, linked to a Parley user (see ``store.schema.identities``).

    No ``to_json``: its JSON names the provider, which only the configured settings know.
    """

    id: int
    user_id: int
    issuer: str
    subject: str
    label: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ReplyPreview:
    """What a reply shows of the message it answers, as that message is now."""

    seq: int
    sender: User
    body: str
    deleted: bool

    def to_json(self) -> JSON:
        return {
            "seq": self.seq,
            "sender": self.sender.to_json(),
            "body": self.body[:PREVIEW_CHARS],
            "deleted": self.deleted,
        }


@dataclass(frozen=True, slots=True)
class Reaction:
    emoji: str
    count: int
    users: tuple[int, ...]
    """At most ``MAX_REACTION_USERS``, earliest first."""

    def to_json(self) -> JSON:
        return {"emoji": self.emoji, "count": self.count, "users": [str(u) for u in self.users]}


@dataclass(frozen=True, slots=True)
class Attachment:
    """An uploaded file as a message carries it: enough to show it without fetching it.

    ``width``/``height`` are set for the raster images Parley shows inline, which
    also have a thumbnail; any other file is offered as a download.
    """

    id: int
    name: str
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None

    @property
    def image(self) -> bool:
        return self.width is not None

    def to_json(self) -> JSON:
        url = f"/api/files/{self.id}"
        return {
            "id": str(self.id),
            "name": self.name,
            "content_type": self.content_type,
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "url": url,
            "thumbnail": f"{url}/thumbnail" if self.image else None,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """A message in its current state: room events (edits, deletes, reactions) folded in."""

    id: int
    room_id: int
    seq: int
    sender: User
    body: str
    created_at: int
    client_id: str | None
    reply_to: ReplyPreview | None = None
    mentions: tuple[int, ...] = ()
    edited_at: int | None = None
    deleted: bool = False
    reactions: tuple[Reaction, ...] = ()
    attachments: tuple[Attachment, ...] = ()

    def to_json(self) -> JSON:
        return {
            "id": str(self.id),
            "room": str(self.room_id),
            "seq": self.seq,
            "sender": self.sender.to_json(),
            "body": self.body,
            "created_at": rfc3339(self.created_at),
            "client_id": self.client_id,
            "reply_to": None if self.reply_to is None else self.reply_to.to_json(),
            "mentions": [str(u) for u in self.mentions],
            "edited_at": None if self.edited_at is None else rfc3339(self.edited_at),
            "deleted": self.deleted,
            "reactions": [r.to_json() for r in self.reactions],
            "attachments": [a.to_json() for a in self.attachments],
        }


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """What a full-text search looks for, in the rooms the viewer is a member of now.

    ``after`` is inclusive and ``before`` exclusive (microseconds); ``cursor`` is the id
    of the last result of the previous page: results are newest (highest id) first.
    """

    viewer_id: int
    text: str
    room_id: int | None = None
    sender: str | None = None
    after: int | None = None
    before: int | None = None
    cursor: int | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A matching message and a snippet of it: (text, is a hit) parts, so no markup travels."""

    message: Message
    snippet: tuple[tuple[str, bool], ...]

    def to_json(self) -> JSON:
        return {
            "message": self.message.to_json(),
            "snippet": [{"text": text, "hit": hit} for text, hit in self.snippet],
        }


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """An entry of a room's stream that changes an earlier message (its ``target`` seq)."""

    id: int
    room_id: int
    seq: int
    kind: EventKind
    sender: User
    target: int
    created_at: int
    client_id: str | None
    body: str | None = None
    """The new text of an edit."""
    mentions: tuple[int, ...] = ()
    """Who an edit's new text mentions."""
    emoji: str | None = None
    """The emoji of a react or unreact."""

    def to_json(self) -> JSON:
        out: JSON = {
            "id": str(self.id),
            "room": str(self.room_id),
            "seq": self.seq,
            "kind": self.kind,
            "sender": self.sender.to_json(),
            "target": self.target,
            "created_at": rfc3339(self.created_at),
            "client_id": self.client_id,
        }
        if self.kind == "edit":
            out["body"] = self.body
            out["mentions"] = [str(u) for u in self.mentions]
        elif self.kind in ("react", "unreact"):
            out["emoji"] = self.emoji
        return out


Entry = Message | RoomEvent
"""One numbered entry of a room's stream."""


@dataclass(frozen=True, slots=True)
class Room:
    id: int
    kind: RoomKind
    name: str | None
    members: tuple[User, ...]
    last_seq: int
    unread: int
    last_message: Message | None
    mentions: int = 0
    """Unread messages that mention the viewer."""
    roles: tuple[tuple[int, str], ...] = ()
    """(user id, role) of the members whose role is more than "member": what a client
    needs to offer the actions a role allows (owners and admins run the group)."""
    topic: str | None = None
    public: bool = False
    """A public group is listed in the directory and anyone may join it."""

    def to_json(self) -> JSON:
        return {
            "id": str(self.id),
            "kind": self.kind,
            "name": self.name,
            "members": [m.to_json() for m in self.members],
            "roles": {str(user): role for user, role in self.roles},
            "topic": self.topic,
            "public": self.public,
            "last_seq": self.last_seq,
            "unread": self.unread,
            "mentions": self.mentions,
            "last_message": self.last_message.to_json() if self.last_message else None,
        }


@dataclass(frozen=True, slots=True)
class Draft:
    """A stream entry accepted for sending but not yet sequenced or stored.

    ``kind`` "message" is new text (``target``: the seq it replies to, or None);
    the other kinds are room events changing the message at seq ``target``.
    """

    room_id: int
    sender: User
    body: str
    client_id: str | None
    created_at: int
    kind: DraftKind = "message"
    target: int | None = None
    emoji: str | None = None
    moderator: bool = False
    """A delete by a site admin (the admin API's moderation): allowed in any room, whoever
    sent the message and whether or not the admin is a member. Ignored for other kinds."""
    attachments: tuple[int, ...] = ()
    """Ids of the sender's unattached uploads in the room that a new message carries."""

    @property
    def moderated(self) -> bool:
        return self.moderator and self.kind == "delete"

    @property
    def plain(self) -> bool:
        """A message with no reply and no possible mention: the store's fast path."""
        return (
            self.kind == "message"
            and self.target is None
            and "@" not in self.body
            and not self.attachments
        )
