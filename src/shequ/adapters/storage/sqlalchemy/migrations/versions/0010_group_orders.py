"""Group buying, continued: orders that hold a seat in a group, the group's pickup point,
the leaders' commission ledger, and price-protection refunds.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_REASONS = ("quality", "missing", "wrong_item", "not_wanted", "cancelled")


def _reasons(values: tuple[str, ...]) -> str:
    return "reason IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "leader_commissions",
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("leader_id", sa.String(length=32), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("revenue_fen", sa.BigInteger(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_fen > 0 AND amount_fen <= revenue_fen",
            name=op.f("ck_leader_commissions_commission_in_revenue"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["group_buy_campaigns.id"],
            name=op.f("fk_leader_commissions_campaign_id_group_buy_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["group_buys.id"], name=op.f("fk_leader_commissions_group_id_group_buys")
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["accounts.id"], name=op.f("fk_leader_commissions_leader_id_accounts")
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_leader_commissions")),
    )
    with op.batch_alter_table("leader_commissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_leader_commissions_leader_id"), ["leader_id"], unique=False
        )

    with op.batch_alter_table("group_buys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pickup_point_id", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.alter_column("pickup_point_id", server_default=None)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("awaiting_group", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column("awaiting_group", server_default=None)
        batch_op.create_index(batch_op.f("ix_orders_group_id"), ["group_id"], unique=False)

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refunds_refund_reason"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_refunds_refund_reason"), _reasons((*_REASONS, "group_price"))
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refunds_refund_reason"), type_="check")
        batch_op.create_check_constraint(op.f("ck_refunds_refund_reason"), _reasons(_REASONS))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_group_id"))
        batch_op.drop_column("awaiting_group")
        batch_op.drop_column("group_id")

    with op.batch_alter_table("group_buys", schema=None) as batch_op:
        batch_op.drop_column("pickup_point_id")

    with op.batch_alter_table("leader_commissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leader_commissions_leader_id"))

    op.drop_table("leader_commissions")
