from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db import Database
from tests.support.databases import backend_params, fresh_database_url


@pytest.fixture(params=backend_params())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend under test (SQLite always, PostgreSQL when configured)."""
    return await fresh_database_url(request.param, tmp_path)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """An open, migrated database."""
    db = Database(database_url)
    await db.open()
    await db.upgrade()
    try:
        yield db
    finally:
        await db.close()
