"""Real database faults for tests, and a way to see that a failed operation changed nothing.

- SQLite, locked: a second, raw `sqlite3` connection on the same file holds `BEGIN EXCLUSIVE`.
  In WAL mode readers still read; every writer waits for the busy timeout, then fails with
  "database is locked".
- PostgreSQL, unreachable: the bot reaches the server through a `TcpProxy` (tests/support/tcpproxy.py)
  that the test cuts (open connections reset, new ones refused) and restores.
- `cut_at_statement`: cut the proxy just before the k-th SQL statement an engine sends, to fail an
  operation at every point of its transaction in turn; `cut_when`: before the first statement of
  a kind (an INSERT into some table), to fail a command in the middle of its transaction.
- `table_rows`: every row of every table, read on a connection of its own, to compare a database
  before and after an operation that failed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

import bot.models  # noqa: F401 (every table registered in the metadata)
from bot.config import async_database_url
from tests.support.tcpproxy import TcpProxy

Rows = dict[str, list[tuple[Any, ...]]]


def sqlite_file(database_url: str) -> Path:
    database = make_url(database_url).database
    assert database, database_url
    return Path(database)


class SqliteLock:
    """A raw connection that takes the database's write lock and holds it until released."""

    def __init__(self, database_url: str) -> None:
        self._connection = sqlite3.connect(
            sqlite_file(database_url), timeout=10, isolation_level=None, check_same_thread=False
        )
        self.held = False

    async def hold(self) -> None:
        # In a thread: if the bot is in the middle of a write, this waits for it (and the event loop,
        # where the bot runs, must not be blocked meanwhile).
        await asyncio.to_thread(self._connection.execute, "BEGIN EXCLUSIVE")
        self.held = True

    def try_hold_now(self) -> bool:
        """Take the lock without waiting (usable on the event loop); False if a writer has it now."""
        try:
            self._connection.execute("PRAGMA busy_timeout = 0")
            self._connection.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError:
            return False
        finally:
            self._connection.execute("PRAGMA busy_timeout = 10000")
        self.held = True
        return True

    def release(self) -> None:
        if self.held:
            self._connection.execute("ROLLBACK")
            self.held = False

    def close(self) -> None:
        self.release()
        self._connection.close()


@contextmanager
def cut_at_statement(engine: AsyncEngine, proxy: TcpProxy, number: int) -> Iterator[list[str]]:
    """Cut `proxy` just before `engine` sends its `number`-th SQL statement (counting from 1).
    Yields the statements sent so far, to tell how many an operation has."""
    sent: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)
        if len(sent) == number:
            proxy.cut_now()

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


@contextmanager
def cut_when(engine: AsyncEngine, proxy: TcpProxy, prefix: str) -> Iterator[list[str]]:
    """Cut `proxy` just before `engine` sends the first statement that starts with `prefix` (like
    "INSERT INTO participant"): the connection drops in the middle of that transaction."""
    sent: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not sent and _starts(statement, prefix):
            sent.append(statement)
            proxy.cut_now()

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


class Outage:
    """The database going away and coming back, the real way for its backend: a held SQLite lock,
    or a cut proxy in front of PostgreSQL. `url` is the database itself (not through the proxy),
    for reading it while the bot cannot."""

    def __init__(self, url: str, *, lock: SqliteLock | None = None, proxy: TcpProxy | None = None) -> None:
        assert (lock is None) != (proxy is None)
        self.url = url
        self.lock = lock
        self.proxy = proxy
        self.struck = False

    @property
    def backend(self) -> str:
        return "sqlite" if self.lock is not None else "postgresql"

    async def begin(self) -> None:
        if self.lock is not None:
            await self.lock.hold()
        else:
            assert self.proxy is not None
            await self.proxy.cut()
        self.struck = True

    async def end(self) -> None:
        if self.lock is not None:
            self.lock.release()
        else:
            assert self.proxy is not None
            await self.proxy.restore()

    async def rows(self) -> Rows:
        return await table_rows(self.url)

    @contextmanager
    def strike_before(self, engine: AsyncEngine, prefix: str, *, skip: int = 0) -> Iterator[None]:
        """Begin the outage just before `engine` sends a statement starting with `prefix`, after
        letting `skip` such statements through: in the middle of the bot's work, at a known point.
        (SQLite: if another of the bot's connections is writing at that moment, the lock is taken
        before the next statement instead; with one worker that never happens.)"""
        seen = 0

        def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            nonlocal seen
            if self.struck:
                return
            if seen <= skip and _starts(statement, prefix):
                seen += 1
            if seen <= skip:
                return
            if self.proxy is not None:
                self.proxy.cut_now()
                self.struck = True
            elif self.lock is not None:
                self.struck = self.lock.try_hold_now()

        self.struck = False
        event.listen(engine.sync_engine, "before_cursor_execute", before)
        try:
            yield
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", before)


def _starts(statement: str, prefix: str) -> bool:
    # Table names that are keywords are quoted ("match"): compare without the quotes.
    return statement.lstrip().replace('"', "").startswith(prefix)


async def table_rows(database_url: str) -> Rows:
    """Every row of every table, in primary-key order, read on a connection of its own."""
    engine = create_async_engine(async_database_url(database_url))
    try:
        async with engine.connect() as connection:
            rows: Rows = {}
            for table in SQLModel.metadata.sorted_tables:
                query = select(table).order_by(*table.primary_key.columns)
                rows[table.name] = [tuple(row) for row in (await connection.execute(query)).all()]
            return rows
    finally:
        await engine.dispose()
