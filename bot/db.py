"""The database: one engine per process, async drivers only, migrations by Alembic.

Every query runs through an async driver (aiosqlite, asyncpg), so no blocking database call
runs on the event loop. Services reach the database through `Database.session()`.

A database that is briefly locked (SQLite) or unreachable (PostgreSQL) is told apart from a bug
here, in `is_transient`: the interaction error path answers "try again in a minute", scheduled
jobs are tried again later (bot/jobs.py), and long work stops cleanly and resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import DateTime, event, exc, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

from bot.config import async_database_url, redact_url
from bot.errors import ConfigError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT = 5.0  # seconds a connection waits for another one's lock before giving up
# The first key of Tandem's PostgreSQL advisory locks ("TAND"), so they keep apart from other apps'.
ADVISORY_LOCK_SPACE = 0x54414E44


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite keeps no zone, so times are stored as naive UTC and re-attached to UTC on read;
    naive times are refused on write, since their meaning would be a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _configure_sqlite_connection(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Database:
    """Owns the engine and the session factory; opened by the bot's setup_hook.

    `busy_timeout` (SQLite only) is how long a statement waits for a lock another connection
    holds before it fails as "database is locked"; tests give a short one to stay fast.
    """

    def __init__(self, url: str, *, busy_timeout: float = SQLITE_BUSY_TIMEOUT) -> None:
        if busy_timeout < 0:
            raise ValueError("busy_timeout is a number of seconds, 0 or more")
        self.url = url
        self.busy_timeout = busy_timeout
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the database is not open; call Database.open() first")
        return self._engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def open(self) -> None:
        if self._engine is not None:
            return
        url = async_database_url(self.url)
        options: dict[str, Any] = {"pool_pre_ping": True}
        if url.get_backend_name() == "sqlite":
            if url.database:
                await asyncio.to_thread(_create_parent_folder, url.database)
            options = {"connect_args": {"timeout": self.busy_timeout}}
        else:
            _require_asyncpg()
        engine = create_async_engine(url, **options)
        if url.get_backend_name() == "sqlite":
            busy_ms = round(self.busy_timeout * 1000)
            event.listen(
                engine.sync_engine, "connect", functools.partial(_configure_sqlite_connection, busy_ms)
            )
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        log.info("Database opened: %s", redact_url(self.url))

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessions = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        if self._sessions is None:
            raise RuntimeError("the database is not open; call Database.open() first")
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[None]:
        """Hold `key` against every other process on this database for the length of the block.

        On PostgreSQL a session advisory lock on a connection of its own: the server releases it
        when that connection ends, so a process that dies never leaves it held. SQLite serves a
        single process (several shards need PostgreSQL), so there the block simply runs.
        """
        if self.dialect != "postgresql":
            yield
            return
        arguments = {"space": ADVISORY_LOCK_SPACE, "key": key}
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:space, :key)"), arguments)
            await connection.commit()  # hold the lock, not an idle transaction
            try:
                yield
            finally:
                try:
                    await connection.execute(text("SELECT pg_advisory_unlock(:space, :key)"), arguments)
                    await connection.commit()
                except Exception:
                    # The connection is gone (and the lock with it on the server): the work itself is
                    # done, so this is no failure of the block. Never pool a connection that may hold it.
                    log.warning("Could not release database lock %s; closing its connection instead", key)
                    with contextlib.suppress(Exception):
                        await connection.invalidate()
                except BaseException:  # cancelled while unlocking: close the connection, then stop
                    await connection.invalidate()
                    raise

    async def upgrade(self, revision: str = "head") -> None:
        """Apply the schema migrations up to `revision` (all of them by default)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(_run_alembic_upgrade, revision)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as connection:
            return await connection.run_sync(_current_revision)


# -- transient failures -----------------------------------------------------------------------

# PostgreSQL SQLSTATEs worth another try: a connection exception (class 08), a serialization failure
# or deadlock (40001, 40P01), too many connections (53300), the server shutting down or starting up
# (57P01, 57P02, 57P03).
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "53300", "57P01", "57P02", "57P03"})
TRANSIENT_SQLSTATE_CLASSES = ("08",)
# SQLite's SQLITE_BUSY (5) and SQLITE_LOCKED (6): another connection holds the lock.
SQLITE_BUSY_CODES = frozenset({5, 6})
SQLITE_BUSY_MESSAGES = ("database is locked", "database is busy", "database table is locked")
# Code a raw OSError must have come through to count as the database's: a network error raised by
# Discord's HTTP client is not a database outage.
DRIVER_MODULES = ("sqlalchemy.", "asyncpg.", "aiosqlite.", "sqlite3.")


def is_transient(error: BaseException) -> bool:
    """True when `error` means the database was briefly locked or unreachable, so the same work
    can succeed if tried again later; False for anything else (a bug, a constraint, bad data).

    It looks through the whole chain of causes: SQLAlchemy wraps the driver's error, and asyncpg's
    connection refused arrives as a bare OSError.
    """
    return any(_transient_link(link) for link in _chain(error))


def describe_transient(error: BaseException) -> str:
    """A short, secret-free line naming the database failure, for a WARNING log line.

    It names the driver's own error rather than SQLAlchemy's wrapper, whose text carries the SQL
    and its parameters (members' data); URLs and passwords never appear in these messages.
    """
    links = list(_chain(error))
    chosen = next((link for link in reversed(links) if _transient_link(link)), links[-1])
    text = (str(chosen).strip().splitlines() or [""])[0]
    if isinstance(chosen, exc.StatementError):  # "(driver.Error) message" without the SQL
        text = str(chosen.orig).strip().splitlines()[0] if chosen.orig is not None else type(chosen).__name__
    return f"{type(chosen).__name__}: {text}"[:200] if text else type(chosen).__name__


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        link = pending.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        if isinstance(link, BaseExceptionGroup):
            pending.extend(link.exceptions)
        context = None if link.__suppress_context__ else link.__context__
        for nxt in (getattr(link, "orig", None), link.__cause__, context):
            if isinstance(nxt, BaseException):
                pending.append(nxt)


def _transient_link(link: BaseException) -> bool:
    if isinstance(link, exc.DBAPIError) and link.connection_invalidated:
        return True
    if isinstance(link, exc.TimeoutError):  # no pooled connection came free in time
        return True
    sqlstate = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
    if isinstance(sqlstate, str) and (
        sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith(TRANSIENT_SQLSTATE_CLASSES)
    ):
        return True
    if type(link).__module__ in ("sqlite3", "aiosqlite") and type(link).__name__ == "OperationalError":
        code = getattr(link, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in SQLITE_BUSY_CODES:
            return True
        message = str(link.args[0]).lower() if link.args else ""
        return message.startswith(SQLITE_BUSY_MESSAGES)
    if type(link).__module__.startswith("asyncpg") and type(link).__name__ == "InterfaceError":
        message = str(link).lower()
        return "connection is closed" in message or "connection was closed" in message
    if isinstance(link, OSError):
        return _raised_by_driver(link)
    return False


def _raised_by_driver(error: BaseException) -> bool:
    for frame, _line in traceback.walk_tb(error.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith(DRIVER_MODULES) or module in ("sqlite3", "asyncpg", "aiosqlite"):
            return True
    return False


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _run_alembic_upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _create_parent_folder(database_file: str) -> None:
    Path(database_file).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _require_asyncpg() -> None:
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        raise ConfigError(
            "DATABASE_URL",
            "points at PostgreSQL, but its driver is not installed: pip install -e '.[postgres]'",
        ) from None
