"""Full-text search over messages: a stored tsvector column with a GIN index on PostgreSQL, an
FTS5 table kept in step by triggers on SQLite (see ``parley.store.search``).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"

# An external content table: the text lives once, in messages. Each trigger removes the old
# text before adding the new, as FTS5 needs the exact old values to unindex a row.
SQLITE_UP = (
    "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages',"
    " content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
    " INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
    " INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);"
    " END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN"
    " INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);"
    " INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body); END",
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
)

SQLITE_DOWN = (
    "DROP TRIGGER messages_fts_update",
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_insert",
    "DROP TABLE messages_fts",
)


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        return
    # Stored, so a recheck (phrases) reads the vector instead of parsing every body again.
    op.execute(
        "ALTER TABLE messages ADD COLUMN search tsvector"
        " GENERATED ALWAYS AS (to_tsvector('english'::regconfig, body)) STORED"
    )
    op.execute(
        "CREATE INDEX ix_messages_search ON messages USING GIN (search) WHERE deleted_at IS NULL"
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
        return
    op.execute("DROP INDEX ix_messages_search")
    op.execute("ALTER TABLE messages DROP COLUMN search")
