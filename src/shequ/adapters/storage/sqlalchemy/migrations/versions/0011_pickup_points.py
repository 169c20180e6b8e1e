"""Pickup points (自提点): the points, the parcels booked at each per day, the tickets with
the pickup codes of orders waiting there, the pickup date of an order, and the refund
reason of an order nobody collected.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_REASONS = ("quality", "missing", "wrong_item", "not_wanted", "cancelled", "group_price")


def _reasons(values: tuple[str, ...]) -> str:
    return "reason IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "pickup_points",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "convenience_store",
                "property_office",
                "parcel_station",
                "leader_home",
                name="pickup_point_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("location", sa.JSON(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "paused",
                name="pickup_point_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("daily_capacity >= 1", name=op.f("ck_pickup_points_capacity_positive")),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_pickup_points_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["accounts.id"], name=op.f("fk_pickup_points_operator_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pickup_points")),
    )
    with op.batch_alter_table("pickup_points", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pickup_points_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "pickup_point_days",
        sa.Column("pickup_point_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.CheckConstraint("booked >= 0", name=op.f("ck_pickup_point_days_booked_not_negative")),
        sa.ForeignKeyConstraint(
            ["pickup_point_id"],
            ["pickup_points.id"],
            name=op.f("fk_pickup_point_days_pickup_point_id_pickup_points"),
        ),
        sa.PrimaryKeyConstraint("pickup_point_id", "day", name=op.f("pk_pickup_point_days")),
    )
    op.create_table(
        "pickup_tickets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("pickup_point_id", sa.String(length=32), nullable=False),
        sa.Column("resident_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "collected",
                "returned",
                name="pickup_ticket_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["id"], ["orders.id"], name=op.f("fk_pickup_tickets_id_orders")),
        sa.ForeignKeyConstraint(
            ["pickup_point_id"],
            ["pickup_points.id"],
            name=op.f("fk_pickup_tickets_pickup_point_id_pickup_points"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts.id"], name=op.f("fk_pickup_tickets_resident_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pickup_tickets")),
    )
    with op.batch_alter_table("pickup_tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pickup_tickets_status_arrived_at", ["status", "arrived_at"], unique=False
        )
        batch_op.create_index(
            "uq_pickup_tickets_waiting_code",
            ["pickup_point_id", "code"],
            unique=True,
            sqlite_where=sa.text("status = 'waiting'"),
            postgresql_where=sa.text("status = 'waiting'"),
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pickup_date", sa.Date(), nullable=True))

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refunds_refund_reason"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_refunds_refund_reason"), _reasons((*_REASONS, "not_collected"))
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refunds_refund_reason"), type_="check")
        batch_op.create_check_constraint(op.f("ck_refunds_refund_reason"), _reasons(_REASONS))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("pickup_date")

    with op.batch_alter_table("pickup_tickets", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_pickup_tickets_waiting_code",
            sqlite_where=sa.text("status = 'waiting'"),
            postgresql_where=sa.text("status = 'waiting'"),
        )
        batch_op.drop_index("ix_pickup_tickets_status_arrived_at")

    op.drop_table("pickup_tickets")
    op.drop_table("pickup_point_days")
    with op.batch_alter_table("pickup_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pickup_points_community_id"))

    op.drop_table("pickup_points")
