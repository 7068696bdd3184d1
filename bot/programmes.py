"""Programme settings: one row per guild, created on first use."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.db import Database
from bot.models import Programme


@dataclass(frozen=True)
class ProgrammeSettings:
    guild_id: int
    coordinator_role_id: int | None
    alerts_channel_id: int | None
    timezone: str


class ProgrammeService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def get(self, guild_id: int) -> ProgrammeSettings:
        """The guild's settings; a guild that never ran /setup gets the defaults."""
        async with self._db.session() as session:
            row = await session.get(Programme, guild_id)
            if row is None:
                return ProgrammeSettings(guild_id, None, None, "UTC")
            return _settings(row)

    async def update(self, guild_id: int, **changes: object) -> ProgrammeSettings:
        allowed = {"coordinator_role_id", "alerts_channel_id", "timezone"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown programme settings: {sorted(unknown)}")
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.get(Programme, guild_id)
            if row is None:
                row = Programme(guild_id=guild_id, created_at=now, updated_at=now)
                session.add(row)
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = now
            await session.flush()
            return _settings(row)


def _settings(row: Programme) -> ProgrammeSettings:
    return ProgrammeSettings(row.guild_id, row.coordinator_role_id, row.alerts_channel_id, row.timezone)
