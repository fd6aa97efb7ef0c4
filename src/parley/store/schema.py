"""Table definitions, shared by the queries and the migrations' autogenerate check."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

metadata = MetaData()

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")

OWNER = "owner"
ADMIN = "admin"
MEMBER = "member"
"""The roles of a room's members (``members.role``): a group has exactly one owner."""

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
    Column("last_seen_at", BigInteger),
)
"""``password_hash`` is NULL for a user who signs in only through providers (``identities``).
``role``: "admin" or "member" (the site-wide role, not a room's); ``disabled_at``: when an
admin disabled the account (NULL: it may sign in); ``last_seen_at``: when their last
connection closed (NULL: never connected since it was recorded), written once per going
offline, never per message."""

user_settings = Table(
    "user_settings",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("theme", String(8), nullable=False),
    Column("hour_cycle", String(4), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
"""The web client's settings that follow a user across devices; no row: the defaults."""

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
    Column("topic", String(250)),
    Column("public", Boolean, nullable=False, server_default=false()),
)
"""``public``: a group listed in the directory that anyone may join (else invite-only)."""

members = Table(
    "members",
    metadata,
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("last_read_seq", BigInteger, nullable=False, server_default="0"),
    Column("joined_at", BigInteger, nullable=False),
    Column("role", String(8), nullable=False, server_default=MEMBER),
    Column("hidden_seq", BigInteger),
    Index("ix_members_user", "user_id"),
    Index(
        "uq_members_owner",
        "room_id",
        unique=True,
        postgresql_where=text("role = 'owner'"),
        sqlite_where=text("role = 'owner'"),
    ),
)
"""``role``: ``OWNER`` (a group's creator until they hand it over; one per room, which
``uq_members_owner`` holds even against a bug), ``ADMIN`` or ``MEMBER``. ``hidden_seq``: the
stream's last seq when the member hid the (direct) room; it stays out of their room list
until a message comes after it."""

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

files = Table(
    "files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("uploader_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(160), nullable=False, unique=True),
    Column("thumbnail_key", String(160)),
    Column("name", String(255), nullable=False),
    Column("content_type", String(127), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("created_at", BigInteger, nullable=False),
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE")),
    Index("ix_files_message", "message_id"),
    Index("ix_files_created", "created_at"),
)
"""Uploads: the bytes live in the file store under ``key`` (and ``thumbnail_key`` for an
image). ``message_id`` is NULL until a message of the uploader in ``room_id`` carries the
file; an upload still unattached after ``PARLEY_UPLOAD_TTL`` is deleted."""

avatars = Table(
    "avatars",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(160), nullable=False),
    Column("version", BigInteger, nullable=False),
)
"""A user's picture in the file store; ``version`` (when it was set) makes its URL change
with it, so caches never show the old one."""

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("reason", String(8), nullable=False),
    Column("sender_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("excerpt", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("read_at", BigInteger),
    Column("emailed_at", BigInteger),
    UniqueConstraint("user_id", "room_id", "seq", name="uq_notifications_message"),
    Index("ix_notifications_user", "user_id", "id"),
)
"""The in-app inbox. The unique (user, room, seq) is the in-app channel's idempotency
ledger: a replayed message inserts nothing and announces nothing. ``emailed_at``: when a
digest carried it (NULL: not yet)."""

notification_ledger = Table(
    "notification_ledger",
    metadata,
    Column("key", String(96), primary_key=True),
    Column("state", String(8), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("payload", Text),
    Column("owner", String(64)),
    Column("lease_until", BigInteger),
    Index(
        "ix_notification_ledger_pending",
        "created_at",
        postgresql_where=text("state = 'pending'"),
        sqlite_where=text("state = 'pending'"),
    ),
)
"""Deliveries of channels outside the database, by ``Notification.key``: "pending" is
recorded (with what to send, ``payload``) before the log's offsets move, "done" once
sent ("refused": never deliverable). The e-mail outbox claims pending rows by setting
``owner`` and ``lease_until``; see docs/reliability.md."""

notification_settings = Table(
    "notification_settings",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("email", String(254)),
    Column("email_mode", String(12), nullable=False, server_default="off"),
    Column("digest_minutes", Integer, nullable=False, server_default="60"),
    Column("last_digest_at", BigInteger),
)
"""A user's e-mail address and how they want mail: "off", "immediately" or "digest"."""

room_notification_settings = Table(
    "room_notification_settings",
    metadata,
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("level", String(8), nullable=False),
)
"""A member's level for one room ("all", "mentions", "nothing"); no row: "all"."""

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
