"""The rounds service against a real database (SQLite, and PostgreSQL when configured), with a fake
space adapter standing in for Discord."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import DEFAULT_PROMPTS_DIR
from bot.db import Database
from bot.errors import UserFacingError
from bot.intro import SpaceMessage
from bot.models import Match, MatchMember, Round
from bot.participants import ParticipantService
from bot.programmes import ProgrammeService
from bot.rounds import (
    CLOSED,
    CREATED,
    CREATING,
    DELETED,
    FAILED,
    GuildCapacity,
    RoundService,
    SpaceError,
    SpaceSpec,
    status_lines,
)
from bot.space_plan import AUTO, CHANNEL, THREAD
from tests.unit.test_participants import person

GUILD = 900000000000000001
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
COUNTRIES = ("CL", "JP", "KE", "DE", "BR", "IN")
ZONES = {"CL": "America/Santiago", "JP": "Asia/Tokyo", "KE": "Africa/Nairobi", "DE": "Europe/Berlin",
         "BR": "America/Sao_Paulo", "IN": "Asia/Kolkata"}  # fmt: skip


@dataclass
class FakeSpaces:
    """Discord as a dictionary; failures are injected per method."""

    channels: int = 3
    missing: list[str] = field(default_factory=list)
    spaces: dict[int, SpaceSpec] = field(default_factory=dict)
    members: dict[int, set[int]] = field(default_factory=dict)
    messages: dict[int, list[SpaceMessage]] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)
    deleted: list[int] = field(default_factory=list)
    containers: dict[int, str] = field(default_factory=dict)
    fail: dict[str, list[SpaceError]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    next_id: int = 1000

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _maybe_fail(self, name: str) -> None:
        self.calls[name] += 1
        queue = self.fail.get(name)
        if queue:
            raise queue.pop(0)

    async def capacity(self, guild_id: int) -> GuildCapacity:
        return GuildCapacity(self.channels + len(self.containers) + len(self.spaces), 0)

    async def missing_permissions(self, guild_id: int, kind: str, parent_id: int | None) -> list[str]:
        return list(self.missing)

    async def ensure_category(self, guild_id: int, name: str, known_id: int | None) -> int:
        self._maybe_fail("ensure_category")
        if known_id in self.containers:
            return known_id  # type: ignore[return-value]
        new = self._id()
        self.containers[new] = name
        return new

    async def free_category_slots(self, guild_id: int, category_id: int) -> int | None:
        return 50 if category_id in self.containers else None

    async def ensure_parent(self, guild_id, name, marker, known_id, role_id, see) -> int:  # type: ignore[no-untyped-def]
        return await self.ensure_category(guild_id, name, known_id)

    async def find_space(self, spec: SpaceSpec) -> int | None:
        return next((i for i, s in self.spaces.items() if s.match_id == spec.match_id), None)

    async def create_space(self, spec: SpaceSpec) -> int:
        self._maybe_fail("create_space")
        new = self._id()
        self.spaces[new] = spec
        self.members[new] = set(spec.member_ids) if spec.kind == CHANNEL else set()
        self.messages[new] = []
        return new

    async def admit(self, spec: SpaceSpec, space_id: int) -> None:
        self.members[space_id] |= set(spec.member_ids)

    async def find_message(self, space_id: int, marker: str) -> int | None:
        found = [i for i, m in enumerate(self.messages[space_id]) if m.marker == marker]
        return found[0] + 1 if found else None

    async def post(self, space_id: int, message: SpaceMessage) -> int:
        self._maybe_fail("post")
        self.messages[space_id].append(message)
        return len(self.messages[space_id])

    async def set_members(self, spec: SpaceSpec, space_id: int, removed: Sequence[int] = ()) -> None:
        self.members[space_id] = set(spec.member_ids)

    async def close_space(self, spec: SpaceSpec, space_id: int) -> None:
        self.closed.add(space_id)

    async def delete_channel(self, channel_id: int) -> None:
        self.deleted.append(channel_id)

    def intros(self) -> Counter[int]:
        return Counter(
            space for space, messages in self.messages.items() for m in messages if "introduction" in m.marker
        )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def fake() -> FakeSpaces:
    return FakeSpaces()


@pytest.fixture
def alerts() -> list[tuple[int, str]]:
    return []


@pytest.fixture
def participants(database: Database, clock: ManualClock) -> ParticipantService:
    return ParticipantService(database, clock)


@pytest.fixture
def rounds(
    database: Database,
    clock: ManualClock,
    participants: ParticipantService,
    fake: FakeSpaces,
    alerts: list[tuple[int, str]],
) -> RoundService:
    async def alert(guild_id: int, text: str) -> None:
        alerts.append((guild_id, text))

    service = RoundService(
        database,
        clock,
        participants,
        ProgrammeService(database, clock),
        spaces=fake,
        alert=alert,
        topics_dir=DEFAULT_PROMPTS_DIR / "topics",
    )
    service.retry_delays = (0.0, 0.0)
    return service


async def enrol(participants: ParticipantService, count: int, first: int = 1) -> None:
    people = [
        person(
            i,
            COUNTRIES[i % len(COUNTRIES)],
            name=f"Person {i}",
            timezone=ZONES[COUNTRIES[i % len(COUNTRIES)]],
            languages=frozenset({"en"}),
        )
        for i in range(first, first + count)
    ]
    await participants.import_applicants(GUILD, people)


async def launched(rounds: RoundService, participants: ParticipantService, count: int = 10) -> int:
    info = await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, count)
    await rounds.preview(GUILD)
    check = await rounds.check_launch(GUILD)
    await rounds.start_launch(info.id, check.plan.kind)
    report = await rounds.run_launch(info.id)
    assert not report.failures
    return info.id


async def matches(database: Database, round_id: int) -> list[Match]:
    async with database.session() as session:
        return list((await session.scalars(select(Match).where(Match.round_id == round_id))).all())


# -- create -------------------------------------------------------------------------------------


async def test_a_round_has_ilns_defaults(rounds: RoundService) -> None:
    info = await rounds.create_round(GUILD, "  Spring   2026 ", START)
    assert info.name == "Spring 2026"
    assert info.status == "draft"
    assert info.ends_at - info.starts_at == timedelta(weeks=16)
    assert info.cadence_seconds == 14 * 86400
    assert info.group_size == 2


async def test_bad_rounds_are_refused(rounds: RoundService) -> None:
    with pytest.raises(UserFacingError, match="end after it starts"):
        await rounds.create_round(GUILD, "R", START, ends_at=START)
    with pytest.raises(UserFacingError, match="longer than the round"):
        await rounds.create_round(GUILD, "R", START, length=timedelta(days=1), cadence=timedelta(days=2))
    with pytest.raises(UserFacingError, match="groups of 3"):
        await rounds.create_round(GUILD, "R", START, group_size=3)
    await rounds.create_round(GUILD, "R", START, length=timedelta(minutes=30), cadence=timedelta(seconds=45))
    with pytest.raises(UserFacingError, match="already open for signups"):
        await rounds.create_round(GUILD, "Another", START)


# -- preview ------------------------------------------------------------------------------------


async def test_a_preview_needs_participants(rounds: RoundService) -> None:
    with pytest.raises(UserFacingError, match="No round is open"):
        await rounds.preview(GUILD)
    await rounds.create_round(GUILD, "Spring 2026", START)
    with pytest.raises(UserFacingError, match="Nobody is enrolled"):
        await rounds.preview(GUILD)
    with pytest.raises(UserFacingError, match="Nobody is enrolled"):
        await rounds.check_launch(GUILD)


async def test_the_preview_is_stored_and_replaced_by_a_rerun(
    rounds: RoundService, participants: ParticipantService, database: Database
) -> None:
    info = await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, 11)
    first = await rounds.preview(GUILD)
    assert first.result.quality.matches == 5  # four pairs and a trio
    assert len(await matches(database, info.id)) == 5
    assert "Participants: 11" in first.summary_lines()
    rows = first.csv_bytes().decode("utf-8-sig").splitlines()
    assert rows[0].startswith("match")
    assert len(rows) == 6
    second = await rounds.preview(GUILD, seed=first.seed + 1)
    assert second.seed == first.seed + 1
    stored = await matches(database, info.id)
    assert len(stored) == 5
    assert all(m.status == "proposed" for m in stored)


async def test_pins_and_forbids_reach_the_matcher(
    rounds: RoundService, participants: ParticipantService
) -> None:
    await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, 12)
    await rounds.set_pair(GUILD, 1, 2, "pin")
    await rounds.set_pair(GUILD, 3, 4, "forbid")
    preview = await rounds.preview(GUILD)
    pairs = {m.member_ids for m in preview.result.matches}
    assert (1, 2) in pairs
    assert (3, 4) not in pairs
    assert (preview.pins, preview.forbids) == (1, 1)
    assert await rounds.clear_pairs(GUILD) == 2


async def test_launch_needs_a_current_preview(
    rounds: RoundService, participants: ParticipantService, clock: ManualClock
) -> None:
    await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, 4)
    with pytest.raises(UserFacingError, match="no proposal yet"):
        await rounds.check_launch(GUILD)
    await rounds.preview(GUILD)
    clock.advance(timedelta(minutes=1))
    await enrol(participants, 1, first=50)
    with pytest.raises(UserFacingError, match="out of date"):
        await rounds.check_launch(GUILD)


# -- launch -------------------------------------------------------------------------------------


async def test_launch_creates_each_space_and_intro_once(
    rounds: RoundService, participants: ParticipantService, fake: FakeSpaces, database: Database
) -> None:
    info = await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, 10)
    await rounds.preview(GUILD)
    check = await rounds.check_launch(GUILD, AUTO)
    assert (check.plan.kind, check.plan.spaces, check.resuming) == (CHANNEL, 5, False)
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    await rounds.start_launch(info.id, check.plan.kind)
    report = await rounds.run_launch(info.id, progress)
    assert (report.total, report.ready, report.failures) == (5, 5, ())
    assert seen[0] == (0, 5)
    assert seen[-1] == (5, 5)
    assert len(fake.spaces) == 5
    assert len(fake.containers) == 1
    assert set(fake.intros().values()) == {1}
    for space, spec in fake.spaces.items():
        assert fake.members[space] == set(spec.member_ids)
        assert spec.name == "-".join(sorted(f"person-{m}" for m in spec.member_ids))
    stored = await matches(database, info.id)
    assert all(m.space_status == CREATED and m.intro_status == "posted" for m in stored)
    # Running it again does nothing, and a second launch is refused.
    again = await rounds.run_launch(info.id)
    assert again.ready == 5
    assert len(fake.spaces) == 5
    assert set(fake.intros().values()) == {1}
    with pytest.raises(UserFacingError, match="already launched"):
        await rounds.check_launch(GUILD)
    lines = status_lines(await rounds.status(GUILD))
    assert any("5 ready" in line and "intros posted: 5" in line for line in lines)


async def test_threads_get_one_parent_and_members_added(
    rounds: RoundService, participants: ParticipantService, fake: FakeSpaces
) -> None:
    info = await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, 6)
    await rounds.preview(GUILD)
    check = await rounds.check_launch(GUILD, THREAD)
    await rounds.start_launch(info.id, check.plan.kind)
    await rounds.run_launch(info.id)
    assert len(fake.containers) == 1
    assert {s.container_id for s in fake.spaces.values()} == set(fake.containers)
    assert all(fake.members[i] == set(s.member_ids) for i, s in fake.spaces.items())


async def test_missing_permissions_change_nothing(
    rounds: RoundService, participants: ParticipantService, fake: FakeSpaces, database: Database
) -> None:
    info = await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, 4)
    await rounds.preview(GUILD)
    fake.missing = ["Manage Channels"]
    with pytest.raises(UserFacingError, match=r"missing \*\*Manage Channels\*\*.*nothing was changed"):
        await rounds.check_launch(GUILD)
    async with database.session() as session:
        assert (await session.get(Round, info.id)).status == "draft"  # type: ignore[union-attr]
    assert not fake.spaces


async def test_a_resumed_launch_adopts_a_space_made_before_a_crash(
    rounds: RoundService, participants: ParticipantService, fake: FakeSpaces, database: Database
) -> None:
    info = await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, 8)
    await rounds.preview(GUILD)
    await rounds.start_launch(info.id, CHANNEL)
    # A crash after Discord made the first space, before the database recorded it:
    first = min(m.id for m in await matches(database, info.id) if m.id)
    async with database.session() as session:
        match = await session.get(Match, first)
        assert match is not None
        match.space_status = CREATING
        names = (
            await session.scalars(select(MatchMember.member_id).where(MatchMember.match_id == first))
        ).all()
    category = await fake.ensure_category(GUILD, "Spring 2026 · spaces", None)
    async with database.session() as session:
        row = await session.get(Round, info.id)
        assert row is not None
        row.category_ids = [category]
    spec = SpaceSpec(GUILD, first, CHANNEL, "x", category, tuple(n for n in names if n))
    orphan = await fake.create_space(spec)
    report = await rounds.run_launch(info.id)
    assert report.ready == 4
    assert len(fake.spaces) == 4
    assert fake.intros()[orphan] == 1
    assert len(fake.containers) == 1


async def test_an_intro_claimed_before_a_crash_is_not_posted_twice(
    rounds: RoundService, participants: ParticipantService, fake: FakeSpaces, database: Database
) -> None:
    round_id = await launched(rounds, participants, 4)
    stored = await matches(database, round_id)
    async with database.session() as session:
        for m in stored:
            row = await session.get(Match, m.id)
            assert row is not None
            row.intro_status, row.intro_message_id = "posting", None
    await rounds.run_launch(round_id)
    assert set(fake.intros().values()) == {1}


async def test_transient_errors_are_retried_and_permanent_ones_reported(
    rounds: RoundService, participants: ParticipantService, fake: FakeSpaces, database: Database
) -> None:
    info = await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, 8)
    await rounds.preview(GUILD)
    await rounds.start_launch(info.id, CHANNEL)
    rounds.workers = 1
    fake.fail["create_space"] = [
        SpaceError("Discord answered 503", permanent=False),
        SpaceError("missing permissions", permanent=True),
    ]
    report = await rounds.run_launch(info.id)
    assert report.ready == 3
    assert [f.error for f in report.failures] == ["missing permissions"]
    assert "Run /round launch again" in "\n".join(report.lines())
    status = await rounds.status(GUILD)
    assert status.spaces == {CREATED: 3, FAILED: 1}
    assert "could not be created" in status_lines(status)[-1]
    check = await rounds.check_launch(GUILD)
    assert check.resuming
    assert check.remaining == 1
    retried = await rounds.run_launch(info.id)
    assert retried.ready == 4
    assert len(fake.spaces) == 4


# -- end ----------------------------------------------------------------------------------------


async def test_ending_needs_a_launched_round(rounds: RoundService, participants: ParticipantService) -> None:
    with pytest.raises(UserFacingError, match="no launched round"):
        await rounds.end_round(GUILD)
    await rounds.create_round(GUILD, "Spring 2026", START)
    with pytest.raises(UserFacingError, match="not launched yet"):
        await rounds.end_round(GUILD)


async def test_ending_closes_each_space_once_and_deletes_after_retention(
    rounds: RoundService,
    participants: ParticipantService,
    fake: FakeSpaces,
    database: Database,
    clock: ManualClock,
) -> None:
    round_id = await launched(rounds, participants, 6)
    clock.advance(timedelta(weeks=16))
    info = await rounds.end_round(GUILD, timedelta(days=30))
    assert info.status == "ended"
    assert await rounds.unfinished_closings() == [round_id]
    assert await rounds.run_closing(round_id) == (3, 0)
    assert await rounds.run_closing(round_id) == (0, 0)
    assert fake.closed == set(fake.spaces)
    closing = [m for ms in fake.messages.values() for m in ms if "ended" in m.content]
    assert len(closing) == 3
    assert "deleted in 30d" in closing[0].content
    assert await rounds.deletions_due() == [(round_id, clock.now() + timedelta(days=30))]
    assert await rounds.delete_spaces(round_id) == 3
    assert set(fake.deleted) == set(fake.spaces) | set(fake.containers)
    assert await rounds.deletions_due() == []
    with pytest.raises(UserFacingError, match="no launched round"):
        await rounds.end_round(GUILD)


# -- leaving, deletion, rematch -----------------------------------------------------------------


async def test_a_leaver_is_taken_out_and_coordinators_get_a_rematch_offer(
    rounds: RoundService,
    participants: ParticipantService,
    fake: FakeSpaces,
    database: Database,
    alerts: list[tuple[int, str]],
) -> None:
    round_id = await launched(rounds, participants, 8)
    stored = await matches(database, round_id)
    async with database.session() as session:
        members = (
            await session.scalars(select(MatchMember).where(MatchMember.match_id == stored[0].id))
        ).all()
    leaver, stayer = members[0].member_id, members[1].member_id
    assert leaver is not None
    assert stayer is not None
    await participants.leave_current_round(GUILD, leaver)
    left = await rounds.handle_member_left(GUILD, leaver, "left the server")
    assert [p.member_id for p in left[0].remaining] == [stayer]
    space = stored[0].space_id
    assert space is not None
    assert fake.members[space] == {stayer}
    assert "has left the programme" in fake.messages[space][-1].content
    assert "/round rematch" in alerts[-1][1]
    assert f"<@{stayer}>" in alerts[-1][1]
    status = await rounds.status(GUILD)
    assert status.attention[0][0] == stored[0].id

    choice = await rounds.rematch_options(GUILD, stayer)
    assert choice.current_match_id == stored[0].id
    assert choice.options
    assert all(o.kind == "trio" for o in choice.options)
    option = choice.options[0]
    summary = await rounds.apply_rematch(GUILD, stayer, option)
    assert "now shares" in summary
    target = next(m for m in stored if m.id == option.match_id)
    assert target.space_id is not None
    assert stayer in fake.members[target.space_id]
    assert len(fake.members[target.space_id]) == 3
    assert "joins this space" in fake.messages[target.space_id][-1].title
    assert space in fake.closed
    after = {m.id: m for m in await matches(database, round_id)}
    assert after[stored[0].id].status == "dissolved"
    assert (await rounds.status(GUILD)).attention == ()


async def test_two_partnerless_members_are_offered_each_other(
    rounds: RoundService, participants: ParticipantService, fake: FakeSpaces, database: Database
) -> None:
    round_id = await launched(rounds, participants, 8)
    stored = await matches(database, round_id)
    async with database.session() as session:
        groups = [
            (await session.scalars(select(MatchMember.member_id).where(MatchMember.match_id == m.id))).all()
            for m in stored[:2]
        ]
    for group in groups:
        await participants.leave_current_round(GUILD, group[0])  # type: ignore[arg-type]
        await rounds.handle_member_left(GUILD, group[0], "left")  # type: ignore[arg-type]
    choice = await rounds.rematch_options(GUILD, groups[0][1])  # type: ignore[arg-type]
    pairs = [o for o in choice.options if o.kind == "pair"]
    if pairs:  # allowed under the rules (different countries, shared language)
        assert pairs[0].partners[0].member_id == groups[1][1]
        await rounds.apply_rematch(GUILD, groups[0][1], pairs[0])  # type: ignore[arg-type]
        assert fake.members[stored[1].space_id] == {groups[0][1], groups[1][1]}  # type: ignore[index]


async def test_a_space_deleted_by_hand_is_marked_and_can_be_recreated(
    rounds: RoundService,
    participants: ParticipantService,
    fake: FakeSpaces,
    database: Database,
    alerts: list[tuple[int, str]],
) -> None:
    round_id = await launched(rounds, participants, 4)
    stored = await matches(database, round_id)
    space = stored[0].space_id
    assert space is not None
    assert await rounds.space_deleted(GUILD, space) == [stored[0].id]
    assert await rounds.space_deleted(GUILD, 123) == []
    assert "was deleted" in alerts[-1][1]
    status = await rounds.status(GUILD)
    assert status.spaces[DELETED] == 1
    async with database.session() as session:
        someone = await session.scalar(
            select(MatchMember.member_id).where(MatchMember.match_id == stored[0].id)
        )
    choice = await rounds.rematch_options(GUILD, someone)  # type: ignore[arg-type]
    assert choice.options[0].kind == "recreate"
    await rounds.apply_rematch(GUILD, someone, choice.options[0])  # type: ignore[arg-type]
    after = {m.id: m for m in await matches(database, round_id)}
    assert after[stored[0].id].space_status == CREATED
    assert after[stored[0].id].space_id != space
    assert len(fake.spaces) == 3


async def test_ended_spaces_deleted_by_hand_raise_no_alert(
    rounds: RoundService, participants: ParticipantService, database: Database, alerts: list[tuple[int, str]]
) -> None:
    round_id = await launched(rounds, participants, 4)
    await rounds.end_round(GUILD)
    await rounds.run_closing(round_id)
    stored = await matches(database, round_id)
    before = len(alerts)
    await rounds.space_deleted(GUILD, stored[0].space_id)  # type: ignore[arg-type]
    assert len(alerts) == before
    assert {m.space_status for m in await matches(database, round_id)} == {CLOSED, DELETED}
