"""Engagement: who writes in the partner spaces, the nudge sweep, alerts, health figures, the digest.

Activity is counted, never read: each message in a space moves, for its author in that match, the
time of the last message, a count, and this week's count (`ActivityWeek`). The sweep gathers the
facts of every running match, asks the pure policy (bot/nudges.py) what to do, and does it:
- a nudge row is claimed (unique per partner, quiet period start and number) before the message is
  sent, so a re-run, a second process or a restart never nudges twice (at most once: a crash
  between the claim and the send loses that nudge rather than repeating it);
- an alert row is claimed the same way before the coordinators are told;
- the weekly digest is claimed by moving `Programme.digest_sent_at` before it is posted.
Discord is reached through an `EngagementOutlet` (cogs/engagement.py in the bot, a fake in tests).
"""

from __future__ import annotations

import asyncio
import logging
import time as monotonic_time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts import MatchSeries, WeeklyActivity
from bot.clock import Clock
from bot.db import Database
from bot.durations import format_duration
from bot.enrolment import ENROLLED
from bot.errors import UserFacingError
from bot.intro import SpaceMessage, mentions
from bot.models import (
    ActivityWeek,
    Enrolment,
    Match,
    MatchAlert,
    MatchMember,
    Nudge,
    Participant,
    Programme,
    Round,
)
from bot.nudges import (
    DEFAULT_GRACE,
    DEFAULT_MAX_NUDGES,
    DEFAULT_QUIET_AFTER,
    DEFAULT_SWEEP_EVERY,
    DM,
    GROUP,
    MANUAL,
    MAX_GRACE,
    MAX_MAX_NUDGES,
    MAX_QUIET_AFTER,
    MAX_SWEEP_EVERY,
    MIN_MAX_NUDGES,
    MIN_QUIET_AFTER,
    MIN_SWEEP_EVERY,
    SPACE,
    Decision,
    MatchFacts,
    NudgePolicy,
    PartnerFacts,
    PartnerState,
    SentNudge,
    decide,
    partner_state,
)
from bot.programmes import ProgrammeService
from bot.rounds import (
    ACTIVE,
    CLOSED,
    CREATED,
    ENDED,
    LAUNCHED,
    MATCH_ENDED,
    MEMBER_ACTIVE,
    RoundService,
    SpaceError,
    SpaceSpec,
)
from bot.sharding import EVERY_GUILD, Shard
from bot.space_plan import CHANNEL
from bot.topics import load_topic_library, release_times
from bot.topics.library import TopicLibrary

log = logging.getLogger(__name__)

OPEN, RESOLVED = "open", "resolved"
NUDGED, REMATCH, ENDED_BY_COORDINATOR, RECOVERED = "nudged", "rematch", "ended", "recovered"
DIGEST_EVERY = timedelta(weeks=1)
NOT_A_SPACE_TTL = 600.0  # seconds a channel id known not to be a space is remembered
NOT_A_SPACE_MAX = 5_000
MAX_LISTED = 10

STARTERS = (
    "What is one thing your library did this month that you are proud of?",
    "What does a typical Monday morning look like where you work?",
    "Which book, article or tool changed how you think about your work?",
    "What is a question your users ask you that you still find hard to answer?",
    "If you could borrow one idea from your partner's country for your library, what would it be?",
    "What are you hoping to get out of this partnership in the weeks ahead?",
)


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NudgeSettings:
    quiet_after: timedelta = DEFAULT_QUIET_AFTER
    max_nudges: int = DEFAULT_MAX_NUDGES
    grace: timedelta = DEFAULT_GRACE
    sweep_every: timedelta = DEFAULT_SWEEP_EVERY

    @property
    def policy(self) -> NudgePolicy:
        return NudgePolicy(self.quiet_after, self.max_nudges, self.grace)

    def lines(self) -> list[str]:
        return [
            f"A partner is quiet after {format_duration(self.quiet_after)} without writing in their space.",
            f"After {self.max_nudges} unanswered nudge{'s' if self.max_nudges != 1 else ''}, "
            "the coordinators get an alert.",
            f"No nudges in the first {format_duration(self.grace)} after a launch."
            if self.grace
            else "Nudges may start right after a launch.",
            f"The sweep runs every {format_duration(self.sweep_every)}.",
        ]


def check_settings(settings: NudgeSettings) -> None:
    """Refuse settings outside the sensible ranges, with a message for the coordinator."""
    if not MIN_QUIET_AFTER <= settings.quiet_after <= MAX_QUIET_AFTER:
        raise UserFacingError(
            "`quiet_after` must be between 1 hour and 60 days, like 7d (ILN asked partners to reply "
            "within a week)."
        )
    if not MIN_MAX_NUDGES <= settings.max_nudges <= MAX_MAX_NUDGES:
        raise UserFacingError(f"`max_nudges` must be from {MIN_MAX_NUDGES} to {MAX_MAX_NUDGES}.")
    if not timedelta(0) <= settings.grace <= MAX_GRACE:
        raise UserFacingError("`grace` must be between 0s (none) and 30 days, like 3d.")
    if not MIN_SWEEP_EVERY <= settings.sweep_every <= MAX_SWEEP_EVERY:
        raise UserFacingError("`sweep_every` must be between 1 minute and 1 day, like 1h.")
    if settings.sweep_every > settings.quiet_after:
        raise UserFacingError(
            "`sweep_every` must not be longer than `quiet_after`, or quiet partners would be noticed late."
        )


def _settings(row: Programme | None) -> NudgeSettings:
    if row is None:
        return NudgeSettings()
    return NudgeSettings(
        timedelta(seconds=row.nudge_quiet_after_seconds),
        row.nudge_max,
        timedelta(seconds=row.nudge_grace_seconds),
        timedelta(seconds=row.nudge_sweep_seconds),
    )


# -- the Discord side, as the service sees it --------------------------------------------------


class EngagementOutlet(Protocol):
    async def direct_message(self, member_id: int, text: str) -> bool:
        """False when the member's DMs are closed."""
        ...

    async def post_in_space(self, space_id: int, message: SpaceMessage) -> bool: ...

    async def alert(self, guild_id: int, text: str, match_id: int | None = None) -> int | None:
        """Post in the alerts channel (with the alert buttons when `match_id` is given); the message id."""
        ...


# -- plain results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SentReport:
    member_id: int
    match_id: int
    kind: str
    channel: str | None


@dataclass
class SweepReport:
    nudges: list[SentReport] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)  # match ids
    recovered: list[int] = field(default_factory=list)
    digest: bool = False


@dataclass(frozen=True)
class AtRisk:
    match_id: int
    names: str
    why: str


@dataclass(frozen=True)
class RoundHealth:
    round_id: int
    round_name: str
    running: bool
    matches: int
    active: int
    quiet: int
    at_risk: int
    never_seen: int
    nudges_sent: int
    alerts_open: int
    risky: tuple[AtRisk, ...] = ()


def health_lines(health: RoundHealth) -> list[str]:
    lines = [
        f"Health: {health.active} active, {health.quiet} quiet, {health.at_risk} at risk "
        f"(of {health.matches} matches)",
        f"Partners who never wrote: {health.never_seen}; nudges sent: {health.nudges_sent}; "
        f"alerts open: {health.alerts_open}",
    ]
    for item in health.risky[:MAX_LISTED]:
        lines.append(f"• at risk: match {item.match_id} ({item.names}): {item.why}")
    if len(health.risky) > MAX_LISTED:
        lines.append(f"• … and {len(health.risky) - MAX_LISTED} more")
    return lines


@dataclass(frozen=True)
class _Partner:
    key: int
    member_id: int
    name: str
    languages: tuple[str, ...]
    last_message_at: datetime | None
    message_count: int


@dataclass
class _MatchView:
    match: Match
    facts: MatchFacts
    partners: dict[int, _Partner]
    open_alert: MatchAlert | None


@dataclass
class _RoundView:
    round: Round
    matches: list[_MatchView]


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding `moment`."""
    day = moment.astimezone(UTC)
    return datetime.combine((day - timedelta(days=day.weekday())).date(), time(0), tzinfo=UTC)


def alert_key(states: Sequence[tuple[int, datetime, int]]) -> str:
    return ",".join(f"{key}@{int(since.timestamp())}#{count}" for key, since, count in sorted(states))[:300]


def parse_alert_key(text: str) -> list[tuple[int, datetime, int]]:
    found = []
    for part in text.split(","):
        try:
            key, rest = part.split("@", 1)
            since, count = rest.split("#", 1)
            found.append((int(key), datetime.fromtimestamp(int(since), UTC), int(count)))
        except ValueError:
            continue
    return found


def _join(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _space_link(guild_id: int, space_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{space_id}"


def _when(moment: datetime) -> str:
    return f"{moment:%d %b %H:%M} UTC"


# -- the service ------------------------------------------------------------------------------


TopicLookup = Callable[[int, datetime, Sequence[Sequence[str]]], Awaitable[str | None]]


class EngagementService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        rounds: RoundService,
        programmes: ProgrammeService,
        *,
        outlet: EngagementOutlet | None = None,
        topics_dir: Path | None = None,
        topic_lookup: TopicLookup | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self._rounds = rounds
        self._programmes = programmes
        self.outlet = outlet
        self._topics_dir = topics_dir
        self.topic_lookup = topic_lookup
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._not_spaces: dict[int, float] = {}

    @property
    def _out(self) -> EngagementOutlet:
        if self.outlet is None:
            raise RuntimeError("EngagementService has no outlet")
        return self.outlet

    # -- settings -----------------------------------------------------------------------------

    async def settings(self, guild_id: int) -> NudgeSettings:
        async with self._db.session() as session:
            return _settings(await session.get(Programme, guild_id))

    async def update_settings(
        self,
        guild_id: int,
        *,
        quiet_after: timedelta | None = None,
        max_nudges: int | None = None,
        grace: timedelta | None = None,
        sweep_every: timedelta | None = None,
    ) -> NudgeSettings:
        current = await self.settings(guild_id)
        wanted = NudgeSettings(
            quiet_after if quiet_after is not None else current.quiet_after,
            max_nudges if max_nudges is not None else current.max_nudges,
            grace if grace is not None else current.grace,
            sweep_every if sweep_every is not None else current.sweep_every,
        )
        check_settings(wanted)
        await self._programmes.update(guild_id)  # creates the programme row if needed
        async with self._db.session() as session:
            row = await session.get(Programme, guild_id)
            assert row is not None
            row.nudge_quiet_after_seconds = int(wanted.quiet_after.total_seconds())
            row.nudge_max = wanted.max_nudges
            row.nudge_grace_seconds = int(wanted.grace.total_seconds())
            row.nudge_sweep_seconds = int(wanted.sweep_every.total_seconds())
            row.updated_at = self._clock.now()
        return wanted

    async def sweep_schedule(
        self, guild_ids: Sequence[int] = (), shard: Shard = EVERY_GUILD
    ) -> dict[int, timedelta]:
        """How often to sweep each guild of `shard`: the given ones, those with a programme and those
        with a launched round (derived from the database at start-up)."""
        async with self._db.session() as session:
            rows = {row.guild_id: row for row in (await session.scalars(select(Programme))).all()}
            launched = (await session.scalars(select(Round.guild_id).where(Round.status == LAUNCHED))).all()
        wanted = {guild for guild in set(guild_ids) | set(rows) | set(launched) if shard.holds(guild)}
        return {guild: _settings(rows.get(guild)).sweep_every for guild in sorted(wanted)}

    # -- activity -----------------------------------------------------------------------------

    async def record_message(self, channel_id: int, author_id: int) -> bool:
        """A message by `author_id` in channel or thread `channel_id`: count it if that is a space
        where they are a partner. Cheap for every other channel (remembered for a while)."""
        seen = self._not_spaces.get(channel_id)
        if seen is not None and monotonic_time.monotonic() - seen < NOT_A_SPACE_TTL:
            return False
        now = self._clock.now()
        async with self._db.session() as session:
            keys = (
                await session.scalars(
                    select(MatchMember.id)
                    .join(Match, Match.id == MatchMember.match_id)
                    .where(
                        Match.space_id == channel_id,
                        Match.status == ACTIVE,
                        MatchMember.member_id == author_id,
                        MatchMember.status == MEMBER_ACTIVE,
                    )
                )
            ).all()
            if not keys:
                space = await session.scalar(select(Match.id).where(Match.space_id == channel_id).limit(1))
                if space is None:
                    self._forget_old()
                    self._not_spaces[channel_id] = monotonic_time.monotonic()
                return False
            await session.execute(
                update(MatchMember)
                .where(MatchMember.id.in_(keys))  # type: ignore[union-attr]
                .values(last_message_at=now, message_count=MatchMember.message_count + 1)
            )
            await _count_week(session, list(keys), week_start(now), self._db.dialect)
            await session.execute(
                update(Nudge)
                .where(Nudge.match_member_id.in_(keys), Nudge.answered_at.is_(None))  # type: ignore[attr-defined,union-attr]
                .values(answered_at=now)
            )
        return True

    def _forget_old(self) -> None:
        if len(self._not_spaces) >= NOT_A_SPACE_MAX:
            self._not_spaces.clear()

    # -- facts --------------------------------------------------------------------------------

    async def _view(self, session: AsyncSession, guild_id: int, *, ended: bool = False) -> _RoundView | None:
        statuses = (LAUNCHED, ENDED) if ended else (LAUNCHED,)
        row = await session.scalar(
            select(Round)
            .where(Round.guild_id == guild_id, Round.status.in_(statuses))  # type: ignore[attr-defined]
            .order_by(Round.id.desc())  # type: ignore[union-attr]
            .limit(1)
        )
        if row is None or row.launched_at is None:
            return None
        return await self._round_view(session, row)

    async def _round_view(self, session: AsyncSession, row: Round) -> _RoundView:
        matches = (
            await session.scalars(
                select(Match)
                .where(Match.round_id == row.id, Match.status.in_((ACTIVE, MATCH_ENDED)))  # type: ignore[attr-defined]
                .order_by(Match.id)
            )
        ).all()
        ids = [m.id for m in matches]
        members: dict[int, list[tuple[MatchMember, Participant]]] = defaultdict(list)
        nudges: dict[int, list[Nudge]] = defaultdict(list)
        alerts: dict[int, list[MatchAlert]] = defaultdict(list)
        enrolled: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for member, person in (
                await session.execute(
                    select(MatchMember, Participant)
                    .join(Participant, Participant.id == MatchMember.participant_id)
                    .where(MatchMember.match_id.in_(chunk), MatchMember.status == MEMBER_ACTIVE)  # type: ignore[attr-defined]
                    .order_by(MatchMember.id)
                )
            ).all():
                members[member.match_id].append((member, person))
            for nudge in (await session.scalars(select(Nudge).where(Nudge.match_id.in_(chunk)))).all():  # type: ignore[attr-defined]
                nudges[nudge.match_member_id].append(nudge)
            for alert in (
                await session.scalars(select(MatchAlert).where(MatchAlert.match_id.in_(chunk)))  # type: ignore[attr-defined]
            ).all():
                alerts[alert.match_id].append(alert)
        for participant_id, status in (
            await session.execute(
                select(Enrolment.participant_id, Enrolment.status).where(Enrolment.round_id == row.id)
            )
        ).all():
            enrolled[participant_id] = status
        running = row.status == LAUNCHED
        views = []
        assert row.launched_at is not None
        for match in matches:
            alerted: dict[int, set[tuple[datetime, int]]] = defaultdict(set)
            for alert in alerts[match.id]:  # type: ignore[index]
                for key, since, count in parse_alert_key(alert.key):
                    alerted[key].add((since, count))
            partners: dict[int, _Partner] = {}
            facts = []
            for member, person in members[match.id]:  # type: ignore[index]
                assert member.id is not None
                partners[member.id] = _Partner(
                    member.id,
                    member.member_id or 0,
                    person.display_name or "a partner",
                    tuple(person.languages),
                    member.last_message_at,
                    member.message_count,
                )
                facts.append(
                    PartnerFacts(
                        key=member.id,
                        member_id=member.member_id or 0,
                        last_message_at=member.last_message_at,
                        eligible=(
                            member.member_id is not None
                            and not person.deleted
                            and enrolled.get(person.id or 0, ENROLLED) == ENROLLED
                        ),
                        paused=person.paused,
                        paused_until=person.paused_until,
                        nudges=tuple(
                            SentNudge(
                                n.quiet_since, n.number, n.sent_at or n.claimed_at, n.answered_at is not None
                            )
                            for n in nudges[member.id]
                        ),
                        alerted=frozenset(alerted[member.id]),
                    )
                )
            open_alert = next((a for a in alerts[match.id] if a.status == OPEN), None)  # type: ignore[index]
            views.append(
                _MatchView(
                    match,
                    MatchFacts(
                        match_id=match.id or 0,
                        launched_at=row.launched_at,
                        ends_at=row.ends_at,
                        running=running and match.status == ACTIVE and match.space_status == CREATED,
                        partners=tuple(facts),
                        alert_open=open_alert is not None,
                    ),
                    partners,
                    open_alert,
                )
            )
        return _RoundView(row, views)

    # -- the sweep ----------------------------------------------------------------------------

    async def sweep(self, guild_id: int) -> SweepReport:
        """Apply the nudge policy to every match of the guild's running round; safe to run any time."""
        report = SweepReport()
        async with self._locks[guild_id]:
            now = self._clock.now()
            settings = await self.settings(guild_id)
            async with self._db.session() as session:
                view = await self._view(session, guild_id)
            if view is None:
                return report
            for match_view in view.matches:
                decision = decide(match_view.facts, settings.policy, now)
                if decision.empty:
                    continue
                try:
                    await self._apply(guild_id, view.round, match_view, decision, settings, now, report)
                except SpaceError as error:
                    log.warning("Nudges for match %s failed: %s", match_view.facts.match_id, error.message)
            report.digest = await self._digest_if_due(guild_id, view.round, now)
        if report.nudges or report.alerts:
            log.info(
                "Nudge sweep in guild %s: %d nudge(s), %d alert(s)",
                guild_id,
                len(report.nudges),
                len(report.alerts),
            )
        return report

    async def _apply(
        self,
        guild_id: int,
        round_: Round,
        view: _MatchView,
        decision: Decision,
        settings: NudgeSettings,
        now: datetime,
        report: SweepReport,
    ) -> None:
        match = view.match
        assert match.id is not None
        assert match.space_id is not None
        for action in decision.nudges:
            claimed = await self._claim(
                match.id, action.keys, action.quiet_since, action.numbers, action.kind, now
            )
            if not claimed:
                continue
            people = [view.partners[k] for k in claimed]
            if action.kind == GROUP:
                text = await self._group_text(round_, match.id, people, now)
                delivered = await self._out.post_in_space(
                    match.space_id, SpaceMessage(text, mention_ids=tuple(p.member_id for p in people))
                )
                await self._record(claimed, SPACE if delivered else None, now)
                report.nudges += [
                    SentReport(p.member_id, match.id, GROUP, SPACE if delivered else None) for p in people
                ]
                continue
            person = people[0]
            others = [p for k, p in view.partners.items() if k != person.key]
            channel = await self._nudge_one(guild_id, round_, match, person, others, now)
            await self._record(claimed, channel, now)
            report.nudges.append(SentReport(person.member_id, match.id, DM, channel))
        if decision.escalation is not None:
            escalation = decision.escalation
            key = alert_key(
                list(zip(escalation.keys, escalation.quiet_since, escalation.nudges, strict=True))
            )
            alert_id = await self._claim_alert(
                match.id, key, [view.partners[k].member_id for k in escalation.keys], now
            )
            if alert_id is not None:
                text = self._alert_text(
                    round_, view, escalation.keys, escalation.quiet_since, escalation.nudges
                )
                message_id = await self._out.alert(guild_id, text, match.id)
                async with self._db.session() as session:
                    row = await session.get(MatchAlert, alert_id)
                    if row is not None:
                        row.message_id = message_id
                report.alerts.append(match.id)
        if decision.recovered and view.open_alert is not None:
            await self.resolve_alert(match.id, RECOVERED, None)
            report.recovered.append(match.id)

    async def _nudge_one(
        self,
        guild_id: int,
        round_: Round,
        match: Match,
        person: _Partner,
        others: Sequence[_Partner],
        now: datetime,
    ) -> str | None:
        """A DM, or a mention in the space when the partner's DMs are closed; where it went."""
        assert match.space_id is not None
        topic = await self._topic(round_, now, [person.languages])
        with_whom = _join([p.name for p in others]) or "your partner"
        topic_line = f" The current topic is “{topic}”, if you'd like a starting point." if topic else ""
        dm = (
            f"Hello {person.name}! It's been a little while since you wrote to {with_whom} in your "
            f"**{round_.name}** space: {_space_link(guild_id, match.space_id)}. "
            f"No pressure: a short hello keeps the partnership going.{topic_line}"
        )
        if await self._out.direct_message(person.member_id, dm):
            return DM
        text = (
            f"{mentions([person.member_id])} a gentle hello from Tandem: it's been a little while since "
            f"you wrote here, and {with_whom} would love to hear from you.{topic_line}"
        )
        if await self._out.post_in_space(match.space_id, SpaceMessage(text, mention_ids=(person.member_id,))):
            return SPACE
        return None

    async def _group_text(
        self, round_: Round, match_id: int, people: Sequence[_Partner], now: datetime
    ) -> str:
        topic = await self._topic(round_, now, [p.languages for p in people])
        starter = STARTERS[match_id % len(STARTERS)]
        topic_line = f" Or pick up the current topic, “{topic}”." if topic else ""
        return (
            f"{mentions([p.member_id for p in people])} it's been quiet here for a while, which is "
            f"normal: work gets busy. Here's a conversation starter, if it helps: *{starter}*{topic_line}"
        )

    async def _claim(
        self,
        match_id: int,
        keys: Sequence[int],
        quiet_since: Sequence[datetime],
        numbers: Sequence[int],
        kind: str,
        now: datetime,
    ) -> list[int]:
        """Claim a nudge row per partner, all in one transaction; the partners claimed here, or none
        when another run (another process) claimed any of them: a group nudge claimed half by each
        of two sweeps would be posted twice."""
        claimed = []
        try:
            async with self._db.session() as session:
                # One order everywhere, so two racing sweeps wait on each other rather than deadlock.
                for key, since, number in sorted(zip(keys, quiet_since, numbers, strict=True)):
                    member = await session.get(MatchMember, key)
                    if member is None or member.status != MEMBER_ACTIVE:
                        continue
                    if kind != MANUAL and (member.last_message_at or since) != since:
                        continue  # they wrote while the sweep ran
                    session.add(
                        Nudge(
                            match_id=match_id,
                            match_member_id=key,
                            quiet_since=since,
                            number=number,
                            kind=kind,
                            claimed_at=now,
                        )
                    )
                    await session.flush()
                    claimed.append(key)
        except IntegrityError:
            return []
        return claimed

    async def _record(self, keys: Sequence[int], channel: str | None, now: datetime) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(Nudge)
                .where(Nudge.match_member_id.in_(keys), Nudge.claimed_at == now, Nudge.sent_at.is_(None))  # type: ignore[attr-defined,union-attr]
                .values(channel=channel, sent_at=now if channel else None)
            )

    async def _claim_alert(self, match_id: int, key: str, member_ids: list[int], now: datetime) -> int | None:
        try:
            async with self._db.session() as session:
                open_alert = await session.scalar(
                    select(MatchAlert.id).where(MatchAlert.match_id == match_id, MatchAlert.status == OPEN)
                )
                if open_alert is not None:
                    return None
                row = MatchAlert(match_id=match_id, key=key, member_ids=member_ids, created_at=now)
                session.add(row)
                await session.flush()
                return row.id
        except IntegrityError:
            return None

    def _alert_text(
        self,
        round_: Round,
        view: _MatchView,
        keys: Sequence[int],
        quiet_since: Sequence[datetime],
        nudges: Sequence[int],
    ) -> str:
        match = view.match
        names = _join([p.name for p in view.partners.values()])
        lines = [f"**Match {match.id}** in **{round_.name}** ({names}) may be fading:"]
        for key, since, count in zip(keys, quiet_since, nudges, strict=True):
            person = view.partners[key]
            seen = (
                f"last wrote {_when(since)}" if person.last_message_at else "has not written since the launch"
            )
            lines.append(f"• <@{person.member_id}> ({person.name}) {seen}; {count} nudges unanswered")
        others = [p for k, p in view.partners.items() if k not in keys]
        for person in others:
            seen = (
                f"last wrote {_when(person.last_message_at)}"
                if person.last_message_at
                else "has not written yet"
            )
            lines.append(f"• <@{person.member_id}> ({person.name}) {seen}")
        lines.append("Nudge again, offer a rematch, or end the match:")
        return "\n".join(lines)

    # -- coordinators' actions ----------------------------------------------------------------

    async def alert_match(self, guild_id: int, match_id: int) -> _MatchView:
        async with self._db.session() as session:
            match = await session.get(Match, match_id)
            row = await session.get(Round, match.round_id) if match is not None else None
            if match is None or row is None or row.guild_id != guild_id:
                raise UserFacingError("That match no longer exists.")
            view = await self._round_view(session, row)
        found = next((v for v in view.matches if v.match.id == match_id), None)
        if found is None or found.match.status != ACTIVE or row.status != LAUNCHED:
            raise UserFacingError(f"Match {match_id} has already ended; nothing was changed.")
        return found

    async def nudge_again(self, guild_id: int, match_id: int, by: int | None) -> str:
        """The coordinator's “nudge again”: one more nudge to each quiet partner who may be nudged."""
        view = await self.alert_match(guild_id, match_id)
        now = self._clock.now()
        settings = await self.settings(guild_id)
        async with self._db.session() as session:
            round_ = await session.get(Round, view.match.round_id)
        assert round_ is not None
        states = [partner_state(p, view.facts, settings.policy, now) for p in view.facts.partners]
        quiet = [s for s in states if s.quiet and s.nudgeable] or [
            s for s in states if s.nudgeable and s.unanswered
        ]
        if not quiet:
            raise UserFacingError(
                f"Nobody in match {match_id} can be nudged now (they wrote lately, or are paused); "
                "nothing was sent."
            )
        sent = []
        for state in quiet:
            claimed = await self._claim(
                match_id, [state.key], [state.quiet_since], [state.unanswered + 1], MANUAL, now
            )
            if not claimed:
                continue
            person = view.partners[state.key]
            others = [p for k, p in view.partners.items() if k != state.key]
            channel = await self._nudge_one(guild_id, round_, view.match, person, others, now)
            await self._record(claimed, channel, now)
            where = {DM: "by DM", SPACE: "in the space (DMs closed)"}.get(
                channel or "", "but it could not be delivered"
            )
            sent.append(f"{person.name} {where}")
        await self.resolve_alert(match_id, NUDGED, by)
        return "Nudged again: " + "; ".join(sent) + "." if sent else "Already nudged just now."

    async def rematch_member(self, guild_id: int, match_id: int) -> int:
        """Whom “offer a rematch” finds a new match for: the partner still writing (the most recent)."""
        view = await self.alert_match(guild_id, match_id)
        now = self._clock.now()
        settings = await self.settings(guild_id)
        states = {
            s.key: s
            for s in (partner_state(p, view.facts, settings.policy, now) for p in view.facts.partners)
        }
        ranked = sorted(
            view.partners.values(),
            key=lambda p: (
                states[p.key].at_risk,
                -(p.last_message_at or datetime.min.replace(tzinfo=UTC)).timestamp(),
            ),
        )
        if not ranked:
            raise UserFacingError(f"Match {match_id} has nobody left in it.")
        return ranked[0].member_id

    async def end_match(self, guild_id: int, match_id: int, by: int | None) -> str:
        """End one match: mark it, tell its partners kindly, make its space read-only."""
        view = await self.alert_match(guild_id, match_id)
        now = self._clock.now()
        async with self._db.session() as session:
            match = await session.get(Match, match_id)
            round_ = await session.get(Round, view.match.round_id)
            assert match is not None
            assert round_ is not None
            if match.status != ACTIVE:
                raise UserFacingError(f"Match {match_id} has already ended; nothing was changed.")
            match.status, match.ended_at, match.attention = MATCH_ENDED, now, None
            space_id = match.space_id if match.space_status == CREATED else None
            space_name, kind, container = (
                match.space_name or "",
                round_.space_kind or CHANNEL,
                match.container_id,
            )
            round_name = round_.name
        await self.resolve_alert(match_id, ENDED_BY_COORDINATOR, by)
        people = list(view.partners.values())
        problems = ""
        if space_id is not None:
            note = (
                "The coordinators have closed this partnership. Thank you for the time you gave it; "
                "this space stays here, read-only, for you to look back on."
            )
            await self._out.post_in_space(space_id, SpaceMessage(note))
            programme = await self._programmes.get(guild_id)
            spec_see = await self._rounds.coordinators_see_spaces(guild_id)
            spec = SpaceSpec(
                guild_id,
                match_id,
                kind,
                space_name,
                container,
                tuple(p.member_id for p in people),
                programme.coordinator_role_id,
                spec_see,
            )
            try:
                await self._rounds.adapter.close_space(spec, space_id)
                async with self._db.session() as session:
                    stored = await session.get(Match, match_id)
                    if stored is not None:
                        stored.space_status = CLOSED
            except SpaceError as error:
                problems = f" The space could not be made read-only: {error.message}"
        for person in people:
            await self._out.direct_message(
                person.member_id,
                f"Your partnership in **{round_name}** has been closed by the programme's coordinators. "
                "Thank you for taking part. If you'd like another partner, just tell a coordinator.",
            )
        return f"Match {match_id} ({_join([p.name for p in people])}) has ended.{problems}"

    async def resolve_alert(self, match_id: int, resolution: str, by: int | None) -> bool:
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(MatchAlert).where(MatchAlert.match_id == match_id, MatchAlert.status == OPEN)
                )
            ).all()
            for row in rows:
                row.status, row.resolution, row.resolved_by = RESOLVED, resolution, by
                row.resolved_at = self._clock.now()
            return bool(rows)

    # -- health, chart, digest ----------------------------------------------------------------

    async def health(self, guild_id: int) -> RoundHealth | None:
        """The running (or last ended) round's health; None before any launch."""
        async with self._db.session() as session:
            view = await self._view(session, guild_id, ended=True)
            if view is None:
                return None
            nudges_sent = await session.scalar(
                select(func.count(Nudge.id))  # type: ignore[arg-type]
                .join(Match, Match.id == Nudge.match_id)
                .where(Match.round_id == view.round.id, Nudge.sent_at.is_not(None))  # type: ignore[union-attr]
            )
        return self._health(view, await self.settings(guild_id), self._clock.now(), int(nudges_sent or 0))

    def _health(
        self, view: _RoundView, settings: NudgeSettings, now: datetime, nudges_sent: int
    ) -> RoundHealth:
        active = quiet = at_risk = never = alerts_open = 0
        risky = []
        for match_view in view.matches:
            if match_view.match.status != ACTIVE:
                continue
            states = [
                partner_state(p, match_view.facts, settings.policy, now) for p in match_view.facts.partners
            ]
            never += sum(1 for p in match_view.partners.values() if p.last_message_at is None)
            alerts_open += match_view.open_alert is not None
            danger = [s for s in states if s.at_risk and s.quiet and s.nudgeable]
            if match_view.open_alert is not None or danger:
                at_risk += 1
                risky.append(self._risk(match_view, danger or states))
            elif any(s.quiet for s in states if s.nudgeable):
                quiet += 1
            else:
                active += 1
        return RoundHealth(
            round_id=view.round.id or 0,
            round_name=view.round.name,
            running=view.round.status == LAUNCHED,
            matches=active + quiet + at_risk,
            active=active,
            quiet=quiet,
            at_risk=at_risk,
            never_seen=never,
            nudges_sent=nudges_sent,
            alerts_open=alerts_open,
            risky=tuple(risky),
        )

    def _risk(self, view: _MatchView, states: Sequence[PartnerState]) -> AtRisk:
        names = ", ".join(p.name for p in view.partners.values())
        parts = []
        for state in states:
            person = view.partners[state.key]
            if state.quiet:
                seen = f"last wrote {_when(state.quiet_since)}" if person.last_message_at else "never wrote"
                parts.append(f"{person.name} {seen}, {state.unanswered} nudges unanswered")
        return AtRisk(view.match.id or 0, names, "; ".join(parts) or "alert open")

    async def weekly_activity(self, guild_id: int) -> WeeklyActivity | None:
        """Messages per week per match across the round, quiet and at-risk matches flagged."""
        now = self._clock.now()
        settings = await self.settings(guild_id)
        async with self._db.session() as session:
            view = await self._view(session, guild_id, ended=True)
            if view is None:
                return None
            counts = (
                await session.execute(
                    select(MatchMember.match_id, ActivityWeek.week_start, func.sum(ActivityWeek.count))
                    .join(MatchMember, MatchMember.id == ActivityWeek.match_member_id)
                    .join(Match, Match.id == MatchMember.match_id)
                    .where(Match.round_id == view.round.id)
                    .group_by(MatchMember.match_id, ActivityWeek.week_start)
                )
            ).all()
        round_ = view.round
        assert round_.launched_at is not None
        last = min(now, round_.ended_at or round_.ends_at, round_.ends_at)
        weeks: list[datetime] = []
        week = week_start(round_.launched_at)
        while week <= max(last, round_.launched_at) and len(weeks) < 60:
            weeks.append(week)
            week += timedelta(weeks=1)
        index = {w: i for i, w in enumerate(weeks)}
        per_match: dict[int, list[int]] = defaultdict(lambda: [0] * len(weeks))
        for match_id, start, total in counts:
            position = index.get(week_start(start))
            if position is not None:
                per_match[match_id][position] += int(total or 0)
        series = []
        for match_view in view.matches:
            if match_view.match.status != ACTIVE and round_.status == LAUNCHED:
                continue
            states = [
                partner_state(p, match_view.facts, settings.policy, now) for p in match_view.facts.partners
            ]
            quiet = match_view.open_alert is not None or any(s.quiet and s.nudgeable for s in states)
            match_id = match_view.match.id or 0
            series.append(MatchSeries(f"match {match_id}", tuple(per_match[match_id]), quiet))
        return WeeklyActivity(f"{round_.name}: messages per week", tuple(weeks), tuple(series))

    async def _digest_if_due(self, guild_id: int, round_: Round, now: datetime) -> bool:
        assert round_.launched_at is not None
        async with self._db.session() as session:
            row = await session.get(Programme, guild_id)
            last = row.digest_sent_at if row is not None else None
            since = max(last, round_.launched_at) if last is not None else round_.launched_at
            if row is None or now - since < DIGEST_EVERY or now >= round_.ends_at:
                return False
            row.digest_sent_at = now  # claimed before it is posted: at most one digest a week
        text = await self.digest(guild_id, since)
        if text:
            await self._out.alert(guild_id, text)
        return bool(text)

    async def digest(self, guild_id: int, since: datetime) -> str:
        """The weekly digest: the matches at risk, and what changed since `since`."""
        now = self._clock.now()
        settings = await self.settings(guild_id)
        async with self._db.session() as session:
            view = await self._view(session, guild_id)
            if view is None:
                return ""
            round_id = view.round.id
            nudges_sent = await session.scalar(
                select(func.count(Nudge.id))  # type: ignore[arg-type]
                .join(Match, Match.id == Nudge.match_id)
                .where(Match.round_id == round_id, Nudge.sent_at.is_not(None), Nudge.sent_at >= since)  # type: ignore[union-attr,operator]
            )
            answered = await session.scalar(
                select(func.count(func.distinct(Nudge.match_member_id)))
                .join(Match, Match.id == Nudge.match_id)
                .where(Match.round_id == round_id, Nudge.answered_at.is_not(None), Nudge.answered_at >= since)  # type: ignore[union-attr,operator]
            )
            alerts = (
                await session.scalars(
                    select(MatchAlert)
                    .join(Match, Match.id == MatchAlert.match_id)
                    .where(Match.round_id == round_id)
                )
            ).all()
        health = self._health(view, settings, now, 0)
        raised = sum(1 for a in alerts if a.created_at >= since)
        recovered = sum(
            1 for a in alerts if a.resolution == RECOVERED and a.resolved_at and a.resolved_at >= since
        )
        handled = sum(
            1
            for a in alerts
            if a.resolution in (NUDGED, REMATCH, ENDED_BY_COORDINATOR)
            and a.resolved_at
            and a.resolved_at >= since
        )
        lines = [
            f"**Weekly digest: {view.round.name}**",
            f"{health.active} active, {health.quiet} quiet, {health.at_risk} at risk "
            f"(of {health.matches} matches); {health.never_seen} partners have never written.",
            f"Since {_when(since)}: {nudges_sent or 0} nudges sent, {answered or 0} nudged partners "
            f"wrote again, {raised} new alerts, {handled} handled by coordinators, {recovered} matches "
            "recovered by themselves.",
        ]
        if health.risky:
            lines.append(f"At risk ({len(health.risky)}):")
            for item in health.risky[:MAX_LISTED]:
                lines.append(f"• match {item.match_id} ({item.names}): {item.why}")
            if len(health.risky) > MAX_LISTED:
                lines.append(f"• … and {len(health.risky) - MAX_LISTED} more: see /round status")
        else:
            lines.append("No match is at risk. 🎉")
        return "\n".join(lines)[:2000]

    # -- the current topic --------------------------------------------------------------------

    async def _topic(self, round_: Round, now: datetime, languages: Sequence[Sequence[str]]) -> str | None:
        try:
            if self.topic_lookup is not None:
                return await self.topic_lookup(round_.id or 0, now, languages)
            return await self._scheduled_topic(round_, now, languages)
        except Exception:  # a topic is a nicety in a nudge; never let it stop one
            log.warning("Could not work out the current topic of round %s", round_.id, exc_info=True)
            return None

    async def _scheduled_topic(
        self, round_: Round, now: datetime, languages: Sequence[Sequence[str]]
    ) -> str | None:
        """The topic last released by the round's schedule (the library order)."""
        if self._topics_dir is None:
            return None
        library = _library(str(self._topics_dir))
        if not len(library):
            return None
        async with self._db.session() as session:
            programme = await session.get(Programme, round_.guild_id)
        zone = programme.timezone if programme is not None else "UTC"
        hour = getattr(programme, "posting_hour", 9) if programme is not None else 9
        releases = release_times(
            round_.starts_at,
            round_.ends_at,
            timedelta(seconds=round_.cadence_seconds),
            len(library),
            zone,
            time(int(hour)),
        )
        released = [i for i, at in enumerate(releases) if at <= now]
        if not released:
            return None
        topic = library.topics[released[-1]]
        return topic.text_for([frozenset(langs) for langs in languages]).title


def topic_posts_lookup(service: object) -> TopicLookup:
    """The current topic as the topic schedule (bot/topic_posts.py) sees it: the round's own list,
    skipped topics left out, the programme's posting hour."""

    async def lookup(round_id: int, now: datetime, languages: Sequence[Sequence[str]]) -> str | None:
        plan = await service._plan(round_id)  # type: ignore[attr-defined]
        if plan is None:
            return None
        released = plan.released(now)
        if released <= 0 or released > len(plan.topics):
            return None
        return str(plan.topics[released - 1].text_for([frozenset(langs) for langs in languages]).title)

    return lookup


@cache
def _library(folder: str) -> TopicLibrary:
    return load_topic_library(Path(folder))


async def _count_week(session: AsyncSession, keys: list[int], week: datetime, dialect: str) -> None:
    """Add one to each partner's count for `week` (an upsert on both backends)."""
    table = ActivityWeek.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for key in keys:
        statement = insert(table).values(match_member_id=key, week_start=week, count=1)
        statement = statement.on_conflict_do_update(
            index_elements=["match_member_id", "week_start"], set_={"count": table.c.count + 1}
        )
        await session.execute(statement)
