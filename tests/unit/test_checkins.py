"""The check-in and survey service on a real database with a fake outlet: sent once per match,
answers recorded and changed, "need help" alerts, partners only, the survey's validation, the
keep-in-touch choices, and the jobs derived from the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.checkins import CHECKIN, SURVEY, FeedbackService, halftime, parse_survey, survey_time
from bot.clock import ManualClock
from bot.db import Database
from bot.errors import UserFacingError
from bot.models import CheckIn, FeedbackPost, Round, SurveyAnswer
from tests.unit.test_reports import NOW, START, at, seed_round


@dataclass
class FakeOutlet:
    posts: list[tuple[str, int, int, tuple[int, ...]]] = field(default_factory=list)
    alerts: list[tuple[int, str, int]] = field(default_factory=list)
    fail_space: int | None = None

    async def post_checkin(
        self, space_id: int, match_id: int, round_name: str, member_ids: Sequence[int]
    ) -> int:
        return self._post(CHECKIN, space_id, match_id, member_ids)

    async def post_survey(
        self, space_id: int, match_id: int, round_name: str, member_ids: Sequence[int]
    ) -> int:
        return self._post(SURVEY, space_id, match_id, member_ids)

    def _post(self, kind: str, space_id: int, match_id: int, member_ids: Sequence[int]) -> int:
        if space_id == self.fail_space:
            raise RuntimeError("Discord said no")
        self.posts.append((kind, space_id, match_id, tuple(member_ids)))
        return 9000 + len(self.posts)

    async def alert(self, guild_id: int, text: str, match_id: int) -> int | None:
        self.alerts.append((guild_id, text, match_id))
        return 1


@pytest.fixture
async def scheduler() -> AsyncIterator[AsyncIOScheduler]:
    sched = AsyncIOScheduler(timezone=UTC)
    sched.start(paused=True)
    yield sched
    sched.shutdown(wait=False)


def service(
    database: Database, clock: ManualClock, scheduler: AsyncIOScheduler | None = None
) -> FeedbackService:
    feedback = FeedbackService(database, clock, scheduler=scheduler)
    feedback.outlet = FakeOutlet()
    return feedback


def outlet(feedback: FeedbackService) -> FakeOutlet:
    assert isinstance(feedback.outlet, FakeOutlet)
    return feedback.outlet


def test_halftime_and_survey_time() -> None:
    end = START + timedelta(weeks=16)
    assert halftime(START, end) == START + timedelta(weeks=8)
    assert survey_time(START, end) == end - timedelta(days=3)
    short = START + timedelta(hours=2)
    assert survey_time(START, short) == START + timedelta(hours=1)  # never before half-time


async def test_the_check_in_claim_is_once_per_match(database: Database) -> None:
    seeded = await seed_round(database)
    feedback = service(database, ManualClock(NOW))
    match_id = seeded.matches["ab"]
    assert await feedback.claim(match_id, CHECKIN)
    assert not await feedback.claim(match_id, CHECKIN)
    assert await feedback.claim(match_id, SURVEY)  # another kind, another claim


async def test_the_check_in_goes_to_each_space_once_even_when_sent_again(database: Database) -> None:
    seeded = await seed_round(database)
    clock = ManualClock(START)
    feedback = service(database, clock)
    assert await feedback.send_due(seeded.round_id) == {}  # before half-time: nothing
    clock.set(at(16, 9))  # half-time of a four-week round
    assert await feedback.send_due(seeded.round_id) == {CHECKIN: 3}
    assert await feedback.send_due(seeded.round_id) == {CHECKIN: 0}
    assert await feedback.send(seeded.round_id, CHECKIN) == 0
    posts = outlet(feedback).posts
    assert sorted(space for _kind, space, _m, _ids in posts) == [501, 502, 503]
    ab = next(p for p in posts if p[1] == 501)
    assert ab[3] == (seeded.member_ids["ana"], seeded.member_ids["ben"])
    async with database.session() as session:
        rows = (await session.scalars(select(FeedbackPost))).all()
    assert {(r.kind, r.status) for r in rows} == {(CHECKIN, "posted")}
    assert all(r.message_id for r in rows)


async def test_a_failed_post_is_recorded_and_not_repeated(database: Database) -> None:
    seeded = await seed_round(database)
    feedback = service(database, ManualClock(at(16, 9)))
    outlet(feedback).fail_space = 502
    assert await feedback.send(seeded.round_id, CHECKIN) == 2
    async with database.session() as session:
        failed = await session.scalar(select(FeedbackPost).where(FeedbackPost.status == "failed"))
    assert failed is not None
    assert failed.match_id == seeded.matches["cd"]


async def test_jobs_are_derived_from_the_database(database: Database, scheduler: AsyncIOScheduler) -> None:
    seeded = await seed_round(database)
    clock = ManualClock(START)
    feedback = service(database, clock, scheduler)
    rid = seeded.round_id
    assert await feedback.schedule_jobs(rid) == [
        f"tandem:feedback:{rid}:checkin",
        f"tandem:feedback:{rid}:survey",
    ]
    assert await feedback.schedule_jobs(rid) == [
        f"tandem:feedback:{rid}:checkin",
        f"tandem:feedback:{rid}:survey",
    ]
    assert len(scheduler.get_jobs()) == 2
    clock.set(at(20))  # after half-time: a restart sends the check-in once and keeps the survey job
    assert await feedback.rebuild() == 1
    assert [job.id for job in scheduler.get_jobs()] == [f"tandem:feedback:{rid}:survey"]
    assert [p[0] for p in outlet(feedback).posts] == [CHECKIN] * 3


async def test_answers_are_recorded_changed_and_help_alerts_once(database: Database) -> None:
    seeded = await seed_round(database)
    feedback = service(database, ManualClock(NOW))
    ab, ana = seeded.matches["ab"], seeded.member_ids["ana"]
    _who, previous = await feedback.record_checkin(ab, ana, "better")
    assert previous == "well"  # seeded
    assert not outlet(feedback).alerts
    who, previous = await feedback.record_checkin(ab, ana, "help")
    assert previous == "better"
    assert who.partner_names == ("Ben",)
    await feedback.record_checkin(ab, ana, "help")
    alerts = outlet(feedback).alerts
    assert len(alerts) == 1
    guild, text, match_id = alerts[0]
    assert guild == 4242
    assert match_id == ab
    assert "Ana" in text
    assert "/round rematch" in text
    async with database.session() as session:
        rows = (
            await session.scalars(select(CheckIn).where(CheckIn.match_member_id == seeded.members["ana"]))
        ).all()
    assert [r.answer for r in rows] == ["help"]


async def test_only_the_partners_of_the_match_may_answer(database: Database) -> None:
    seeded = await seed_round(database)
    feedback = service(database, ManualClock(NOW))
    with pytest.raises(UserFacingError, match="partners of this space only"):
        await feedback.record_checkin(seeded.matches["ab"], seeded.member_ids["cai"], "help")
    with pytest.raises(UserFacingError, match="partners of this space only"):
        await feedback.record_keep(seeded.matches["ab"], 424242, keep_space=True)
    assert not outlet(feedback).alerts


@pytest.mark.parametrize(
    ("rating", "gained", "comments", "field"),
    [
        ("0", "ideas", "", "Rating"),
        ("6", "ideas", "", "Rating"),
        ("five", "ideas", "", "Rating"),
        ("", "ideas", "", "Rating"),
        ("3", "   ", "", "What you gained"),
        ("3", "x" * 201, "", "What you gained"),
        ("3", "ideas", "y" * 1001, "Comments"),
    ],
)
def test_the_survey_refuses_bad_fields_by_name(rating: str, gained: str, comments: str, field: str) -> None:
    with pytest.raises(UserFacingError, match=field):
        parse_survey(rating, gained, comments)


def test_the_survey_accepts_good_fields() -> None:
    answer = parse_survey(" 4 ", " New contacts ", "z" * 1000)
    assert (answer.rating, answer.gained, len(answer.comments)) == (4, "New contacts", 1000)


async def test_survey_and_keep_in_touch_choices(database: Database) -> None:
    seeded = await seed_round(database)
    feedback = service(database, ManualClock(NOW))
    ef = seeded.matches["ef"]
    eve, fay = seeded.member_ids["eve"], seeded.member_ids["fay"]
    await feedback.record_survey(ef, fay, parse_survey("3", "A contact", ""))
    assert not await feedback.keeps_space(ef)
    await feedback.record_keep(ef, eve, keep_space=True)
    assert not await feedback.keeps_space(ef)  # fay has not chosen yet
    await feedback.record_keep(ef, fay, keep_space=True, join_next=True)
    assert await feedback.keeps_space(ef)
    await feedback.record_keep(ef, eve, keep_space=False)
    assert not await feedback.keeps_space(ef)
    async with database.session() as session:
        row = await session.scalar(
            select(SurveyAnswer).where(SurveyAnswer.match_member_id == seeded.members["fay"])
        )
    assert row is not None
    assert (row.rating, row.gained, row.comments, row.keep_space, row.join_next) == (
        3,
        "A contact",
        None,
        True,
        True,
    )


async def test_partners_who_chose_to_join_the_next_round_are_found(database: Database) -> None:
    seeded = await seed_round(database)
    feedback = service(database, ManualClock(NOW))
    async with database.session() as session:
        row = await session.get(Round, seeded.round_id)
        assert row is not None
        row.status, row.ended_at = "ended", NOW
        session.add(
            Round(
                guild_id=row.guild_id,
                name="Autumn",
                starts_at=NOW,
                ends_at=NOW + timedelta(weeks=8),
                cadence_seconds=86400,
                created_at=NOW,
            )
        )
    async with database.session() as session:
        new_id = await session.scalar(select(Round.id).where(Round.name == "Autumn"))
    assert new_id is not None
    # ana and eve chose to join; dee too, but erased their data.
    assert await feedback.returning_members(row.guild_id, new_id) == sorted(
        [seeded.member_ids["ana"], seeded.member_ids["eve"]]
    )
