"""Rounds and their matches: create, preview, launch, status, end, rematch. Every read and write of
rounds, matches and pins lives here; Discord is reached only through a `SpaceAdapter`
(bot/spaces.py in the bot, a fake in tests).

Launch is a resumable queue. The database is the source of truth:
- `start_launch` moves the round to `launched` and fixes every match's space name, in one transaction;
- each space is claimed (`space_status = creating`) before the Discord call and recorded (`created`,
  with its id) right after; a resumed launch first looks for a space carrying the match's marker and
  adopts it, so a crash between the call and the record never yields a second space;
- the intro is claimed (`intro_status = posting`) before it is posted and recorded after; a claimed
  but unrecorded intro is looked up in the space before it is posted again;
- matches are worked by a small pool (`LAUNCH_WORKERS`), never one giant gather: discord.py waits
  on 429s per route, so the pool only keeps each route's bucket busy;
- when the database fails mid-way (locked, unreachable), the workers take no new match, those at
  work finish or stop at their next write, and `run_launch` raises `LaunchInterrupted`: every space
  and intro made so far is recorded (or findable by its marker), and running it again carries on.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.applicants_csv import write_matches
from bot.clock import Clock
from bot.db import Database, is_transient
from bot.durations import format_duration, parse_duration
from bot.enrolment import ENROLLED
from bot.errors import UserFacingError
from bot.intro import (
    IntroDetails,
    Partner,
    SpaceMessage,
    closing_note,
    intro_card,
    moved_out_note,
    partner_left_note,
)
from bot.matching import (
    Applicant,
    Constraints,
    MatchInputError,
    MatchRequest,
    MatchResult,
    ScoringContext,
    format_quality,
    match_reasons,
    pair_key,
    propose_matches,
    score_pair,
)
from bot.models import Enrolment, Match, MatchMember, Participant, Programme, Round, RoundPair
from bot.participants import LeaveResult, ParticipantService
from bot.programmes import ProgrammeService
from bot.sharding import EVERY_GUILD, Shard
from bot.space_plan import (
    AUTO,
    CHANNEL,
    THREAD,
    SpacePlan,
    categories_needed,
    category_index,
    category_name,
    intro_marker,
    parent_channel_name,
    parent_marker,
    plan_spaces,
    space_marker,
    space_names,
)
from bot.summaries import problem_lines
from bot.topics import TopicLibrary, load_topic_library
from bot.topics.library import TopicText

log = logging.getLogger(__name__)

DRAFT, LAUNCHED, ENDED = "draft", "launched", "ended"
PROPOSED, ACTIVE, MATCH_ENDED, DISSOLVED = "proposed", "active", "ended", "dissolved"
PENDING, CREATING, CREATED, FAILED, DELETED, CLOSED, REMOVED, KEPT = (
    "pending",
    "creating",
    "created",
    "failed",
    "deleted",
    "closed",
    "removed",
    "kept",  # left open at the end because its partners chose to keep in touch
)
POSTING, POSTED = "posting", "posted"
MEMBER_ACTIVE, MEMBER_LEFT, MEMBER_MOVED = "active", "left", "moved"
PARTNER_LEFT, SPACE_DELETED, SPACE_FAILED = "partner_left", "space_deleted", "space_failed"

DEFAULT_LENGTH = timedelta(weeks=16)
DEFAULT_CADENCE = timedelta(days=14)
LAUNCH_WORKERS = 4
RETRY_DELAYS = (0.5, 2.0, 5.0)  # after discord.py's own retries, for errors that may pass
OPTIONS_PER_KIND = 3

Alert = Callable[[int, str], Awaitable[object]]
Progress = Callable[[int, int], Awaitable[None]]


# -- the Discord side, as the service sees it --------------------------------------------------


class LaunchInterrupted(Exception):
    """The database failed during a launch; what was done is recorded and `run_launch` carries on.

    `done` of `total` matches had been worked when it stopped (both None if it stopped before the
    work was counted). The database error is the `__cause__`."""

    def __init__(self, round_id: int, round_name: str, done: int | None, total: int | None) -> None:
        super().__init__(f"the launch of round {round_id} was interrupted by a database failure")
        self.round_id = round_id
        self.round_name = round_name
        self.done = done
        self.total = total

    def lines(self, retry_in: timedelta | None) -> list[str]:
        where = f" with {self.done} of {self.total} spaces ready" if self.total else ""
        again = (
            f"Tandem carries on by itself in {format_duration(retry_in)}, and keeps trying until the "
            "database is back; the alerts channel says when the launch has finished. "
            if retry_in is not None
            else ""
        )
        return [
            f"**{self.round_name}**: the launch stopped{where}: Tandem can't reach its database just now.",
            "Every space and intro made so far is kept, and none will be made twice. "
            + again
            + "/round launch carries on too.",
        ]


class SpaceError(Exception):
    """A Discord call for a space failed. `permanent`: retrying will not help (missing access...);
    `gone`: the channel or thread no longer exists."""

    def __init__(self, message: str, *, permanent: bool, gone: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.gone = gone


@dataclass(frozen=True)
class SpaceSpec:
    """Everything needed to create (or recognise) one match's space."""

    guild_id: int
    match_id: int
    kind: str  # channel or thread
    name: str
    container_id: int | None  # the category (channels) or parent channel (threads)
    member_ids: tuple[int, ...]
    coordinator_role_id: int | None = None
    coordinators_see: bool = False

    @property
    def marker(self) -> str:
        return space_marker(self.match_id)


@dataclass(frozen=True)
class GuildCapacity:
    channels: int
    active_threads: int


class TopicHandover(Protocol):
    """The topic schedule (bot/topic_posts.py), as the launch sees it."""

    async def intro_topic(self, round_id: int, languages: Sequence[Iterable[str]]) -> TopicText | None: ...

    async def after_launch(self, round_id: int) -> None: ...


class FeedbackHandover(Protocol):
    """Check-ins, the survey and keep-in-touch choices (bot/checkins.py), as the rounds see them."""

    async def after_launch(self, round_id: int) -> None: ...

    async def enrol_returning(self, guild_id: int, round_id: int, session: AsyncSession) -> list[int]: ...

    async def before_closing(self, round_id: int) -> None: ...

    async def keeps_space(self, match_id: int) -> bool: ...


class SpaceAdapter(Protocol):
    async def capacity(self, guild_id: int) -> GuildCapacity: ...

    async def missing_permissions(self, guild_id: int, kind: str, parent_id: int | None) -> list[str]: ...

    async def ensure_category(self, guild_id: int, name: str, known_id: int | None) -> int: ...

    async def free_category_slots(self, guild_id: int, category_id: int) -> int | None:
        """How many more channels the category can hold; None if it no longer exists."""
        ...

    async def ensure_parent(
        self,
        guild_id: int,
        name: str,
        marker: str,
        known_id: int | None,
        coordinator_role_id: int | None,
        coordinators_see: bool,
    ) -> int: ...

    async def find_space(self, spec: SpaceSpec) -> int | None: ...

    async def create_space(self, spec: SpaceSpec) -> int: ...

    async def admit(self, spec: SpaceSpec, space_id: int) -> None: ...

    async def find_message(self, space_id: int, marker: str) -> int | None: ...

    async def post(self, space_id: int, message: SpaceMessage) -> int: ...

    async def set_members(self, spec: SpaceSpec, space_id: int, removed: Sequence[int] = ()) -> None: ...

    async def close_space(self, spec: SpaceSpec, space_id: int) -> None: ...

    async def delete_channel(self, channel_id: int) -> None: ...


# -- plain results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundInfo:
    id: int
    guild_id: int
    name: str
    status: str
    starts_at: datetime
    ends_at: datetime
    cadence_seconds: int
    group_size: int
    space_kind: str | None
    retention_seconds: int | None
    ended_at: datetime | None

    @property
    def length(self) -> timedelta:
        return self.ends_at - self.starts_at


@dataclass(frozen=True)
class PairChanges:
    """Pins and keep-aparts asked for with /round preview: saved with the proposal, or not at all."""

    clear: bool = False
    pairs: tuple[tuple[int, int, str], ...] = ()  # (member, member, "pin" or "forbid")

    def check(self) -> None:
        for first, second, kind in self.pairs:
            if kind not in ("pin", "forbid"):
                raise ValueError(kind)
            if first == second:
                raise UserFacingError("Pick two different members.")

    def applied_to(self, stored: dict[tuple[int, int], str]) -> dict[tuple[int, int], str]:
        pairs = {} if self.clear else dict(stored)
        for first, second, kind in self.pairs:
            pairs[pair_key(first, second)] = kind
        return pairs


@dataclass(frozen=True)
class Preview:
    round: RoundInfo
    seed: int
    result: MatchResult
    names: dict[int, str]
    pins: int
    forbids: int

    def summary_lines(self) -> list[str]:
        lines = format_quality(self.result.quality)
        if self.result.unmatched:
            lines.append("Unmatched:")
            for person in self.result.unmatched[:10]:
                lines.append(f"• {self.names.get(person.member_id, person.member_id)}: {person.reason}")
            if len(self.result.unmatched) > 10:
                lines.append(f"• … and {len(self.result.unmatched) - 10} more (see the CSV)")
        if self.pins or self.forbids:
            lines.append(f"Coordinator pairs: {self.pins} pinned, {self.forbids} kept apart")
        return lines

    def csv_bytes(self) -> bytes:
        buffer = io.StringIO()
        write_matches(buffer, self.result, self.names)
        return buffer.getvalue().encode("utf-8-sig")


@dataclass(frozen=True)
class LaunchCheck:
    round: RoundInfo
    plan: SpacePlan
    resuming: bool
    remaining: int  # spaces still to create or finish


@dataclass(frozen=True)
class SpaceFailure:
    match_id: int
    space_name: str
    error: str


@dataclass(frozen=True)
class LaunchReport:
    round_name: str
    kind: str
    total: int
    ready: int
    failures: tuple[SpaceFailure, ...]

    def lines(self) -> list[str]:
        word = "channels" if self.kind == CHANNEL else "threads"
        return problem_lines(
            f"**{self.round_name}**: {self.ready} of {self.total} spaces ready (private {word}).",
            [f"could not create `{f.space_name}` (match {f.match_id}): {f.error}" for f in self.failures],
            "Run /round launch again to retry them.",
        )


@dataclass(frozen=True)
class RoundStatus:
    round: RoundInfo
    matches: int
    trios: int
    spaces: dict[str, int]
    intros: int
    attention: tuple[tuple[int, str, str], ...]  # (match id, names, why)
    unmatched: int
    enrolled: int


@dataclass(frozen=True)
class LeftMatch:
    match_id: int
    round_name: str
    space_kind: str | None
    space_id: int | None
    leaver: Partner
    remaining: tuple[Partner, ...]


@dataclass(frozen=True)
class Departure:
    """A member leaving their round (and, when asked, erasing their data), as one transaction
    recorded it: `place` is None if they were in no round; `left` are the running matches they left."""

    place: LeaveResult | None
    left: tuple[LeftMatch, ...]
    erased: bool


@dataclass(frozen=True)
class RematchOption:
    kind: str  # pair, trio or recreate
    match_id: int
    partners: tuple[Partner, ...]
    score: float
    reasons: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        names = " and ".join(p.name for p in self.partners)
        if self.kind == "recreate":
            return f"Give the match with {names} a new space"
        if self.kind == "pair":
            return f"Pair with {names} (score {self.score:.0f})"
        return f"Join {names} as a third partner (score {self.score:.0f})"


@dataclass(frozen=True)
class RematchChoice:
    round: RoundInfo
    member: Partner
    current_match_id: int | None
    options: tuple[RematchOption, ...]


@dataclass
class _Work:
    match_id: int
    position: int


@dataclass
class _Counters:
    done: int = 0
    total: int | None = None
    failures: list[SpaceFailure] = field(default_factory=list)


# -- pure helpers -----------------------------------------------------------------------------


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}$")


def parse_start(text: str, now: datetime, timezone: str) -> datetime:
    """`now`, a date (`2026-04-01`, local midnight), a date and time (`2026-04-01 09:00`, local),
    or a length from now (`2w`, `45s`)."""
    value = text.strip()
    if value.lower() in ("now", "today", ""):
        return now
    zone = ZoneInfo(timezone)
    try:
        if _DATE.match(value):
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=zone).astimezone(now.tzinfo)
        if _DATE_TIME.match(value):
            return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=zone).astimezone(now.tzinfo)
    except ValueError:
        raise UserFacingError(f"“{value[:40]}” is not a real date; write it like 2026-04-01.") from None
    try:
        return now + parse_duration(value)
    except UserFacingError:
        raise UserFacingError(
            f"“{value[:40]}” is not a start: write `now`, a date (2026-04-01), "
            "a date and time (2026-04-01 09:00) or a length from now (2w, 45s)."
        ) from None


def status_lines(status: RoundStatus) -> list[str]:
    r = status.round
    lines = [
        f"**{r.name}**: {r.status}",
        f"Runs {r.starts_at:%Y-%m-%d %H:%M} to {r.ends_at:%Y-%m-%d %H:%M} UTC",
    ]
    lines.append(
        f"Topic every {format_duration(timedelta(seconds=r.cadence_seconds))}; {status.enrolled} enrolled"
    )
    if r.status == DRAFT:
        if status.matches:
            lines.append(f"Preview: {status.matches} matches proposed ({status.trios} trios), not launched")
        else:
            lines.append("No preview yet: run /round preview.")
        return lines
    kind = {CHANNEL: "private channels", THREAD: "private threads"}.get(r.space_kind or "", "spaces")
    s = status.spaces
    lines.append(
        f"Matches: {status.matches} ({status.trios} trios); {status.unmatched} enrolled without a match"
    )
    parts = [f"{s.get(CREATED, 0)} ready"]
    for key, word in (
        (PENDING, "waiting"),
        (CREATING, "being created"),
        (FAILED, "failed"),
        (DELETED, "deleted by hand"),
        (CLOSED, "read-only"),
        (REMOVED, "deleted after the round"),
    ):
        if s.get(key):
            parts.append(f"{s[key]} {word}")
    lines.append(f"Spaces ({kind}): " + ", ".join(parts) + f"; intros posted: {status.intros}")
    if r.status == ENDED and r.retention_seconds and r.ended_at:
        due = r.ended_at + timedelta(seconds=r.retention_seconds)
        lines.append(f"Spaces are deleted on {due:%Y-%m-%d %H:%M} UTC")
    if status.attention:
        lines.append(f"Needing attention ({len(status.attention)}):")
        for match_id, names, why in status.attention[:15]:
            lines.append(f"• match {match_id} ({names}): {why}")
    return lines


_WHY = {
    PARTNER_LEFT: "a partner left; /round rematch offers options",
    SPACE_DELETED: "the space was deleted; /round rematch can recreate it",
    SPACE_FAILED: "the space could not be created; /round launch retries",
}


# -- the service ------------------------------------------------------------------------------


class RoundService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        participants: ParticipantService,
        programmes: ProgrammeService,
        *,
        spaces: SpaceAdapter | None = None,
        alert: Alert | None = None,
        topics_dir: Path | None = None,
        workers: int = LAUNCH_WORKERS,
        shard: Shard = EVERY_GUILD,
    ) -> None:
        self._db = database
        self._shard = shard  # start-up work (resumed launches, closings, deletions) for its guilds only
        self._clock = clock
        self._participants = participants
        self._programmes = programmes
        self.spaces = spaces
        self._alert = alert
        self._topics_dir = topics_dir
        self.workers = workers
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.retry_delays: Sequence[float] = RETRY_DELAYS
        # Set by the app: names the first topic in intros, and takes over once a launch is done.
        self.topics: TopicHandover | None = None
        # Set by the app: sends check-ins and surveys, and says which spaces stay open at the end.
        self.feedback: FeedbackHandover | None = None

    # -- helpers ------------------------------------------------------------------------------

    @property
    def adapter(self) -> SpaceAdapter:
        if self.spaces is None:
            raise RuntimeError("RoundService has no space adapter")
        return self.spaces

    def busy(self, round_id: int) -> bool:
        return self._locks[round_id].locked()

    @asynccontextmanager
    async def _exclusive(self, round_id: int) -> AsyncIterator[None]:
        """One launch, closing or deletion of a round at a time: in this process (the lock) and across
        processes on one PostgreSQL database (an advisory lock that dies with its process)."""
        async with self._locks[round_id], self._db.exclusive(round_id):
            yield

    async def _intro_topic(self, round_id: int, languages: Sequence[Iterable[str]]) -> TopicText | None:
        if self.topics is not None:  # the topic is posted in full by the schedule; the intro names it
            return await self.topics.intro_topic(round_id, languages)
        return self.first_topic(languages)

    def first_topic(self, languages: Sequence[Iterable[str]]) -> TopicText | None:
        library = _library(self._topics_dir) if self._topics_dir else TopicLibrary(())
        if not len(library):
            return None
        return library.topics[0].text_for([frozenset(langs) for langs in languages])

    async def coordinators_see_spaces(self, guild_id: int) -> bool:
        """The programme's privacy setting for spaces (default: coordinators do not see them)."""
        async with self._db.session() as session:
            row = await session.get(Programme, guild_id)
            return bool(row and row.coordinators_see_spaces)

    async def set_coordinators_see_spaces(self, guild_id: int, value: bool) -> None:
        """Applies to spaces created from now on; existing spaces keep their permissions."""
        await self._programmes.update(guild_id)  # creates the programme row if needed
        async with self._db.session() as session:
            row = await session.get(Programme, guild_id)
            assert row is not None
            row.coordinators_see_spaces = value
            row.updated_at = self._clock.now()

    async def _say(self, guild_id: int, text: str) -> None:
        if self._alert is not None:
            await self._alert(guild_id, text)

    # -- create -------------------------------------------------------------------------------

    async def create_round(
        self,
        guild_id: int,
        name: str,
        starts_at: datetime,
        *,
        ends_at: datetime | None = None,
        length: timedelta | None = None,
        cadence: timedelta = DEFAULT_CADENCE,
        group_size: int = 2,
        country_cap_percent: int | None = None,
    ) -> RoundInfo:
        name = " ".join(name.split())
        if not name:
            raise UserFacingError("Give the round a name, like “Spring 2026”.")
        if len(name) > 100:
            raise UserFacingError("A round's name can be 100 characters at most.")
        if ends_at is not None and length is not None:
            raise UserFacingError("Give either `ends` or `length`, not both.")
        end = ends_at if ends_at is not None else starts_at + (length or DEFAULT_LENGTH)
        if end <= starts_at:
            raise UserFacingError("The round must end after it starts.")
        if cadence > end - starts_at:
            raise UserFacingError(
                f"A topic every {format_duration(cadence)} is longer than the round itself "
                f"({format_duration(end - starts_at)})."
            )
        if group_size != 2:
            raise UserFacingError(
                "Tandem matches pairs (a trio absorbs an odd participant); groups of "
                f"{group_size} are not supported yet."
            )
        if country_cap_percent is not None and not 5 <= country_cap_percent <= 100:
            raise UserFacingError("A country cap is a percentage from 5 to 100 (ILN used 20).")
        now = self._clock.now()
        async with self._db.session() as session:
            open_round = await _latest(session, guild_id, (DRAFT,))
            if open_round is not None:
                raise UserFacingError(
                    f"**{open_round.name}** is already open for signups. Launch it or end it before "
                    "creating another round."
                )
            row = Round(
                guild_id=guild_id,
                name=name,
                starts_at=starts_at,
                ends_at=end,
                cadence_seconds=int(cadence.total_seconds()),
                group_size=group_size,
                country_cap_percent=country_cap_percent,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            info = _info(row)
            if self.feedback is not None:  # partners who chose "join the next round", in the same transaction
                await self.feedback.enrol_returning(guild_id, info.id, session)
        return info

    async def current_round(self, guild_id: int, statuses: Sequence[str] = (DRAFT, LAUNCHED)) -> RoundInfo:
        async with self._db.session() as session:
            row = await _latest(session, guild_id, statuses)
            if row is None:
                raise UserFacingError(_no_round(statuses))
            return _info(row)

    # -- pins and forbids ---------------------------------------------------------------------

    async def set_pair(self, guild_id: int, first: int, second: int, kind: str) -> RoundInfo:
        changes = PairChanges(pairs=((first, second, kind),))
        changes.check()
        async with self._db.session() as session:
            row = await _latest(session, guild_id, (DRAFT,))
            if row is None:
                raise UserFacingError(_no_round((DRAFT,)))
            await self._save_pairs(session, row.id, changes)  # type: ignore[arg-type]
            return _info(row)

    async def clear_pairs(self, guild_id: int) -> int:
        async with self._db.session() as session:
            row = await _latest(session, guild_id, (DRAFT,))
            if row is None:
                raise UserFacingError(_no_round((DRAFT,)))
            return await self._save_pairs(session, row.id, PairChanges(clear=True))  # type: ignore[arg-type]

    async def _save_pairs(self, session: AsyncSession, round_id: int, changes: PairChanges) -> int:
        """Apply pins and keep-aparts to the round's stored ones; returns how many were cleared."""
        cleared = 0
        if changes.clear:
            result = await session.execute(delete(RoundPair).where(RoundPair.round_id == round_id))
            cleared = int(result.rowcount or 0)  # type: ignore[attr-defined]
        for first, second, kind in changes.pairs:
            a, b = pair_key(first, second)
            existing = await session.scalar(
                select(RoundPair).where(
                    RoundPair.round_id == round_id, RoundPair.member_a == a, RoundPair.member_b == b
                )
            )
            if existing is None:
                session.add(
                    RoundPair(
                        round_id=round_id, member_a=a, member_b=b, kind=kind, created_at=self._clock.now()
                    )
                )
                await session.flush()  # the same pair twice in one request updates the row just added
            else:
                existing.kind = kind
        return cleared

    # -- preview ------------------------------------------------------------------------------

    async def preview(
        self, guild_id: int, seed: int | None = None, changes: PairChanges | None = None
    ) -> Preview:
        """Run the matcher on the enrolled participants and store the proposal it makes.

        `changes` (pins and keep-aparts asked for with the preview) are stored in the same
        transaction as the proposal: a preview that fails leaves both as they were."""
        changes = changes or PairChanges()
        changes.check()
        async with self._db.session() as session:
            row = await _latest(session, guild_id, (DRAFT,))
            if row is None:
                launched = await _latest(session, guild_id, (LAUNCHED,))
                if launched is not None:
                    raise UserFacingError(
                        f"**{launched.name}** is already launched; there is no round to preview."
                    )
                raise UserFacingError(_no_round((DRAFT,)))
            round_ = _info(row)
            stored = (await session.scalars(select(RoundPair).where(RoundPair.round_id == row.id))).all()
            pairs = changes.applied_to({(p.member_a, p.member_b): p.kind for p in stored})
            history = await _history(session, guild_id, row.id)
        applicants = await self._participants.enrolled_applicants(round_.id)
        if not applicants:
            raise UserFacingError(
                f"Nobody is enrolled in **{round_.name}** yet: members join with /signup, "
                "or coordinators add them with /participants import."
            )
        programme = await self._programmes.get(guild_id)
        seed = round_.id if seed is None else seed
        request = MatchRequest(
            applicants=tuple(applicants),
            history_pairs=frozenset(history),
            pinned_pairs=tuple(sorted(pair for pair, kind in pairs.items() if kind == "pin")),
            forbidden_pairs=frozenset(pair for pair, kind in pairs.items() if kind == "forbid"),
            seed=seed,
            reference_date=round_.starts_at.date(),
            career_stages=programme.career_stages,
        )
        try:
            result = await asyncio.to_thread(propose_matches, request)
        except MatchInputError as error:
            problems = "\n".join(f"• {p}" for p in error.problems)
            raise UserFacingError(f"The matcher cannot honour this:\n{problems}") from None
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.get(Round, round_.id)
            if row is None or row.status != DRAFT:
                raise UserFacingError("The round changed while the preview ran; run /round preview again.")
            await self._save_pairs(session, round_.id, changes)
            row.seed = seed
            await session.execute(delete(Match).where(Match.round_id == row.id, Match.status == PROPOSED))
            ids = await _participant_ids(session, guild_id, [m for x in result.matches for m in x.member_ids])
            rows = [
                Match(
                    round_id=row.id,
                    status=PROPOSED,
                    score=m.score,
                    reasons=list(m.reasons),
                    pinned=m.pinned,
                    created_at=now,
                )
                for m in result.matches
            ]
            session.add_all(rows)
            await session.flush()
            session.add_all(
                MatchMember(match_id=r.id, participant_id=ids[member], member_id=member, joined_at=now)
                for r, m in zip(rows, result.matches, strict=True)
                for member in m.member_ids
            )
        names = {a.member_id: a.name for a in applicants}
        pins = sum(kind == "pin" for kind in pairs.values())
        return Preview(round_, seed, result, names, pins, len(pairs) - pins)

    # -- launch -------------------------------------------------------------------------------

    async def check_launch(self, guild_id: int, requested: str = AUTO) -> LaunchCheck:
        """What a launch would do, or a UserFacingError saying why it cannot; changes nothing."""
        async with self._db.session() as session:
            launched = await _latest(session, guild_id, (LAUNCHED,))
            if launched is not None and await _unfinished(session, launched.id):
                row, resuming = launched, True
            else:
                row = await _latest(session, guild_id, (DRAFT,))
                resuming = False
                if row is None:
                    if launched is not None:
                        raise UserFacingError(
                            f"**{launched.name}** is already launched, and every space exists. "
                            "See /round status."
                        )
                    raise UserFacingError(_no_round((DRAFT,)))
            round_ = _info(row)
            if resuming:
                remaining = len(await _unfinished(session, row.id))
                total = await _count(session, row.id, (ACTIVE,))
            else:
                enrolled = await _enrolled_count(session, row.id)
                if enrolled == 0:
                    raise UserFacingError(
                        f"Nobody is enrolled in **{row.name}**, so there is nothing to launch."
                    )
                total = await _count(session, row.id, (PROPOSED,))
                if total == 0:
                    raise UserFacingError(
                        f"**{row.name}** has no proposal yet: run /round preview, "
                        "check the matches, then launch."
                    )
                if await _stale(session, row.id):
                    raise UserFacingError(
                        "Participants joined or left since the last preview, so it is out of date: "
                        "run /round preview again, then launch."
                    )
                remaining = total
        programme = await self._programmes.get(guild_id)
        if resuming and round_.space_kind:
            kind = round_.space_kind
            plan = SpacePlan(kind, total, categories_needed(total) if kind == CHANNEL else 0, "as launched")
        else:
            capacity = await self.adapter.capacity(guild_id)
            plan = plan_spaces(requested, total, capacity.channels, capacity.active_threads)
        missing = await self.adapter.missing_permissions(
            guild_id, plan.kind, programme.spaces_parent_channel_id
        )
        if missing:
            raise UserFacingError(
                "I can't create the spaces: I am missing "
                + ", ".join(f"**{m}**" for m in missing)
                + ". Give my role these permissions and try again; nothing was changed."
            )
        return LaunchCheck(round_, plan, resuming, remaining)

    async def start_launch(self, round_id: int, kind: str) -> RoundInfo:
        """Move a draft round to launched and fix the matches and their space names (one transaction)."""
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.get(Round, round_id)
            if row is None:
                raise UserFacingError("That round no longer exists.")
            if row.status == LAUNCHED:
                return _info(row)
            if row.status != DRAFT:
                raise UserFacingError(f"**{row.name}** has ended; it cannot be launched.")
            matches = (
                await session.scalars(
                    select(Match).where(Match.round_id == row.id, Match.status == PROPOSED).order_by(Match.id)
                )
            ).all()
            if not matches:
                raise UserFacingError(f"**{row.name}** has no proposal yet: run /round preview first.")
            names = await _member_names(session, [m.id for m in matches])
            for match, space in zip(matches, space_names([names[m.id] for m in matches]), strict=True):
                match.status, match.space_status, match.space_name = ACTIVE, PENDING, space
            row.status, row.launched_at, row.space_kind = LAUNCHED, now, kind
            return _info(row)

    async def unfinished_launches(self) -> list[int]:
        """Launched rounds of this shard's guilds with spaces or intros still to do (resumed at start-up)."""
        async with self._db.session() as session:
            rounds = (
                await session.execute(select(Round.id, Round.guild_id).where(Round.status == LAUNCHED))
            ).all()
            return [
                r
                for r, guild_id in rounds
                if self._shard.holds(guild_id) and await _unfinished(session, r, include_failed=False)
            ]

    async def run_launch(self, round_id: int, progress: Progress | None = None) -> LaunchReport:
        """Create every missing space and intro of a launched round; safe to run again at any time.
        Then the topic schedule takes over: the topics due so far are posted, the rest scheduled.

        Raises LaunchInterrupted when the database fails transiently on the way (the handover
        included): run it again, later, to carry on."""
        counters = _Counters()
        names: list[str] = []
        try:
            report = await self._run_launch(round_id, progress, counters, names)
            for handover, what in ((self.topics, "the topic schedule"), (self.feedback, "check-ins")):
                if handover is None:
                    continue
                try:
                    await handover.after_launch(round_id)
                except Exception as error:
                    if is_transient(error):
                        raise
                    log.exception("Handing round %s over to %s failed", round_id, what)
        except Exception as error:
            if not is_transient(error):
                raise
            name = names[0] if names else f"Round {round_id}"
            raise LaunchInterrupted(round_id, name, counters.done, counters.total) from error
        return report

    async def _run_launch(
        self, round_id: int, progress: Progress | None, counters: _Counters, names: list[str]
    ) -> LaunchReport:
        async with self._exclusive(round_id):
            async with self._db.session() as session:
                row = await session.get(Round, round_id)
                if row is None or row.status != LAUNCHED or row.space_kind is None:
                    raise UserFacingError("That round is not launched.")
                round_ = _info(row)
                names.append(round_.name)
                every = (
                    await session.scalars(
                        select(Match.id)
                        .where(Match.round_id == round_id, Match.status != PROPOSED)
                        .order_by(Match.id)
                    )
                ).all()
                todo_ids = set(await _unfinished(session, round_id))
            programme = await self._programmes.get(round_.guild_id)
            see = await self.coordinators_see_spaces(round_.guild_id)
            containers = await self._containers(
                round_,
                len(every),
                programme.coordinator_role_id,
                see,
                programme.spaces_parent_channel_id,
                given_category=programme.spaces_category_id,
            )
            work = [
                _Work(match_id, position) for position, match_id in enumerate(every) if match_id in todo_ids
            ]
            total = await self._active_total(round_id)
            counters.done, counters.total = max(total - len(work), 0), total
            queue: asyncio.Queue[_Work] = asyncio.Queue()
            for item in work:
                queue.put_nowait(item)
            context = _LaunchContext(round_, containers, programme.coordinator_role_id, see)
            errors: list[Exception] = []

            async def worker() -> None:
                while not errors:  # after an error (the database gone) the others take no new match
                    try:
                        item = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    try:
                        failure = await self._launch_one(context, item)
                    except Exception as error:
                        errors.append(error)
                        return
                    if failure is not None:
                        counters.failures.append(failure)
                    counters.done += 1
                    if progress is not None:
                        await progress(counters.done, total)

            if progress is not None:
                await progress(counters.done, total)
            # Every worker is awaited before the lock is let go, so a retry never overlaps them.
            await asyncio.gather(*(worker() for _ in range(max(1, min(self.workers, len(work) or 1)))))
            if errors:
                raise errors[0]
            failures = tuple(sorted(counters.failures, key=lambda f: f.match_id))
            return LaunchReport(
                round_.name, round_.space_kind or CHANNEL, total, total - len(failures), failures
            )

    async def _active_total(self, round_id: int) -> int:
        async with self._db.session() as session:
            return await _count(session, round_id, (ACTIVE,))

    async def _containers(
        self,
        round_: RoundInfo,
        spaces: int,
        role_id: int | None,
        coordinators_see: bool,
        given: int | None,
        *,
        given_category: int | None = None,
    ) -> list[int]:
        """The categories (channels) or the parent channel (threads), created once and recorded.

        The programme's own category (/setup spaces_category) takes the round when every space
        fits in its free slots; otherwise the round gets categories of its own.
        """
        adapter = self.adapter
        async with self._db.session() as session:
            row = await session.get(Round, round_.id)
            assert row is not None
            known = list(row.category_ids)
            parent = row.parent_channel_id
        if round_.space_kind == THREAD:
            if parent is None and given is not None:
                parent = given
            else:
                parent = await self._retry(
                    adapter.ensure_parent,
                    round_.guild_id,
                    parent_channel_name(round_.name),
                    parent_marker(round_.id),
                    parent,
                    role_id,
                    coordinators_see,
                )
            async with self._db.session() as session:
                row = await session.get(Round, round_.id)
                assert row is not None
                row.parent_channel_id = parent
            return [parent]
        if not known and given_category is not None:
            free = await adapter.free_category_slots(round_.guild_id, given_category)
            if free is not None and free >= spaces:
                async with self._db.session() as session:
                    row = await session.get(Round, round_.id)
                    assert row is not None
                    row.category_ids = [given_category]
                return [given_category]
        count = categories_needed(spaces)
        ids: list[int] = []
        for index in range(count):
            name = category_name(round_.name, index, count)
            known_id = known[index] if index < len(known) else None
            category = await self._retry(adapter.ensure_category, round_.guild_id, name, known_id)
            ids.append(category)
            async with self._db.session() as session:
                row = await session.get(Round, round_.id)
                assert row is not None
                row.category_ids = [*ids, *known[len(ids) :]]
        return ids

    async def _retry(self, call: Callable[..., Awaitable[object]], *args: object) -> int:
        delays = list(self.retry_delays)
        while True:
            try:
                return await call(*args)  # type: ignore[return-value]
            except SpaceError as error:
                if error.permanent or not delays:
                    raise
                log.warning("Retrying a space call after: %s", error.message)
                await asyncio.sleep(delays.pop(0))

    async def _launch_one(self, ctx: _LaunchContext, item: _Work) -> SpaceFailure | None:
        match, partners, languages = await self._match_details(item.match_id)
        if match is None or match.status != ACTIVE:
            return None
        container = match.container_id
        if container is None:
            container = (
                ctx.containers[0]
                if ctx.round.space_kind == THREAD
                else ctx.containers[category_index(item.position)]
            )
        spec = SpaceSpec(
            guild_id=ctx.round.guild_id,
            match_id=item.match_id,
            kind=ctx.round.space_kind or CHANNEL,
            name=match.space_name or f"match-{item.match_id}",
            container_id=container,
            member_ids=tuple(p.member_id for p in partners),
            coordinator_role_id=ctx.role_id,
            coordinators_see=ctx.coordinators_see,
        )
        adapter = self.adapter
        space_id = match.space_id if match.space_status == CREATED else None
        adopted = False
        try:
            if space_id is None:
                if match.space_status in (CREATING, FAILED):
                    space_id = await self._retry(adapter.find_space, spec)
                    adopted = space_id is not None
                if space_id is None:
                    await self._set_space(item.match_id, CREATING, container_id=container)
                    space_id = await self._retry(adapter.create_space, spec)
                await self._set_space(item.match_id, CREATED, space_id=space_id)
            if match.intro_status != POSTED:
                await self._retry(adapter.admit, spec, space_id)  # idempotent: threads add members
                message_id = None
                if adopted or match.intro_status == POSTING:
                    message_id = await self._retry(
                        adapter.find_message, space_id, intro_marker(item.match_id)
                    )
                if message_id is None:
                    await self._set_intro(item.match_id, POSTING)
                    details = IntroDetails(
                        item.match_id,
                        ctx.round.name,
                        partners,
                        match.reasons,
                        await self._intro_topic(ctx.round.id, languages),
                        ctx.coordinators_see,
                    )
                    message_id = await self._retry(
                        adapter.post, space_id, intro_card(details, self._clock.now())
                    )
                await self._set_intro(item.match_id, POSTED, message_id)
        except SpaceError as error:
            log.warning("Space for match %s failed: %s", item.match_id, error.message)
            if space_id is None:
                await self._set_space(item.match_id, FAILED, error=error.message)
            else:
                await self._set_space(item.match_id, CREATED, space_id=space_id, error=error.message)
            return SpaceFailure(item.match_id, spec.name, error.message)
        return None

    async def _match_details(
        self, match_id: int
    ) -> tuple[Match | None, tuple[Partner, ...], list[list[str]]]:
        async with self._db.session() as session:
            match = await session.get(Match, match_id)
            if match is None:
                return None, (), []
            rows = await active_members(session, match_id)
            partners = tuple(_partner(member, person) for member, person in rows)
            languages = [list(person.languages) for _, person in rows]
            return match, partners, languages

    async def _set_space(
        self,
        match_id: int,
        status: str,
        *,
        space_id: int | None = None,
        container_id: int | None = None,
        error: str | None = None,
    ) -> None:
        async with self._db.session() as session:
            match = await session.get(Match, match_id)
            if match is None:
                return
            match.space_status = status
            if space_id is not None:
                match.space_id = space_id
                match.space_created_at = match.space_created_at or self._clock.now()
            if container_id is not None:
                match.container_id = container_id
            match.space_error = error[:300] if error else None
            if status == FAILED:
                match.attention = SPACE_FAILED
            elif match.attention == SPACE_FAILED:
                match.attention = None

    async def _set_intro(self, match_id: int, status: str, message_id: int | None = None) -> None:
        async with self._db.session() as session:
            match = await session.get(Match, match_id)
            if match is not None:
                match.intro_status = status
                if message_id is not None:
                    match.intro_message_id = message_id

    # -- status -------------------------------------------------------------------------------

    async def status(self, guild_id: int) -> RoundStatus:
        async with self._db.session() as session:
            row = await _latest(session, guild_id, (LAUNCHED, DRAFT))
            if row is None:
                row = await _latest(session, guild_id, (ENDED,))
            if row is None:
                raise UserFacingError("There is no round yet: create one with /round create.")
            shown = (PROPOSED,) if row.status == DRAFT else (ACTIVE, MATCH_ENDED)
            matches = (
                await session.scalars(
                    select(Match).where(Match.round_id == row.id, Match.status.in_(shown)).order_by(Match.id)  # type: ignore[attr-defined]
                )
            ).all()
            sizes = await _active_sizes(session, [m.id for m in matches])
            names = await _member_names(session, [m.id for m in matches if m.attention])
            enrolled = await _enrolled_count(session, row.id)
            matched = sum(sizes.values())
            return RoundStatus(
                round=_info(row),
                matches=len(matches),
                trios=sum(1 for m in matches if sizes.get(m.id, 0) == 3),
                spaces=dict(Counter(m.space_status for m in matches)),
                intros=sum(1 for m in matches if m.intro_status == POSTED),
                attention=tuple(
                    (m.id, ", ".join(names.get(m.id, [])), _WHY.get(m.attention or "", m.attention or ""))
                    for m in matches
                    if m.attention
                ),
                unmatched=max(enrolled - matched, 0),
                enrolled=enrolled,
            )

    # -- end ----------------------------------------------------------------------------------

    async def check_end(self, guild_id: int) -> RoundInfo:
        """The round /round end would close, or a UserFacingError saying why none can."""
        async with self._db.session() as session:
            return _info(await self._round_to_end(session, guild_id))

    async def _round_to_end(self, session: AsyncSession, guild_id: int) -> Round:
        row = await _latest(session, guild_id, (LAUNCHED,))
        if row is None:
            draft = await _latest(session, guild_id, (DRAFT,))
            if draft is not None:
                raise UserFacingError(
                    f"**{draft.name}** is not launched yet, so it cannot end. Nothing was changed."
                )
            raise UserFacingError("There is no launched round to end. Nothing was changed.")
        if self.busy(row.id or 0):
            raise UserFacingError(f"**{row.name}** is still launching; end it once the launch has finished.")
        return row

    async def guild_of(self, round_id: int) -> int:
        async with self._db.session() as session:
            row = await session.get(Round, round_id)
            return row.guild_id if row else 0

    async def end_round(self, guild_id: int, retention: timedelta | None = None) -> RoundInfo:
        now = self._clock.now()
        async with self._db.session() as session:
            row = await self._round_to_end(session, guild_id)
            row.status, row.ended_at = ENDED, now
            row.retention_seconds = int(retention.total_seconds()) if retention else None
            await session.execute(
                update(Match)
                .where(Match.round_id == row.id, Match.status == ACTIVE)
                .values(status=MATCH_ENDED, ended_at=now)
            )
            return _info(row)

    async def unfinished_closings(self) -> list[int]:
        """Ended rounds of this shard's guilds with spaces still to close (resumed at start-up)."""
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(Match.round_id, Round.guild_id)
                    .join(Round, Round.id == Match.round_id)
                    .where(Round.status == ENDED, Match.status == MATCH_ENDED, Match.space_status == CREATED)
                    .distinct()
                )
            ).all()
            return [round_id for round_id, guild_id in rows if self._shard.holds(guild_id)]

    async def run_closing(self, round_id: int, progress: Progress | None = None) -> tuple[int, int]:
        """Post the closing note in every space and make it read-only; returns (closed, failed).
        A space whose partners all chose to keep in touch stays open (`kept`) instead."""
        if self.feedback is not None:
            try:
                await self.feedback.before_closing(round_id)  # the survey, where it has not gone out
            except Exception:
                log.exception("Sending the end-of-round survey of round %s failed", round_id)
        async with self._exclusive(round_id):
            async with self._db.session() as session:
                row = await session.get(Round, round_id)
                if row is None or row.status != ENDED:
                    return 0, 0
                round_ = _info(row)
                ids = (
                    await session.scalars(
                        select(Match.id)
                        .where(
                            Match.round_id == round_id,
                            Match.status == MATCH_ENDED,
                            Match.space_status == CREATED,
                        )
                        .order_by(Match.id)
                    )
                ).all()
            programme = await self._programmes.get(round_.guild_id)
            see = await self.coordinators_see_spaces(round_.guild_id)
            keep = (
                format_duration(timedelta(seconds=round_.retention_seconds))
                if round_.retention_seconds
                else None
            )
            closed = failed = 0
            for number, match_id in enumerate(ids, start=1):
                match, partners, _ = await self._match_details(match_id)
                if match is None or match.space_id is None:
                    continue
                spec = self._spec(round_, match, partners, programme.coordinator_role_id, see)
                if self.feedback is not None and await self.feedback.keeps_space(match_id):
                    try:
                        # Looked for first: a run stopped by the database after the post carries on.
                        note = kept_open_note(round_.name)
                        if not await self._retry(self.adapter.find_message, match.space_id, note.marker):
                            await self._retry(self.adapter.post, match.space_id, note)
                        await self._set_space(match_id, KEPT)
                        closed += 1
                    except SpaceError as error:
                        log.warning(
                            "Could not post in the kept space of match %s: %s", match_id, error.message
                        )
                        failed += 1
                    if progress is not None:
                        await progress(number, len(ids))
                    continue
                try:
                    if match.closing_message_id is None:
                        existing = await self._retry(
                            self.adapter.find_message, match.space_id, "Tandem · closing"
                        )
                        message_id = existing or await self._retry(
                            self.adapter.post, match.space_id, closing_note(round_.name, partners, keep)
                        )
                        async with self._db.session() as session:
                            stored = await session.get(Match, match_id)
                            if stored is not None:
                                stored.closing_message_id = message_id
                    await self._retry(self.adapter.close_space, spec, match.space_id)
                    await self._set_space(match_id, CLOSED)
                    closed += 1
                except SpaceError as error:
                    log.warning("Could not close the space of match %s: %s", match_id, error.message)
                    failed += 1
                if progress is not None:
                    await progress(number, len(ids))
            return closed, failed

    def _spec(
        self, round_: RoundInfo, match: Match, partners: Sequence[Partner], role_id: int | None, see: bool
    ) -> SpaceSpec:
        assert match.id is not None
        return SpaceSpec(
            guild_id=round_.guild_id,
            match_id=match.id,
            kind=round_.space_kind or CHANNEL,
            name=match.space_name or f"match-{match.id}",
            container_id=match.container_id,
            member_ids=tuple(p.member_id for p in partners),
            coordinator_role_id=role_id,
            coordinators_see=see,
        )

    async def deletions_due(self) -> list[tuple[int, datetime]]:
        """Ended rounds of this shard's guilds with a retention period whose spaces still exist,
        and when they go."""
        async with self._db.session() as session:
            rounds = (
                await session.scalars(
                    select(Round).where(Round.status == ENDED, Round.retention_seconds.is_not(None))  # type: ignore[union-attr]
                )
            ).all()
            due = []
            for row in rounds:
                if not self._shard.holds(row.guild_id):
                    continue
                left = await session.scalar(
                    select(Match.id)
                    .where(
                        Match.round_id == row.id,
                        Match.space_id.is_not(None),
                        Match.space_status.in_((CREATED, CLOSED)),
                    )  # type: ignore[union-attr,attr-defined]
                    .limit(1)
                )
                containers = row.category_ids or ([row.parent_channel_id] if row.parent_channel_id else [])
                if (left is not None or containers) and row.ended_at is not None and row.retention_seconds:
                    due.append((row.id, row.ended_at + timedelta(seconds=row.retention_seconds)))
            return due

    async def delete_spaces(self, round_id: int) -> int:
        """Delete an ended round's spaces (and the categories or parent channel it made)."""
        async with self._exclusive(round_id):
            async with self._db.session() as session:
                row = await session.get(Round, round_id)
                if row is None or row.status != ENDED:
                    return 0
                matches = (
                    await session.scalars(
                        select(Match).where(
                            Match.round_id == round_id,
                            Match.space_id.is_not(None),  # type: ignore[union-attr]
                            Match.space_status.in_((CREATED, CLOSED)),  # type: ignore[attr-defined]
                        )
                    )
                ).all()
                targets = [(m.id, m.space_id) for m in matches]
                for m in matches:
                    m.space_status = REMOVED  # before the call: the deletion event must not alarm anyone
                programme = await self._programmes.get(row.guild_id)
                # The programme's own category and parent channel outlive rounds; the round's go,
                # unless a space kept open by its partners still lives in them.
                kept = await session.scalar(
                    select(Match.id).where(Match.round_id == round_id, Match.space_status == KEPT).limit(1)
                )
                containers = [c for c in row.category_ids if c != programme.spaces_category_id]
                if row.parent_channel_id and row.parent_channel_id != programme.spaces_parent_channel_id:
                    containers.append(row.parent_channel_id)
                if kept is not None:
                    containers = []
                row.category_ids, row.parent_channel_id = [], None
            deleted = 0
            for _match_id, space_id in targets:
                try:
                    await self._retry(self.adapter.delete_channel, space_id)
                    deleted += 1
                except SpaceError as error:
                    log.warning("Could not delete space %s: %s", space_id, error.message)
            for channel_id in containers:
                try:
                    await self._retry(self.adapter.delete_channel, channel_id)
                except SpaceError as error:
                    log.warning("Could not delete channel %s: %s", channel_id, error.message)
            return deleted

    # -- members leaving, spaces deleted -----------------------------------------------------

    async def leave(self, guild_id: int, member_id: int, *, erase: bool = False) -> Departure:
        """A member leaves their round (/leave, /privacy delete, leaving the server), in ONE
        transaction: their place is withdrawn, their running matches lose them and, with `erase`,
        their personal data goes. A failure anywhere changes nothing, so it can simply be tried
        again; telling the partners and coordinators follows (`announce_member_left`)."""
        now = self._clock.now()
        async with self._db.session() as session:
            place = await self._participants.withdraw(session, guild_id, member_id, now)
            # Matches first: erasing makes the member's rows anonymous.
            left = []
            if place is not None and place.round_status == LAUNCHED:
                left = await self._record_member_left(session, guild_id, member_id, now)
            erased = await self._participants.erase(session, guild_id, member_id, now) if erase else False
        return Departure(place, tuple(left), erased)

    async def member_left(self, guild_id: int, member_id: int) -> list[LeftMatch]:
        """Record that a member left the round: their active matches lose them."""
        async with self._db.session() as session:
            return await self._record_member_left(session, guild_id, member_id, self._clock.now())

    async def _record_member_left(
        self, session: AsyncSession, guild_id: int, member_id: int, now: datetime
    ) -> list[LeftMatch]:
        found: list[LeftMatch] = []
        rows = (
            await session.execute(
                _in_running_matches(guild_id, MatchMember, Match, Round).where(
                    MatchMember.member_id == member_id
                )
            )
        ).all()
        for member, match, round_ in rows:
            member.status, member.left_at = MEMBER_LEFT, now
            await session.flush()
            people = await _partners(session, match.id)  # type: ignore[arg-type]
            leaver_row = await session.get(Participant, member.participant_id)
            leaver = Partner(
                member_id, (leaver_row.display_name if leaver_row else None) or "Your partner", "", "UTC"
            )
            if len(people) <= 1:
                match.attention = PARTNER_LEFT
            if not people:
                match.status = DISSOLVED
            found.append(
                LeftMatch(
                    match.id,
                    round_.name,
                    round_.space_kind,
                    match.space_id if match.space_status == CREATED else None,
                    leaver,
                    people,
                )  # type: ignore[arg-type]
            )
        return found

    async def handle_member_left(self, guild_id: int, member_id: int, reason: str) -> list[LeftMatch]:
        """A member left a launched round: update their spaces, tell their partners, alert coordinators."""
        left = await self.member_left(guild_id, member_id)
        await self.announce_member_left(guild_id, member_id, left, reason)
        return left

    async def announce_member_left(
        self, guild_id: int, member_id: int, left: Sequence[LeftMatch], reason: str
    ) -> None:
        """The Discord side of a departure: the spaces lose the member, the partners and the
        coordinators are told. The settings are read before anything is sent, so a database
        failure there raises with nothing done (safe to try again); later ones are only logged."""
        if not left:
            return
        programme = await self._programmes.get(guild_id)
        see = await self.coordinators_see_spaces(guild_id)
        for item in left:
            if item.space_id is not None and self.spaces is not None and item.space_kind:
                spec = SpaceSpec(
                    guild_id,
                    item.match_id,
                    item.space_kind,
                    "",
                    None,
                    tuple(p.member_id for p in item.remaining),
                    programme.coordinator_role_id,
                    see,
                )
                try:
                    await self._retry(self.adapter.set_members, spec, item.space_id, [member_id])
                    if item.remaining:
                        await self._retry(
                            self.adapter.post,
                            item.space_id,
                            partner_left_note(item.leaver.name, item.remaining),
                        )
                except SpaceError as error:
                    log.warning("Could not update the space of match %s: %s", item.match_id, error.message)
            if len(item.remaining) == 1:
                alone = item.remaining[0]
                offer = (
                    f"<@{alone.member_id}> has no partner now: run `/round rematch member:{alone.name}` "
                    "to see the best options (a new partner, or joining a pair as a third)."
                )
            elif item.remaining:
                offer = "The rest of the match carries on together."
            else:
                offer = "The match is now empty."
            try:
                await self._say(
                    guild_id,
                    f"<@{member_id}> ({item.leaver.name}) {reason} and left **{item.round_name}** "
                    f"(match {item.match_id}). {offer}",
                )
            except Exception as error:
                if not is_transient(error):
                    raise
                # The partners have been told already: trying it all again would tell them twice.
                log.warning("The coordinators were not told that match %s lost a partner", item.match_id)

    async def space_deleted(self, guild_id: int, channel_id: int) -> list[int]:
        """A space (or the parent channel of a round's threads) was deleted by hand: mark and alert."""
        async with self._db.session() as session:
            matches = list(
                (
                    await session.scalars(
                        select(Match).where(
                            Match.space_id == channel_id, Match.space_status.in_((CREATED, CREATING, CLOSED))
                        )  # type: ignore[attr-defined]
                    )
                ).all()
            )
            parents = (
                await session.scalars(
                    select(Round.id).where(Round.guild_id == guild_id, Round.parent_channel_id == channel_id)
                )
            ).all()
            for round_id in parents:
                matches += (
                    await session.scalars(
                        select(Match).where(
                            Match.round_id == round_id, Match.space_status.in_((CREATED, CLOSED))
                        )  # type: ignore[attr-defined]
                    )
                ).all()
                row = await session.get(Round, round_id)
                if row is not None:
                    row.parent_channel_id = None
            alerts = []
            for match in matches:
                match.space_status = DELETED
                if match.status == ACTIVE:
                    match.attention = SPACE_DELETED
                    alerts.append(match.id)
            names = await _member_names(session, [m for m in alerts if m is not None])
        for match_id in alerts:
            people = names.get(match_id, [])
            await self._say(
                guild_id,
                f"The space of match {match_id} ({', '.join(people)}) was deleted. Run `/round rematch` "
                "for one of them to give the match a new space or find new partners.",
            )
        return [m for m in alerts if m is not None]

    async def partners_in_rounds(self, guild_id: int) -> list[int]:
        """The member ids still active in a match of the guild's launched round."""
        async with self._db.session() as session:
            query = _in_running_matches(guild_id, MatchMember.member_id).distinct()
            return list((await session.scalars(query)).all())

    async def space_unreachable(self, space_id: int, error: SpaceError) -> None:
        """A message (a nudge, a check-in) could not be posted in a space: a space that is gone is
        marked deleted (and never tried again); any other refusal is recorded on the match and told to
        the coordinators. Each message is claimed once, so this is said once per message, never in a loop.
        A passing failure (Discord's server errors, the network) is not the space's fault: nothing is said."""
        if not error.permanent:
            return
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(Match, Round.guild_id)
                    .join(Round, Round.id == Match.round_id)
                    .where(Match.space_id == space_id, Match.space_status == CREATED)
                )
            ).all()
            for match, _guild in rows:
                match.space_error = error.message[:300]
            names = await _member_names(session, [match.id for match, _ in rows])
        for match, guild_id in rows:
            if error.gone:
                await self.space_deleted(guild_id, space_id)
                return
            await self._say(
                guild_id,
                f"I could not post in the space of match {match.id} ({', '.join(names.get(match.id, []))}), "
                f"<#{space_id}>: {error.message}. Check that my role can view the space and send messages "
                "there, or run `/round rematch` to give the match a new space.",
            )

    # -- rematch ------------------------------------------------------------------------------

    async def rematch_options(self, guild_id: int, member_id: int) -> RematchChoice:
        async with self._db.session() as session:
            row = await _latest(session, guild_id, (LAUNCHED,))
            if row is None:
                raise UserFacingError("There is no launched round; rematching happens during a round.")
            round_ = _info(row)
            if self.busy(row.id):
                raise UserFacingError("The round is still launching; rematch once the launch has finished.")
            matches = (
                await session.scalars(select(Match).where(Match.round_id == row.id, Match.status == ACTIVE))
            ).all()
            members: dict[int, list[int]] = {}
            for match in matches:
                members[match.id] = [p.member_id for p in await _partners(session, match.id)]  # type: ignore[arg-type]
            by_match = {m.id: m for m in matches}
            pairs = (await session.scalars(select(RoundPair).where(RoundPair.round_id == row.id))).all()
            history = await _history(session, guild_id, row.id)
        applicants = {a.member_id: a for a in await self._participants.enrolled_applicants(round_.id)}
        me = applicants.get(member_id)
        if me is None:
            raise UserFacingError("That member is not enrolled in the running round (or has left it).")
        current = next((mid for mid, ids in members.items() if member_id in ids), None)
        programme = await self._programmes.get(guild_id)
        request = MatchRequest(
            applicants=tuple(applicants.values()),
            history_pairs=frozenset(history),
            forbidden_pairs=frozenset((p.member_a, p.member_b) for p in pairs if p.kind == "forbid"),
        )
        rules = Constraints(request)
        ctx = ScoringContext.build(
            applicants.values(), reference_date=round_.starts_at.date(), career_stages=programme.career_stages
        )
        options: list[RematchOption] = []
        if (
            current is not None
            and by_match[current].space_status in (DELETED, FAILED)
            and len(members[current]) >= 2
        ):
            others = tuple(_applicant_partner(applicants[m]) for m in members[current] if m in applicants)
            options.append(RematchOption("recreate", current, others, by_match[current].score))
        pair_options, trio_options = [], []
        for match_id, ids in members.items():
            if match_id == current or by_match[match_id].space_status != CREATED:
                continue
            people = [applicants[m] for m in ids if m in applicants]
            if len(people) != len(ids) or not 1 <= len(people) <= 2:
                continue
            if not all(rules.allowed(me, other) for other in people):
                continue
            group = [me, *people]
            scores = [score_pair(a, b, ctx).total for i, a in enumerate(group) for b in group[i + 1 :]]
            score = round(sum(scores) / len(scores) / 100, 2)
            option = RematchOption(
                "pair" if len(people) == 1 else "trio",
                match_id,
                tuple(_applicant_partner(p) for p in people),
                score,
                match_reasons(sorted(group, key=lambda a: a.member_id), ctx),
            )
            (pair_options if len(people) == 1 else trio_options).append(option)
        pair_options.sort(key=lambda o: (-o.score, o.match_id))
        trio_options.sort(key=lambda o: (-o.score, o.match_id))
        options += pair_options[:OPTIONS_PER_KIND] + trio_options[:OPTIONS_PER_KIND]
        if not options:
            raise UserFacingError(
                f"No match can take {me.name} right now: nobody else is without a partner, and no pair "
                "can take a third under the matching rules."
            )
        return RematchChoice(round_, _applicant_partner(me), current, tuple(options))

    async def apply_rematch(self, guild_id: int, member_id: int, option: RematchOption) -> str:
        """Carry out a rematch option: update the database (one transaction), then the spaces;
        returns a summary. Everything the spaces need is read before that transaction, so a
        database failure either changes nothing or comes after the rematch is recorded."""
        if option.kind == "recreate":
            return await self._recreate(guild_id, option.match_id)
        now = self._clock.now()
        programme = await self._programmes.get(guild_id)
        role, see = programme.coordinator_role_id, await self.coordinators_see_spaces(guild_id)
        newcomers = [p.member_id for p in option.partners] + [member_id]
        async with self._db.session() as session:
            running = await _latest(session, guild_id, (LAUNCHED,))
            languages = [
                list(p.languages)
                for p in (
                    await session.scalars(
                        select(Participant).where(
                            Participant.guild_id == guild_id,
                            Participant.member_id.in_(newcomers),  # type: ignore[union-attr]
                        )
                    )
                ).all()
            ]
        intro_topic = None
        if running is not None and running.id is not None:
            intro_topic = await self._intro_topic(running.id, languages)
        async with self._db.session() as session:
            row = await _latest(session, guild_id, (LAUNCHED,))
            target = await session.get(Match, option.match_id)
            if row is None or target is None or target.round_id != row.id or target.status != ACTIVE:
                raise UserFacingError(
                    "That match has changed since the options were shown; run /round rematch again."
                )
            if target.space_status != CREATED or target.space_id is None:
                raise UserFacingError("That match has no space at the moment; run /round rematch again.")
            target_before = [p.member_id for p in await _partners(session, target.id)]  # type: ignore[arg-type]
            if sorted(target_before) != sorted(p.member_id for p in option.partners):
                raise UserFacingError(
                    "That match has changed since the options were shown; run /round rematch again."
                )
            participant = await session.scalar(
                select(Participant).where(
                    Participant.guild_id == guild_id, Participant.member_id == member_id
                )
            )
            if participant is None:
                raise UserFacingError("That member has no profile.")
            old_rows = (
                await session.execute(
                    select(MatchMember, Match)
                    .join(Match, Match.id == MatchMember.match_id)
                    .where(
                        Match.round_id == row.id,
                        Match.status == ACTIVE,
                        MatchMember.member_id == member_id,
                        MatchMember.status == MEMBER_ACTIVE,
                    )
                )
            ).all()
            old: tuple[int, int | None, str] | None = None
            for member_row, old_match in old_rows:
                member_row.status, member_row.left_at = MEMBER_MOVED, now
                old = (
                    old_match.id,
                    old_match.space_id if old_match.space_status == CREATED else None,
                    old_match.space_name or "",
                )  # type: ignore[assignment]
            session.add(
                MatchMember(
                    match_id=target.id, participant_id=participant.id, member_id=member_id, joined_at=now
                )
            )  # type: ignore[arg-type]
            target.attention = None
            target.score = option.score
            target.reasons = list(option.reasons)
            await session.flush()
            old_left: tuple[Partner, ...] = ()
            if old is not None:
                old_match = await session.get(Match, old[0])
                assert old_match is not None
                old_left = await _partners(session, old[0])
                if not old_left:
                    old_match.status, old_match.attention, old_match.ended_at = DISSOLVED, None, now
                elif len(old_left) == 1:
                    old_match.attention = PARTNER_LEFT
            target_people = await _partners(session, target.id)  # type: ignore[arg-type]
            round_ = _info(row)
            target_space, target_name = target.space_id, target.space_name or ""
        kind = round_.space_kind or CHANNEL
        newcomer = next(p for p in target_people if p.member_id == member_id)
        spec = SpaceSpec(
            guild_id,
            option.match_id,
            kind,
            target_name,
            None,
            tuple(p.member_id for p in target_people),
            role,
            see,
        )
        problems = []
        try:
            await self._retry(self.adapter.set_members, spec, target_space)
            details = IntroDetails(
                option.match_id, round_.name, target_people, option.reasons, intro_topic, see, newcomer
            )
            await self._retry(self.adapter.post, target_space, intro_card(details, now))
        except SpaceError as error:
            problems.append(f"adding them to `{target_name}` failed: {error.message}")
        if old is not None and old[1] is not None:
            old_spec = SpaceSpec(
                guild_id, old[0], kind, old[2], None, tuple(p.member_id for p in old_left), role, see
            )
            try:
                await self._retry(self.adapter.set_members, old_spec, old[1], [member_id])
                if old_left:
                    await self._retry(self.adapter.post, old[1], moved_out_note(newcomer.name, old_left))
                else:
                    await self._retry(self.adapter.close_space, old_spec, old[1])
                    await self._closed_after_rematch(old[0])
            except SpaceError as error:
                problems.append(f"updating their old space `{old[2]}` failed: {error.message}")
        summary = (
            f"{newcomer.name} now shares `{target_name}` with "
            + " and ".join(p.name for p in target_people if p.member_id != member_id)
            + "."
        )
        if old_left:
            summary += " Left in their old space: " + ", ".join(p.name for p in old_left) + "."
        if problems:
            summary += "\nProblems: " + "; ".join(problems)
        return summary

    async def _closed_after_rematch(self, match_id: int) -> None:
        try:
            await self._set_space(match_id, CLOSED)
        except Exception as error:
            if not is_transient(error):
                raise
            # The rematch is recorded and the space is read-only; only this note is missing, and
            # closing it again at the end of the round is harmless.
            log.warning("Match %s's emptied space is closed, but the database was not told", match_id)

    async def _recreate(self, guild_id: int, match_id: int) -> str:
        async with self._db.session() as session:
            row = await _latest(session, guild_id, (LAUNCHED,))
            match = await session.get(Match, match_id)
            if (
                row is None
                or match is None
                or match.round_id != row.id
                or match.space_status not in (DELETED, FAILED)
            ):
                raise UserFacingError(
                    "That match has changed since the options were shown; run /round rematch again."
                )
            match.space_status, match.space_id, match.intro_status, match.intro_message_id = (
                PENDING,
                None,
                None,
                None,
            )
            match.attention = None
            round_id = row.id
        report = await self.run_launch(round_id)  # type: ignore[arg-type]
        if report.failures:
            return "The new space could not be created: " + "; ".join(f.error for f in report.failures)
        return f"Match {match_id} has a new space."


@dataclass(frozen=True)
class _LaunchContext:
    round: RoundInfo
    containers: list[int]
    role_id: int | None
    coordinators_see: bool


# -- queries ----------------------------------------------------------------------------------


@cache
def _library_cached(folder: str) -> TopicLibrary:
    return load_topic_library(Path(folder))


def _library(folder: Path) -> TopicLibrary:
    return _library_cached(str(folder))


def kept_open_note(round_name: str) -> SpaceMessage:
    return SpaceMessage(
        f"**{round_name}** has ended. Every partner here chose to keep in touch, so this space stays "
        "open for you: it is not made read-only and not deleted with the round's spaces. "
        "Thank you for taking part!",
        marker="Tandem · closing",
    )


def _info(row: Round) -> RoundInfo:
    assert row.id is not None
    return RoundInfo(
        id=row.id,
        guild_id=row.guild_id,
        name=row.name,
        status=row.status,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        cadence_seconds=row.cadence_seconds,
        group_size=row.group_size,
        space_kind=row.space_kind,
        retention_seconds=row.retention_seconds,
        ended_at=row.ended_at,
    )


def _no_round(statuses: Sequence[str]) -> str:
    if tuple(statuses) == (DRAFT,):
        return "No round is open for signups: create one with /round create."
    if tuple(statuses) == (LAUNCHED,):
        return "No round is running."
    return "There is no round yet: create one with /round create."


def _partner(member: MatchMember, person: Participant) -> Partner:
    return Partner(
        member.member_id or 0, person.display_name or "a former participant", person.country, person.timezone
    )


def _applicant_partner(applicant: Applicant) -> Partner:
    return Partner(applicant.member_id, applicant.name, applicant.country, applicant.timezone)


def _in_running_matches(guild_id: int, *columns: Any) -> Select[Any]:
    """`columns` of the partners still active in a running match of the guild's launched round."""
    return (
        select(*columns)
        .select_from(MatchMember)
        .join(Match, Match.id == MatchMember.match_id)
        .join(Round, Round.id == Match.round_id)
        .where(
            Round.guild_id == guild_id,
            Round.status == LAUNCHED,
            Match.status == ACTIVE,
            MatchMember.status == MEMBER_ACTIVE,
        )
    )


async def _latest(session: AsyncSession, guild_id: int, statuses: Sequence[str]) -> Round | None:
    return await session.scalar(
        select(Round)
        .where(Round.guild_id == guild_id, Round.status.in_(statuses))  # type: ignore[attr-defined]
        .order_by(Round.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )


async def _count(session: AsyncSession, round_id: int | None, statuses: Sequence[str]) -> int:
    ids = (
        await session.scalars(select(Match.id).where(Match.round_id == round_id, Match.status.in_(statuses)))  # type: ignore[attr-defined]
    ).all()
    return len(ids)


async def _enrolled_count(session: AsyncSession, round_id: int | None) -> int:
    return len(
        (
            await session.scalars(
                select(Enrolment.id).where(Enrolment.round_id == round_id, Enrolment.status == ENROLLED)
            )
        ).all()
    )


async def _unfinished(
    session: AsyncSession, round_id: int | None, *, include_failed: bool = True
) -> list[int]:
    """Active matches whose space or intro is not done yet."""
    statuses = (PENDING, CREATING, FAILED) if include_failed else (PENDING, CREATING)
    rows = (
        await session.execute(
            select(Match.id, Match.space_status, Match.intro_status, Match.space_error)
            .where(Match.round_id == round_id, Match.status == ACTIVE)
            .order_by(Match.id)
        )
    ).all()
    return [
        match_id
        for match_id, space, intro, error in rows
        if space in statuses or (space == CREATED and intro != POSTED and (include_failed or error is None))
    ]


async def _stale(session: AsyncSession, round_id: int | None) -> bool:
    """Did anyone join or leave the round after the stored proposal was made?"""
    made = await session.scalar(
        select(Match.created_at).where(Match.round_id == round_id, Match.status == PROPOSED).limit(1)
    )
    if made is None:
        return True
    changed = await session.scalar(
        select(Enrolment.id).where(Enrolment.round_id == round_id, Enrolment.updated_at > made).limit(1)
    )
    if changed is not None:
        return True
    gone = await session.scalar(
        select(MatchMember.id)
        .join(Match, Match.id == MatchMember.match_id)
        .join(
            Enrolment,
            (Enrolment.participant_id == MatchMember.participant_id) & (Enrolment.round_id == round_id),
        )
        .where(Match.round_id == round_id, Match.status == PROPOSED, Enrolment.status != ENROLLED)
        .limit(1)
    )
    return gone is not None


async def _participant_ids(session: AsyncSession, guild_id: int, member_ids: Sequence[int]) -> dict[int, int]:
    ids: dict[int, int] = {}
    wanted = sorted(set(member_ids))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = (
            await session.execute(
                select(Participant.member_id, Participant.id).where(
                    Participant.guild_id == guild_id,
                    Participant.member_id.in_(chunk),  # type: ignore[union-attr]
                )
            )
        ).all()
        ids.update({member: pid for member, pid in rows if member is not None})
    return ids


async def _member_names(session: AsyncSession, match_ids: Sequence[int | None]) -> dict[int, list[str]]:
    """The active partners' display names per match, in the order they joined."""
    names: dict[int, list[str]] = defaultdict(list)
    wanted = [m for m in match_ids if m is not None]
    for start in range(0, len(wanted), 500):
        rows = (
            await session.execute(
                select(MatchMember.match_id, Participant.display_name)
                .join(Participant, Participant.id == MatchMember.participant_id)
                .where(
                    MatchMember.match_id.in_(wanted[start : start + 500]), MatchMember.status == MEMBER_ACTIVE
                )  # type: ignore[attr-defined]
                .order_by(MatchMember.id)
            )
        ).all()
        for match_id, name in rows:
            names[match_id].append(name or "partner")
    return names


async def _active_sizes(session: AsyncSession, match_ids: Sequence[int | None]) -> dict[int, int]:
    names = await _member_names(session, match_ids)
    return {m: len(n) for m, n in names.items()}


async def active_members(session: AsyncSession, match_id: int) -> list[tuple[MatchMember, Participant]]:
    """The match's current members with their profiles, in the order they joined."""
    rows = (
        await session.execute(
            select(MatchMember, Participant)
            .join(Participant, Participant.id == MatchMember.participant_id)
            .where(MatchMember.match_id == match_id, MatchMember.status == MEMBER_ACTIVE)
            .order_by(MatchMember.id)
        )
    ).all()
    return [(member, person) for member, person in rows]


async def _partners(session: AsyncSession, match_id: int) -> tuple[Partner, ...]:
    return tuple(_partner(member, person) for member, person in await active_members(session, match_id))


async def _history(session: AsyncSession, guild_id: int, round_id: int | None) -> set[tuple[int, int]]:
    """Pairs of members who shared a launched match in an earlier round of this guild."""
    rows = (
        await session.execute(
            select(MatchMember.match_id, MatchMember.member_id)
            .join(Match, Match.id == MatchMember.match_id)
            .join(Round, Round.id == Match.round_id)
            .where(Round.guild_id == guild_id, Round.id != round_id, Match.status != PROPOSED)
        )
    ).all()
    groups: dict[int, list[int]] = defaultdict(list)
    for match_id, member_id in rows:
        if member_id is not None:
            groups[match_id].append(member_id)
    pairs = set()
    for ids in groups.values():
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                if a != b:
                    pairs.add(pair_key(a, b))
    return pairs


def preview_csv_rows(data: bytes) -> list[list[str]]:
    """The preview CSV read back (for tests and tools)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
