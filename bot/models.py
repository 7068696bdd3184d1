"""The tables. Discord ids are 64-bit, so they are BigInteger everywhere; times are aware UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
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
    # Discussion topics: the local hour (0-23, programme timezone) releases are posted at, and
    # whether each topic also opens a round-wide discussion thread, in which channel.
    posting_hour: int = Field(default=9)
    topic_threads: bool = Field(default=False)
    topic_threads_channel_id: int | None = Field(default=None, sa_column=snowflake_column())
    # Nudges (bot/nudges.py, /nudge settings): when a partner counts as quiet, how many unanswered
    # nudges before the coordinators are alerted, the quiet start after a launch, how often the
    # sweep runs; and when the last weekly digest went out.
    nudge_quiet_after_seconds: int = Field(default=7 * 86400)
    nudge_max: int = Field(default=2)
    nudge_grace_seconds: int = Field(default=3 * 86400)
    nudge_sweep_seconds: int = Field(default=3600)
    digest_sent_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))


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


# -- discussion topics (bot/topic_posts.py) ---------------------------------------------------


class RoundTopic(SQLModel, table=True):
    """One entry of a round's topic list: a library topic (by key) or the round's own topic.

    The list is copied from the library the first time a round needs it; topic files added to the
    library later join its end. `position` orders the entries (skipped ones keep theirs), and the
    schedule releases the entries that are not skipped, in order. `thread_status` and `thread_id`
    record the round-wide discussion thread, when the programme opens one per topic.
    """

    __tablename__ = "round_topic"
    __table_args__ = (UniqueConstraint("round_id", "topic_key", name="uq_round_topic"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(sa_column=reference_column("round"))
    topic_key: str = Field(max_length=64)
    position: int = Field(default=0)
    skipped: bool = Field(default=False)
    title: str | None = Field(default=None, max_length=200)  # the round's own topics only
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=time_column())
    thread_status: str | None = Field(default=None, max_length=20)
    thread_id: int | None = Field(default=None, sa_column=snowflake_column())


class TopicPost(SQLModel, table=True):
    """One topic in one space, at most once: the row is claimed (`posting`) before the message is
    sent, then `posted` with the message id, or `failed` with the reason."""

    __tablename__ = "topic_post"
    __table_args__ = (
        UniqueConstraint("match_id", "topic_key", name="uq_topic_post"),
        Index("ix_topic_post_round_topic", "round_id", "topic_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(sa_column=reference_column("round"))
    match_id: int = Field(sa_column=reference_column("match"))
    topic_key: str = Field(max_length=64)
    status: str = Field(default="posting", max_length=20)
    language: str | None = Field(default=None, max_length=8)
    message_id: int | None = Field(default=None, sa_column=snowflake_column())
    error: str | None = Field(default=None, max_length=300)
    claimed_at: datetime = Field(sa_column=time_column())
    posted_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))


# -- engagement: activity, nudges, alerts (bot/engagement.py) ---------------------------------


class ActivityWeek(SQLModel, table=True):
    """How many messages a partner wrote in their space in one week (Monday 00:00 UTC): counts only."""

    __tablename__ = "activity_week"
    __table_args__ = (UniqueConstraint("match_member_id", "week_start", name="uq_activity_week"),)

    id: int | None = Field(default=None, primary_key=True)
    match_member_id: int = Field(sa_column=reference_column("match_member"))
    week_start: datetime = Field(sa_column=time_column())
    count: int = Field(default=0)


class Nudge(SQLModel, table=True):
    """A reminder to a quiet partner, claimed before it is sent: unique per (partner, quiet period
    start, number), so a re-run or a restart never sends it twice. `kind`: dm, group or manual;
    `channel`: where it went (dm or space), null while claimed or if it could not be delivered."""

    __tablename__ = "nudge"
    __table_args__ = (
        UniqueConstraint("match_member_id", "quiet_since", "number", name="uq_nudge_period"),
        Index("ix_nudge_match", "match_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(sa_column=reference_column("match"))
    match_member_id: int = Field(sa_column=reference_column("match_member"))
    quiet_since: datetime = Field(sa_column=time_column())
    number: int = Field(default=1)
    kind: str = Field(max_length=20)
    channel: str | None = Field(default=None, max_length=20)
    claimed_at: datetime = Field(sa_column=time_column())
    sent_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))


class MatchAlert(SQLModel, table=True):
    """A match put in front of the coordinators after unanswered nudges. `key` names the partners'
    quiet periods and nudge counts it is about, so the same silence is never alerted twice.
    `resolution`: nudged, rematch, ended or recovered."""

    __tablename__ = "match_alert"
    __table_args__ = (UniqueConstraint("match_id", "key", name="uq_match_alert"),)

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(sa_column=reference_column("match"))
    key: str = Field(max_length=300)
    member_ids: list[int] = json_column([])
    status: str = Field(default="open", max_length=20)
    message_id: int | None = Field(default=None, sa_column=snowflake_column())
    created_at: datetime = Field(sa_column=time_column())
    resolved_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    resolution: str | None = Field(default=None, max_length=20)
    resolved_by: int | None = Field(default=None, sa_column=snowflake_column())


# -- check-ins, the end-of-round survey, keep-in-touch choices (bot/checkins.py) ----------------


class FeedbackPost(SQLModel, table=True):
    """A check-in or survey message in one space, at most once: claimed (`posting`) before it is
    sent, then `posted` with the message id, or `failed`. `kind`: checkin or survey."""

    __tablename__ = "feedback_post"
    __table_args__ = (UniqueConstraint("match_id", "kind", name="uq_feedback_post"),)

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(sa_column=reference_column("match"))
    kind: str = Field(max_length=20)
    status: str = Field(default="posting", max_length=20)
    message_id: int | None = Field(default=None, sa_column=snowflake_column())
    claimed_at: datetime = Field(sa_column=time_column())
    posted_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))


class CheckIn(SQLModel, table=True):
    """A partner's answer to the half-time check-in (well, better, help); a second press changes it."""

    __tablename__ = "check_in"
    __table_args__ = (UniqueConstraint("match_member_id", "number", name="uq_check_in"),)

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(sa_column=reference_column("match", index=True))
    match_member_id: int = Field(sa_column=reference_column("match_member"))
    number: int = Field(default=1)  # the round's first (and so far only) check-in
    answer: str = Field(max_length=20)
    at: datetime = Field(sa_column=time_column())


class SurveyAnswer(SQLModel, table=True):
    """A partner's end-of-round survey and keep-in-touch choices (null: not answered yet)."""

    __tablename__ = "survey_answer"
    __table_args__ = (UniqueConstraint("match_member_id", name="uq_survey_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(sa_column=reference_column("match", index=True))
    match_member_id: int = Field(sa_column=reference_column("match_member"))
    rating: int | None = Field(default=None)
    gained: str | None = Field(default=None, max_length=200)
    comments: str | None = Field(default=None, max_length=1000)
    keep_space: bool | None = Field(default=None)
    join_next: bool | None = Field(default=None)
    answered_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    updated_at: datetime = Field(sa_column=time_column())
