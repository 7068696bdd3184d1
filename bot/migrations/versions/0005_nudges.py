"""Engagement: weekly activity counts, nudges, coordinator alerts, and the programme's nudge settings.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("programme") as batch:
        batch.add_column(
            sa.Column("nudge_quiet_after_seconds", sa.Integer(), nullable=False, server_default=str(7 * 86400))
        )
        batch.add_column(sa.Column("nudge_max", sa.Integer(), nullable=False, server_default="2"))
        batch.add_column(
            sa.Column("nudge_grace_seconds", sa.Integer(), nullable=False, server_default=str(3 * 86400))
        )
        batch.add_column(sa.Column("nudge_sweep_seconds", sa.Integer(), nullable=False, server_default="3600"))
        batch.add_column(sa.Column("digest_sent_at", UTCDateTime(), nullable=True))

    op.create_table(
        "activity_week",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "match_member_id",
            sa.Integer(),
            sa.ForeignKey("match_member.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("week_start", UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("match_member_id", "week_start", name="uq_activity_week"),
    )

    op.create_table(
        "nudge",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("match_id", sa.Integer(), sa.ForeignKey("match.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "match_member_id",
            sa.Integer(),
            sa.ForeignKey("match_member.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("quiet_since", UTCDateTime(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("match_member_id", "quiet_since", "number", name="uq_nudge_period"),
    )
    op.create_index("ix_nudge_match", "nudge", ["match_id"])

    op.create_table(
        "match_alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("match_id", sa.Integer(), sa.ForeignKey("match.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("member_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("match_id", "key", name="uq_match_alert"),
    )


def downgrade() -> None:
    op.drop_table("match_alert")
    op.drop_index("ix_nudge_match", table_name="nudge")
    op.drop_table("nudge")
    op.drop_table("activity_week")
    with op.batch_alter_table("programme") as batch:
        for column in (
            "digest_sent_at",
            "nudge_sweep_seconds",
            "nudge_grace_seconds",
            "nudge_max",
            "nudge_quiet_after_seconds",
        ):
            batch.drop_column(column)
