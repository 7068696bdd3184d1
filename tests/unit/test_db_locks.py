"""Database.exclusive: one holder at a time across processes (here: two engines on one database)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.db import ADVISORY_LOCK_SPACE, Database


async def _held_elsewhere(database_url: str, key: int) -> bool:
    """Whether another connection holds `key` (PostgreSQL's own view of its advisory locks)."""
    probe = Database(database_url)
    await probe.open()
    try:
        async with probe.engine.connect() as connection:
            count = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid::bigint = :space AND objid::bigint = :key"
                ),
                {"space": ADVISORY_LOCK_SPACE, "key": key},
            )
            return bool(count)
    finally:
        await probe.close()


async def test_a_second_process_waits_for_the_first(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("SQLite serves one process; its exclusive blocks simply run")
    other = Database(database.url)
    await other.open()
    order: list[str] = []
    try:
        async with database.exclusive(7):
            assert await _held_elsewhere(database.url, 7)

            async def second() -> None:
                async with other.exclusive(7):
                    order.append("second")

            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.3)  # long enough for the second to have run, had it not waited
            assert not waiting.done()
            async with other.exclusive(8):  # another key is free
                order.append("other key")
            order.append("first done")
        await asyncio.wait_for(waiting, 5)
        assert order == ["other key", "first done", "second"]
        assert not await _held_elsewhere(database.url, 7)
    finally:
        await other.close()


async def test_a_holder_that_is_cancelled_or_dies_releases_the_lock(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("PostgreSQL advisory locks")
    entered = asyncio.Event()

    async def holder() -> None:
        async with database.exclusive(9):
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(holder())
    await asyncio.wait_for(entered.wait(), 5)
    task.cancel()  # like a launch stopped with the bot
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await _held_elsewhere(database.url, 9)

    # A process that dies: its connection ends, and the server drops the lock with it.
    dying = Database(database.url)
    await dying.open()
    entered.clear()
    task = asyncio.create_task(_hold_in(dying, 9, entered))
    await asyncio.wait_for(entered.wait(), 5)
    async with database.engine.connect() as connection:
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid::bigint = :space AND objid::bigint = 9"
            ),
            {"space": ADVISORY_LOCK_SPACE},
        )
        await connection.commit()
    async with database.exclusive(9):  # does not wait for the dead holder
        pass
    task.cancel()
    with pytest.raises((asyncio.CancelledError, Exception)):  # its connection is gone
        await task
    await dying.close()


async def _hold_in(database: Database, key: int, entered: asyncio.Event) -> None:
    async with database.exclusive(key):
        entered.set()
        await asyncio.sleep(60)


async def test_sqlite_runs_the_block(database: Database) -> None:
    if database.dialect != "sqlite":
        pytest.skip("SQLite")
    ran = False
    async with database.exclusive(1):
        ran = True
    assert ran
