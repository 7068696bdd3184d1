"""Feedback as the round runs: the half-time check-in, the end-of-round survey, keep-in-touch choices,
and the loader behind `/report`.

Schedules come from the database (DESIGN: "Schedules that survive restarts"): per launched round one
job at half-time (`tandem:feedback:<round>:checkin`) and one when the survey goes out
(`tandem:feedback:<round>:survey`, three days before the end, or at half-time for a round shorter
than a week). At start-up what fell due while the bot was down is sent once. Each message is claimed
per match (`FeedbackPost`, unique per match and kind) before it is sent, so it goes out once.

Keep-in-touch: the survey message carries "keep this space open" / "let it close" and "join the
next round" / "not this time". When the round ends, a space whose current partners all chose to
keep it is left writable (`space_status = kept`) and is never deleted after the retention period;
when the guild's next round is created, the partners who chose to join it are enrolled.

Discord is reached only through a `FeedbackOutlet` (cogs/feedback.py sets it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import jobs
from bot.clock import Clock
from bot.db import Database, is_transient
from bot.errors import UserFacingError
from bot.models import (
    ActivityWeek,
    CheckIn,
    FeedbackPost,
    Match,
    MatchMember,
    Participant,
    Round,
    SurveyAnswer,
)
from bot.reports import (
    CHECKIN_ANSWERS,
    ActivityRow,
    CheckInRow,
    MatchRow,
    PartnerRow,
    RoundData,
    SurveyRow,
)
from bot.rounds import ACTIVE, CREATED, ENDED, LAUNCHED, MATCH_ENDED, MEMBER_ACTIVE, active_members
from bot.sharding import EVERY_GUILD, Shard

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.participants import ParticipantService

log = logging.getLogger(__name__)

CHECKIN, SURVEY = "checkin", "survey"
POSTING, POSTED, FAILED = "posting", "posted", "failed"
KEPT = "kept"  # a match's space_status when its partners kept the space open after the end
NEED_HELP = "help"
SURVEY_LEAD = timedelta(days=3)
GAINED_MAX, COMMENTS_MAX = 200, 1000
JOB_PREFIX = "tandem:feedback"


def halftime(starts_at: datetime, ends_at: datetime) -> datetime:
    return starts_at + (ends_at - starts_at) / 2


def survey_time(starts_at: datetime, ends_at: datetime) -> datetime:
    """Three days before the end, but never before half-time (short rounds, trials)."""
    return max(ends_at - SURVEY_LEAD, halftime(starts_at, ends_at))


# -- the survey's fields, checked before anything is stored --------------------------------------


@dataclass(frozen=True)
class SurveyInput:
    rating: int
    gained: str
    comments: str


def parse_survey(rating: str, gained: str, comments: str) -> SurveyInput:
    """The modal's three fields, or a UserFacingError naming the field (and nothing is stored)."""
    text = rating.strip()
    if text not in {"1", "2", "3", "4", "5"}:
        raise UserFacingError(
            f"**Rating**: “{text[:20]}” is not a whole number from 1 to 5. Nothing was saved; "
            "press the button again."
        )
    gained = gained.strip()
    if not gained:
        raise UserFacingError("**What you gained**: please write a few words. Nothing was saved.")
    if len(gained) > GAINED_MAX:
        raise UserFacingError(f"**What you gained**: at most {GAINED_MAX} characters. Nothing was saved.")
    comments = comments.strip()
    if len(comments) > COMMENTS_MAX:
        raise UserFacingError(
            f"**Comments**: at most {COMMENTS_MAX:,} characters ({len(comments):,} given). Nothing was saved."
        )
    return SurveyInput(int(text), gained, comments)


# -- Discord, as the service sees it ---------------------------------------------------------------


class FeedbackOutlet(Protocol):
    async def post_checkin(
        self, space_id: int, match_id: int, round_name: str, member_ids: Sequence[int]
    ) -> int:
        """Post the check-in buttons in the space; returns the message id (raises on failure)."""
        ...

    async def post_survey(
        self, space_id: int, match_id: int, round_name: str, member_ids: Sequence[int]
    ) -> int:
        """Post the survey button and the keep-in-touch buttons; returns the message id."""
        ...

    async def alert(self, guild_id: int, text: str, match_id: int) -> int | None:
        """Tell the coordinators, with the match's buttons (rematch among them)."""
        ...


@dataclass(frozen=True)
class _Target:
    match_id: int
    space_id: int
    member_ids: tuple[int, ...]


@dataclass(frozen=True)
class Partnership:
    """Who pressed, in which match and round: what a button's callback needs to answer."""

    guild_id: int
    round_id: int
    round_name: str
    match_id: int
    match_member_id: int
    name: str
    partner_names: tuple[str, ...]


class NotAPartner(UserFacingError):
    def __init__(self) -> None:
        super().__init__("These buttons are for the partners of this space only; nothing was recorded.")


class FeedbackService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        participants: ParticipantService | None = None,
        scheduler: AsyncIOScheduler | None = None,
        shard: Shard = EVERY_GUILD,
    ) -> None:
        self._db = database
        self._clock = clock
        self._shard = shard
        self._participants = participants
        self.scheduler = scheduler
        self.outlet: FeedbackOutlet | None = None
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    @property
    def _out(self) -> FeedbackOutlet:
        if self.outlet is None:
            raise RuntimeError("FeedbackService has no outlet (cogs/feedback.py sets it)")
        return self.outlet

    # -- the schedule -------------------------------------------------------------------------

    async def _round(self, round_id: int) -> Round | None:
        async with self._db.session() as session:
            return await session.get(Round, round_id)

    async def after_launch(self, round_id: int) -> None:
        await self.send_due(round_id)
        await self.schedule_jobs(round_id)

    async def rebuild(self) -> int:
        """At start-up, for the rounds of this shard's guilds: send what fell due while the bot was
        down (once), schedule the rest."""
        async with self._db.session() as session:
            rows = (
                await session.execute(select(Round.id, Round.guild_id).where(Round.status == LAUNCHED))
            ).all()
        scheduled = 0
        for round_id, guild_id in rows:
            if not self._shard.holds(guild_id):
                continue
            try:
                await self.send_due(round_id)
            except Exception as error:
                if is_transient(error):  # the whole rebuild is tried again (bot/jobs.py)
                    raise
                log.exception("Sending the due check-ins and surveys of round %s failed", round_id)
            scheduled += len(await self.schedule_jobs(round_id))
        return scheduled

    async def schedule_jobs(self, round_id: int) -> list[str]:
        if self.scheduler is None:
            return []
        row = await self._round(round_id)
        now = self._clock.now()
        wanted: dict[str, datetime] = {}
        if row is not None and row.status == LAUNCHED:
            for kind, at in (
                (CHECKIN, halftime(row.starts_at, row.ends_at)),
                (SURVEY, survey_time(row.starts_at, row.ends_at)),
            ):
                if at > now:
                    wanted[f"{JOB_PREFIX}:{round_id}:{kind}"] = at
        prefix = f"{JOB_PREFIX}:{round_id}:"
        for job in self.scheduler.get_jobs():
            if job.id.startswith(prefix) and job.id not in wanted:
                job.remove()
        for identifier, at in wanted.items():
            # The scheduler runs on real time; the delay comes from the bot's clock.
            jobs.add_job(
                self.scheduler,
                self.send_due,
                DateTrigger(run_date=datetime.now(UTC) + (at - now), timezone=UTC),
                job_id=identifier,
                what=f"the {identifier.rsplit(':', 1)[1]} of round {round_id}",
                args=[round_id],
                misfire_grace_time=None,  # sending is claimed per match, so a late run is harmless
                coalesce=True,
            )
        return sorted(wanted)

    async def send_due(self, round_id: int) -> dict[str, int]:
        """Send the check-in and the survey if their time has come: (kind -> messages sent)."""
        row = await self._round(round_id)
        if row is None or row.status != LAUNCHED:
            return {}
        now = self._clock.now()
        sent = {}
        if now >= halftime(row.starts_at, row.ends_at):
            sent[CHECKIN] = await self.send(round_id, CHECKIN)
        if now >= survey_time(row.starts_at, row.ends_at):
            sent[SURVEY] = await self.send(round_id, SURVEY)
        return sent

    async def before_closing(self, round_id: int) -> None:
        """The round is ending: any space that has not had the survey gets it now."""
        await self.send(round_id, SURVEY)

    # -- sending, once per match ----------------------------------------------------------------

    async def send(self, round_id: int, kind: str) -> int:
        async with self._locks[round_id]:
            async with self._db.session() as session:
                row = await session.get(Round, round_id)
                if row is None:
                    return 0
                statuses = (ACTIVE,) if kind == CHECKIN else (ACTIVE, MATCH_ENDED)
                matches = (
                    await session.scalars(
                        select(Match)
                        .where(Match.round_id == round_id, Match.status.in_(statuses))  # type: ignore[attr-defined]
                        .where(Match.space_status == CREATED, Match.space_id.is_not(None))  # type: ignore[union-attr]
                        .order_by(Match.id)
                    )
                ).all()
                targets = []
                for match in matches:
                    members = (
                        await session.scalars(
                            select(MatchMember.member_id).where(
                                MatchMember.match_id == match.id, MatchMember.status == MEMBER_ACTIVE
                            )
                        )
                    ).all()
                    assert match.id is not None
                    assert match.space_id is not None
                    targets.append(_Target(match.id, match.space_id, tuple(m for m in members if m)))
                round_name = row.name
            sent = 0
            for target in targets:
                if not await self.claim(target.match_id, kind):
                    continue
                post = self._out.post_checkin if kind == CHECKIN else self._out.post_survey
                try:
                    message_id: int | None = await post(
                        target.space_id, target.match_id, round_name, target.member_ids
                    )
                except Exception as error:
                    log.warning("Could not post the %s in match %s: %s", kind, target.match_id, error)
                    message_id = None
                await self._record(target.match_id, kind, message_id)
                sent += message_id is not None
            return sent

    async def claim(self, match_id: int, kind: str) -> bool:
        """Claim the match's check-in (or survey) message; False if it was claimed before."""
        try:
            async with self._db.session() as session:
                session.add(FeedbackPost(match_id=match_id, kind=kind, claimed_at=self._clock.now()))
        except IntegrityError:
            return False
        return True

    async def _record(self, match_id: int, kind: str, message_id: int | None) -> None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(FeedbackPost).where(FeedbackPost.match_id == match_id, FeedbackPost.kind == kind)
            )
            if row is not None:
                row.status = POSTED if message_id else FAILED
                row.message_id = message_id
                row.posted_at = self._clock.now() if message_id else None

    # -- answers --------------------------------------------------------------------------------

    async def partnership(self, match_id: int, member_id: int) -> Partnership:
        """The presser's place in the match, or NotAPartner if they are not an active partner."""
        async with self._db.session() as session:
            match = await session.get(Match, match_id)
            round_ = await session.get(Round, match.round_id) if match is not None else None
            if match is None or round_ is None:
                raise NotAPartner()
            rows = await active_members(session, match_id)
        me = next(((m, p) for m, p in rows if m.member_id == member_id), None)
        if me is None:
            raise NotAPartner()
        others = tuple(p.display_name or "a partner" for m, p in rows if m.member_id != member_id)
        assert me[0].id is not None
        assert round_.id is not None
        return Partnership(
            round_.guild_id,
            round_.id,
            round_.name,
            match_id,
            me[0].id,
            me[1].display_name or "A partner",
            others,
        )

    async def record_checkin(
        self, match_id: int, member_id: int, answer: str
    ) -> tuple[Partnership, str | None]:
        """Store (or change) the presser's answer; "need help" alerts the coordinators. Returns the
        partnership and the previous answer."""
        if answer not in CHECKIN_ANSWERS:
            raise UserFacingError("That is not a check-in answer.")
        who = await self.partnership(match_id, member_id)
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.scalar(
                select(CheckIn).where(CheckIn.match_member_id == who.match_member_id, CheckIn.number == 1)
            )
            previous = row.answer if row is not None else None
            if row is None:
                session.add(
                    CheckIn(match_id=match_id, match_member_id=who.match_member_id, answer=answer, at=now)
                )
            else:
                row.answer, row.at = answer, now
        if answer == NEED_HELP and previous != NEED_HELP:
            partners = ", ".join(who.partner_names) or "nobody else"
            text = (
                f"**Need help** at the check-in: **{who.name}** in match {match_id} of **{who.round_name}** "
                f"(with {partners}) asked for help. Talk to them, offer a rematch below or run "
                "`/round rematch`."
            )
            if self.scheduler is None:
                await self._out.alert(who.guild_id, text, match_id)
            else:
                # The answer is saved: a second press would not alert again, so an alert the
                # database stops (before anything is posted) is sent later instead (bot/jobs.py).
                await jobs.run_now(
                    self.scheduler,
                    self._out.alert,
                    job_id=f"tandem:feedback:need-help:{who.match_member_id}",
                    what=f"the need-help alert of match {match_id}",
                    args=[who.guild_id, text, match_id],
                )
        return who, previous

    async def _survey_row(self, session: AsyncSession, who: Partnership) -> SurveyAnswer:
        row = await session.scalar(
            select(SurveyAnswer).where(SurveyAnswer.match_member_id == who.match_member_id)
        )
        if row is None:
            row = SurveyAnswer(
                match_id=who.match_id, match_member_id=who.match_member_id, updated_at=self._clock.now()
            )
            session.add(row)
        return row

    async def record_survey(self, match_id: int, member_id: int, answer: SurveyInput) -> Partnership:
        who = await self.partnership(match_id, member_id)
        now = self._clock.now()
        async with self._db.session() as session:
            row = await self._survey_row(session, who)
            row.rating, row.gained, row.comments = answer.rating, answer.gained, answer.comments or None
            row.answered_at = row.updated_at = now
        return who

    async def record_keep(
        self, match_id: int, member_id: int, *, keep_space: bool | None = None, join_next: bool | None = None
    ) -> Partnership:
        who = await self.partnership(match_id, member_id)
        async with self._db.session() as session:
            row = await self._survey_row(session, who)
            if keep_space is not None:
                row.keep_space = keep_space
            if join_next is not None:
                row.join_next = join_next
            row.updated_at = self._clock.now()
        return who

    async def keeps_space(self, match_id: int) -> bool:
        """True when every current partner of the match chose to keep the space open."""
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(MatchMember.id, SurveyAnswer.keep_space)
                    .outerjoin(SurveyAnswer, SurveyAnswer.match_member_id == MatchMember.id)
                    .where(MatchMember.match_id == match_id, MatchMember.status == MEMBER_ACTIVE)
                )
            ).all()
        return bool(rows) and all(keep is True for _id, keep in rows)

    async def returning_members(self, guild_id: int, round_id: int) -> list[int]:
        """Partners of the guild's last ended round (before `round_id`) who chose to join the next."""
        async with self._db.session() as session:
            return await _returning_members(session, guild_id, round_id)

    async def enrol_returning(self, guild_id: int, round_id: int, session: AsyncSession) -> list[int]:
        """A new round is being created: enrol the partners who chose "join the next round", in
        the transaction that creates it (so the round never exists without them)."""
        if self._participants is None:
            return []
        enrolled = []
        for member_id in await _returning_members(session, guild_id, round_id):
            try:
                await self._participants.join_in(session, guild_id, member_id, round_id)
                enrolled.append(member_id)
            except UserFacingError as error:
                log.info(
                    "Could not enrol returning member %s in round %s: %s", member_id, round_id, error.message
                )
        return enrolled

    # -- the report's rows ----------------------------------------------------------------------

    async def report_round(self, guild_id: int, which: str | None = None) -> int:
        """The round `/report` is about: by id or name, else the latest launched or ended one."""
        async with self._db.session() as session:
            query = select(Round).where(Round.guild_id == guild_id, Round.status.in_((LAUNCHED, ENDED)))  # type: ignore[attr-defined]
            rows = (await session.scalars(query.order_by(Round.id.desc()))).all()  # type: ignore[union-attr]
        if not rows:
            raise UserFacingError("There is no launched or ended round to report on yet.")
        if which is None or not which.strip():
            assert rows[0].id is not None
            return rows[0].id
        text = which.strip().lstrip("#")
        for row in rows:
            if str(row.id) == text or row.name.casefold() == text.casefold():
                assert row.id is not None
                return row.id
        names = ", ".join(f"{r.name} (#{r.id})" for r in rows[:10])
        raise UserFacingError(f"No launched or ended round is called “{which[:100]}”. Rounds: {names}.")

    async def round_data(self, round_id: int) -> RoundData:
        async with self._db.session() as session:
            row = await session.get(Round, round_id)
            if row is None:
                raise UserFacingError("That round no longer exists.")
            matches = (
                await session.scalars(select(Match).where(Match.round_id == round_id).order_by(Match.id))
            ).all()
            match_ids = [m.id for m in matches]
            members = (
                await session.execute(
                    select(MatchMember, Participant)
                    .join(Participant, Participant.id == MatchMember.participant_id)
                    .where(MatchMember.match_id.in_(match_ids))  # type: ignore[attr-defined]
                    .order_by(MatchMember.id)
                )
            ).all()
            member_ids = [m.id for m, _p in members]
            activity = (
                await session.scalars(
                    select(ActivityWeek).where(ActivityWeek.match_member_id.in_(member_ids))  # type: ignore[attr-defined]
                )
            ).all()
            checkins = (
                await session.scalars(select(CheckIn).where(CheckIn.match_id.in_(match_ids)))  # type: ignore[attr-defined]
            ).all()
            surveys = (
                await session.scalars(select(SurveyAnswer).where(SurveyAnswer.match_id.in_(match_ids)))  # type: ignore[attr-defined]
            ).all()
        partners: dict[int, list[PartnerRow]] = defaultdict(list)
        for member, person in members:
            assert member.id is not None
            partners[member.match_id].append(
                PartnerRow(
                    member.id,
                    None if person.deleted else person.display_name,
                    "" if person.deleted else person.country,
                    person.deleted,
                    member.status,
                    member.message_count,
                    member.last_message_at,
                )
            )
        return RoundData(
            round_id=round_id,
            name=row.name,
            status=row.status,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            matches=tuple(
                MatchRow(m.id or 0, m.status, m.score, tuple(partners.get(m.id or 0, ()))) for m in matches
            ),
            activity=tuple(ActivityRow(a.match_member_id, a.week_start, a.count) for a in activity),
            checkins=tuple(CheckInRow(c.match_member_id, c.answer, c.at) for c in checkins),
            surveys=tuple(
                SurveyRow(s.match_member_id, s.rating, s.gained, s.comments, s.keep_space, s.join_next)
                for s in surveys
            ),
        )


async def _returning_members(session: AsyncSession, guild_id: int, round_id: int) -> list[int]:
    last = await session.scalar(
        select(Round.id)
        .where(Round.guild_id == guild_id, Round.status == ENDED, Round.id != round_id)
        .order_by(Round.ended_at.desc(), Round.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )
    if last is None:
        return []
    rows = (
        await session.scalars(
            select(Participant.member_id)
            .join(MatchMember, MatchMember.participant_id == Participant.id)
            .join(SurveyAnswer, SurveyAnswer.match_member_id == MatchMember.id)
            .join(Match, Match.id == MatchMember.match_id)
            .where(Match.round_id == last, SurveyAnswer.join_next.is_(True))  # type: ignore[union-attr]
            .where(Participant.deleted.is_(False), Participant.member_id.is_not(None))  # type: ignore[attr-defined,union-attr]
            .distinct()
        )
    ).all()
    return sorted(m for m in rows if m is not None)
