"""Feedback: the half-time check-in, the end-of-round survey and keep-in-touch choices.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _match() -> sa.Column[int]:
    return sa.Column("match_id", sa.Integer(), sa.ForeignKey("match.id", ondelete="CASCADE"), nullable=False)


def _member() -> sa.Column[int]:
    return sa.Column(
        "match_member_id", sa.Integer(), sa.ForeignKey("match_member.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "feedback_post",
        sa.Column("id", sa.Integer(), primary_key=True),
        _match(),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("match_id", "kind", name="uq_feedback_post"),
    )
    op.create_table(
        "check_in",
        sa.Column("id", sa.Integer(), primary_key=True),
        _match(),
        _member(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("match_member_id", "number", name="uq_check_in"),
    )
    op.create_index("ix_check_in_match_id", "check_in", ["match_id"])
    op.create_table(
        "survey_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        _match(),
        _member(),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("gained", sa.String(length=200), nullable=True),
        sa.Column("comments", sa.String(length=1000), nullable=True),
        sa.Column("keep_space", sa.Boolean(), nullable=True),
        sa.Column("join_next", sa.Boolean(), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("match_member_id", name="uq_survey_answer"),
    )
    op.create_index("ix_survey_answer_match_id", "survey_answer", ["match_id"])


def downgrade() -> None:
    op.drop_index("ix_survey_answer_match_id", table_name="survey_answer")
    op.drop_table("survey_answer")
    op.drop_index("ix_check_in_match_id", table_name="check_in")
    op.drop_table("check_in")
    op.drop_table("feedback_post")
