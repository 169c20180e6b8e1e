"""Consents to the privacy policy, and erased accounts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consents", sa.JSON(), server_default="[]", nullable=False))
        batch_op.drop_constraint(op.f("ck_accounts_account_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_accounts_account_status"), "status IN ('active', 'disabled', 'erased')"
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_accounts_account_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_accounts_account_status"), "status IN ('active', 'disabled')"
        )
        batch_op.drop_column("consents")
