"""The room stream: edits, deletes and reactions as numbered room events; replies, mentions,
and member roles (a group's earliest member becomes its owner).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("reply_to_seq", sa.BigInteger))
        batch.add_column(sa.Column("edited_at", sa.BigInteger))
        batch.add_column(sa.Column("deleted_at", sa.BigInteger))
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("role", sa.String(8), nullable=False, server_default="member"))
    # Groups had no roles: whoever joined first (the creator) owns the group.
    op.execute(
        "UPDATE members SET role = 'owner'"
        " WHERE room_id IN (SELECT id FROM rooms WHERE kind = 'group')"
        " AND user_id = (SELECT m.user_id FROM members m WHERE m.room_id = members.room_id"
        " ORDER BY m.joined_at, m.user_id LIMIT 1)"
    )
    op.create_table(
        "room_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("room_id", Id, sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("sender_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("target_seq", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("mentions", sa.Text),
        sa.Column("emoji", sa.String(32)),
        sa.Column("client_id", sa.String(64)),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("room_id", "seq", name="uq_room_events_room_seq"),
        sa.UniqueConstraint("room_id", "sender_id", "client_id", name="uq_room_events_client_id"),
    )
    op.create_table(
        "mentions",
        sa.Column(
            "message_id",
            Id,
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_mentions_user", "mentions", ["user_id"])
    op.create_table(
        "reactions",
        sa.Column(
            "message_id",
            Id,
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("emoji", sa.String(32), primary_key=True),
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    # Room events take seqs; without them a room's messages would have gaps, which
    # clients read as missed messages. Going back keeps the gaps: acceptable for a rollback.
    op.drop_table("reactions")
    op.drop_index("ix_mentions_user", "mentions")
    op.drop_table("mentions")
    op.drop_table("room_events")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("role")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("edited_at")
        batch.drop_column("reply_to_seq")
