"""Profiles and settings: when each user was last connected, their settings; and search
narrowed to the viewer's rooms inside the index (see ``parley.store.search``): the room as
a column of SQLite's FTS5 table, and a GIN index on (room_id, search) in PostgreSQL.

Revision ID: 0010
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The FTS5 table of 0006 with the room as a second column, so a search narrows to the
# viewer's rooms inside the index; rebuilt from messages (about 5 s per million rows).
SQLITE_FTS_DROP = (
    "DROP TRIGGER messages_fts_update",
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_insert",
    "DROP TABLE messages_fts",
)


def _sqlite_fts(columns: tuple[str, ...]) -> tuple[str, ...]:
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    return (
        f"CREATE VIRTUAL TABLE messages_fts USING fts5({names}, content='messages',"
        " content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
        f" INSERT INTO messages_fts (rowid, {names}) VALUES (new.id, {new}); END",
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
        f" INSERT INTO messages_fts (messages_fts, rowid, {names})"
        f" VALUES ('delete', old.id, {old}); END",
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN"
        f" INSERT INTO messages_fts (messages_fts, rowid, {names})"
        f" VALUES ('delete', old.id, {old});"
        f" INSERT INTO messages_fts (rowid, {names}) VALUES (new.id, {new}); END",
        "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
    )


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.BigInteger))
    op.create_table(
        "user_settings",
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("theme", sa.String(8), nullable=False),
        sa.Column("hour_cycle", sa.String(4), nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    if op.get_context().dialect.name == "sqlite":
        for statement in SQLITE_FTS_DROP + _sqlite_fts(("body", "room_id")):
            op.execute(statement)
        return
    # btree_gin lets one GIN index hold the room beside the words, so a room's matches come
    # out of the index without a bitmap of the room's every message to AND with; it is a
    # trusted extension (the database's owner may create it), shipped with PostgreSQL.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute(
        "CREATE INDEX ix_messages_room_search ON messages USING GIN (room_id, search)"
        " WHERE deleted_at IS NULL"
    )
    op.execute("DROP INDEX ix_messages_search")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for statement in SQLITE_FTS_DROP + _sqlite_fts(("body",)):
            op.execute(statement)
    else:
        op.execute(
            "CREATE INDEX ix_messages_search ON messages USING GIN (search)"
            " WHERE deleted_at IS NULL"
        )
        op.execute("DROP INDEX ix_messages_room_search")
    op.drop_table("user_settings")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_seen_at")
