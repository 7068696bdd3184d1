"""Participant profiles and their place in rounds: signup, pause, leave, privacy, import, listing.

The cogs and the CSV import hand this service validated `Applicant`s (see bot/validation.py and
bot/applicants_csv.py); it owns every read and write of participants and enrolments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db import Database
from bot.enrolment import ENROLLED, WAITLISTED, WITHDRAWN, Place, admits, promotions
from bot.errors import UserFacingError
from bot.matching.model import Applicant
from bot.models import (
    DoNotMatch,
    Enrolment,
    Match,
    MatchAlert,
    MatchMember,
    Participant,
    Round,
    RoundPair,
)

OPEN_ROUND = "draft"
RUNNING_ROUND = "launched"
ANONYMOUS_NAME = "deleted participant"


@dataclass(frozen=True)
class Profile:
    """A stored profile, as the cogs show it."""

    participant_id: int
    applicant: Applicant
    paused: bool
    paused_until: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RoundPlace:
    round_id: int
    round_name: str
    round_status: str
    status: str  # enrolled, waitlisted, withdrawn
    waitlist_position: int | None = None


@dataclass(frozen=True)
class SignupResult:
    profile: Profile
    created: bool
    place: RoundPlace | None  # None: no round is open for signups
    promoted_member_ids: tuple[int, ...] = ()  # waiting members who got a place as the round grew


@dataclass(frozen=True)
class LeaveResult:
    round_name: str
    round_status: str
    promoted_member_ids: tuple[int, ...]


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    enrolled: int
    waitlisted: int


@dataclass(frozen=True)
class ParticipantRow:
    """One line of /participants list and /participants export."""

    applicant: Applicant
    status: str  # the place in the chosen round, or "profile" when none
    paused: bool


class ParticipantService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    # -- profiles -------------------------------------------------------------------------------

    async def get_profile(self, guild_id: int, member_id: int) -> Profile | None:
        async with self._db.session() as session:
            row = await _participant(session, guild_id, member_id)
            return None if row is None else await _profile(session, row)

    async def save_profile(self, guild_id: int, applicant: Applicant) -> SignupResult:
        """Create or replace the member's profile and enrol them in the round open for signups."""
        async with self._db.session() as session:
            row, created = await self._upsert(session, guild_id, applicant)
            round_ = await _open_round(session, guild_id)
            place, promoted = (None, []) if round_ is None else await self._enrol(session, round_, row)
            return SignupResult(await _profile(session, row), created, place, tuple(promoted))

    async def join_open_round(
        self, guild_id: int, member_id: int, round_id: int
    ) -> tuple[RoundPlace, list[int]]:
        """Enrol a member with a profile in the given round, if it is still open for signups."""
        async with self._db.session() as session:
            return await self.join_in(session, guild_id, member_id, round_id)

    async def join_in(
        self, session: AsyncSession, guild_id: int, member_id: int, round_id: int
    ) -> tuple[RoundPlace, list[int]]:
        """`join_open_round` inside the caller's transaction (a UserFacingError changes nothing)."""
        row = await _require_participant(session, guild_id, member_id)
        round_ = await session.get(Round, round_id)
        if round_ is None or round_.guild_id != guild_id or round_.status != OPEN_ROUND:
            raise UserFacingError("That round is no longer open for signups.")
        return await self._enrol(session, round_, row)

    async def _upsert(
        self, session: AsyncSession, guild_id: int, applicant: Applicant
    ) -> tuple[Participant, bool]:
        now = self._clock.now()
        row = await _participant(session, guild_id, applicant.member_id)
        created = row is None
        if row is None:
            row = Participant(
                guild_id=guild_id, member_id=applicant.member_id, created_at=now, **_fields(applicant)
            )
            session.add(row)
        else:
            for name, value in _fields(applicant).items():
                setattr(row, name, value)
        row.updated_at = now
        await session.flush()
        await session.execute(delete(DoNotMatch).where(DoNotMatch.participant_id == row.id))
        session.add_all(
            DoNotMatch(participant_id=row.id, other_member_id=other)
            for other in sorted(applicant.do_not_match)
            if other != applicant.member_id
        )
        return row, created

    async def _enrol(
        self, session: AsyncSession, round_: Round, row: Participant
    ) -> tuple[RoundPlace, list[int]]:
        """Give the participant a place (or a waiting-list place) in the round, if they have none."""
        enrolment, claimed = await self._claim_place(session, round_, row)
        promoted: list[int] = []
        if claimed:
            promoted = await _settle_waiting_list(session, round_, self._clock.now())
            await session.refresh(enrolment)
        promoted = [member for member in promoted if member != row.member_id]
        return await _round_place(session, round_, enrolment), promoted

    async def _claim_place(
        self, session: AsyncSession, round_: Round, row: Participant
    ) -> tuple[Enrolment, bool]:
        """The participant's enrolment in the round, created (or renewed) if they had none."""
        now = self._clock.now()
        enrolment = await _enrolment(session, round_.id, row.id)
        if enrolment is not None and enrolment.status != WITHDRAWN:
            return enrolment, False
        counts, total = await _enrolled_counts(session, round_.id)
        status = ENROLLED if admits(counts, total, row.country, round_.country_cap_percent) else WAITLISTED
        if enrolment is None:
            enrolment = Enrolment(round_id=round_.id, participant_id=row.id, created_at=now, updated_at=now)
            session.add(enrolment)
        enrolment.status = status
        enrolment.created_at = now  # a return after withdrawing joins the back of the queue
        enrolment.updated_at = now
        await session.flush()
        return enrolment, True

    # -- pause and resume -----------------------------------------------------------------------

    async def pause(self, guild_id: int, member_id: int, until: datetime | None) -> Profile:
        now = self._clock.now()
        if until is not None and until <= now:
            raise UserFacingError("The end of a pause must be in the future.")
        async with self._db.session() as session:
            row = await _require_participant(session, guild_id, member_id)
            row.paused, row.paused_until, row.updated_at = True, until, now
            await session.flush()
            return await _profile(session, row)

    async def resume(self, guild_id: int, member_id: int) -> Profile:
        async with self._db.session() as session:
            row = await _require_participant(session, guild_id, member_id)
            if not row.paused:
                raise UserFacingError("You are not paused, so there is nothing to resume.")
            row.paused, row.paused_until, row.updated_at = False, None, self._clock.now()
            await session.flush()
            return await _profile(session, row)

    async def end_expired_pauses(self) -> list[tuple[int, int]]:
        """Resume everyone whose pause has reached its date; returns their (guild, member) ids."""
        now = self._clock.now()
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(Participant).where(
                        Participant.paused.is_(True),  # type: ignore[attr-defined]
                        Participant.paused_until.is_not(None),  # type: ignore[union-attr]
                        Participant.paused_until <= now,  # type: ignore[operator]
                    )
                )
            ).all()
            for row in rows:
                row.paused, row.paused_until, row.updated_at = False, None, now
            return [(row.guild_id, row.member_id) for row in rows if row.member_id is not None]

    # -- leaving --------------------------------------------------------------------------------

    async def current_place(self, guild_id: int, member_id: int) -> RoundPlace | None:
        async with self._db.session() as session:
            row = await _participant(session, guild_id, member_id)
            if row is None:
                return None
            found = await _current_enrolment(session, row)
            return None if found is None else await _round_place(session, *found)

    async def leave_current_round(self, guild_id: int, member_id: int) -> LeaveResult:
        """Withdraw the member from the round they are in (open or running)."""
        async with self._db.session() as session:
            result = await self.withdraw(session, guild_id, member_id, self._clock.now())
            if result is None:
                raise UserFacingError("You are not in a round at the moment, so there is nothing to leave.")
            return result

    async def withdraw(
        self, session: AsyncSession, guild_id: int, member_id: int, now: datetime
    ) -> LeaveResult | None:
        """Withdraw the member from their round inside the caller's transaction (so that leaving
        and what follows from it commit together); None if they are in no round."""
        row = await _participant(session, guild_id, member_id)
        found = None if row is None else await _current_enrolment(session, row)
        if found is None:
            return None
        round_, enrolment = found
        enrolment.status, enrolment.updated_at = WITHDRAWN, now
        await session.flush()
        promoted = await _settle_waiting_list(session, round_, now) if round_.status == OPEN_ROUND else []
        return LeaveResult(round_.name, round_.status, tuple(promoted))

    # -- privacy --------------------------------------------------------------------------------

    async def export_member_data(self, guild_id: int, member_id: int) -> dict[str, Any]:
        """Every piece of data held about the member in this guild, as JSON-ready values."""
        async with self._db.session() as session:
            row = await _participant(session, guild_id, member_id)
            if row is None:
                return {"guild_id": str(guild_id), "member_id": str(member_id), "profile": None, "rounds": []}
            blocked = (
                await session.scalars(
                    select(DoNotMatch.other_member_id).where(DoNotMatch.participant_id == row.id)
                )
            ).all()
            places = (
                await session.execute(
                    select(Round, Enrolment)
                    .join(Enrolment, Enrolment.round_id == Round.id)
                    .where(Enrolment.participant_id == row.id)
                    .order_by(Round.starts_at)
                )
            ).all()
            return {
                "guild_id": str(guild_id),
                "member_id": str(member_id),
                "profile": {
                    "name": row.display_name,
                    "country": row.country,
                    "timezone": row.timezone,
                    "languages": list(row.languages),
                    "sector": row.sector,
                    "career_stage": row.career_stage,
                    "interests": list(row.interests),
                    "goals": row.goals,
                    "match_preference": row.match_preference,
                    "do_not_match": [str(other) for other in sorted(blocked)],
                    "paused": row.paused,
                    "paused_until": _iso(row.paused_until),
                    "created_at": _iso(row.created_at),
                    "updated_at": _iso(row.updated_at),
                },
                "rounds": [
                    {
                        "round": round_.name,
                        "round_status": round_.status,
                        "starts_at": _iso(round_.starts_at),
                        "ends_at": _iso(round_.ends_at),
                        "place": enrolment.status,
                        "since": _iso(enrolment.created_at),
                    }
                    for round_, enrolment in places
                ],
            }

    async def delete_member_data(self, guild_id: int, member_id: int) -> bool:
        """Erase the member's profile and personal data; keep an anonymous row for statistics.

        The row keeps only what programme figures need (country, sector, career stage and its
        places in past rounds); the member's id, name, words and lists are gone, and so is their
        id from other members' do-not-match lists.
        """
        async with self._db.session() as session:
            return await self.erase(session, guild_id, member_id, self._clock.now())

    async def erase(self, session: AsyncSession, guild_id: int, member_id: int, now: datetime) -> bool:
        """`delete_member_data` inside the caller's transaction; True if anything was erased."""
        row = await _participant(session, guild_id, member_id)
        found = row is not None
        if row is not None:
            await session.execute(delete(DoNotMatch).where(DoNotMatch.participant_id == row.id))
            row.member_id = None
            row.display_name = None
            row.timezone = "UTC"
            row.languages = []
            row.interests = []
            row.goals = ""
            row.match_preference = "open"
            row.paused, row.paused_until = False, None
            row.deleted = True
            row.created_at = row.updated_at = now
            # Their place in matches stays, for the figures, but no longer says who they were.
            await session.execute(
                update(MatchMember).where(MatchMember.participant_id == row.id).values(member_id=None)
            )
            their_matches = select(MatchMember.match_id).where(MatchMember.participant_id == row.id)
            await session.execute(
                update(Match).where(Match.id.in_(their_matches)).values(space_name=None)  # type: ignore[union-attr]
            )
            alerts = await session.scalars(
                select(MatchAlert).where(MatchAlert.match_id.in_(their_matches))  # type: ignore[attr-defined]
            )
            for alert in alerts.all():
                alert.member_ids = [other for other in alert.member_ids if other != member_id]
            enrolments = (
                await session.scalars(select(Enrolment).where(Enrolment.participant_id == row.id))
            ).all()
            for enrolment in enrolments:
                round_ = await session.get(Round, enrolment.round_id)
                if round_ is not None and round_.status in (OPEN_ROUND, RUNNING_ROUND):
                    enrolment.status, enrolment.updated_at = WITHDRAWN, now
        guild_rounds = select(Round.id).where(Round.guild_id == guild_id)
        await session.execute(
            delete(RoundPair)
            .where(or_(RoundPair.member_a == member_id, RoundPair.member_b == member_id))
            .where(RoundPair.round_id.in_(guild_rounds))  # type: ignore[attr-defined]
        )
        # A coordinator erasing their data: the alerts they handled forget who handled them.
        await session.execute(
            update(MatchAlert).where(MatchAlert.resolved_by == member_id).values(resolved_by=None)
        )
        blocked_by_others = await session.execute(
            delete(DoNotMatch)
            .where(DoNotMatch.other_member_id == member_id)
            .where(
                DoNotMatch.participant_id.in_(  # type: ignore[attr-defined]
                    select(Participant.id).where(Participant.guild_id == guild_id)
                )
            )
        )
        return found or bool(blocked_by_others.rowcount)  # type: ignore[attr-defined]

    # -- coordinators ---------------------------------------------------------------------------

    async def import_applicants(self, guild_id: int, applicants: Sequence[Applicant]) -> ImportResult:
        """Save every applicant's profile (one transaction: all or nothing) and enrol them."""
        created = updated = 0
        async with self._db.session() as session:
            round_ = await _open_round(session, guild_id)
            enrolments = []
            for applicant in applicants:
                row, is_new = await self._upsert(session, guild_id, applicant)
                created += is_new
                updated += not is_new
                if round_ is not None:
                    enrolments.append((await self._claim_place(session, round_, row))[0])
            if round_ is not None:
                # Settled once for the whole file: per row it would cost a pass over the round each time.
                await _settle_waiting_list(session, round_, self._clock.now())
                for enrolment in enrolments:
                    await session.refresh(enrolment)
            statuses = [enrolment.status for enrolment in enrolments]
        return ImportResult(created, updated, statuses.count(ENROLLED), statuses.count(WAITLISTED))

    async def list_participants(
        self,
        guild_id: int,
        *,
        round_id: int | None = None,
        country: str | None = None,
        status: str | None = None,
    ) -> list[ParticipantRow]:
        """Profiles (not deleted) sorted by name; with a round, only those with a place in it."""
        async with self._db.session() as session:
            query = select(Participant).where(
                Participant.guild_id == guild_id, Participant.deleted.is_(False)
            )  # type: ignore[attr-defined]
            if country:
                query = query.where(Participant.country == country)
            rows = (await session.scalars(query)).all()
            places: dict[int, str] = {}
            if round_id is not None:
                enrolments = (
                    await session.scalars(select(Enrolment).where(Enrolment.round_id == round_id))
                ).all()
                places = {e.participant_id: e.status for e in enrolments}
            result = []
            for row in rows:
                place = places.get(row.id or 0, "profile") if round_id is not None else "profile"
                if round_id is not None and place == "profile":
                    continue
                if status and place != status and not (status == "paused" and row.paused):
                    continue
                result.append(ParticipantRow(await _applicant(session, row), place, row.paused))
            return sorted(result, key=lambda r: (r.applicant.name.casefold(), r.applicant.member_id))

    async def members_to_invite(self, guild_id: int, round_id: int) -> list[int]:
        """Members with a profile who have no place in the round yet: they are asked to join it."""
        async with self._db.session() as session:
            placed = select(Enrolment.participant_id).where(Enrolment.round_id == round_id)
            rows = await session.scalars(
                select(Participant.member_id)
                .where(Participant.guild_id == guild_id, Participant.deleted.is_(False))  # type: ignore[attr-defined]
                .where(Participant.member_id.is_not(None))  # type: ignore[union-attr]
                .where(Participant.id.not_in(placed))  # type: ignore[union-attr]
                .order_by(Participant.member_id)
            )
            return [member_id for member_id in rows.all() if member_id is not None]

    async def enrolled_applicants(self, round_id: int) -> list[Applicant]:
        """The applicants with a place in the round, as the matcher takes them."""
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(Participant)
                    .join(Enrolment, Enrolment.participant_id == Participant.id)
                    .where(Enrolment.round_id == round_id, Enrolment.status == ENROLLED)
                    .where(Participant.deleted.is_(False))  # type: ignore[attr-defined]
                    .order_by(Participant.member_id)
                )
            ).all()
            return [await _applicant(session, row) for row in rows]

    async def rounds(self, guild_id: int) -> list[RoundSummary]:
        """The guild's rounds, newest first (for coordinators' pickers and summaries)."""
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(Round).where(Round.guild_id == guild_id).order_by(Round.id.desc())  # type: ignore[union-attr]
                )
            ).all()
            return [RoundSummary(row.id or 0, row.name, row.status) for row in rows]

    async def roster(
        self, guild_id: int, round_id: int | None = None, *, country: str | None = None
    ) -> list[RosterEntry]:
        """Every profile (not deleted) with its place in the round, if any: one query, for listing."""
        async with self._db.session() as session:
            query = (
                select(Participant, Enrolment.status)
                .outerjoin(
                    Enrolment,
                    (Enrolment.participant_id == Participant.id) & (Enrolment.round_id == round_id),
                )
                .where(Participant.guild_id == guild_id, Participant.deleted.is_(False))  # type: ignore[attr-defined]
            )
            if country:
                query = query.where(Participant.country == country)
            found = (await session.execute(query)).all()
            entries = [
                RosterEntry(
                    member_id=row.member_id or 0,
                    name=row.display_name or ANONYMOUS_NAME,
                    country=row.country,
                    place=place,
                    paused=row.paused,
                )
                for row, place in found
            ]
            return sorted(entries, key=lambda e: (e.name.casefold(), e.member_id))


@dataclass(frozen=True)
class RoundSummary:
    round_id: int
    name: str
    status: str  # draft (open for signups), launched, ended


@dataclass(frozen=True)
class RosterEntry:
    """One line of /participants list: a profile and its place in the chosen round."""

    member_id: int
    name: str
    country: str
    place: str | None  # enrolled, waitlisted, withdrawn; None: no place in the round
    paused: bool


# -- helpers ------------------------------------------------------------------------------------


def _fields(applicant: Applicant) -> dict[str, Any]:
    return {
        "display_name": applicant.name,
        "country": applicant.country,
        "timezone": applicant.timezone,
        "languages": sorted(applicant.languages),
        "sector": applicant.sector,
        "career_stage": applicant.career_stage,
        "interests": sorted(applicant.interests),
        "goals": applicant.goals,
        "match_preference": applicant.match_preference,
        "deleted": False,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


async def _participant(session: AsyncSession, guild_id: int, member_id: int) -> Participant | None:
    return await session.scalar(
        select(Participant).where(Participant.guild_id == guild_id, Participant.member_id == member_id)
    )


async def _require_participant(session: AsyncSession, guild_id: int, member_id: int) -> Participant:
    row = await _participant(session, guild_id, member_id)
    if row is None:
        raise UserFacingError("You have no profile yet: run /signup first.")
    return row


async def _applicant(session: AsyncSession, row: Participant) -> Applicant:
    blocked = (
        await session.scalars(select(DoNotMatch.other_member_id).where(DoNotMatch.participant_id == row.id))
    ).all()
    return Applicant(
        member_id=row.member_id or 0,
        name=row.display_name or ANONYMOUS_NAME,
        country=row.country,
        timezone=row.timezone,
        languages=frozenset(row.languages),
        sector=row.sector,
        career_stage=row.career_stage,
        interests=frozenset(row.interests),
        goals=row.goals,
        match_preference=row.match_preference,
        do_not_match=frozenset(blocked),
    )


async def _profile(session: AsyncSession, row: Participant) -> Profile:
    assert row.id is not None
    return Profile(
        row.id, await _applicant(session, row), row.paused, row.paused_until, row.created_at, row.updated_at
    )


async def _open_round(session: AsyncSession, guild_id: int) -> Round | None:
    return await session.scalar(
        select(Round)
        .where(Round.guild_id == guild_id, Round.status == OPEN_ROUND)
        .order_by(Round.id.desc())
        .limit(1)  # type: ignore[union-attr]
    )


async def _enrolment(
    session: AsyncSession, round_id: int | None, participant_id: int | None
) -> Enrolment | None:
    return await session.scalar(
        select(Enrolment).where(Enrolment.round_id == round_id, Enrolment.participant_id == participant_id)
    )


async def _current_enrolment(session: AsyncSession, row: Participant) -> tuple[Round, Enrolment] | None:
    found = (
        await session.execute(
            select(Round, Enrolment)
            .join(Enrolment, Enrolment.round_id == Round.id)
            .where(
                Enrolment.participant_id == row.id,
                Enrolment.status.in_((ENROLLED, WAITLISTED)),  # type: ignore[attr-defined]
                Round.status.in_((OPEN_ROUND, RUNNING_ROUND)),  # type: ignore[attr-defined]
            )
            .order_by(Round.id.desc())  # type: ignore[union-attr]
            .limit(1)
        )
    ).first()
    return None if found is None else (found[0], found[1])


async def _enrolled_counts(session: AsyncSession, round_id: int | None) -> tuple[Counter[str], int]:
    rows = (
        await session.execute(
            select(Participant.country, func.count())
            .join(Enrolment, Enrolment.participant_id == Participant.id)
            .where(Enrolment.round_id == round_id, Enrolment.status == ENROLLED)
            .group_by(Participant.country)
        )
    ).all()
    counts: Counter[str] = Counter(dict(rows))  # type: ignore[arg-type]
    return counts, sum(counts.values())


async def _places(session: AsyncSession, round_id: int | None) -> list[tuple[Enrolment, str]]:
    return [
        (enrolment, country)
        for enrolment, country in (
            await session.execute(
                select(Enrolment, Participant.country)
                .join(Participant, Participant.id == Enrolment.participant_id)
                .where(Enrolment.round_id == round_id)
                .order_by(Enrolment.created_at, Enrolment.id)
            )
        ).all()
    ]


async def _settle_waiting_list(session: AsyncSession, round_: Round, now: datetime) -> list[int]:
    """Move up whoever now fits under the country cap; returns their member ids."""
    if round_.country_cap_percent is None:
        return []
    places = await _places(session, round_.id)
    by_participant = {enrolment.participant_id: enrolment for enrolment, _ in places}
    moved = promotions(
        [Place(e.participant_id, country, e.status) for e, country in places], round_.country_cap_percent
    )
    member_ids = []
    for participant_id in moved:
        enrolment = by_participant[participant_id]
        enrolment.status, enrolment.updated_at = ENROLLED, now
        participant = await session.get(Participant, participant_id)
        if participant is not None and participant.member_id is not None:
            member_ids.append(participant.member_id)
    await session.flush()
    return member_ids


async def _round_place(session: AsyncSession, round_: Round, enrolment: Enrolment) -> RoundPlace:
    position = None
    if enrolment.status == WAITLISTED:
        waiting = [e for e, _ in await _places(session, round_.id) if e.status == WAITLISTED]
        position = next(i for i, e in enumerate(waiting, start=1) if e.id == enrolment.id)
    assert round_.id is not None
    return RoundPlace(round_.id, round_.name, round_.status, enrolment.status, position)
