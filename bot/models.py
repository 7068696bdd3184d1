"""The tables. Discord ids are 64-bit, so they are BigInteger everywhere; times are aware UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime


def snowflake_column(*, primary_key: bool = False, nullable: bool = True, index: bool = False) -> Any:
    return Column(BigInteger, primary_key=primary_key, nullable=nullable, autoincrement=False, index=index)


def time_column(*, nullable: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable)


def reference_column(table: str, *, index: bool = False) -> Any:
    """A required reference to `table`.id; rows go with the row they belong to."""
    return Column(Integer, ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=False, index=index)


def json_column(default: Any) -> Any:
    return Field(default_factory=lambda: default.copy(), sa_column=Column(JSON, nullable=False))


class Programme(SQLModel, table=True):
    """One guild's programme settings."""

    __tablename__ = "programme"

    guild_id: int = Field(sa_column=snowflake_column(primary_key=True, nullable=False))
    coordinator_role_id: int | None = Field(default=None, sa_column=snowflake_column())
    alerts_channel_id: int | None = Field(default=None, sa_column=snowflake_column())
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(sa_column=time_column())
    updated_at: datetime = Field(sa_column=time_column())
    # Where partner spaces go, and what coordinators may see (the rounds use these).
    spaces_category_id: int | None = Field(default=None, sa_column=snowflake_column())
    spaces_parent_channel_id: int | None = Field(default=None, sa_column=snowflake_column())
    # The privacy promise: coordinators see activity, not conversations, unless this is on.
    coordinators_see_spaces: bool = Field(default=False)
    # The programme's lists; empty means the defaults in bot.programmes.
    interests: list[str] = json_column([])
    sectors: list[str] = json_column([])
    career_stages: list[str] = json_column([])


class Participant(SQLModel, table=True):
    """A member's profile in one guild's programme. It outlives rounds.

    After `/privacy delete` the row stays, anonymised (no member id, name or text), so that past
    rounds' statistics keep their counts.
    """

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("guild_id", "member_id", name="uq_participant_member"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=snowflake_column(nullable=False, index=True))
    member_id: int | None = Field(default=None, sa_column=snowflake_column())
    display_name: str | None = Field(default=None, max_length=100)
    country: str = Field(max_length=2)
    timezone: str = Field(max_length=64)
    languages: list[str] = json_column([])
    sector: str = Field(max_length=40)
    career_stage: str = Field(max_length=40)
    interests: list[str] = json_column([])
    goals: str = Field(default="", max_length=500)
    match_preference: str = Field(default="interests", max_length=20)
    paused: bool = Field(default=False)
    paused_until: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    deleted: bool = Field(default=False)
    created_at: datetime = Field(sa_column=time_column())
    updated_at: datetime = Field(sa_column=time_column())


class DoNotMatch(SQLModel, table=True):
    """A member the participant asked never to be matched with."""

    __tablename__ = "do_not_match"
    __table_args__ = (UniqueConstraint("participant_id", "other_member_id", name="uq_do_not_match"),)

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(sa_column=reference_column("participant"))
    other_member_id: int = Field(sa_column=snowflake_column(nullable=False, index=True))


class Round(SQLModel, table=True):
    """A cohort period: draft (open for signups), launched, ended."""

    __tablename__ = "round"
    __table_args__ = (Index("ix_round_guild_status", "guild_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=snowflake_column(nullable=False))
    name: str = Field(max_length=100)
    status: str = Field(default="draft", max_length=20)
    starts_at: datetime = Field(sa_column=time_column())
    ends_at: datetime = Field(sa_column=time_column())
    cadence_seconds: int
    group_size: int = Field(default=2)
    country_cap_percent: int | None = Field(default=None)
    created_at: datetime = Field(sa_column=time_column())
    launched_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    # Matching and spaces (bot.rounds): the preview's seed, what kind of space the launch chose
    # ("channel" or "thread"), where the spaces live, and how long ended spaces are kept.
    seed: int = Field(default=0)
    space_kind: str | None = Field(default=None, max_length=20)
    category_ids: list[int] = json_column([])
    parent_channel_id: int | None = Field(default=None, sa_column=snowflake_column())
    retention_seconds: int | None = Field(default=None)


class Enrolment(SQLModel, table=True):
    """A participant's place in a round: enrolled, waitlisted (over the country cap) or withdrawn."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("round_id", "participant_id", name="uq_enrolment"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(sa_column=reference_column("round"))
    participant_id: int = Field(sa_column=reference_column("participant", index=True))
    status: str = Field(default="enrolled", max_length=20)
    created_at: datetime = Field(sa_column=time_column())
    updated_at: datetime = Field(sa_column=time_column())


class Match(SQLModel, table=True):
    """One partnership in a round and its space.

    `status`: proposed (by the last preview), active (launched), ended (with the round) or
    dissolved (its members moved to other matches). `space_status`: pending, creating (claimed
    before the Discord call, so a resumed launch adopts rather than duplicates), created, failed,
    deleted (by hand, noticed), closed (read-only at the end), removed (deleted after retention).
    `intro_status`: null, posting (claimed), posted. `attention`: why coordinators were alerted.
    """

    __tablename__ = "match"
    __table_args__ = (Index("ix_match_round_status", "round_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(sa_column=reference_column("round"))
    status: str = Field(default="proposed", max_length=20)
    score: float = Field(default=0.0)
    reasons: list[str] = json_column([])
    pinned: bool = Field(default=False)
    space_name: str | None = Field(default=None, max_length=100)
    space_status: str = Field(default="pending", max_length=20)
    space_id: int | None = Field(default=None, sa_column=snowflake_column(index=True))
    container_id: int | None = Field(default=None, sa_column=snowflake_column())
    space_error: str | None = Field(default=None, max_length=300)
    intro_status: str | None = Field(default=None, max_length=20)
    intro_message_id: int | None = Field(default=None, sa_column=snowflake_column())
    closing_message_id: int | None = Field(default=None, sa_column=snowflake_column())
    attention: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_column=time_column())
    space_created_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))


class MatchMember(SQLModel, table=True):
    """A partner in a match: active or left, and their activity (times and counts, never content)."""

    __tablename__ = "match_member"
    __table_args__ = (UniqueConstraint("match_id", "participant_id", name="uq_match_member"),)

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(sa_column=reference_column("match"))
    participant_id: int = Field(sa_column=reference_column("participant", index=True))
    member_id: int | None = Field(default=None, sa_column=snowflake_column(index=True))
    status: str = Field(default="active", max_length=20)
    joined_at: datetime = Field(sa_column=time_column())
    left_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    last_message_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    message_count: int = Field(default=0)


class RoundPair(SQLModel, table=True):
    """A coordinator's pin (these two must be matched) or forbid (never these two) for a round."""

    __tablename__ = "round_pair"
    __table_args__ = (UniqueConstraint("round_id", "member_a", "member_b", name="uq_round_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(sa_column=reference_column("round"))
    member_a: int = Field(sa_column=snowflake_column(nullable=False))
    member_b: int = Field(sa_column=snowflake_column(nullable=False))
    kind: str = Field(max_length=10)  # pin or forbid
    created_at: datetime = Field(sa_column=time_column())
