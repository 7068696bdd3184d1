"""Test databases: a fresh SQLite file per test, and PostgreSQL too when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import async_database_url

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def backend_params() -> list[object]:
    params: list[object] = [pytest.param("sqlite", id="sqlite")]
    if POSTGRES_URL:
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


async def fresh_database_url(backend: str, folder: Path) -> str:
    """A URL to an empty database of the given backend."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'tandem-test.db'}"
    engine = create_async_engine(async_database_url(POSTGRES_URL))
    try:
        async with engine.begin() as connection:
            # Tests run one at a time against this database; a clean schema keeps them independent.
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    return POSTGRES_URL
