"""Refresh token families get a row of their own.

A session (family) is revoked by one write to its row, and every rotation takes
that row's lock first, so a revocation can no longer miss a token that a
concurrent rotation was inserting. Existing families are carried over, revoked
if any of their tokens was.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "refresh_families",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger),
    )
    op.execute(
        "INSERT INTO refresh_families (id, user_id, created_at, revoked_at)"
        " SELECT family, MIN(user_id), MIN(created_at), MAX(revoked_at)"
        " FROM refresh_tokens GROUP BY family"
    )
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("revoked_at")
        batch.create_foreign_key(
            "fk_refresh_tokens_family",
            "refresh_families",
            ["family"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_constraint("fk_refresh_tokens_family", type_="foreignkey")
        batch.add_column(sa.Column("revoked_at", sa.BigInteger))
    op.execute(
        "UPDATE refresh_tokens SET revoked_at = (SELECT revoked_at FROM refresh_families"
        " WHERE refresh_families.id = refresh_tokens.family)"
    )
    op.drop_table("refresh_families")
