"""Matches and their spaces, match members, pins and forbids; round and programme space settings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("programme") as batch:
        batch.add_column(
            sa.Column("coordinators_see_spaces", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("round") as batch:
        batch.add_column(sa.Column("seed", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("space_kind", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("category_ids", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("parent_channel_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("retention_seconds", sa.Integer(), nullable=True))

    op.create_table(
        "match",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("round.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("space_name", sa.String(length=100), nullable=True),
        sa.Column("space_status", sa.String(length=20), nullable=False),
        sa.Column("space_id", sa.BigInteger(), nullable=True),
        sa.Column("container_id", sa.BigInteger(), nullable=True),
        sa.Column("space_error", sa.String(length=300), nullable=True),
        sa.Column("intro_status", sa.String(length=20), nullable=True),
        sa.Column("intro_message_id", sa.BigInteger(), nullable=True),
        sa.Column("closing_message_id", sa.BigInteger(), nullable=True),
        sa.Column("attention", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("space_created_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_match_round_status", "match", ["round_id", "status"])
    op.create_index("ix_match_space_id", "match", ["space_id"])

    op.create_table(
        "match_member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("match_id", sa.Integer(), sa.ForeignKey("match.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "participant_id",
            sa.Integer(),
            sa.ForeignKey("participant.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.Column("left_at", UTCDateTime(), nullable=True),
        sa.Column("last_message_at", UTCDateTime(), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("match_id", "participant_id", name="uq_match_member"),
    )
    op.create_index("ix_match_member_participant_id", "match_member", ["participant_id"])
    op.create_index("ix_match_member_member_id", "match_member", ["member_id"])

    op.create_table(
        "round_pair",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("round.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_a", sa.BigInteger(), nullable=False),
        sa.Column("member_b", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("round_id", "member_a", "member_b", name="uq_round_pair"),
    )


def downgrade() -> None:
    op.drop_table("round_pair")
    op.drop_table("match_member")
    op.drop_table("match")
    with op.batch_alter_table("round") as batch:
        for column in ("retention_seconds", "parent_channel_id", "category_ids", "space_kind", "seed"):
            batch.drop_column(column)
    with op.batch_alter_table("programme") as batch:
        batch.drop_column("coordinators_see_spaces")
