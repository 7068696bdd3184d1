"""The database: one engine per process, async drivers only, migrations by Alembic.

Every query runs through an async driver (aiosqlite, asyncpg), so no blocking database call
runs on the event loop. Services reach the database through `Database.session()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

from bot.config import async_database_url, redact_url
from bot.errors import ConfigError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5_000
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


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Database:
    """Owns the engine and the session factory; opened by the bot's setup_hook."""

    def __init__(self, url: str) -> None:
        self.url = url
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
            options = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
        else:
            _require_asyncpg()
        engine = create_async_engine(url, **options)
        if url.get_backend_name() == "sqlite":
            event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
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
                except BaseException:
                    # Unlocking failed or was cancelled: close the connection rather than pool it with
                    # the lock held; the server releases the lock when its connection ends.
                    await connection.invalidate()
                    raise

    async def upgrade(self, revision: str = "head") -> None:
        """Apply the schema migrations up to `revision` (all of them by default)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(_run_alembic_upgrade, revision)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as connection:
            return await connection.run_sync(_current_revision)


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
