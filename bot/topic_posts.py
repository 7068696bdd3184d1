"""Discussion topics in a round: the round's topic list, when each topic is released, and posting
each one into every space of the round exactly once.

The database is the source of truth; APScheduler only wakes the bot up:
- a round's list (`RoundTopic`) is the library's topics in order, copied the first time the round
  needs it, plus the coordinators' own topics, minus the skipped ones; topic k (0-based) of that
  list is released at `release_time(start, k, cadence, …)` in the programme's timezone and at its
  posting hour (bot/topics/schedule.py), and only releases before the round's end are scheduled;
- `post_due_topics(round_id)` posts whatever is due at the clock's `now` that a space has not had;
  the jobs (`tandem:topic:<round>:<k>`, one per future release) call it, and so does the start-up
  rebuild, which is how a release that fell due while the bot was down is posted once;
- exactly once: a `TopicPost` row per (match, topic), UNIQUE, is inserted and committed before
  the Discord call, then completed with the message id. A second process, a retry or `/topic post`
  after the scheduled post finds the row and posts nothing. A claim left without a message id (a
  crash between the send and the record) is taken over only after `CLAIM_LEASE`, by one process (a
  compare-and-set on the row), which first looks in the space for a message carrying the topic's
  marker and records it instead of posting again. A claim this process left behind when the
  database failed between the claim and the record is taken over by its next run at once, the
  same way (marker first), since the round's lock proves nobody else is posting it;
- a release whose run meets a database failure is tried again later (bot/jobs.py); the workers
  stop taking spaces, what was posted stays recorded, and the retry posts the rest;
- a space that cannot be posted to is recorded on its row (`failed`, with the reason), reported
  once to the coordinators, and retried only by `/topic post`; a space Discord no longer knows is
  handed to `RoundService.space_deleted` (marked deleted, rematch offered);
- spaces are worked by a small pool (`TOPIC_WORKERS`), each space's due topics in order, never one
  giant gather: discord.py waits on 429s per route, so the pool only keeps the buckets busy.

Topic 0 is posted like every other topic, as a message of its own with the whole text; the intro
card only names it (see `intro_topic`), so nothing is posted twice and nothing is cut short.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import jobs
from bot.clock import Clock
from bot.db import Database, is_transient
from bot.durations import format_duration
from bot.errors import UserFacingError
from bot.intro import SpaceMessage, clip, mentions
from bot.models import Match, MatchMember, Participant, Programme, Round, RoundTopic, TopicPost
from bot.rounds import ACTIVE, CREATED, DELETED, DRAFT, FAILED, LAUNCHED, RETRY_DELAYS, SpaceError
from bot.rounds import POSTED as INTRO_POSTED
from bot.sharding import EVERY_GUILD, Shard
from bot.summaries import problem_lines
from bot.topics import Topic, TopicFileProblem, TopicLibrary, load_topic_library, release_times
from bot.topics.library import DEFAULT_LANGUAGE, MAX_BODY, MAX_TITLE, TopicText

log = logging.getLogger(__name__)

POSTING, POSTED, POST_FAILED = "posting", "posted", "failed"
TOPIC_WORKERS = 4
CLAIM_LEASE = timedelta(minutes=10)  # a claim older than this, with no message id, was abandoned
DEFAULT_POSTING_HOUR = 9
OWN_PREFIX = "own:"  # a colon never appears in a library key, so the round's own keys cannot clash
JOB_PREFIX = "tandem:topic"

Alert = Callable[[int, str], Awaitable[object]]
Progress = Callable[[int, int], Awaitable[None]]


class TopicAdapter(Protocol):
    """The Discord calls topics need (bot/spaces.py in the bot, a fake in tests)."""

    async def find_message(self, space_id: int, marker: str) -> int | None: ...

    async def post(self, space_id: int, message: SpaceMessage) -> int: ...

    async def open_discussion(self, channel_id: int, message: SpaceMessage, name: str) -> int: ...


def job_id(round_id: int, index: int) -> str:
    return f"{JOB_PREFIX}:{round_id}:{index}"


def topic_marker(match_id: int, key: str) -> str:
    """In the footer of a topic post: how a claim left by a crash recognises the message it sent."""
    return f"Tandem · match {match_id} · topic [{key}]"


def discussion_marker(round_id: int, key: str) -> str:
    return f"Tandem · round {round_id} · discussion [{key}]"


# -- plain results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundTopicEntry:
    """One entry of a round's list: a library topic (`topic`) or the round's own (title and body)."""

    key: str
    title: str
    skipped: bool
    topic: Topic | None = None
    body: str | None = None

    @property
    def own(self) -> bool:
        return self.key.startswith(OWN_PREFIX)

    @property
    def available(self) -> bool:
        """A library topic whose file is gone (or now malformed) cannot be posted."""
        return self.own or self.topic is not None

    @property
    def languages(self) -> tuple[str, ...]:
        return self.topic.languages if self.topic is not None else (DEFAULT_LANGUAGE,)

    def text_for(self, partners: Sequence[Collection[str]]) -> TopicText:
        if self.topic is not None:
            return self.topic.text_for(partners)
        return TopicText(DEFAULT_LANGUAGE, self.title, self.body or "")


@dataclass(frozen=True)
class ScheduledTopic:
    number: int  # 1-based, as coordinators see it
    entry: RoundTopicEntry
    at: datetime | None  # None: it does not fit before the round ends
    posted: int = 0
    failed: int = 0


@dataclass(frozen=True)
class TopicSettings:
    posting_hour: int = DEFAULT_POSTING_HOUR
    threads: bool = False
    threads_channel_id: int | None = None


@dataclass(frozen=True)
class TopicSchedule:
    round_id: int
    round_name: str
    status: str
    ends_at: datetime
    cadence: timedelta
    timezone: str
    settings: TopicSettings
    topics: tuple[ScheduledTopic, ...]
    skipped: tuple[RoundTopicEntry, ...]
    missing: tuple[str, ...]  # library keys in the round's list whose file is gone
    problems: tuple[TopicFileProblem, ...]
    spaces: int  # spaces that receive topics
    unavailable: int  # active matches whose space is deleted or could not be created
    released: int  # how many releases are due already

    def lines(self) -> list[str]:
        zone = ZoneInfo(self.timezone)
        hour = f"{self.settings.posting_hour:02d}:00"
        lines = [
            f"**Topics of {self.round_name}** ({self.status}): one every {format_duration(self.cadence)}, "
            f"at {hour} {self.timezone}; dates in {self.timezone}."
        ]
        if self.settings.threads and self.settings.threads_channel_id:
            lines.append(
                f"Each topic also opens a discussion thread in <#{self.settings.threads_channel_id}>."
            )
        unfit = 0
        for item in self.topics:
            if item.at is None:
                unfit += 1
                continue
            when = item.at.astimezone(zone).strftime("%a %d %b %Y %H:%M")
            mark = "✅" if item.at and self.released >= item.number else "🕘"
            state = ""
            if self.status == LAUNCHED and (item.posted or item.failed or self.released >= item.number):
                state = f" · in {item.posted}/{self.spaces} spaces"
                if item.failed:
                    state += f", {item.failed} failed"
            own = " (the round's own)" if item.entry.own else ""
            lines.append(f"{mark} **{item.number}.** {item.entry.title}{own} · {when}{state}")
        if unfit:
            names = ", ".join(f"{i.number}. {i.entry.title}" for i in self.topics if i.at is None)
            lines.append(
                f"⚠️ {unfit} topic{'s do' if unfit != 1 else ' does'} not fit before the round ends "
                f"({self.ends_at.astimezone(zone):%a %d %b %Y %H:%M}): {names}. "
                "Skip others, or post them now with /topic post."
            )
        if self.skipped:
            lines.append(
                "Skipped: "
                + "; ".join(f"{n}. {e.title}" for n, e in enumerate(self.skipped, start=1))
                + " (bring one back with /topic unskip)"
            )
        if self.unavailable:
            lines.append(
                f"{self.unavailable} match{'es have' if self.unavailable != 1 else ' has'} no space to post "
                "into (deleted or not created): see /round status."
            )
        if self.missing:
            lines.append("Not in the topic library any more, so not posted: " + ", ".join(self.missing))
        if self.problems:
            lines.append("Topic files with a problem (skipped until fixed):")
            lines += [f"• `{p.path.name}`: {p.problem}" for p in self.problems[:10]]
        return lines


@dataclass(frozen=True)
class TopicFailure:
    match_id: int
    space_name: str
    topic: str
    error: str


@dataclass
class PostReport:
    round_name: str = ""
    spaces: int = 0
    posted: int = 0  # messages sent (or found after a crash) in this run
    failures: list[TopicFailure] = field(default_factory=list)

    def lines(self) -> list[str]:
        return problem_lines(
            f"**{self.round_name}**: {self.posted} topic post(s) made in {self.spaces} space(s).",
            [
                f"“{f.topic}” could not be posted in `{f.space_name}` (match {f.match_id}): {f.error}"
                for f in self.failures
            ],
            "Fix the space (or its permissions), then /topic post retries it.",
        )


@dataclass(frozen=True)
class _Plan:
    round_id: int
    guild_id: int
    name: str
    status: str
    starts_at: datetime
    ends_at: datetime
    cadence: timedelta
    timezone: str
    settings: TopicSettings
    entries: tuple[RoundTopicEntry, ...]  # every entry, in order, skipped ones too
    topics: tuple[RoundTopicEntry, ...]  # what the schedule releases, in order
    schedule: tuple[datetime, ...]  # release k of `topics`, only those before the end

    def released(self, now: datetime) -> int:
        return sum(1 for at in self.schedule if at <= now) if self.status == LAUNCHED else 0


@dataclass(frozen=True)
class _Target:
    match_id: int
    space_id: int
    space_name: str
    member_ids: tuple[int, ...]
    languages: tuple[frozenset[str], ...]


# claim outcomes
_NEW, _RECOVER, _DONE, _BUSY, _FAILED_BEFORE = "new", "recover", "done", "busy", "failed-before"


# -- the service ------------------------------------------------------------------------------


class TopicPostService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        topics_dir: Path | None,
        spaces: TopicAdapter | None = None,
        scheduler: BaseScheduler | None = None,
        alert: Alert | None = None,
        space_deleted: Callable[[int, int], Awaitable[object]] | None = None,
        workers: int = TOPIC_WORKERS,
        shard: Shard = EVERY_GUILD,
    ) -> None:
        self._db = database
        self._shard = shard
        self._clock = clock
        self._topics_dir = topics_dir
        self.spaces = spaces
        self.scheduler = scheduler
        self._alert = alert
        self._space_deleted = space_deleted
        self.workers = workers
        self.claim_lease = CLAIM_LEASE
        self.retry_delays: Sequence[float] = RETRY_DELAYS
        self._library: TopicLibrary | None = None
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Claims of ours whose outcome the database never heard of, with their claim time; see _claim.
        self._orphans: dict[tuple[int, str], datetime] = {}

    # -- the library --------------------------------------------------------------------------

    def load_library(self) -> TopicLibrary:
        """Read the topic files (at start-up); a malformed one is logged with its path and skipped."""
        library = load_topic_library(self._topics_dir) if self._topics_dir else TopicLibrary(())
        for problem in library.problems:
            log.warning("Topic file skipped: %s: %s", problem.path, problem.problem)
        log.info("Topic library: %d topic(s) from %s", len(library), self._topics_dir)
        self._library = library
        return library

    @property
    def library(self) -> TopicLibrary:
        if self._library is None:
            return self.load_library()
        return self._library

    @property
    def adapter(self) -> TopicAdapter:
        if self.spaces is None:
            raise RuntimeError("TopicPostService has no adapter")
        return self.spaces

    # -- the round's list and schedule -------------------------------------------------------

    async def _round_for(self, guild_id: int, statuses: Sequence[str] = (DRAFT, LAUNCHED)) -> int:
        async with self._db.session() as session:
            round_id = await session.scalar(
                select(Round.id)
                .where(Round.guild_id == guild_id, Round.status.in_(statuses))  # type: ignore[attr-defined]
                .order_by(Round.id.desc())  # type: ignore[union-attr]
                .limit(1)
            )
        if round_id is None:
            if tuple(statuses) == (LAUNCHED,):
                raise UserFacingError("No round is running, so there is nothing to post into.")
            raise UserFacingError("There is no round yet: create one with /round create.")
        return round_id

    async def _rows(self, round_id: int) -> list[RoundTopic]:
        """The round's entries in order; the library's topics are copied in the first time."""
        for _attempt in range(3):
            async with self._db.session() as session:
                rows = list(
                    (
                        await session.scalars(
                            select(RoundTopic)
                            .where(RoundTopic.round_id == round_id)
                            .order_by(RoundTopic.position, RoundTopic.id)  # type: ignore[arg-type]
                        )
                    ).all()
                )
            known = {row.topic_key for row in rows}
            new = [key for key in self.library.keys if key not in known]
            if not new:
                return rows
            now = self._clock.now()
            last = max((row.position for row in rows), default=-1)
            try:
                async with self._db.session() as session:
                    session.add_all(
                        RoundTopic(round_id=round_id, topic_key=key, position=last + 1 + i, created_at=now)
                        for i, key in enumerate(new)
                    )
            except IntegrityError:  # another process copied them at the same moment: read again
                continue
        raise RuntimeError(f"could not settle the topic list of round {round_id}")

    def _entry(self, row: RoundTopic) -> RoundTopicEntry:
        if row.topic_key.startswith(OWN_PREFIX):
            return RoundTopicEntry(row.topic_key, row.title or "", row.skipped, None, row.body or "")
        topic = self.library.get(row.topic_key)
        return RoundTopicEntry(row.topic_key, topic.title if topic else row.topic_key, row.skipped, topic)

    async def settings(self, guild_id: int) -> TopicSettings:
        async with self._db.session() as session:
            row = await session.get(Programme, guild_id)
            if row is None:
                return TopicSettings()
            return TopicSettings(row.posting_hour, row.topic_threads, row.topic_threads_channel_id)

    async def _plan(self, round_id: int) -> _Plan | None:
        async with self._db.session() as session:
            row = await session.get(Round, round_id)
            if row is None:
                return None
            programme = await session.get(Programme, row.guild_id)
            timezone = programme.timezone if programme else "UTC"
        settings = await self.settings(row.guild_id)
        entries = tuple(self._entry(r) for r in await self._rows(round_id))
        topics = tuple(e for e in entries if not e.skipped and e.available)
        cadence = timedelta(seconds=row.cadence_seconds)
        schedule = release_times(
            row.starts_at, row.ends_at, cadence, len(topics), timezone, time(settings.posting_hour)
        )
        assert row.id is not None
        return _Plan(
            row.id,
            row.guild_id,
            row.name,
            row.status,
            row.starts_at,
            row.ends_at,
            cadence,
            timezone,
            settings,
            entries,
            topics,
            tuple(schedule),
        )

    async def schedule(self, guild_id: int) -> TopicSchedule:
        """The current round's topics and when each comes out (for /topic list)."""
        plan = await self._plan(await self._round_for(guild_id))
        assert plan is not None
        async with self._db.session() as session:
            counts: dict[tuple[str, str], int] = defaultdict(int)
            for key, status in (
                await session.execute(
                    select(TopicPost.topic_key, TopicPost.status).where(TopicPost.round_id == plan.round_id)
                )
            ).all():
                counts[key, status] += 1
            statuses = (
                await session.scalars(
                    select(Match.space_status).where(Match.round_id == plan.round_id, Match.status == ACTIVE)
                )
            ).all()
        now = self._clock.now()
        items = tuple(
            ScheduledTopic(
                number,
                entry,
                plan.schedule[number - 1] if number <= len(plan.schedule) else None,
                counts[entry.key, POSTED],
                counts[entry.key, POST_FAILED],
            )
            for number, entry in enumerate(plan.topics, start=1)
        )
        return TopicSchedule(
            round_id=plan.round_id,
            round_name=plan.name,
            status=plan.status,
            ends_at=plan.ends_at,
            cadence=plan.cadence,
            timezone=plan.timezone,
            settings=plan.settings,
            topics=items,
            skipped=tuple(e for e in plan.entries if e.skipped),
            missing=tuple(e.key for e in plan.entries if not e.available and not e.skipped),
            problems=self.library.problems,
            spaces=sum(1 for s in statuses if s == CREATED),
            unavailable=sum(1 for s in statuses if s in (DELETED, FAILED)),
            released=plan.released(now),
        )

    async def preview(self, guild_id: int, number: int, language: str | None = None) -> SpaceMessage:
        """Topic `number` as a space will receive it (in `language` when it has that version)."""
        plan = await self._plan(await self._round_for(guild_id))
        assert plan is not None
        entry = _pick(plan.topics, number)
        text = entry.text_for([{language}] if language else [])
        if language and entry.topic is not None and entry.topic.text_in(language) is None:
            raise UserFacingError(
                f"“{entry.title}” has no {language} version; it has: {', '.join(entry.languages)}."
            )
        return topic_message(plan.name, number, text, topic_marker(0, entry.key), ())

    # -- coordinators change the list ---------------------------------------------------------

    async def add_topic(self, guild_id: int, title: str, body: str, position: int | None = None) -> int:
        """Add the round's own topic at `position` (1-based; the end by default); returns its number."""
        title, body = " ".join(title.split()), body.strip()
        if not title or not body:
            raise UserFacingError("A topic needs a title and some text.")
        if len(title) > MAX_TITLE or len(body) > MAX_BODY:
            raise UserFacingError(f"Keep the title to {MAX_TITLE} characters and the text to {MAX_BODY:,}.")
        round_id = await self._round_for(guild_id)
        for _attempt in range(3):
            plan = await self._plan(round_id)
            assert plan is not None
            released = plan.released(self._clock.now())
            count = len(plan.topics)
            index = count if position is None else position - 1
            if not released <= index <= count:
                raise UserFacingError(_position_problem(released, count + 1))
            rows = await self._rows(round_id)
            own = [int(r.topic_key[len(OWN_PREFIX) :]) for r in rows if r.topic_key.startswith(OWN_PREFIX)]
            key = f"{OWN_PREFIX}{max(own, default=0) + 1}"
            try:
                async with self._db.session() as session:
                    row = RoundTopic(
                        round_id=round_id, topic_key=key, title=title, body=body, created_at=self._clock.now()
                    )
                    session.add(row)
                    await session.flush()
                    order = await self._ordered(session, round_id)
                    order.remove(row)
                    _insert_at(order, row, index, plan)
                    _renumber(order)
            except IntegrityError:
                continue
            return index + 1
        raise UserFacingError("Someone else changed the topics at the same moment; try again.")

    async def move_topic(self, guild_id: int, number: int, to: int) -> None:
        round_id = await self._round_for(guild_id)
        plan = await self._plan(round_id)
        assert plan is not None
        released = plan.released(self._clock.now())
        entry = _pick(plan.topics, number)
        count = len(plan.topics)
        for value in (number, to):
            if not released < value <= count:
                raise UserFacingError(_position_problem(released, count))
        async with self._db.session() as session:
            order = await self._ordered(session, round_id)
            row = next(r for r in order if r.topic_key == entry.key)
            order.remove(row)
            _insert_at(order, row, to - 1, plan, without=entry.key)
            _renumber(order)

    async def skip_topic(self, guild_id: int, number: int) -> str:
        round_id = await self._round_for(guild_id)
        plan = await self._plan(round_id)
        assert plan is not None
        released = plan.released(self._clock.now())
        entry = _pick(plan.topics, number)
        if number <= released:
            raise UserFacingError(
                f"Topic {number} has been released already; only later topics can be skipped."
            )
        async with self._db.session() as session:
            await session.execute(
                update(RoundTopic)
                .where(RoundTopic.round_id == round_id, RoundTopic.topic_key == entry.key)  # type: ignore[arg-type]
                .values(skipped=True)
            )
        return entry.title

    async def unskip_topic(self, guild_id: int, number: int) -> str:
        """Bring back skipped topic `number` (as /topic list numbers the skipped ones)."""
        round_id = await self._round_for(guild_id)
        plan = await self._plan(round_id)
        assert plan is not None
        skipped = [e for e in plan.entries if e.skipped]
        if not 1 <= number <= len(skipped):
            raise UserFacingError(
                "No skipped topic has that number; /topic list shows them."
                if skipped
                else "No topic of this round is skipped."
            )
        entry = skipped[number - 1]
        released = plan.released(self._clock.now())
        async with self._db.session() as session:
            order = await self._ordered(session, round_id)
            row = next(r for r in order if r.topic_key == entry.key)
            row.skipped = False
            # Back where it was, unless that is among the released topics: then the next to come.
            before = [r for r in order[: order.index(row)] if not r.skipped and self._entry(r).available]
            if len(before) < released:
                order.remove(row)
                _insert_at(order, row, released, plan, without=entry.key)
            _renumber(order)
        return entry.title

    async def _ordered(self, session: AsyncSession, round_id: int) -> list[RoundTopic]:
        return list(
            (
                await session.scalars(
                    select(RoundTopic)
                    .where(RoundTopic.round_id == round_id)
                    .order_by(RoundTopic.position, RoundTopic.id)  # type: ignore[arg-type]
                )
            ).all()
        )

    async def update_settings(
        self,
        guild_id: int,
        *,
        posting_hour: int | None = None,
        threads: bool | None = None,
        threads_channel_id: int | None = None,
    ) -> TopicSettings:
        if posting_hour is not None and not 0 <= posting_hour <= 23:
            raise UserFacingError("The posting hour is a whole hour from 0 to 23, like 9 for 09:00.")
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.get(Programme, guild_id)
            if row is None:
                row = Programme(guild_id=guild_id, created_at=now, updated_at=now)
                session.add(row)
            if threads and threads_channel_id is None and row.topic_threads_channel_id is None:
                raise UserFacingError(
                    "Discussion threads need a channel to open in: give `discussion_channel` too."
                )
            if posting_hour is not None:
                row.posting_hour = posting_hour
            if threads_channel_id is not None:
                row.topic_threads_channel_id = threads_channel_id
            if threads is not None:
                row.topic_threads = threads
            row.updated_at = now
            return TopicSettings(row.posting_hour, row.topic_threads, row.topic_threads_channel_id)

    async def launched_rounds(self, guild_id: int | None = None) -> list[int]:
        """The launched rounds of one guild, or of every guild this process's shard holds."""
        async with self._db.session() as session:
            query = select(Round.id, Round.guild_id).where(Round.status == LAUNCHED)
            if guild_id is not None:
                query = query.where(Round.guild_id == guild_id)
            rows = (await session.execute(query.order_by(Round.id))).all()
            return [r for r, guild in rows if guild_id is not None or self._shard.holds(guild)]

    # -- the launch hands over ----------------------------------------------------------------

    async def intro_topic(self, round_id: int, languages: Sequence[Collection[str]]) -> TopicText | None:
        """What the intro card says about the first topic: its title, and that it comes in full."""
        plan = await self._plan(round_id)
        if plan is None or not plan.topics:
            return None
        text = plan.topics[0].text_for([frozenset(langs) for langs in languages])
        cadence = format_duration(plan.cadence)
        if plan.schedule and plan.schedule[0] > self._clock.now():
            local = plan.schedule[0].astimezone(ZoneInfo(plan.timezone))
            when = f"It arrives here on {local:%a %d %b %Y at %H:%M} ({plan.timezone})"
        else:
            when = "It follows as a message of its own, in full"
        return TopicText(text.language, text.title, f"{when}; then a new topic every {cadence}.")

    async def after_launch(self, round_id: int) -> None:
        """Called when a launch (or a resumed one) has finished: post what is due, schedule the rest."""
        await self.post_due_topics(round_id)
        await self.schedule_jobs(round_id)

    # -- jobs ---------------------------------------------------------------------------------

    async def rebuild(self) -> int:
        """At start-up: for every launched round, post what fell due while the bot was down (once),
        then schedule its future releases. Returns the number of jobs scheduled."""
        scheduled = 0
        for round_id in await self.launched_rounds():
            try:
                await self.post_due_topics(round_id)
            except Exception as error:
                if is_transient(error):  # the whole rebuild is tried again (bot/jobs.py)
                    raise
                log.exception("Posting the due topics of round %s at start-up failed", round_id)
            scheduled += len(await self.schedule_jobs(round_id))
        return scheduled

    async def schedule_jobs(self, round_id: int) -> list[str]:
        """One job per future release of the round, derived from the database; stale jobs go."""
        if self.scheduler is None:
            return []
        plan = await self._plan(round_id)
        now = self._clock.now()
        prefix = f"{JOB_PREFIX}:{round_id}:"
        wanted: dict[str, datetime] = {}
        if plan is not None and plan.status == LAUNCHED:
            wanted = {job_id(round_id, k): at for k, at in enumerate(plan.schedule) if at > now}
        for job in self.scheduler.get_jobs():
            if job.id.startswith(prefix) and job.id not in wanted:
                job.remove()
        for identifier, at in wanted.items():
            # The scheduler runs on real time; the delay comes from the bot's clock (the same thing in
            # production, a ManualClock in tests).
            jobs.add_job(
                self.scheduler,
                self.post_due_topics,
                DateTrigger(run_date=datetime.now(UTC) + (at - now), timezone=UTC),
                job_id=identifier,
                what=f"the topic release {identifier.rsplit(':', 1)[1]} of round {round_id}",
                name=f"topic release {identifier.rsplit(':', 1)[1]} of round {round_id} at {at.isoformat()}",
                args=[round_id],
                # However late it runs, posting is idempotent and posts only what is due; a release
                # missed while the bot was down is posted by the start-up rebuild instead.
                misfire_grace_time=None,
                coalesce=True,
            )
        return sorted(wanted)

    # -- posting ------------------------------------------------------------------------------

    async def post_due_topics(self, round_id: int, progress: Progress | None = None) -> PostReport:
        """Post every topic due at the clock's now into every space that has not had it."""
        plan = await self._plan(round_id)
        if plan is None or plan.status != LAUNCHED:
            return PostReport(plan.name if plan else "")
        now = self._clock.now()
        due = [(k + 1, plan.topics[k]) for k, at in enumerate(plan.schedule) if at <= now]
        if not due:
            return PostReport(plan.name)
        async with self._locks[round_id]:
            report = await self._fan_out(plan, due, retry_failed=False, progress=progress)
            await self._open_discussions(plan, due)
        await self._report(plan, report)
        return report

    async def post_topic_now(
        self, guild_id: int, number: int, progress: Progress | None = None
    ) -> PostReport:
        """`/topic post n`: topic n into every space of the running round now; spaces that have it
        already get nothing, and spaces where it failed are tried again."""
        plan = await self._plan(await self._round_for(guild_id, (LAUNCHED,)))
        assert plan is not None
        entry = _pick(plan.topics, number)
        async with self._locks[plan.round_id]:
            report = await self._fan_out(plan, [(number, entry)], retry_failed=True, progress=progress)
            await self._open_discussions(plan, [(number, entry)])
        await self._report(plan, report)
        return report

    async def _targets(self, round_id: int) -> list[_Target]:
        """The spaces that receive topics: active matches with a space and an intro."""
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(
                        Match.id,
                        Match.space_id,
                        Match.space_name,
                        MatchMember.member_id,
                        Participant.languages,
                    )
                    .join(MatchMember, MatchMember.match_id == Match.id)
                    .join(Participant, Participant.id == MatchMember.participant_id)
                    .where(
                        Match.round_id == round_id,
                        Match.status == ACTIVE,
                        Match.space_status == CREATED,
                        Match.space_id.is_not(None),  # type: ignore[union-attr]
                        Match.intro_status == INTRO_POSTED,
                        MatchMember.status == "active",
                    )
                    .order_by(Match.id, MatchMember.id)
                )
            ).all()
        members: dict[int, list[tuple[int, frozenset[str]]]] = defaultdict(list)
        spaces: dict[int, tuple[int, str]] = {}
        for match_id, space_id, name, member_id, languages in rows:
            spaces[match_id] = (space_id, name or f"match-{match_id}")
            members[match_id].append((member_id or 0, frozenset(languages or ())))
        return [
            _Target(
                match_id,
                space_id,
                name,
                tuple(m for m, _ in members[match_id] if m),
                tuple(langs for _, langs in members[match_id]),
            )
            for match_id, (space_id, name) in spaces.items()
        ]

    async def _fan_out(
        self,
        plan: _Plan,
        topics: Sequence[tuple[int, RoundTopicEntry]],
        *,
        retry_failed: bool,
        progress: Progress | None,
    ) -> PostReport:
        targets = await self._targets(plan.round_id)
        keys = [entry.key for _, entry in topics]
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(TopicPost.match_id, TopicPost.topic_key, TopicPost.status).where(
                        TopicPost.round_id == plan.round_id,
                        TopicPost.topic_key.in_(keys),  # type: ignore[attr-defined]
                    )
                )
            ).all()
        settled = {
            (m, k)
            for m, k, status in rows
            if status == POSTED or (status == POST_FAILED and not retry_failed)
        }
        work = [
            (target, [(n, e) for n, e in topics if (target.match_id, e.key) not in settled])
            for target in targets
        ]
        work = [(target, todo) for target, todo in work if todo]
        report = PostReport(plan.name, spaces=len(targets))
        queue: asyncio.Queue[tuple[_Target, list[tuple[int, RoundTopicEntry]]]] = asyncio.Queue()
        for item in work:
            queue.put_nowait(item)
        done = 0
        errors: list[Exception] = []

        async def worker() -> None:
            nonlocal done
            while not errors:  # after an error (the database gone) the others take no new space
                try:
                    target, todo = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                try:
                    for number, entry in todo:
                        outcome = await self._post_one(plan, target, number, entry, retry_failed, report)
                        # Another process holds an earlier topic, or the space failed: keep the order,
                        # the later topics come on the next run.
                        if outcome in (_BUSY, POST_FAILED):
                            break
                except Exception as error:
                    errors.append(error)
                    return
                done += 1
                if progress is not None:
                    await progress(done, len(work))

        if progress is not None:
            await progress(0, len(work))
        await asyncio.gather(*(worker() for _ in range(max(1, min(self.workers, len(work) or 1)))))
        if errors:
            raise errors[0]
        return report

    async def _post_one(
        self,
        plan: _Plan,
        target: _Target,
        number: int,
        entry: RoundTopicEntry,
        retry_failed: bool,
        report: PostReport,
    ) -> str:
        key = (target.match_id, entry.key)
        claimed_at = self._clock.now()
        try:
            claim = await self._claim(plan.round_id, target.match_id, entry.key, retry_failed, claimed_at)
        except Exception as error:
            if is_transient(error):  # the claim may have been committed without our hearing of it
                self._orphans[key] = claimed_at
            raise
        if claim not in (_NEW, _RECOVER):
            return claim
        self._orphans.pop(key, None)
        marker = topic_marker(target.match_id, entry.key)
        text = entry.text_for(target.languages)
        try:
            message_id = None
            if claim == _RECOVER:  # a claim without a message id: was it sent before the crash?
                message_id = await self._retry(self.adapter.find_message, target.space_id, marker)
            if message_id is None:
                message = topic_message(plan.name, number, text, marker, target.member_ids)
                message_id = await self._retry(self.adapter.post, target.space_id, message)
        except SpaceError as error:
            log.warning("Topic %s for match %s failed: %s", entry.key, target.match_id, error.message)
            await self._settle(key, claimed_at, POST_FAILED, error=error.message)
            report.failures.append(
                TopicFailure(target.match_id, target.space_name, entry.title, error.message)
            )
            if error.gone and self._space_deleted is not None:
                await self._space_deleted(plan.guild_id, target.space_id)
            return POST_FAILED
        await self._settle(key, claimed_at, POSTED, message_id=message_id, language=text.language)
        report.posted += 1
        return POSTED

    async def _settle(self, key: tuple[int, str], claimed_at: datetime, status: str, **details: Any) -> None:
        """Record the outcome of a claim; if the database fails here, the claim is an orphan."""
        try:
            await self._finish(*key, status, **details)
        except Exception as error:
            if is_transient(error):
                self._orphans[key] = claimed_at
            raise

    async def _claim(self, round_id: int, match_id: int, key: str, retry_failed: bool, now: datetime) -> str:
        """Insert the (match, topic) row before the message is sent; the UNIQUE key decides who posts."""
        try:
            async with self._db.session() as session:
                session.add(
                    TopicPost(
                        round_id=round_id, match_id=match_id, topic_key=key, status=POSTING, claimed_at=now
                    )
                )
            return _NEW
        except IntegrityError:
            pass
        async with self._db.session() as session:
            row = await session.scalar(
                select(TopicPost).where(TopicPost.match_id == match_id, TopicPost.topic_key == key)
            )
            if row is None or row.status == POSTED:
                return _DONE
            # Our own orphan (the same claim time, and the round's lock held, so no run of ours is
            # posting it) is taken over at once; another process's claim only after its lease.
            ours = row.claimed_at == self._orphans.get((match_id, key))
            stale = row.status == POSTING and (row.claimed_at <= now - self.claim_lease or ours)
            if not (stale or (row.status == POST_FAILED and retry_failed)):
                return _BUSY if row.status == POSTING else _FAILED_BEFORE
            # Compare-and-set: of several processes taking over the same claim, one wins.
            taken = await session.execute(
                update(TopicPost)
                .where(
                    TopicPost.id == row.id,  # type: ignore[arg-type]
                    TopicPost.status == row.status,  # type: ignore[arg-type]
                    TopicPost.claimed_at == row.claimed_at,  # type: ignore[arg-type]
                )
                .values(status=POSTING, claimed_at=now, error=None)
            )
            return _RECOVER if taken.rowcount == 1 else _BUSY  # type: ignore[attr-defined]

    async def _finish(
        self,
        match_id: int,
        key: str,
        status: str,
        *,
        message_id: int | None = None,
        language: str | None = None,
        error: str | None = None,
    ) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(TopicPost)
                .where(TopicPost.match_id == match_id, TopicPost.topic_key == key)  # type: ignore[arg-type]
                .values(
                    status=status,
                    message_id=message_id,
                    language=language,
                    error=error[:300] if error else None,
                    posted_at=self._clock.now() if status == POSTED else None,
                )
            )

    async def _retry(self, call: Callable[..., Awaitable[object]], *args: object) -> int | None:
        delays = list(self.retry_delays)
        while True:
            try:
                return await call(*args)  # type: ignore[return-value]
            except SpaceError as error:
                if error.permanent or not delays:
                    raise
                log.warning("Retrying a topic post after: %s", error.message)
                await asyncio.sleep(delays.pop(0))

    async def _report(self, plan: _Plan, report: PostReport) -> None:
        if report.failures and self._alert is not None:
            await self._alert(plan.guild_id, "\n".join(report.lines())[:2000])

    # -- the round-wide discussion threads ----------------------------------------------------

    async def _open_discussions(self, plan: _Plan, topics: Sequence[tuple[int, RoundTopicEntry]]) -> None:
        channel_id = plan.settings.threads_channel_id
        if not plan.settings.threads or channel_id is None:
            return
        for number, entry in topics:
            async with self._db.session() as session:
                claimed = await session.execute(
                    update(RoundTopic)
                    .where(
                        RoundTopic.round_id == plan.round_id,  # type: ignore[arg-type]
                        RoundTopic.topic_key == entry.key,  # type: ignore[arg-type]
                        RoundTopic.thread_status.is_(None),  # type: ignore[union-attr]
                    )
                    .values(thread_status=POSTING)
                )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            marker = discussion_marker(plan.round_id, entry.key)
            message = topic_message(plan.name, number, entry.text_for([]), marker, (), discussion=True)
            status, thread_id = POSTED, None
            try:
                thread_id = await self._retry(
                    self.adapter.open_discussion, channel_id, message, clip(entry.title, 100)
                )
            except SpaceError as error:
                status = POST_FAILED
                log.warning("Discussion thread for %s failed: %s", entry.key, error.message)
                if self._alert is not None:
                    await self._alert(
                        plan.guild_id,
                        f"The discussion thread for “{entry.title}” could not be opened in "
                        f"<#{channel_id}>: {error.message}",
                    )
            async with self._db.session() as session:
                await session.execute(
                    update(RoundTopic)
                    .where(RoundTopic.round_id == plan.round_id, RoundTopic.topic_key == entry.key)  # type: ignore[arg-type]
                    .values(thread_status=status, thread_id=thread_id)
                )


# -- pure helpers -----------------------------------------------------------------------------


def topic_message(
    round_name: str,
    number: int,
    text: TopicText,
    marker: str,
    partner_ids: Sequence[int],
    *,
    discussion: bool = False,
) -> SpaceMessage:
    """A topic as posted: the partners are notified in the content; the topic (which may be a
    coordinator's own text) is in the embed, which never pings anyone."""
    ids = tuple(partner_ids)
    if discussion:
        content = (
            f"Topic {number} of **{round_name}**: talk about it with everyone in the round, in this thread."
        )
    else:
        content = f"{mentions(ids)} topic {number} of **{round_name}** is here.".strip()
    return SpaceMessage(
        content=content,
        title=clip(text.title, 256),
        description=clip(text.body, 4096),
        footer=marker,
        mention_ids=ids,
        marker=marker,
    )


def _pick(topics: Sequence[RoundTopicEntry], number: int) -> RoundTopicEntry:
    if not 1 <= number <= len(topics):
        raise UserFacingError(
            f"The round has topics 1 to {len(topics)}; /topic list shows them."
            if topics
            else "The round has no topics: add one with /topic add."
        )
    return topics[number - 1]


def _position_problem(released: int, last: int) -> str:
    if released:
        return (
            f"Topics 1 to {released} have been released already, so they stay where they are; "
            f"pick a position from {released + 1} to {last}."
        )
    return f"Pick a position from 1 to {last}."


def _insert_at(
    order: list[RoundTopic], row: RoundTopic, index: int, plan: _Plan, *, without: str | None = None
) -> None:
    """Put `row` so that it becomes entry `index` (0-based) of the released list."""
    released = [e.key for e in plan.topics if e.key != without]
    if index >= len(released):
        order.append(row)
        return
    anchor = next(r for r in order if r.topic_key == released[index])
    order.insert(order.index(anchor), row)


def _renumber(order: list[RoundTopic]) -> None:
    for position, row in enumerate(order):
        row.position = position
