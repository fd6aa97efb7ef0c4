"""Notifications: the in-app inbox, the delivery ledger, and per-user and per-room settings.

Revision ID: 0011
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user() -> sa.ForeignKey:
    return sa.ForeignKey("users.id", ondelete="CASCADE")


def _room() -> sa.ForeignKey:
    return sa.ForeignKey("rooms.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("user_id", Id, _user(), nullable=False),
        sa.Column("room_id", Id, _room(), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(8), nullable=False),
        sa.Column("sender_id", Id, _user(), nullable=False),
        sa.Column("excerpt", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("read_at", sa.BigInteger),
        sa.Column("emailed_at", sa.BigInteger),
        sa.UniqueConstraint("user_id", "room_id", "seq", name="uq_notifications_message"),
    )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "id"])
    op.create_table(
        "notification_ledger",
        sa.Column("key", sa.String(96), primary_key=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "notification_settings",
        sa.Column("user_id", Id, _user(), primary_key=True),
        sa.Column("email", sa.String(254)),
        sa.Column("email_mode", sa.String(12), nullable=False, server_default="off"),
        sa.Column("digest_minutes", sa.Integer, nullable=False, server_default="60"),
        sa.Column("last_digest_at", sa.BigInteger),
    )
    op.create_table(
        "room_notification_settings",
        sa.Column("room_id", Id, _room(), primary_key=True),
        sa.Column("user_id", Id, _user(), primary_key=True),
        sa.Column("level", sa.String(8), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("room_notification_settings")
    op.drop_table("notification_settings")
    op.drop_table("notification_ledger")
    op.drop_index("ix_notifications_user", "notifications")
    op.drop_table("notifications")
