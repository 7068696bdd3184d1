"""Report figures from a round seeded by hand in a real database: exact counts, an erased
participant left out of the CSV, spreadsheet formulas escaped, charts that are valid PNGs."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.charts import PNG_SIGNATURE
from bot.checkins import FeedbackService
from bot.clock import ManualClock
from bot.db import Database
from bot.models import ActivityWeek, CheckIn, Match, MatchMember, Participant, Round, SurveyAnswer
from bot.reports import CSV_HEADER, compute_report, report_pngs

GUILD = 4242
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
EVIL = '=HYPERLINK("http://evil.example","click")'


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


@dataclass
class Seeded:
    round_id: int
    matches: dict[str, int]  # "ab", "cd", "ef", "dissolved" -> match id
    members: dict[str, int]  # partner name -> match_member id
    member_ids: dict[str, int]  # partner name -> Discord member id


async def seed_round(database: Database) -> Seeded:
    """Three running matches (one partner erased their data) and a dissolved one."""
    people = {
        "ana": ("PT", None),
        "ben": ("GB", None),
        "cai": ("KE", None),
        "dee": ("KE", True),
        "eve": ("NZ", None),
        "fay": ("PT", None),
    }
    async with database.session() as session:
        round_ = Round(
            guild_id=GUILD,
            name="Spring 2026",
            status="launched",
            starts_at=START,
            ends_at=at(30, 9),
            cadence_seconds=14 * 86400,
            created_at=START,
            launched_at=START,
        )
        session.add(round_)
        await session.flush()
        participants = {}
        for number, (name, (country, deleted)) in enumerate(people.items(), start=1):
            row = Participant(
                guild_id=GUILD,
                member_id=None if deleted else 1000 + number,
                display_name=None if deleted else name.title(),
                country=country,
                timezone="UTC",
                sector="public",
                career_stage="mid",
                deleted=bool(deleted),
                created_at=START,
                updated_at=START,
            )
            session.add(row)
            participants[name] = row
        await session.flush()
        matches = {}
        for key, status, score, space in (
            ("ab", "active", 0.9, 501),
            ("cd", "active", 0.7, 502),
            ("ef", "active", 0.5, 503),
            ("dissolved", "dissolved", 0.4, None),
        ):
            match = Match(
                round_id=round_.id,
                status=status,
                score=score,
                space_id=space,
                space_status="created" if space else "pending",
                created_at=START,
            )
            session.add(match)
            matches[key] = match
        await session.flush()
        last = {"ana": at(19), "ben": at(18), "cai": at(18), "dee": None, "eve": at(2), "fay": at(12)}
        counts = {"ana": 5, "ben": 5, "cai": 0, "dee": 5, "eve": 1, "fay": 0}
        members = {}
        for name, key in (
            ("ana", "ab"),
            ("ben", "ab"),
            ("cai", "cd"),
            ("dee", "cd"),
            ("eve", "ef"),
            ("fay", "ef"),
        ):
            person = participants[name]
            member = MatchMember(
                match_id=matches[key].id,
                participant_id=person.id,
                member_id=person.member_id,
                joined_at=START,
                last_message_at=last[name],
                message_count=counts[name],
            )
            session.add(member)
            members[name] = member
        moved = MatchMember(
            match_id=matches["dissolved"].id,
            participant_id=participants["eve"].id,
            member_id=participants["eve"].member_id,
            status="moved",
            joined_at=START,
            message_count=7,
        )
        session.add(moved)
        await session.flush()
        for name, week, count in (
            ("ana", 2, 3),
            ("ana", 9, 2),
            ("ben", 2, 1),
            ("ben", 16, 4),
            ("dee", 2, 5),  # erased, but the round's totals keep the count
            ("eve", 2, 1),
        ):
            session.add(ActivityWeek(match_member_id=members[name].id, week_start=at(week, 0), count=count))
        session.add(ActivityWeek(match_member_id=moved.id, week_start=at(2, 0), count=7))  # dissolved
        for name, answer, when in (
            ("ana", "well", at(16)),
            ("ben", "help", at(17)),
            ("cai", "better", at(16)),
            ("dee", "help", at(16)),  # erased: left out
            ("fay", "better", at(13)),
        ):
            member = members[name]
            session.add(CheckIn(match_id=member.match_id, match_member_id=member.id, answer=answer, at=when))
        for name, rating, gained, comments, keep, join in (
            ("ana", 5, "A friend in Lisbon", EVIL, True, True),
            ("ben", 4, "+new ideas", None, True, False),
            ("cai", 2, "Patience", "Quiet partner", True, None),
            ("dee", 1, "x", "y", True, True),  # erased: left out
            ("eve", None, None, None, False, True),
        ):
            member = members[name]
            session.add(
                SurveyAnswer(
                    match_id=member.match_id,
                    match_member_id=member.id,
                    rating=rating,
                    gained=gained,
                    comments=comments,
                    keep_space=keep,
                    join_next=join,
                    updated_at=NOW,
                )
            )
        await session.flush()
        assert round_.id is not None
        return Seeded(
            round_.id,
            {k: m.id or 0 for k, m in matches.items()},
            {k: m.id or 0 for k, m in members.items()},
            {k: p.member_id or 0 for k, p in participants.items()},
        )


async def test_report_figures_from_a_seeded_round_are_exact(database: Database) -> None:
    seeded = await seed_round(database)
    service = FeedbackService(database, ManualClock(NOW))
    report = compute_report(await service.round_data(seeded.round_id), NOW)

    assert report.matches == 3  # the dissolved match never ran as such
    assert report.participants == 6
    assert report.deleted == 1
    assert report.active_partnerships == 1  # ana and ben both wrote in the last two weeks
    assert report.countries == {"PT": 2, "GB": 1, "KE": 1, "NZ": 1, "withheld": 1}
    assert report.weeks == (at(2, 0), at(9, 0), at(16, 0))
    assert report.messages_per_week == (10, 2, 4)
    assert report.total_messages == 16
    assert report.checkin_answers == {"well": 1, "better": 2, "help": 1}
    assert report.checkins_by_week == {
        at(9, 0): {"well": 0, "better": 1, "help": 0},
        at(16, 0): {"well": 1, "better": 1, "help": 1},
    }
    assert report.survey_responses == 3
    assert report.ratings == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    assert report.mean_rating == 3.67
    assert report.kept_in_touch == 1  # only ana and ben both chose to keep their space
    assert report.kept_share == 1 / 3
    assert report.join_next == 2  # ana and eve
    lines = "\n".join(report.summary_lines())
    assert "**1** of 3" in lines
    assert "3.67 / 5" in lines


async def test_the_csv_omits_the_erased_partner_and_escapes_formulas(database: Database) -> None:
    seeded = await seed_round(database)
    service = FeedbackService(database, ManualClock(NOW))
    report = compute_report(await service.round_data(seeded.round_id), NOW)
    rows = list(csv.reader(io.StringIO(report.csv_bytes().decode("utf-8"))))
    assert tuple(rows[0]) == CSV_HEADER
    body = [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]
    assert [r["partner"] for r in body] == ["Ana", "Ben", "Cai", "Eve", "Fay"]
    assert all(r["partner"] for r in body)
    assert "y" not in {r["comments"] for r in body}  # the erased partner's answers are gone
    ana, ben, cai, eve, fay = body
    assert ana["comments"] == "'" + EVIL
    assert ben["gained"] == "'+new ideas"
    assert ana["match_id"] == str(seeded.matches["ab"])
    assert ana["score"] == "0.90"
    assert ana["messages"] == "5"
    assert ana["checkin"] == "well"
    assert ana["rating"] == "5"
    assert (ana["keep_space"], ana["join_next"]) == ("yes", "yes")
    assert ben["checkin"] == "help"
    assert (cai["country"], cai["join_next"]) == ("KE", "")
    assert (eve["rating"], eve["keep_space"]) == ("", "no")
    assert (fay["checkin"], fay["rating"]) == ("better", "")
    for row in rows[1:]:
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row)


async def test_the_report_charts_are_valid_pngs(database: Database) -> None:
    seeded = await seed_round(database)
    service = FeedbackService(database, ManualClock(NOW))
    report = compute_report(await service.round_data(seeded.round_id), NOW)
    charts = report_pngs(report)
    assert [name for name, _ in charts] == [
        "participants-by-country.png",
        "weekly-activity.png",
        "check-ins.png",
        "survey-ratings.png",
        "kept-in-touch.png",
    ]
    for _name, png in charts:
        assert png.startswith(PNG_SIGNATURE)
        assert len(png) > 1000


def test_an_empty_round_reports_zeros_and_still_draws() -> None:
    from bot.reports import RoundData

    report = compute_report(RoundData(1, "Empty", "launched", START, at(30, 9), ()), START)
    assert (report.matches, report.participants, report.mean_rating, report.kept_share) == (0, 0, None, 0.0)
    assert report.messages_per_week == (0,)
    assert all(png.startswith(PNG_SIGNATURE) for _name, png in report_pngs(report))
