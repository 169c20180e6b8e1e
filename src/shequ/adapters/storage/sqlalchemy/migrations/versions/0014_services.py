"""Local services (本地服务): the merchant directory, their staff and offerings, and bookings.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str, length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    op.create_table(
        "service_providers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column(
            "kind",
            _enum(
                "provider_kind",
                "housekeeping",
                "repair",
                "beauty",
                "education",
                "restaurant",
                "convenience_store",
                "fitness",
                "other",
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("community_ids", sa.JSON(), nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("rating_total", sa.Integer(), nullable=False),
        sa.Column("rating_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_providers")),
    )
    with op.batch_alter_table("service_providers", schema=None) as batch_op:
        batch_op.create_index("ix_service_providers_kind_name", ["kind", "name"], unique=False)

    op.create_table(
        "service_staff",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["service_providers.id"],
            name=op.f("fk_service_staff_provider_id_service_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_staff")),
    )
    with op.batch_alter_table("service_staff", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_staff_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "service_offerings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("price_kind", _enum("offering_price_kind", "fixed", "quote"), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("venue", _enum("offering_venue", "at_home", "at_merchant"), nullable=False),
        sa.Column("staff_ids", sa.JSON(), nullable=False),
        sa.Column("late_cancel_fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("auto_confirm", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("price_fen >= 0", name=op.f("ck_service_offerings_price_not_negative")),
        sa.CheckConstraint(
            "late_cancel_fee_fen >= 0 AND late_cancel_fee_fen <= price_fen",
            name=op.f("ck_service_offerings_fee_within_price"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["service_providers.id"],
            name=op.f("fk_service_offerings_provider_id_service_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_offerings")),
    )
    with op.batch_alter_table("service_offerings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_offerings_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "service_bookings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("resident_id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("offering_id", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("busy_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            _enum(
                "booking_status",
                "requested",
                "confirmed",
                "in_progress",
                "completed",
                "reviewed",
                "cancelled",
                "no_show",
            ),
            nullable=False,
        ),
        sa.Column("address_id", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_by", sa.String(length=16), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("review_text", sa.String(length=2000), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "ends_at > starts_at AND busy_until >= ends_at",
            name=op.f("ck_service_bookings_times_in_order"),
        ),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)",
            name=op.f("ck_service_bookings_rating_one_to_five"),
        ),
        sa.CheckConstraint(
            "fee_fen >= 0 AND fee_fen <= price_fen",
            name=op.f("ck_service_bookings_fee_within_price"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts.id"], name=op.f("fk_service_bookings_resident_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_service_bookings_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["service_providers.id"],
            name=op.f("fk_service_bookings_provider_id_service_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["service_offerings.id"],
            name=op.f("fk_service_bookings_offering_id_service_offerings"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["service_staff.id"],
            name=op.f("fk_service_bookings_staff_id_service_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_bookings")),
        sa.UniqueConstraint("resident_id", "idempotency_key", name="uq_service_bookings_key"),
    )
    with op.batch_alter_table("service_bookings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_bookings_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(
            "ix_service_bookings_staff_id_starts_at", ["staff_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_service_bookings_provider_id_starts_at", ["provider_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_service_bookings_status_starts_at", ["status", "starts_at"], unique=False
        )


def downgrade() -> None:
    for table in ("service_bookings", "service_offerings", "service_staff", "service_providers"):
        op.drop_table(table)
