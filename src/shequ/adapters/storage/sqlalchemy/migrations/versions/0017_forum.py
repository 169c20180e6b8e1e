"""The community forum (论坛): boards, posts, comments, likes and reports.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _status() -> sa.Enum:
    return sa.Enum(
        "published",
        "held",
        "hidden",
        "deleted",
        name="content_status",
        native_enum=False,
        create_constraint=True,
        length=16,
    )


def _moderated() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", _status(), nullable=False),
        sa.Column("held_for", sa.String(length=400), nullable=False),
        sa.Column("open_reports", sa.Integer(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def _moderated_keys(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f(f"fk_{table}_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f(f"fk_{table}_author_id_accounts")
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "forum_boards",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_forum_boards_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_boards")),
    )
    with op.batch_alter_table("forum_boards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forum_boards_community_id"), ["community_id"])

    op.create_table(
        "forum_posts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("board_id", sa.String(length=32), nullable=False),
        *_moderated(),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "comments >= 0 AND likes >= 0", name=op.f("ck_forum_posts_counts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["board_id"], ["forum_boards.id"], name=op.f("fk_forum_posts_board_id_forum_boards")
        ),
        *_moderated_keys("forum_posts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_posts")),
    )
    with op.batch_alter_table("forum_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forum_posts_author_id"), ["author_id"])
        batch_op.create_index(
            "ix_forum_posts_board_id_last_activity_at", ["board_id", "last_activity_at"]
        )
        batch_op.create_index("ix_forum_posts_review", ["community_id", "status", "open_reports"])

    op.create_table(
        "forum_comments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("post_id", sa.String(length=32), nullable=False),
        *_moderated(),
        sa.Column("body", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["forum_posts.id"], name=op.f("fk_forum_comments_post_id_forum_posts")
        ),
        *_moderated_keys("forum_comments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_comments")),
    )
    with op.batch_alter_table("forum_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forum_comments_author_id"), ["author_id"])
        batch_op.create_index("ix_forum_comments_post_id_created_at", ["post_id", "created_at"])
        batch_op.create_index(
            "ix_forum_comments_review", ["community_id", "status", "open_reports"]
        )

    op.create_table(
        "forum_likes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("post_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("liked", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["forum_posts.id"], name=op.f("fk_forum_likes_post_id_forum_posts")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_forum_likes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_likes")),
        sa.UniqueConstraint("post_id", "account_id", name="uq_forum_likes_post_account"),
    )
    with op.batch_alter_table("forum_likes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forum_likes_account_id"), ["account_id"])

    op.create_table(
        "forum_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "post",
                "comment",
                name="content_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("content_id", sa.String(length=32), nullable=False),
        sa.Column("post_id", sa.String(length=32), nullable=False),
        sa.Column("reporter_id", sa.String(length=32), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "spam",
                "abuse",
                "fraud",
                "illegal",
                "privacy",
                "other",
                name="report_reason",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "upheld",
                "dismissed",
                name="report_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_forum_reports_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["forum_posts.id"], name=op.f("fk_forum_reports_post_id_forum_posts")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["accounts.id"], name=op.f("fk_forum_reports_reporter_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_reports")),
        sa.UniqueConstraint(
            "kind", "content_id", "reporter_id", name="uq_forum_reports_one_per_reporter"
        ),
    )
    with op.batch_alter_table("forum_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_forum_reports_content", ["kind", "content_id", "status"], unique=False
        )


def downgrade() -> None:
    for table in ("forum_reports", "forum_likes", "forum_comments", "forum_posts", "forum_boards"):
        op.drop_table(table)
