"""A database briefly locked or unreachable, with real faults: a second SQLite connection holding the
write lock, and a TCP proxy in front of PostgreSQL that is cut. Nothing of SQLAlchemy is mocked.

- `is_transient` tells those failures from bugs, whatever the driver wraps them in;
- a scheduled job that meets one is tried again with backoff on the same scheduler (bot/jobs.py);
- an operation that spans one transaction leaves the database exactly as it was when the
  connection drops before any of its statements (PostgreSQL; SQLite fails at its first write).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from bot import jobs
from bot.clock import ManualClock
from bot.config import DEFAULT_PROMPTS_DIR
from bot.db import Database, describe_transient, is_transient
from bot.models import Enrolment, MatchMember, Participant, Programme, RoundPair
from bot.participants import ParticipantService
from bot.programmes import ProgrammeService
from bot.rounds import PairChanges, RoundService
from tests.support.databases import POSTGRES_URL, fresh_database_url
from tests.support.outages import SqliteLock, cut_at_statement, table_rows
from tests.support.tcpproxy import TcpProxy, proxy_to
from tests.unit.test_rounds import GUILD, START, FakeSpaces, enrol, launched

needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="a cut PostgreSQL connection needs TEST_DATABASE_URL (a real server behind the proxy)",
)
SHORT_BUSY_TIMEOUT = 0.2  # seconds; production waits 5 s for a lock


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(await fresh_database_url("sqlite", tmp_path), busy_timeout=SHORT_BUSY_TIMEOUT)
    await db.open()
    await db.upgrade()
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def locked(sqlite_db: Database) -> AsyncIterator[SqliteLock]:
    lock = SqliteLock(sqlite_db.url)
    try:
        yield lock
    finally:
        lock.close()


@pytest.fixture
async def scheduler() -> AsyncIterator[AsyncIOScheduler]:
    """A started but paused scheduler: jobs are stored and timed as in the bot; the test fires them."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)


@pytest.fixture
async def proxied() -> AsyncIterator[tuple[Database, TcpProxy]]:
    """A migrated PostgreSQL database that the service reaches only through a proxy."""
    url = await fresh_database_url("postgresql", Path("."))
    async with proxy_to(url) as proxy:
        db = Database(proxy.url_for(url))
        await db.open()
        await db.upgrade()
        try:
            yield db, proxy
        finally:
            await db.close()


async def write_programme(db: Database, guild_id: int = 1) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with db.session() as session:
        session.add(Programme(guild_id=guild_id, created_at=now, updated_at=now))


async def failure_of(work: Awaitable[Any]) -> BaseException:
    try:
        await work
    except Exception as error:
        return error
    raise AssertionError("the operation did not fail")


# -- is_transient, on real failures -------------------------------------------------------------


async def test_the_busy_timeout_is_set_on_every_connection(sqlite_db: Database) -> None:
    async with sqlite_db.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 200
    assert Database("sqlite:///x.db").busy_timeout == 5.0  # the production default


async def test_sqlite_locked_longer_than_the_busy_timeout_is_transient(
    sqlite_db: Database, locked: SqliteLock
) -> None:
    await locked.hold()
    started = asyncio.get_running_loop().time()
    error = await failure_of(write_programme(sqlite_db))
    waited = asyncio.get_running_loop().time() - started
    assert is_transient(error)
    assert describe_transient(error) == "OperationalError: database is locked"
    assert SHORT_BUSY_TIMEOUT <= waited < SHORT_BUSY_TIMEOUT + 2  # it did wait for the lock first
    locked.release()
    await write_programme(sqlite_db)  # and the database works again at once


async def test_sqlite_locked_briefly_just_waits(tmp_path: Path) -> None:
    db = Database(await fresh_database_url("sqlite", tmp_path), busy_timeout=3.0)
    await db.open()
    await db.upgrade()
    lock = SqliteLock(db.url)
    try:
        await lock.hold()
        asyncio.get_running_loop().call_later(0.2, lock.release)
        await write_programme(db)  # waits about 0.2 s for the lock, then succeeds
        assert not lock.held
        async with db.session() as session:
            assert await session.get(Programme, 1) is not None
    finally:
        lock.close()
        await db.close()


async def test_bugs_and_constraint_violations_are_not_transient(sqlite_db: Database) -> None:
    await write_programme(sqlite_db)
    duplicate = await failure_of(write_programme(sqlite_db))
    assert isinstance(duplicate, IntegrityError)
    assert not is_transient(duplicate)
    assert not is_transient(ValueError("a bug"))
    assert not is_transient(ConnectionRefusedError(111, "raised by our own code, not a driver"))


async def test_a_network_error_of_discords_http_client_is_not_a_database_failure() -> None:
    closed_port = TcpProxy("127.0.0.1", 9)
    port = await closed_port.start()
    closed_port.cut_now()  # nothing listens there now: connections are refused
    async with aiohttp.ClientSession() as http:
        error = await failure_of(http.get(f"http://127.0.0.1:{port}/"))
    assert isinstance(error, OSError)
    assert not is_transient(error)


def test_postgres_error_codes_that_pass_are_transient() -> None:
    asyncpg = pytest.importorskip("asyncpg")
    errors = asyncpg.exceptions
    for passing in (
        errors.SerializationError,
        errors.DeadlockDetectedError,
        errors.TooManyConnectionsError,
        errors.CannotConnectNowError,
        errors.AdminShutdownError,
        errors.ConnectionFailureError,
    ):
        assert is_transient(passing("try again")), passing
    assert not is_transient(errors.UniqueViolationError("a bug"))
    assert not is_transient(errors.UndefinedTableError("a bug"))
    wrapped = RuntimeError("while doing something")
    wrapped.__cause__ = errors.SerializationError("could not serialize access")
    assert is_transient(wrapped)  # found down the chain of causes


@needs_postgres
async def test_postgres_cut_mid_transaction_and_refused_are_transient(
    proxied: tuple[Database, TcpProxy],
) -> None:
    db, proxy = proxied
    mid_query = None
    with contextlib.suppress(Exception):
        async with db.session() as session:
            await session.execute(text("SELECT 1"))
            await proxy.cut()
            try:
                await session.execute(text("SELECT 2"))
            except Exception as error:
                mid_query = error
                raise
    assert mid_query is not None
    assert is_transient(mid_query)
    assert "closed in the middle of operation" in describe_transient(mid_query)
    refused = await failure_of(write_programme(db))
    assert is_transient(refused)
    assert "Connect call failed" in describe_transient(refused)
    await proxy.restore()
    await write_programme(db)  # the pool replaces its dead connections by itself
    duplicate = await failure_of(write_programme(db))
    assert not is_transient(duplicate)


# -- scheduled jobs retry -----------------------------------------------------------------------


def test_the_backoff_is_30_seconds_then_longer_up_to_every_10_minutes() -> None:
    delays = [jobs.retry_delay(n) for n in range(1, 9)]
    assert delays == [timedelta(seconds=s) for s in (30, 60, 120, 300, 600, 600, 600, 600)]


async def test_a_job_meeting_a_locked_database_is_retried_with_backoff_until_it_succeeds(
    sqlite_db: Database, locked: SqliteLock, scheduler: AsyncIOScheduler, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[str] = []

    async def work(guild_id: int) -> None:
        runs.append("try")
        await write_programme(sqlite_db, guild_id)

    job = jobs.add_job(scheduler, work, _far_future(), job_id="tandem:test", what="the test job", args=[7])
    retry_id = jobs.retry_job_id("tandem:test")
    await locked.hold()
    caplog.set_level(logging.INFO)
    expected = [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    await job.func(*job.args)  # the scheduled run fails: a retry is scheduled
    for attempt, delay in enumerate(expected, start=1):
        retry = scheduler.get_job(retry_id)
        assert retry is not None, f"no retry after failure {attempt}"
        assert retry.args == (7,)
        wait = retry.trigger.run_date - datetime.now(UTC)
        assert delay - timedelta(seconds=5) < wait <= delay, (attempt, wait)
        if attempt < len(expected):
            await retry.func(*retry.args)  # still locked: the next retry waits longer
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "bot.jobs"]
    assert len(warnings) == 3
    assert "database is locked" in warnings[0].getMessage()
    assert all(r.exc_info is None for r in warnings)  # one line each, no traceback
    locked.release()
    retry = scheduler.get_job(retry_id)
    await retry.func(*retry.args)  # the database is back: done, and no retry is left
    assert scheduler.get_job(retry_id) is None
    assert runs == ["try"] * 4
    async with sqlite_db.session() as session:
        assert await session.get(Programme, 7) is not None


async def test_a_job_failing_on_a_bug_is_logged_and_not_retried(
    scheduler: AsyncIOScheduler, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise ValueError("a bug")

    job = jobs.add_job(scheduler, broken, _far_future(), job_id="tandem:bug", what="the broken job")
    await job.func(*job.args)
    assert scheduler.get_job(jobs.retry_job_id("tandem:bug")) is None
    (record,) = [r for r in caplog.records if r.name == "bot.jobs"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


def _far_future() -> DateTrigger:
    return DateTrigger(run_date=datetime.now(UTC) + timedelta(days=1), timezone=UTC)


# -- one transaction: all or nothing ------------------------------------------------------------


def services(db: Database) -> tuple[RoundService, ParticipantService]:
    clock = ManualClock(START)
    participants = ParticipantService(db, clock)

    async def alert(guild_id: int, text: str) -> None:
        return None

    rounds = RoundService(
        db,
        clock,
        participants,
        ProgrammeService(db, clock),
        spaces=FakeSpaces(),
        alert=alert,
        topics_dir=DEFAULT_PROMPTS_DIR / "topics",
    )
    rounds.retry_delays = (0.0,)
    return rounds, participants


async def all_or_nothing(
    db: Database, proxy: TcpProxy, operation: Callable[[], Awaitable[Any]], direct_url: str
) -> tuple[int, Any]:
    """Run `operation` again and again, the connection cut before its 1st, 2nd, 3rd... statement,
    until it runs through; every failed run must leave every table as it was. Returns the number
    of statements and the result."""
    before = await table_rows(direct_url)
    number = 1
    while True:
        with cut_at_statement(db.engine, proxy, number) as sent:
            try:
                result = await operation()
            except Exception as error:
                assert is_transient(error), error
                assert await table_rows(direct_url) == before, f"half done when cut at statement {number}"
                await proxy.restore()
                number += 1
                continue
        assert len(sent) < number, "it ran through although the connection was cut"
        return len(sent), result


@needs_postgres
async def test_leaving_and_erasing_is_all_or_nothing_wherever_the_connection_drops(
    proxied: tuple[Database, TcpProxy],
) -> None:
    db, proxy = proxied
    rounds, participants = services(db)
    await launched(rounds, participants, 6)
    async with db.session() as session:
        leaver = (await session.scalars(select(MatchMember.member_id).order_by(MatchMember.id))).first()
    assert leaver is not None
    statements, departure = await all_or_nothing(
        db, proxy, lambda: rounds.leave(GUILD, leaver, erase=True), POSTGRES_URL
    )
    assert statements > 5  # withdrawal, the match, the erasure: several statements, one transaction
    assert departure.place is not None
    assert departure.erased
    assert len(departure.left) == 1
    async with db.session() as session:
        row = await session.scalar(select(Participant).where(Participant.deleted.is_(True)))  # type: ignore[attr-defined]
        assert row is not None
        assert row.member_id is None
        enrolment = await session.scalar(select(Enrolment).where(Enrolment.participant_id == row.id))
        member = await session.scalar(select(MatchMember).where(MatchMember.participant_id == row.id))
    assert (enrolment.status if enrolment else None) == "withdrawn"
    assert (member.status if member else None) == "left"


@needs_postgres
async def test_a_preview_with_pins_is_all_or_nothing_wherever_the_connection_drops(
    proxied: tuple[Database, TcpProxy],
) -> None:
    db, proxy = proxied
    rounds, participants = services(db)
    await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, 8)
    await rounds.set_pair(GUILD, 5, 6, "forbid")
    changes = PairChanges(clear=True, pairs=((1, 2, "pin"), (3, 4, "forbid")))
    _statements, preview = await all_or_nothing(
        db, proxy, lambda: rounds.preview(GUILD, seed=3, changes=changes), POSTGRES_URL
    )
    assert (preview.pins, preview.forbids) == (1, 1)
    assert (1, 2) in {m.member_ids for m in preview.result.matches}
    async with db.session() as session:
        stored = {(p.member_a, p.member_b, p.kind) for p in (await session.scalars(select(RoundPair))).all()}
    assert stored == {(1, 2, "pin"), (3, 4, "forbid")}


async def test_a_preview_the_database_refuses_keeps_the_old_pins_and_proposal(
    sqlite_db: Database, locked: SqliteLock
) -> None:
    rounds, participants = services(sqlite_db)
    await rounds.create_round(GUILD, "Spring 2026", START)
    await enrol(participants, 8)
    await rounds.set_pair(GUILD, 5, 6, "forbid")
    await rounds.preview(GUILD, seed=1)
    before = await table_rows(sqlite_db.url)
    await locked.hold()  # reads still work (WAL): the matcher runs, the final write is refused
    error = await failure_of(
        rounds.preview(GUILD, seed=2, changes=PairChanges(clear=True, pairs=((1, 2, "pin"),)))
    )
    assert is_transient(error)
    assert await table_rows(sqlite_db.url) == before
