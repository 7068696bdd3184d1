"""The engagement service against a real database (SQLite, and PostgreSQL when configured): activity,
the nudge sweep, escalation and the coordinators' actions, health figures and the digest. Discord is
a fake outlet and the fake space adapter of the rounds tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import DEFAULT_PROMPTS_DIR
from bot.db import Database
from bot.engagement import (
    EngagementService,
    alert_key,
    check_settings,
    health_lines,
    parse_alert_key,
    week_start,
)
from bot.errors import UserFacingError
from bot.intro import SpaceMessage
from bot.models import ActivityWeek, Match, MatchAlert, MatchMember, Nudge
from bot.participants import ParticipantService
from bot.programmes import ProgrammeService
from bot.rounds import RoundService
from tests.unit.test_rounds import GUILD, START, FakeSpaces, launched

HOUR = timedelta(hours=1)


@dataclass
class FakeOutlet:
    dms: list[tuple[int, str]] = field(default_factory=list)
    posts: list[tuple[int, SpaceMessage]] = field(default_factory=list)
    alerts: list[tuple[int, str, int | None]] = field(default_factory=list)
    closed_dms: set[int] = field(default_factory=set)

    async def direct_message(self, member_id: int, text: str) -> bool:
        if member_id in self.closed_dms:
            return False
        self.dms.append((member_id, text))
        return True

    async def post_in_space(self, space_id: int, message: SpaceMessage) -> bool:
        self.posts.append((space_id, message))
        return True

    async def alert(self, guild_id: int, text: str, match_id: int | None = None) -> int | None:
        self.alerts.append((guild_id, text, match_id))
        return 5000 + len(self.alerts)


@dataclass
class World:
    database: Database
    clock: ManualClock
    rounds: RoundService
    participants: ParticipantService
    spaces: FakeSpaces
    outlet: FakeOutlet
    engagement: EngagementService

    def restart(self) -> EngagementService:
        """A new service on the same database: what a restarted bot has."""
        return make_service(self.database, self.clock, self.rounds, self.outlet)


def make_service(
    database: Database, clock: ManualClock, rounds: RoundService, outlet: FakeOutlet
) -> EngagementService:
    return EngagementService(
        database,
        clock,
        rounds,
        ProgrammeService(database, clock),
        outlet=outlet,
        topics_dir=DEFAULT_PROMPTS_DIR / "topics",
    )


@pytest.fixture
async def world(database: Database) -> World:
    clock = ManualClock(START)
    participants = ParticipantService(database, clock)
    spaces = FakeSpaces()
    rounds = RoundService(
        database,
        clock,
        participants,
        ProgrammeService(database, clock),
        spaces=spaces,
        topics_dir=DEFAULT_PROMPTS_DIR / "topics",
    )
    rounds.retry_delays = (0.0, 0.0)
    outlet = FakeOutlet()
    engagement = make_service(database, clock, rounds, outlet)
    await engagement.update_settings(
        GUILD, quiet_after=HOUR, grace=timedelta(0), sweep_every=timedelta(minutes=5)
    )
    return World(database, clock, rounds, participants, spaces, outlet, engagement)


async def pairs(world: World, count: int = 4) -> list[tuple[int, list[int]]]:
    """Launch a round of `count` people; (space id, member ids) per match."""
    round_id = await launched(world.rounds, world.participants, count)
    async with world.database.session() as session:
        rows = (
            await session.execute(
                select(Match.space_id, MatchMember.member_id)
                .join(MatchMember, MatchMember.match_id == Match.id)
                .where(Match.round_id == round_id, MatchMember.status == "active")
                .order_by(Match.id, MatchMember.id)
            )
        ).all()
    spaces: dict[int, list[int]] = {}
    for space, member in rows:
        spaces.setdefault(space, []).append(member)
    return list(spaces.items())


async def nudge_rows(database: Database) -> list[Nudge]:
    async with database.session() as session:
        return list((await session.scalars(select(Nudge).order_by(Nudge.id))).all())


# -- activity -----------------------------------------------------------------------------------


async def test_a_message_counts_for_its_author_in_their_own_space_only(world: World) -> None:
    (space, (a, b)), (other_space, (c, _d)) = await pairs(world)
    assert await world.engagement.record_message(space, a)
    assert await world.engagement.record_message(space, a)
    assert not await world.engagement.record_message(space, c)  # not a partner of this match
    assert not await world.engagement.record_message(123456, a)  # not a space
    assert not await world.engagement.record_message(123456, a)  # remembered as not a space
    async with world.database.session() as session:
        members = {m.member_id: m for m in (await session.scalars(select(MatchMember))).all()}
        weeks = (await session.scalars(select(ActivityWeek))).all()
    assert members[a].message_count == 2
    assert members[a].last_message_at == START
    assert members[b].message_count == 0
    assert members[c].message_count == 0
    assert [(w.count, w.week_start) for w in weeks] == [(2, week_start(START))]
    assert other_space != space


# -- the sweep ----------------------------------------------------------------------------------


async def test_a_quiet_partner_gets_exactly_one_dm_and_the_active_one_none(world: World) -> None:
    (space, (quiet, active)), (other, (c, d)) = await pairs(world)
    world.clock.advance(timedelta(minutes=50))
    await world.engagement.record_message(space, active)
    await world.engagement.record_message(other, c)
    await world.engagement.record_message(other, d)
    world.clock.advance(timedelta(minutes=15))
    report = await world.engagement.sweep(GUILD)
    assert [(n.member_id, n.kind, n.channel) for n in report.nudges] == [(quiet, "dm", "dm")]
    assert [m for m, _ in world.outlet.dms] == [quiet]
    text = world.outlet.dms[0][1]
    assert "Person" in text
    assert f"/{space}" in text  # links the space
    assert "current topic" in text
    # The same sweep again, and a restarted service, send nothing more.
    assert not (await world.engagement.sweep(GUILD)).nudges
    assert not (await world.restart().sweep(GUILD)).nudges
    assert len(world.outlet.dms) == 1
    rows = await nudge_rows(world.database)
    assert len(rows) == 1
    assert rows[0].sent_at == world.clock.now()


async def test_closed_dms_send_the_nudge_to_the_space_with_a_mention(world: World) -> None:
    (space, (quiet, active)), _ = await pairs(world)
    world.outlet.closed_dms.add(quiet)
    world.clock.advance(timedelta(minutes=30))
    await world.engagement.record_message(space, active)
    world.clock.advance(timedelta(minutes=31))
    report = await world.engagement.sweep(GUILD)
    mine = [(n.member_id, n.channel) for n in report.nudges if n.member_id in (quiet, active)]
    assert mine == [(quiet, "space")]
    (posted_in, message) = next((s, m) for s, m in world.outlet.posts if s == space)
    assert posted_in == space
    assert message.mention_ids == (quiet,)
    assert f"<@{quiet}>" in message.content


async def test_a_quiet_space_gets_one_message_for_all_its_partners(world: World) -> None:
    (space, members), (other, others) = await pairs(world)
    world.clock.advance(HOUR)
    report = await world.engagement.sweep(GUILD)
    assert {n.kind for n in report.nudges} == {"group"}
    assert sorted(m for _s, msg in world.outlet.posts for m in msg.mention_ids) == sorted(members + others)
    assert sorted(s for s, _ in world.outlet.posts) == sorted([space, other])
    assert "conversation starter" in world.outlet.posts[0][1].content
    assert not world.outlet.dms


async def test_paused_partners_and_ended_rounds_get_no_nudges(world: World) -> None:
    (space, (quiet, active)), (other, (c, d)) = await pairs(world)
    await world.participants.pause(GUILD, quiet, None)
    await world.engagement.record_message(other, c)
    world.clock.advance(timedelta(minutes=30))
    await world.engagement.record_message(space, active)
    await world.engagement.record_message(other, c)
    await world.engagement.record_message(other, d)
    world.clock.advance(timedelta(minutes=40))
    assert not (await world.engagement.sweep(GUILD)).nudges
    await world.rounds.end_round(GUILD)
    world.clock.advance(timedelta(hours=5))
    assert not (await world.engagement.sweep(GUILD)).nudges
    assert not world.outlet.dms


async def test_grace_keeps_the_first_days_quiet(world: World) -> None:
    await world.engagement.update_settings(GUILD, grace=timedelta(hours=3))
    await pairs(world)
    world.clock.advance(timedelta(hours=2))
    assert not (await world.engagement.sweep(GUILD)).nudges
    world.clock.advance(timedelta(hours=1))
    assert (await world.engagement.sweep(GUILD)).nudges


async def test_escalation_after_two_unanswered_nudges_then_the_coordinators_actions(world: World) -> None:
    ((space, (quiet, active)),) = await pairs(world, 2)

    async def tick(minutes: int) -> None:
        world.clock.advance(timedelta(minutes=minutes))
        await world.engagement.record_message(space, active)

    await tick(59)
    world.clock.advance(timedelta(minutes=1))
    first = await world.engagement.sweep(GUILD)
    assert [n.member_id for n in first.nudges] == [quiet]
    await tick(59)
    world.clock.advance(timedelta(minutes=1))
    second = await world.engagement.sweep(GUILD)
    assert [n.member_id for n in second.nudges] == [quiet]
    assert not second.alerts
    await tick(59)
    world.clock.advance(timedelta(minutes=1))
    third = await world.engagement.sweep(GUILD)
    assert not third.nudges
    assert len(third.alerts) == 1
    (guild, text, match_id) = world.outlet.alerts[-1]
    assert guild == GUILD
    assert match_id == third.alerts[0]
    assert f"<@{quiet}>" in text
    assert "2 nudges unanswered" in text
    # No second alert for the same silence, even after a restart.
    await tick(60)
    assert not (await world.restart().sweep(GUILD)).alerts
    health = await world.engagement.health(GUILD)
    assert health is not None
    assert (health.at_risk, health.alerts_open, health.nudges_sent) == (1, 1, 2)
    assert any("at risk: match" in line for line in health_lines(health))

    # Offer a rematch: the partner still writing is the one to rematch.
    assert await world.engagement.rematch_member(GUILD, match_id) == active
    # Nudge again: one manual nudge, the alert is closed.
    summary = await world.engagement.nudge_again(GUILD, match_id, by=1)
    assert "Nudged again" in summary
    assert world.outlet.dms[-1][0] == quiet
    async with world.database.session() as session:
        alert = await session.scalar(select(MatchAlert))
    assert alert is not None
    assert (alert.status, alert.resolution) == ("resolved", "nudged")
    # Still silent after another quiet_after: a new alert.
    world.clock.advance(HOUR)
    await world.engagement.record_message(space, active)
    assert len((await world.engagement.sweep(GUILD)).alerts) == 1
    # End the match: the space becomes read-only, both partners are told.
    summary = await world.engagement.end_match(GUILD, match_id, by=1)
    assert "has ended" in summary
    assert space in world.spaces.closed
    assert {m for m, _ in world.outlet.dms[-2:]} == {quiet, active}
    with pytest.raises(UserFacingError, match="already ended"):
        await world.engagement.end_match(GUILD, match_id, by=1)


async def test_writing_again_answers_the_nudge_and_recovers_the_alert(world: World) -> None:
    ((space, (quiet, active)),) = await pairs(world, 2)
    for _ in range(3):
        world.clock.advance(timedelta(minutes=59))
        await world.engagement.record_message(space, active)
        world.clock.advance(timedelta(minutes=1))
        await world.engagement.sweep(GUILD)
    assert len(world.outlet.alerts) == 1
    await world.engagement.record_message(space, quiet)
    assert all(n.answered_at is not None for n in await nudge_rows(world.database))
    report = await world.engagement.sweep(GUILD)
    assert report.recovered
    health = await world.engagement.health(GUILD)
    assert health is not None
    assert health.alerts_open == 0


# -- settings, health, chart data, digest -----------------------------------------------------


async def test_settings_are_validated_and_stored(world: World) -> None:
    stored = await world.engagement.settings(GUILD)
    assert stored.quiet_after == HOUR
    with pytest.raises(UserFacingError, match="quiet_after"):
        await world.engagement.update_settings(GUILD, quiet_after=timedelta(minutes=30))
    with pytest.raises(UserFacingError, match="quiet_after"):
        await world.engagement.update_settings(GUILD, quiet_after=timedelta(days=61))
    with pytest.raises(UserFacingError, match="max_nudges"):
        await world.engagement.update_settings(GUILD, max_nudges=0)
    with pytest.raises(UserFacingError, match="sweep_every"):
        await world.engagement.update_settings(GUILD, sweep_every=timedelta(hours=2))
    updated = await world.engagement.update_settings(GUILD, quiet_after=timedelta(days=7), max_nudges=3)
    assert (updated.quiet_after, updated.max_nudges, updated.sweep_every) == (
        timedelta(days=7),
        3,
        timedelta(minutes=5),
    )
    assert await world.engagement.settings(GUILD) == updated
    defaults = await world.engagement.settings(GUILD + 1)
    assert (defaults.quiet_after, defaults.max_nudges, defaults.grace, defaults.sweep_every) == (
        timedelta(days=7),
        2,
        timedelta(days=3),
        HOUR,
    )
    check_settings(defaults)
    assert (await world.engagement.sweep_schedule([GUILD + 1])) == {
        GUILD: timedelta(minutes=5),
        GUILD + 1: HOUR,
    }


async def test_health_and_weekly_activity(world: World) -> None:
    (space, (a, b)), (other, (c, d)) = await pairs(world, 4)
    assert (await world.engagement.health(GUILD)) is not None
    for _ in range(3):
        await world.engagement.record_message(space, a)
    await world.engagement.record_message(space, b)
    world.clock.advance(timedelta(days=8))
    await world.engagement.record_message(space, a)
    await world.engagement.record_message(space, b)
    health = await world.engagement.health(GUILD)
    assert health is not None
    assert (health.matches, health.active, health.quiet, health.at_risk) == (2, 1, 1, 0)
    assert health.never_seen == 2
    data = await world.engagement.weekly_activity(GUILD)
    assert data is not None
    assert data.weeks == (
        week_start(START),
        week_start(START) + timedelta(weeks=1),
        week_start(START + timedelta(days=8)),
    )
    assert sorted((m.counts, m.quiet) for m in data.matches) == [((0, 0, 0), True), ((4, 0, 2), False)]
    assert data.totals == (4, 0, 2)
    assert (c, d, other) != (0, 0, 0)


async def test_no_health_before_a_launch(world: World) -> None:
    assert await world.engagement.health(GUILD) is None
    assert await world.engagement.weekly_activity(GUILD) is None


async def test_the_weekly_digest_goes_out_once_a_week(world: World) -> None:
    await world.engagement.update_settings(GUILD, quiet_after=timedelta(days=7), sweep_every=HOUR)
    (space, (a, _b)), _ = await pairs(world)
    await world.engagement.record_message(space, a)
    world.clock.advance(timedelta(days=6))
    assert not (await world.engagement.sweep(GUILD)).digest
    world.clock.advance(timedelta(days=1))
    report = await world.engagement.sweep(GUILD)
    assert report.digest
    digests = [text for _g, text, match in world.outlet.alerts if match is None]
    assert len(digests) == 1
    assert "Weekly digest: Spring 2026" in digests[0]
    assert "nudges sent" in digests[0]
    world.clock.advance(HOUR)
    assert not (await world.restart().sweep(GUILD)).digest


def test_alert_keys_round_trip() -> None:
    states = [(3, START, 2), (1, START + HOUR, 3)]
    assert parse_alert_key(alert_key(states)) == sorted(states)
    assert parse_alert_key("junk,1@x#2") == []


async def test_a_group_nudge_half_claimed_elsewhere_is_not_claimed_again(world: World) -> None:
    """Two processes sweep one quiet space at once and both decide on one message for both partners.
    Had each claimed one partner's row, each would post it: claims are all or nothing."""
    await pairs(world)
    world.clock.advance(HOUR)
    other_process = make_service(world.database, world.clock, world.rounds, FakeOutlet())
    await other_process.sweep(GUILD)
    rows = [
        n
        for n in await nudge_rows(world.database)
        if n.match_id == (await nudge_rows(world.database))[0].match_id
    ]
    assert len(rows) == 2
    async with world.database.session() as session:
        await session.delete(await session.get(Nudge, rows[0].id))  # only the second partner's claim is in
    claimed = await world.engagement._claim(
        rows[0].match_id,
        [n.match_member_id for n in rows],
        [n.quiet_since for n in rows],
        [n.number for n in rows],
        rows[0].kind,
        world.clock.now(),
    )
    assert claimed == []
    assert [
        n.match_member_id for n in await nudge_rows(world.database) if n.match_id == rows[0].match_id
    ] == [rows[1].match_member_id]
    # With both rows free, one run claims both.
    async with world.database.session() as session:
        await session.delete(await session.get(Nudge, rows[1].id))
    keys = [n.match_member_id for n in rows]
    assert await world.engagement._claim(
        rows[0].match_id,
        keys,
        [n.quiet_since for n in rows],
        [n.number for n in rows],
        rows[0].kind,
        world.clock.now(),
    ) == sorted(keys)
