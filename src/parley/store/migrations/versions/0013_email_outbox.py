"""The e-mail outbox: a pending ledger row holds the mail to send and who is sending it.

The worker records the mail (``payload``) as it records the intent, and an outbox loop
sends pending rows apart from the batch, claiming them with ``owner`` and
``lease_until`` so two workers never send one row at once. Rows pending from before
this revision have no payload and are left alone (their batch was replayed and sent
them under the old design).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    with op.batch_alter_table("notification_ledger") as batch:
        batch.add_column(sa.Column("payload", sa.Text))
        batch.add_column(sa.Column("owner", sa.String(64)))
        batch.add_column(sa.Column("lease_until", sa.BigInteger))
    op.create_index(
        "ix_notification_ledger_pending",
        "notification_ledger",
        ["created_at"],
        postgresql_where=sa.text("state = 'pending'"),
        sqlite_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notification_ledger_pending", "notification_ledger")
    with op.batch_alter_table("notification_ledger") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("owner")
        batch.drop_column("payload")
