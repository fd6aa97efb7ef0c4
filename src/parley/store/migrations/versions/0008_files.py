"""Attachments and avatars: the files table (uploads and the message that carries them)
and one avatar per user.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("uploader_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("room_id", Id, sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(160), nullable=False, unique=True),
        sa.Column("thumbnail_key", sa.String(160)),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("message_id", Id, sa.ForeignKey("messages.id", ondelete="CASCADE")),
    )
    op.create_index("ix_files_message", "files", ["message_id"])
    op.create_index("ix_files_created", "files", ["created_at"])
    op.create_table(
        "avatars",
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("avatars")
    op.drop_index("ix_files_created", "files")
    op.drop_index("ix_files_message", "files")
    op.drop_table("files")
