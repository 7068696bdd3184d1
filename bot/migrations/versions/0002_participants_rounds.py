"""Participants, their do-not-match lists, rounds and enrolments; programme lists and spaces.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("programme") as batch:
        batch.add_column(sa.Column("spaces_category_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("spaces_parent_channel_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("interests", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("sectors", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("career_stages", sa.JSON(), nullable=False, server_default="[]"))

    op.create_table(
        "participant",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("sector", sa.String(length=40), nullable=False),
        sa.Column("career_stage", sa.String(length=40), nullable=False),
        sa.Column("interests", sa.JSON(), nullable=False),
        sa.Column("goals", sa.String(length=500), nullable=False),
        sa.Column("match_preference", sa.String(length=20), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_until", UTCDateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("guild_id", "member_id", name="uq_participant_member"),
    )
    op.create_index("ix_participant_guild_id", "participant", ["guild_id"])

    op.create_table(
        "do_not_match",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "participant_id",
            sa.Integer(),
            sa.ForeignKey("participant.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("other_member_id", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("participant_id", "other_member_id", name="uq_do_not_match"),
    )
    op.create_index("ix_do_not_match_other_member_id", "do_not_match", ["other_member_id"])

    op.create_table(
        "round",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("cadence_seconds", sa.Integer(), nullable=False),
        sa.Column("group_size", sa.Integer(), nullable=False),
        sa.Column("country_cap_percent", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("launched_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_round_guild_status", "round", ["guild_id", "status"])

    op.create_table(
        "enrolment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("round.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "participant_id",
            sa.Integer(),
            sa.ForeignKey("participant.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("round_id", "participant_id", name="uq_enrolment"),
    )
    op.create_index("ix_enrolment_participant_id", "enrolment", ["participant_id"])


def downgrade() -> None:
    op.drop_table("enrolment")
    op.drop_table("round")
    op.drop_table("do_not_match")
    op.drop_table("participant")
    with op.batch_alter_table("programme") as batch:
        for column in ("career_stages", "sectors", "interests", "spaces_parent_channel_id", "spaces_category_id"):
            batch.drop_column(column)
