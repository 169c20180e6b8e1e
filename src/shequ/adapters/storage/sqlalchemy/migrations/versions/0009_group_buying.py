"""Group buying: campaigns with their price ladders, groups, and the people in them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_buy_campaigns",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("sku_id", sa.String(length=32), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("min_heads", sa.Integer(), nullable=False),
        sa.Column("max_heads", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("group_hours", sa.Integer(), nullable=False),
        sa.Column("per_resident_limit", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("stock_taken", sa.Integer(), nullable=False),
        sa.Column("community_ids", sa.JSON(), nullable=False),
        sa.Column("reward", sa.JSON(), nullable=False),
        sa.Column("pickup_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("virtual_success_percent", sa.Integer(), nullable=True),
        sa.Column("many_groups_per_leader", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "min_heads BETWEEN 1 AND max_heads", name=op.f("ck_group_buy_campaigns_heads_in_order")
        ),
        sa.CheckConstraint(
            "stock_taken BETWEEN 0 AND stock",
            name=op.f("ck_group_buy_campaigns_stock_taken_within_stock"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_group_buy_campaigns_sku_id_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_buy_campaigns")),
    )
    with op.batch_alter_table("group_buy_campaigns", schema=None) as batch_op:
        batch_op.create_index("ix_group_buy_campaigns_ends_at", ["ends_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_group_buy_campaigns_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "group_buys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("leader_id", sa.String(length=32), nullable=False),
        sa.Column("invite_code", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "succeeded",
                "settled",
                "failed",
                "cancelled",
                name="group_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unit_price_fen", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["group_buy_campaigns.id"],
            name=op.f("fk_group_buys_campaign_id_group_buy_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_group_buys_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["accounts.id"], name=op.f("fk_group_buys_leader_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_buys")),
        sa.UniqueConstraint("invite_code", name="uq_group_buys_invite_code"),
    )
    with op.batch_alter_table("group_buys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_buys_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_group_buys_leader_id"), ["leader_id"], unique=False)
        batch_op.create_index("ix_group_buys_status_deadline", ["status", "deadline"], unique=False)

    op.create_table(
        "group_buy_participants",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("resident_id", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "quantity >= 1", name=op.f("ck_group_buy_participants_participant_quantity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group_buys.id"],
            name=op.f("fk_group_buy_participants_group_id_group_buys"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["accounts.id"],
            name=op.f("fk_group_buy_participants_resident_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_buy_participants")),
        sa.UniqueConstraint("group_id", "order_id", name="uq_group_buy_participants_order"),
    )
    with op.batch_alter_table("group_buy_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_buy_participants_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_group_buy_participants_resident_id"), ["resident_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("group_buy_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_buy_participants_resident_id"))
        batch_op.drop_index(batch_op.f("ix_group_buy_participants_group_id"))

    op.drop_table("group_buy_participants")
    with op.batch_alter_table("group_buys", schema=None) as batch_op:
        batch_op.drop_index("ix_group_buys_status_deadline")
        batch_op.drop_index(batch_op.f("ix_group_buys_leader_id"))
        batch_op.drop_index(batch_op.f("ix_group_buys_campaign_id"))

    op.drop_table("group_buys")
    with op.batch_alter_table("group_buy_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_buy_campaigns_sku_id"))
        batch_op.drop_index("ix_group_buy_campaigns_ends_at")

    op.drop_table("group_buy_campaigns")
