"""The participant service against a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.db import Database
from bot.errors import UserFacingError
from bot.matching.model import Applicant
from bot.models import DoNotMatch, Match, MatchAlert, MatchMember, Participant, Round, RoundPair
from bot.participants import ParticipantService
from tests.support.privacy import rows_holding

GUILD = 900000000000000001
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def person(member_id: int, country: str = "CL", **changes: object) -> Applicant:
    fields: dict[str, object] = {
        "member_id": member_id,
        "name": f"Person {member_id}",
        "country": country,
        "timezone": "America/Santiago",
        "languages": frozenset({"es", "en"}),
        "sector": "public",
        "career_stage": "mid",
        "interests": frozenset({"open access"}),
        "goals": "Learn how others run outreach",
        "match_preference": "interests",
    }
    fields.update(changes)
    return Applicant(**fields)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def service(database: Database, clock: ManualClock) -> ParticipantService:
    return ParticipantService(database, clock)


async def open_round(database: Database, cap: int | None = None, status: str = "draft") -> int:
    async with database.session() as session:
        round_ = Round(
            guild_id=GUILD,
            name="Spring 2026",
            status=status,
            starts_at=START + timedelta(days=14),
            ends_at=START + timedelta(weeks=18),
            cadence_seconds=14 * 86400,
            country_cap_percent=cap,
            created_at=START,
        )
        session.add(round_)
        await session.flush()
        assert round_.id is not None
        return round_.id


async def test_signup_without_an_open_round_keeps_the_profile(service: ParticipantService) -> None:
    result = await service.save_profile(GUILD, person(1))
    assert result.created
    assert result.place is None
    stored = await service.get_profile(GUILD, 1)
    assert stored is not None
    assert stored.applicant == person(1)


async def test_signup_again_edits_and_enrols(service: ParticipantService, database: Database) -> None:
    await service.save_profile(GUILD, person(1, do_not_match=frozenset({2, 3})))
    await open_round(database)
    result = await service.save_profile(GUILD, person(1, country="AR", do_not_match=frozenset({3})))
    assert not result.created
    assert result.place is not None
    assert (result.place.round_name, result.place.status) == ("Spring 2026", "enrolled")
    assert result.profile.applicant.country == "AR"
    assert result.profile.applicant.do_not_match == frozenset({3})


async def test_country_cap_waitlists_and_moves_up(service: ParticipantService, database: Database) -> None:
    await open_round(database, cap=20)
    places = [(await service.save_profile(GUILD, person(i, "AU"))).place for i in range(1, 4)]
    assert [p.status for p in places if p] == ["enrolled", "enrolled", "waitlisted"]
    assert places[2] is not None
    assert places[2].waitlist_position == 1
    others = ["AR", "BR", "CA", "DE", "EG", "FI", "GH", "IN", "JP", "KE", "MX", "NZ", "PE"]
    for i, country in enumerate(others, start=10):  # 15 enrolled now, so a third Australian fits
        await service.save_profile(GUILD, person(i, country))
    place = await service.current_place(GUILD, 3)
    assert place is not None
    assert place.status == "enrolled"


async def test_leaving_frees_a_place(service: ParticipantService, database: Database) -> None:
    await open_round(database, cap=20)
    for i in range(1, 4):
        await service.save_profile(GUILD, person(i, "AU"))
    result = await service.leave_current_round(GUILD, 1)
    assert result.promoted_member_ids == (3,)
    assert await service.current_place(GUILD, 1) is None
    with pytest.raises(UserFacingError, match="not in a round"):
        await service.leave_current_round(GUILD, 1)


async def test_pause_and_resume(service: ParticipantService, clock: ManualClock) -> None:
    with pytest.raises(UserFacingError, match="run /signup"):
        await service.pause(GUILD, 1, None)
    await service.save_profile(GUILD, person(1))
    with pytest.raises(UserFacingError, match="future"):
        await service.pause(GUILD, 1, START - timedelta(days=1))
    paused = await service.pause(GUILD, 1, START + timedelta(days=10))
    assert paused.paused
    clock.advance(timedelta(days=9))
    assert await service.end_expired_pauses() == []
    clock.advance(timedelta(days=1))
    assert await service.end_expired_pauses() == [(GUILD, 1)]
    profile = await service.get_profile(GUILD, 1)
    assert profile is not None
    assert not profile.paused
    with pytest.raises(UserFacingError, match="not paused"):
        await service.resume(GUILD, 1)


async def test_export_holds_everything(service: ParticipantService, database: Database) -> None:
    await open_round(database)
    await service.save_profile(GUILD, person(1, do_not_match=frozenset({777777777777777777})))
    data = await service.export_member_data(GUILD, 1)
    assert data["profile"]["name"] == "Person 1"
    assert data["profile"]["do_not_match"] == ["777777777777777777"]
    assert data["rounds"][0]["place"] == "enrolled"
    assert (await service.export_member_data(GUILD, 2))["profile"] is None


async def test_delete_erases_identifiers_and_text(service: ParticipantService, database: Database) -> None:
    await open_round(database)
    await service.save_profile(GUILD, person(1, do_not_match=frozenset({2})))
    await service.save_profile(GUILD, person(2, do_not_match=frozenset({1})))
    assert await service.delete_member_data(GUILD, 1)
    assert await service.get_profile(GUILD, 1) is None
    async with database.session() as session:
        rows = (await session.scalars(select(Participant))).all()
        blocks = (await session.scalars(select(DoNotMatch))).all()
    anonymous = next(r for r in rows if r.deleted)
    assert anonymous.member_id is None
    assert anonymous.display_name is None
    assert anonymous.goals == ""
    assert anonymous.languages == []
    assert anonymous.interests == []
    assert anonymous.country == "CL"  # kept for the programme's figures
    assert blocks == []  # 1's own list went with the profile, and 2's entry naming 1 too
    assert not await service.delete_member_data(GUILD, 1)


async def test_import_and_list(service: ParticipantService, database: Database) -> None:
    round_id = await open_round(database)
    result = await service.import_applicants(GUILD, [person(1), person(2, "AR", name="Ana"), person(3, "PE")])
    assert (result.created, result.updated, result.enrolled) == (3, 0, 3)
    again = await service.import_applicants(GUILD, [person(1, name="Zoe")])
    assert (again.created, again.updated) == (0, 1)
    rows = await service.list_participants(GUILD, round_id=round_id)
    assert [r.applicant.name for r in rows] == ["Ana", "Person 3", "Zoe"]
    assert [r.applicant.name for r in await service.list_participants(GUILD, country="AR")] == ["Ana"]
    assert len(await service.enrolled_applicants(round_id)) == 3


async def test_delete_leaves_no_trace_in_matches_alerts_or_pins(
    service: ParticipantService, database: Database
) -> None:
    round_id = await open_round(database, status="launched")
    await service.import_applicants(GUILD, [person(1), person(2, "AR")])
    async with database.session() as session:
        match = Match(round_id=round_id, status="active", space_name="person-1-person-2", created_at=START)
        session.add(match)
        await session.flush()
        ids = {p.member_id: p.id for p in (await session.scalars(select(Participant))).all()}
        for member_id in (1, 2):
            session.add(
                MatchMember(
                    match_id=match.id, participant_id=ids[member_id], member_id=member_id, joined_at=START
                )
            )
        session.add(
            MatchAlert(match_id=match.id, key="k", member_ids=[1, 2], created_at=START, resolved_by=1)
        )
        session.add(RoundPair(round_id=round_id, member_a=1, member_b=2, kind="pin", created_at=START))
    assert await service.delete_member_data(GUILD, 1)
    assert await rows_holding(database, ["Person 1", "person-1"]) == []
    async with database.session() as session:
        members = (await session.scalars(select(MatchMember).order_by(MatchMember.id))).all()
        alert = (await session.scalars(select(MatchAlert))).one()
        pins = (await session.scalars(select(RoundPair))).all()
    assert [m.member_id for m in members] == [None, 2]  # the place stays, for the figures
    assert alert.member_ids == [2]
    assert alert.resolved_by is None
    assert pins == []
