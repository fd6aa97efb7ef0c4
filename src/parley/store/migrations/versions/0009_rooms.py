"""Running a group: a topic and a public flag per room, admins, one owner, hidden rooms.

Revision ID: 0009
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.add_column("rooms", sa.Column("topic", sa.String(250)))
    op.add_column(
        "rooms", sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column("members", sa.Column("hidden_seq", sa.BigInteger))
    op.create_index(
        "uq_members_owner",
        "members",
        ["room_id"],
        unique=True,
        postgresql_where=sa.text("role = 'owner'"),
        sqlite_where=sa.text("role = 'owner'"),
    )


def downgrade() -> None:
    op.drop_index("uq_members_owner", table_name="members")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("hidden_seq")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("public")
        batch.drop_column("topic")
