"""The topic schedule against a real database (SQLite, and PostgreSQL when configured), with a fake
space adapter standing in for Discord and a ManualClock standing in for time."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import DEFAULT_PROMPTS_DIR
from bot.db import Database
from bot.errors import UserFacingError
from bot.intro import SpaceMessage
from bot.models import Match, TopicPost
from bot.participants import ParticipantService
from bot.programmes import ProgrammeService
from bot.rounds import RoundService, SpaceError
from bot.topic_posts import POSTED, POSTING, TopicPostService, job_id, topic_marker
from tests.unit.test_participants import person
from tests.unit.test_rounds import GUILD, FakeSpaces, enrol

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TOPICS = DEFAULT_PROMPTS_DIR / "topics"
FIRST = "01-getting-to-know-you"


@dataclass
class FakeTopicSpaces(FakeSpaces):
    threads: dict[int, SpaceMessage] = field(default_factory=dict)

    async def open_discussion(self, channel_id: int, message: SpaceMessage, name: str) -> int:
        self._maybe_fail("open_discussion")
        new = self._id()
        self.threads[new] = message
        return new

    def topics(self, space_id: int) -> list[str]:
        """The topic keys posted in a space, in order."""
        return [m.marker.split("[")[1].rstrip("]") for m in self.messages[space_id] if "topic [" in m.marker]

    def all_topics(self) -> dict[int, list[str]]:
        return {space: self.topics(space) for space in self.spaces}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def fake() -> FakeTopicSpaces:
    return FakeTopicSpaces()


@pytest.fixture
def alerts() -> list[tuple[int, str]]:
    return []


@pytest.fixture
async def scheduler() -> AsyncIOScheduler:
    sched = AsyncIOScheduler(timezone=UTC)
    sched.start(paused=True)  # jobs get their run dates but never fire: the tests call the service
    yield sched
    sched.shutdown(wait=False)


def make_services(
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
    alerts: list[tuple[int, str]],
    scheduler: AsyncIOScheduler | None = None,
    topics_dir: Path = TOPICS,
) -> tuple[RoundService, TopicPostService]:
    async def alert(guild_id: int, text: str) -> None:
        alerts.append((guild_id, text))

    participants = ParticipantService(database, clock)
    rounds = RoundService(
        database, clock, participants, ProgrammeService(database, clock), spaces=fake, alert=alert
    )
    rounds.retry_delays = (0.0, 0.0)
    topics = TopicPostService(
        database,
        clock,
        topics_dir=topics_dir,
        spaces=fake,
        scheduler=scheduler,
        alert=alert,
        space_deleted=rounds.space_deleted,
    )
    topics.retry_delays = (0.0, 0.0)
    rounds.topics = topics
    return rounds, topics


@pytest.fixture
def services(
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
    alerts: list[tuple[int, str]],
    scheduler: AsyncIOScheduler,
) -> tuple[RoundService, TopicPostService]:
    return make_services(database, clock, fake, alerts, scheduler)


async def launch(
    rounds: RoundService,
    database: Database,
    clock: ManualClock,
    count: int = 6,
    cadence: timedelta = timedelta(days=14),
    length: timedelta = timedelta(weeks=16),
) -> int:
    info = await rounds.create_round(GUILD, "Spring 2026", START, length=length, cadence=cadence)
    await enrol(ParticipantService(database, clock), count)
    await rounds.preview(GUILD)
    check = await rounds.check_launch(GUILD)
    await rounds.start_launch(info.id, check.plan.kind)
    report = await rounds.run_launch(info.id)
    assert not report.failures
    return info.id


async def posts(database: Database) -> list[TopicPost]:
    async with database.session() as session:
        return list((await session.scalars(select(TopicPost).order_by(TopicPost.id))).all())


# -- the launch hands over; due topics go out in order, once ----------------------------------


async def test_the_launch_posts_topic_one_in_full_and_the_intro_only_names_it(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
) -> None:
    rounds, _topics = services
    await launch(rounds, database, clock)
    assert len(fake.spaces) == 3
    for space, messages in fake.messages.items():
        assert [m.marker.endswith("introduction") for m in messages] == [True, False]
        intro, topic = messages
        first = dict(intro.fields)["First topic: Getting to know each other"]
        assert "follows as a message of its own" in first
        assert "every 2w" in first
        assert "within a week" not in first  # the text itself comes in full, once, below
        assert topic.title == "Getting to know each other"
        assert "within a week" in topic.description
        assert topic.footer == topic_marker(next(m for m, s in fake.spaces.items() if m == space) and
                                            fake.spaces[space].match_id, FIRST)  # fmt: skip
        assert set(topic.mention_ids) == set(fake.spaces[space].member_ids)
    assert all(p.status == POSTED and p.message_id for p in await posts(database))


async def test_each_release_is_posted_once_in_order(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
) -> None:
    rounds, topics = services
    round_id = await launch(rounds, database, clock)
    keys = [t.key for t in topics.library]
    for step in range(1, 8):
        clock.advance(timedelta(days=14))
        report = await topics.post_due_topics(round_id)
        assert report.posted == 3
        again = await topics.post_due_topics(round_id)
        assert again.posted == 0
        assert fake.all_topics() == dict.fromkeys(fake.spaces, keys[: step + 1])
    clock.advance(timedelta(days=30))  # the round is over: 16 weeks hold 8 releases
    assert (await topics.post_due_topics(round_id)).posted == 0
    assert fake.all_topics() == dict.fromkeys(fake.spaces, keys)


async def test_a_bot_that_was_down_posts_every_missed_release_once_in_order(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
) -> None:
    rounds, topics = services
    await launch(rounds, database, clock)
    clock.advance(timedelta(days=43))  # releases 1, 2 and 3 fell due while nobody was running
    assert await topics.rebuild() == 4  # releases 4 to 7 are in the future
    keys = [t.key for t in topics.library]
    assert fake.all_topics() == dict.fromkeys(fake.spaces, keys[:4])
    await topics.rebuild()
    assert fake.all_topics() == dict.fromkeys(fake.spaces, keys[:4])


# -- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [("Europe/Berlin", 8, 7), ("America/New_York", 14, 13), ("Australia/Sydney", 22, 23)],
)
async def test_a_sixteen_week_round_keeps_nine_local_across_daylight_saving(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    zone: str,
    before: int,
    after: int,
) -> None:
    rounds, topics = services
    await rounds._programmes.update(GUILD, timezone=zone)
    await rounds.create_round(GUILD, "Spring 2026", START)
    schedule = await topics.schedule(GUILD)
    times = [item.at for item in schedule.topics]
    assert len(times) == 8
    assert all(t is not None for t in times)
    local = [t.astimezone(ZoneInfo(zone)) for t in times if t is not None]
    assert all(t.hour == 9 and t.minute == 0 for t in local[1:])  # the first may be at the start
    assert [(b.date() - a.date()).days for a, b in itertools.pairwise(local)][1:] == [14] * 6
    utc_hours = [t.hour for t, here in zip(times, local, strict=True) if t is not None and here.hour == 9]
    assert utc_hours[0] == before
    assert utc_hours[-1] == after
    text = "\n".join(schedule.lines())
    assert zone in text


async def test_topics_that_do_not_fit_before_the_end_are_named(
    services: tuple[RoundService, TopicPostService], clock: ManualClock
) -> None:
    rounds, topics = services
    await rounds.create_round(GUILD, "Short", START, length=timedelta(weeks=6))
    schedule = await topics.schedule(GUILD)
    assert [item.at is not None for item in schedule.topics] == [True] * 3 + [False] * 5
    assert "5 topics do not fit before the round ends" in "\n".join(schedule.lines())


# -- exactly once, whatever happens ------------------------------------------------------------


async def test_two_processes_racing_post_each_topic_once(
    database: Database, clock: ManualClock, fake: FakeTopicSpaces, alerts: list[tuple[int, str]]
) -> None:
    rounds, first = make_services(database, clock, fake, alerts)
    round_id = await launch(rounds, database, clock, count=20)
    _, second = make_services(database, clock, fake, alerts)
    first.workers = second.workers = 3
    clock.advance(timedelta(days=29))
    reports = await asyncio.gather(
        first.post_due_topics(round_id), second.post_due_topics(round_id), first.post_due_topics(round_id)
    )
    keys = [t.key for t in first.library][:3]
    assert sum(r.posted for r in reports) == 10 * 2
    assert fake.all_topics() == dict.fromkeys(fake.spaces, keys)


async def test_a_claim_left_by_a_crash_is_recovered_from_the_space_not_posted_again(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
) -> None:
    rounds, topics = services
    round_id = await launch(rounds, database, clock)
    clock.advance(timedelta(days=14))
    match = (await matches(database))[0]
    second = [t.key for t in topics.library][1]
    # The process claimed topic 2 for this space, sent it, and died before recording the id.
    async with database.session() as session:
        session.add(
            TopicPost(
                round_id=round_id, match_id=match.id, topic_key=second, status=POSTING, claimed_at=clock.now()
            )
        )
    message = SpaceMessage(
        "", title="x", footer=topic_marker(match.id, second), marker=topic_marker(match.id, second)
    )
    fake.messages[match.space_id].append(message)
    await topics.post_due_topics(round_id)
    assert fake.topics(match.space_id).count(second) == 1  # a live claim: nobody else posts
    clock.advance(topics.claim_lease)
    await topics.post_due_topics(round_id)
    assert fake.topics(match.space_id).count(second) == 1  # the lease is over: found, not re-sent
    row = next(p for p in await posts(database) if p.match_id == match.id and p.topic_key == second)
    assert row.status == POSTED
    assert row.message_id == len(fake.messages[match.space_id])
    assert fake.all_topics() == dict.fromkeys(fake.spaces, [t.key for t in topics.library][:2])


async def test_topic_post_after_the_schedule_posts_nothing_twice(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
) -> None:
    rounds, topics = services
    round_id = await launch(rounds, database, clock)
    report = await topics.post_topic_now(GUILD, 1)
    assert report.posted == 0
    assert (await topics.post_topic_now(GUILD, 3)).posted == 3  # ahead of its date
    clock.advance(timedelta(days=28))
    assert (await topics.post_due_topics(round_id)).posted == 3  # only topic 2 was still to come
    keys = [t.key for t in topics.library]
    assert fake.all_topics() == {key: [keys[0], keys[2], keys[1]] for key in fake.spaces}


async def test_a_space_that_refuses_is_recorded_reported_once_and_retried_by_topic_post(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
    alerts: list[tuple[int, str]],
) -> None:
    rounds, topics = services
    round_id = await launch(rounds, database, clock)
    clock.advance(timedelta(days=14))
    fake.fail["post"] = [SpaceError("Discord refused: missing permissions (50013)", permanent=True)]
    report = await topics.post_due_topics(round_id)
    assert report.posted == 2
    assert len(report.failures) == 1
    assert len(alerts) == 1
    assert "could not be posted" in alerts[0][1]
    assert "missing permissions" in alerts[0][1]
    failed = [p for p in await posts(database) if p.status == "failed"]
    assert len(failed) == 1
    assert "missing permissions" in (failed[0].error or "")
    await topics.post_due_topics(round_id)  # the schedule does not retry, nor report again
    assert len(alerts) == 1
    schedule = await topics.schedule(GUILD)
    assert schedule.topics[1].posted == 2
    assert schedule.topics[1].failed == 1
    retried = await topics.post_topic_now(GUILD, 2)
    assert retried.posted == 1
    assert not retried.failures
    assert fake.all_topics() == dict.fromkeys(fake.spaces, [t.key for t in topics.library][:2])


async def test_a_space_deleted_behind_the_bots_back_is_marked_and_the_coordinators_told(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
    alerts: list[tuple[int, str]],
) -> None:
    rounds, topics = services
    round_id = await launch(rounds, database, clock)
    clock.advance(timedelta(days=14))
    fake.fail["post"] = [SpaceError("not found on Discord (Unknown Channel)", permanent=True, gone=True)]
    await topics.post_due_topics(round_id)
    texts = "\n".join(text for _, text in alerts)
    assert "not found" in texts
    assert "was deleted" in texts  # the rounds service marks the space and offers a rematch
    assert sum(1 for m in await matches(database) if m.space_status == "deleted") == 1
    schedule = await topics.schedule(GUILD)
    assert schedule.unavailable == 1
    assert "no space to post into" in "\n".join(schedule.lines())


async def matches(database: Database) -> list[Match]:
    async with database.session() as session:
        return list((await session.scalars(select(Match).order_by(Match.id))).all())


# -- languages ---------------------------------------------------------------------------------


async def test_a_spanish_speaking_pair_gets_the_spanish_version(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
) -> None:
    rounds, topics = services
    info = await rounds.create_round(GUILD, "Primavera", START)
    participants = ParticipantService(database, clock)
    await participants.import_applicants(
        GUILD,
        [
            person(1, "CL", name="Ana", timezone="America/Santiago", languages=frozenset({"es"})),
            person(2, "ES", name="Luis", timezone="Europe/Madrid", languages=frozenset({"es", "fr"})),
            person(3, "JP", name="Kenji", timezone="Asia/Tokyo", languages=frozenset({"en", "ja"})),
            person(4, "KE", name="Wanjiru", timezone="Africa/Nairobi", languages=frozenset({"en", "sw"})),
        ],
    )
    await rounds.preview(GUILD)
    await rounds.start_launch(info.id, (await rounds.check_launch(GUILD)).plan.kind)
    await rounds.run_launch(info.id)
    titles = {
        frozenset(spec.member_ids): [m.title for m in fake.messages[space] if "topic [" in m.marker]
        for space, spec in fake.spaces.items()
    }
    assert titles[frozenset({1, 2})] == ["Para conocernos"]
    assert titles[frozenset({3, 4})] == ["Getting to know each other"]
    languages = Counter(p.language for p in await posts(database))
    assert languages == Counter({"es": 1, "en": 1})
    spanish = next(s for s, spec in fake.spaces.items() if set(spec.member_ids) == {1, 2})
    intro = fake.messages[spanish][0]
    assert any(name == "First topic: Para conocernos" for name, _ in intro.fields)
    preview = await topics.preview(GUILD, 1, "es")
    assert preview.title == "Para conocernos"
    with pytest.raises(UserFacingError, match="no de version"):
        await topics.preview(GUILD, 2, "de")


# -- jobs --------------------------------------------------------------------------------------


async def test_jobs_are_derived_from_the_database_and_rebuilt_after_a_restart(
    database: Database, clock: ManualClock, fake: FakeTopicSpaces, alerts: list[tuple[int, str]]
) -> None:
    first_scheduler = AsyncIOScheduler(timezone=UTC)
    first_scheduler.start(paused=True)
    rounds, topics = make_services(database, clock, fake, alerts, first_scheduler)
    round_id = await launch(rounds, database, clock)
    times = [t.at for t in (await topics.schedule(GUILD)).topics]
    ids = sorted(job.id for job in first_scheduler.get_jobs())
    assert ids == sorted(job_id(round_id, k) for k in range(1, 8))
    offset = datetime.now(UTC) - clock.now()
    for k in range(1, 8):
        job = first_scheduler.get_job(job_id(round_id, k))
        expected = times[k] + offset  # type: ignore[operator]
        assert abs(job.next_run_time - expected) < timedelta(seconds=5)
        assert job.misfire_grace_time is None
    first_scheduler.shutdown(wait=False)

    # A new process on the same database: nothing in memory, everything from the tables.
    clock.advance(timedelta(days=15))
    second_scheduler = AsyncIOScheduler(timezone=UTC)
    second_scheduler.start(paused=True)
    _, restarted = make_services(database, clock, fake, alerts, second_scheduler)
    assert await restarted.rebuild() == 6
    assert sorted(job.id for job in second_scheduler.get_jobs()) == sorted(
        job_id(round_id, k) for k in range(2, 8)
    )
    assert fake.all_topics() == dict.fromkeys(fake.spaces, [t.key for t in restarted.library][:2])
    # Skipping a topic leaves one release fewer: its job goes.
    await restarted.skip_topic(GUILD, 8)
    await restarted.schedule_jobs(round_id)
    assert second_scheduler.get_job(job_id(round_id, 7)) is None
    second_scheduler.shutdown(wait=False)


# -- the round's own list -----------------------------------------------------------------------


async def test_coordinators_add_move_skip_and_unskip_topics(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
) -> None:
    rounds, topics = services
    await rounds.create_round(GUILD, "Spring 2026", START)
    assert await topics.add_topic(GUILD, "Volunteers  at work", "1. Who helps you? @everyone") == 9
    assert await topics.add_topic(GUILD, "Budgets", "1. Who decides?", position=2) == 2
    titles = [t.entry.title for t in (await topics.schedule(GUILD)).topics]
    assert titles[:3] == ["Getting to know each other", "Budgets", "A day in your working life"]
    assert titles[-1] == "Volunteers at work"
    await topics.move_topic(GUILD, 10, 1)
    await topics.move_topic(GUILD, 2, 4)
    titles = [t.entry.title for t in (await topics.schedule(GUILD)).topics]
    assert titles[:4] == [
        "Volunteers at work",
        "Budgets",
        "A day in your working life",
        "Getting to know each other",
    ]
    assert await topics.skip_topic(GUILD, 2) == "Budgets"
    schedule = await topics.schedule(GUILD)
    assert [e.title for e in schedule.skipped] == ["Budgets"]
    assert len(schedule.topics) == 9
    assert await topics.unskip_topic(GUILD, 1) == "Budgets"
    assert [t.entry.title for t in (await topics.schedule(GUILD)).topics][1] == "Budgets"
    with pytest.raises(UserFacingError, match="topics 1 to 10"):
        await topics.move_topic(GUILD, 11, 1)
    with pytest.raises(UserFacingError, match="No topic of this round is skipped"):
        await topics.unskip_topic(GUILD, 1)

    # Once launched, the released topics stay put; the own topic is posted like any other, and a
    # coordinator's text never pings (it goes in the embed; only the partners are mentioned).
    await enrol(ParticipantService(database, clock), 4)
    await rounds.preview(GUILD)
    round_id = (await rounds.current_round(GUILD)).id
    await rounds.start_launch(round_id, (await rounds.check_launch(GUILD)).plan.kind)
    await rounds.run_launch(round_id)
    with pytest.raises(UserFacingError, match="released already"):
        await topics.move_topic(GUILD, 1, 3)
    with pytest.raises(UserFacingError, match="released already"):
        await topics.skip_topic(GUILD, 1)
    for messages in fake.messages.values():
        own = messages[1]
        assert own.title == "Volunteers at work"
        assert "@everyone" in own.description
        assert "@everyone" not in own.content
        assert own.marker.endswith("[own:1]")


async def test_discussion_threads_open_once_per_topic(
    services: tuple[RoundService, TopicPostService],
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
) -> None:
    rounds, topics = services
    with pytest.raises(UserFacingError, match="need a channel"):
        await topics.update_settings(GUILD, threads=True)
    settings = await topics.update_settings(GUILD, threads=True, threads_channel_id=555, posting_hour=8)
    assert (settings.posting_hour, settings.threads, settings.threads_channel_id) == (8, True, 555)
    round_id = await launch(rounds, database, clock)
    await topics.post_topic_now(GUILD, 1)
    clock.advance(timedelta(days=14))
    await topics.post_due_topics(round_id)
    await topics.post_due_topics(round_id)
    assert [m.title for m in fake.threads.values()] == [
        "Getting to know each other",
        "A day in your working life",
    ]


async def test_a_malformed_topic_file_is_logged_skipped_and_listed(
    database: Database,
    clock: ManualClock,
    fake: FakeTopicSpaces,
    alerts: list[tuple[int, str]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "01-fine.md").write_text(
        "---\ntitle: Fine\norder: 1\n---\n1. A question?\n", encoding="utf-8"
    )
    (tmp_path / "02-broken.md").write_text("title: no header\n", encoding="utf-8")
    rounds, topics = make_services(database, clock, fake, alerts, topics_dir=tmp_path)
    topics.load_library()
    assert "02-broken.md" in caplog.text
    assert "does not start with a header" in caplog.text
    await rounds.create_round(GUILD, "Spring 2026", START)
    text = "\n".join((await topics.schedule(GUILD)).lines())
    assert "`02-broken.md`: does not start with a header" in text
    assert "1.** Fine" in text
