from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bot.clock import ManualClock
from bot.db import Database, alembic_config
from bot.models import Programme
from bot.programmes import ProgrammeService


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_migrations_reach_head(database: Database) -> None:
    assert await database.current_revision() == _head()
    await database.upgrade()  # a second run is a no-op
    assert await database.current_revision() == _head()


async def test_migrations_match_the_models(database: Database) -> None:
    """A model change without its migration (or the reverse) fails here, not in production."""

    def differences(connection: Connection) -> list[object]:
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    async with database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_migrations_step_up_from_every_earlier_revision(database_url: str) -> None:
    """An existing database at any earlier release's schema upgrades cleanly to head."""
    db = Database(database_url)
    await db.open()
    try:
        revisions = [s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
        for revision in reversed(revisions):
            await db.upgrade(revision)
            assert await db.current_revision() == revision
    finally:
        await db.close()


async def test_sqlite_connections_are_configured(database: Database) -> None:
    if database.dialect != "sqlite":
        pytest.skip("SQLite pragmas")
    async with database.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 5000


async def test_times_come_back_aware_and_in_utc(database: Database) -> None:
    start = datetime(2026, 3, 29, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    programmes = ProgrammeService(database, ManualClock(start))
    await programmes.update(123456789012345678, timezone="Europe/Madrid")
    async with database.session() as session:
        stored = await session.get(Programme, 123456789012345678)
    assert stored is not None
    assert stored.created_at == start
    assert stored.created_at.tzinfo == UTC


async def test_naive_times_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with database.session() as session:
            naive = datetime(2026, 1, 1)  # noqa: DTZ001 (the point of the test)
            session.add(Programme(guild_id=1, created_at=naive, updated_at=naive))


async def test_programme_settings_default_then_update(database: Database) -> None:
    programmes = ProgrammeService(database, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    guild = 987654321098765432
    assert (await programmes.get(guild)).coordinator_role_id is None
    await programmes.update(guild, coordinator_role_id=111111111111111111)
    settings = await programmes.get(guild)
    assert settings.coordinator_role_id == 111111111111111111
    assert settings.timezone == "UTC"
    with pytest.raises(ValueError, match="unknown programme settings"):
        await programmes.update(guild, colour="teal")
