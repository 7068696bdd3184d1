"""Discussion topics: each round's topic list, the topic posted in each space, the posting hour.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("programme") as batch:
        batch.add_column(sa.Column("posting_hour", sa.Integer(), nullable=False, server_default="9"))
        batch.add_column(sa.Column("topic_threads", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("topic_threads_channel_id", sa.BigInteger(), nullable=True))

    op.create_table(
        "round_topic",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("round.id", ondelete="CASCADE"), nullable=False),
        sa.Column("topic_key", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("thread_status", sa.String(length=20), nullable=True),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("round_id", "topic_key", name="uq_round_topic"),
    )

    op.create_table(
        "topic_post",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("round.id", ondelete="CASCADE"), nullable=False),
        sa.Column("match_id", sa.Integer(), sa.ForeignKey("match.id", ondelete="CASCADE"), nullable=False),
        sa.Column("topic_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("match_id", "topic_key", name="uq_topic_post"),
    )
    op.create_index("ix_topic_post_round_topic", "topic_post", ["round_id", "topic_key"])


def downgrade() -> None:
    op.drop_index("ix_topic_post_round_topic", table_name="topic_post")
    op.drop_table("topic_post")
    op.drop_table("round_topic")
    with op.batch_alter_table("programme") as batch:
        for column in ("topic_threads_channel_id", "topic_threads", "posting_hour"):
            batch.drop_column(column)
