"""Payments: each attempt to take an order's money, its append-only log and its refunds.

Triggers refuse UPDATE and DELETE on the log (``payment_entries``) on every database.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "wechat_native",
                "wechat_jsapi",
                "wechat_h5",
                "alipay_page",
                "alipay_wap",
                "alipay_app",
                "card",
                "sandbox",
                name="payment_channel",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "created",
                "authorised",
                "paid",
                "partly_refunded",
                "refunded",
                "failed",
                "closed",
                name="payment_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("provider_ref", sa.String(length=64), nullable=True),
        sa.Column("authorised_fen", sa.BigInteger(), nullable=False),
        sa.Column("charged_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("refund_pending_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flag", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payments_payment_amount_positive")),
        sa.CheckConstraint(
            "charged_fen IN (0, amount_fen)", name=op.f("ck_payments_charged_in_full")
        ),
        sa.CheckConstraint(
            "refund_pending_fen >= 0", name=op.f("ck_payments_refund_pending_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payments_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_order_id"), ["order_id"], unique=False)

    op.create_table(
        "payment_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "created",
                "authorised",
                "charged",
                "failed",
                "closed",
                "refund_requested",
                "refund_sent",
                "refund_succeeded",
                "refund_failed",
                "flagged",
                "flag_cleared",
                name="payment_entry_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_entries_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_entries")),
        sa.UniqueConstraint("payment_id", "kind", "key", name="uq_payment_entries_report"),
    )
    with op.batch_alter_table("payment_entries", schema=None) as batch_op:
        batch_op.create_index("ix_payment_entries_kind_at", ["kind", "at"], unique=False)

    _append_only()
    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("order_refund_id", sa.String(length=32), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "to_send",
                "sent",
                "succeeded",
                "failed",
                name="payment_refund_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("provider_ref", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "amount_fen > 0", name=op.f("ck_payment_refunds_payment_refund_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_refunds_payment_id"), ["payment_id"], unique=False
        )
        batch_op.create_index("ix_payment_refunds_status", ["status"], unique=False)


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION shequ_payment_entries_are_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'a payment''s log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER payment_entries_append_only BEFORE UPDATE OR DELETE "
            "ON payment_entries FOR EACH ROW "
            "EXECUTE FUNCTION shequ_payment_entries_are_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER payment_entries_no_{event.lower()} BEFORE {event} "
            "ON payment_entries BEGIN SELECT RAISE(ABORT, 'a payment''s log is append-only'); END"
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_refunds_status")
        batch_op.drop_index(batch_op.f("ix_payment_refunds_payment_id"))

    op.drop_table("payment_refunds")
    with op.batch_alter_table("payment_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_entries_kind_at")

    op.drop_table("payment_entries")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_order_id"))
        batch_op.drop_index("ix_payments_created_at")

    op.drop_table("payments")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION shequ_payment_entries_are_append_only()")
