"""Shipments admit the status ``cancelled``: the order was refunded before its goods left.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_STATUSES = (
    "created",
    "assigned",
    "picked_up",
    "out_for_delivery",
    "delivered",
    "failed",
    "returned",
)


def _check(statuses: tuple[str, ...]) -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_shipments_delivery_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_shipments_delivery_status"),
            "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")",
        )


def upgrade() -> None:
    _check((*_STATUSES, "cancelled"))


def downgrade() -> None:
    op.execute("UPDATE shipments SET status = 'failed' WHERE status = 'cancelled'")
    _check(_STATUSES)
