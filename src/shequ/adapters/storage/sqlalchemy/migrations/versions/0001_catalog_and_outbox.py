"""Catalog (communities, sellers, products, SKUs, listings) and the event outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "communities",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("city", sa.String(length=40), server_default="", nullable=False),
        sa.Column("district", sa.String(length=40), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communities")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_unpublished", ["published_at", "id"], unique=False)

    op.create_table(
        "sellers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "platform",
                "merchant",
                name="seller_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("community_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_sellers_community_id_communities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sellers")),
    )
    with op.batch_alter_table("sellers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sellers_community_id"), ["community_id"], unique=False)

    op.create_table(
        "products",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("seller_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=60), server_default="", nullable=False),
        sa.Column("origin", sa.String(length=60), server_default="", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column(
            "storage",
            sa.Enum(
                "ambient",
                "chilled",
                "frozen",
                name="storage_method",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("shelf_life_days", sa.Integer(), nullable=True),
        sa.Column("harvested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_products_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_category"), ["category"], unique=False)
        batch_op.create_index("ix_products_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_products_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "skus",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("spec", sa.String(length=64), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("list_price_fen", sa.BigInteger(), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("on_sale", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "list_price_fen IS NULL OR list_price_fen >= price_fen",
            name=op.f("ck_skus_list_price_not_below_price"),
        ),
        sa.CheckConstraint("price_fen > 0", name=op.f("ck_skus_price_positive")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_skus_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_skus_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skus")),
        sa.UniqueConstraint("product_id", "spec", name="uq_skus_product_spec"),
    )
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.create_index(
            "ix_skus_product_id_price_fen", ["product_id", "price_fen"], unique=False
        )

    op.create_table(
        "sku_listings",
        sa.Column("sku_id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_sku_listings_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_sku_listings_sku_id_skus"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("sku_id", "community_id", name=op.f("pk_sku_listings")),
    )
    with op.batch_alter_table("sku_listings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sku_listings_community_id"), ["community_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sku_listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sku_listings_community_id"))

    op.drop_table("sku_listings")
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_index("ix_skus_product_id_price_fen")

    op.drop_table("skus")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_seller_id"))
        batch_op.drop_index("ix_products_created_at_id")
        batch_op.drop_index(batch_op.f("ix_products_category"))

    op.drop_table("products")
    with op.batch_alter_table("sellers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sellers_community_id"))

    op.drop_table("sellers")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_unpublished")

    op.drop_table("outbox")
    op.drop_table("communities")
