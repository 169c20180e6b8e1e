"""Delivery slots (配送时段) chosen at checkout, our own riders on shipments, and where a
community is (for route planning).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_slots",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "closed",
                name="delivery_slot_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_delivery_slots_capacity_positive")),
        sa.CheckConstraint(
            "booked >= 0 AND booked <= capacity",
            name=op.f("ck_delivery_slots_booked_within_capacity"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_delivery_slots_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_delivery_slots_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_slots")),
        sa.UniqueConstraint(
            "community_id", "starts_at", "ends_at", name="uq_delivery_slots_window"
        ),
    )
    with op.batch_alter_table("delivery_slots", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_slots_starts_at", ["starts_at"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_slot_id", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_orders_delivery_slot_id"), ["delivery_slot_id"], unique=False
        )

    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("rider_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("rider_accepted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("handover_code", sa.String(length=6), server_default="", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_shipments_rider_id_accounts"), "accounts", ["rider_id"], ["id"]
        )
        batch_op.create_index("ix_shipments_courier_status", ["courier", "status"], unique=False)

    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("location")

    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_courier_status")
        batch_op.drop_constraint(batch_op.f("fk_shipments_rider_id_accounts"), type_="foreignkey")
        batch_op.drop_column("handover_code")
        batch_op.drop_column("rider_accepted_at")
        batch_op.drop_column("rider_id")
        batch_op.drop_column("slot_id")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_delivery_slot_id"))
        batch_op.drop_column("delivery_slot_id")

    with op.batch_alter_table("delivery_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_slots_starts_at")

    op.drop_table("delivery_slots")
