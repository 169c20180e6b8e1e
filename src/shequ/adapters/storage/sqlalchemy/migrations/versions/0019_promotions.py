"""Merchants' promotions (商家优惠) and their vouchers; orders of vouchers (fulfilment
``voucher``) and their refunds (reason ``voucher_unused``).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_REASONS = (
    "quality",
    "missing",
    "wrong_item",
    "not_wanted",
    "cancelled",
    "group_price",
    "not_collected",
)
_FULFILMENTS = ("pickup", "delivery")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _checks(reasons: tuple[str, ...], fulfilments: tuple[str, ...]) -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refunds_refund_reason"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_refunds_refund_reason"), _one_of("reason", reasons)
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_fulfilment"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_orders_fulfilment"), _one_of("fulfilment", fulfilments)
        )


def upgrade() -> None:
    _checks((*_REASONS, "voucher_unused"), (*_FULFILMENTS, "voucher"))
    op.create_table(
        "promotions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("community_ids", sa.JSON(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "set_meal",
                "group_package",
                "discount",
                "membership",
                name="promotion_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("terms", sa.String(length=2000), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("value_fen", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("per_resident", sa.Integer(), nullable=False),
        sa.Column("sale_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sale_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("use_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sku_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("price_fen > 0", name=op.f("ck_promotions_price_positive")),
        sa.CheckConstraint(
            "value_fen IS NULL OR value_fen > price_fen",
            name=op.f("ck_promotions_value_above_price"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["service_providers.id"],
            name=op.f("fk_promotions_provider_id_service_providers"),
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_promotions_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
        sa.UniqueConstraint("sku_id", name=op.f("uq_promotions_sku_id")),
    )
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promotions_provider_id"), ["provider_id"])
        batch_op.create_index(batch_op.f("ix_promotions_sale_ends_at"), ["sale_ends_at"])

    op.create_table(
        "vouchers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("promotion_id", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("sku_id", sa.String(length=32), nullable=False),
        sa.Column("resident_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "valid",
                "redeemed",
                "refunded",
                "expired",
                name="voucher_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redeemed_by", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name=op.f("fk_vouchers_promotion_id_promotions"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["service_providers.id"],
            name=op.f("fk_vouchers_provider_id_service_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_vouchers_order_id_orders")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_vouchers_sku_id_skus")),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts.id"], name=op.f("fk_vouchers_resident_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("provider_id", "code", name="uq_vouchers_provider_code"),
    )
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vouchers_order_id"), ["order_id"])
        batch_op.create_index(batch_op.f("ix_vouchers_resident_id"), ["resident_id"])
        batch_op.create_index("ix_vouchers_status_expires_at", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_table("vouchers")
    op.drop_table("promotions")
    _checks(_REASONS, _FULFILMENTS)
