"""Table definitions, shared by the queries and the migrations' autogenerate check."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")

OWNER = "owner"
MEMBER = "member"
"""The roles of a room's members (``members.role``)."""

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("display_name", String(64), nullable=False),
    Column("password_hash", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("role", String(8), nullable=False, server_default="member"),
    Column("disabled_at", BigInteger),
)
"""``password_hash`` is NULL for a user who signs in only through providers (``identities``).
``role``: "admin" or "member" (the site-wide role, not a room's); ``disabled_at``: when an
admin disabled the account (NULL: it may sign in)."""

rooms = Table(
    "rooms",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    Column("name", String(80)),
    Column("direct_key", String(64), unique=True),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    Column("last_activity_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("last_read_seq", BigInteger, nullable=False, server_default="0"),
    Column("joined_at", BigInteger, nullable=False),
    Column("role", String(8), nullable=False, server_default=MEMBER),
    Index("ix_members_user", "user_id"),
)
"""``role``: ``OWNER`` for a group's creator (who may delete any message), else ``MEMBER``."""

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("sender_id", Id, ForeignKey("users.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("client_id", String(64)),
    Column("created_at", BigInteger, nullable=False),
    Column("reply_to_seq", BigInteger),
    Column("edited_at", BigInteger),
    Column("deleted_at", BigInteger),
    UniqueConstraint("room_id", "seq", name="uq_messages_room_seq"),
    UniqueConstraint("room_id", "sender_id", "client_id", name="uq_messages_client_id"),
)
"""Each message in its current state: room events are applied to it as they are stored."""

room_events = Table(
    "room_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("sender_id", Id, ForeignKey("users.id"), nullable=False),
    Column("target_seq", BigInteger, nullable=False),
    Column("body", Text),
    Column("mentions", Text),
    Column("emoji", String(32)),
    Column("client_id", String(64)),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("room_id", "seq", name="uq_room_events_room_seq"),
    UniqueConstraint("room_id", "sender_id", "client_id", name="uq_room_events_client_id"),
)
"""Edits, deletes and reactions: entries of the room's stream, numbered from the same
``rooms.last_seq`` as messages. ``mentions``: an edit's mentioned user ids, space-separated."""

mentions = Table(
    "mentions",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_mentions_user", "user_id"),
)

reactions = Table(
    "reactions",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("emoji", String(32), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("issuer", String(255), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("label", String(255), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("issuer", "subject", name="uq_identities_issuer_subject"),
)
"""A provider account that signs a user in: found by (issuer, subject) only, never by name or
e-mail, which a provider may let anyone choose. ``label`` is what the user is called there."""

refresh_families = Table(
    "refresh_families",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
)
"""One row per session: its revocation is one write, and its row lock orders rotations."""

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "family",
        String(32),
        ForeignKey("refresh_families.id", ondelete="CASCADE", name="fk_refresh_tokens_family"),
        nullable=False,
        index=True,
    ),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
)

admin_audit = Table(
    "admin_audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("actor_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
"""Every admin action: who (``actor_id``), what, on what (``target``: "user:7",
"room:3/seq:12"), from which client address, when. Rows are only ever added."""

push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column(
        "family",
        String(32),
        ForeignKey("refresh_families.id", ondelete="CASCADE", name="fk_push_subscriptions_family"),
    ),
    Column("endpoint", String(1024), nullable=False, unique=True),
    Column("p256dh", String(128), nullable=False),
    Column("auth", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
"""A browser's Web Push subscription (one per device: the push service's ``endpoint`` is
unique). ``family``: the session that registered it; once that session is signed out the
subscription is dropped, so a shared computer stops showing the previous user's messages.
NULL for a token with no session (it then lasts until unregistered or refused as gone)."""
