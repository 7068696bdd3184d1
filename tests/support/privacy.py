"""Search the whole database for a person's traces, for the tests of /privacy delete."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import SQLModel

from bot.db import Database


async def rows_holding(database: Database, needles: Iterable[str | int]) -> list[str]:
    """Every "table.column = value" in any table whose value contains one of the needles."""
    wanted = [str(needle) for needle in needles]
    found = []
    async with database.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    text = str(value) if value is not None else ""
                    found += [f"{table.name}.{column} = {text!r}" for needle in wanted if needle in text]
    return found
