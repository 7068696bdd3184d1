"""Programme settings: one row per guild, created on first use."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.db import Database
from bot.models import Programme
from bot.validation import DEFAULT_CAREER_STAGES, DEFAULT_SECTORS, FieldOptions

# A starting list for library programmes (at most 25, what one Discord select menu can offer);
# coordinators replace it with /setup.
DEFAULT_INTERESTS: tuple[str, ...] = (
    "open access",
    "digital preservation",
    "information literacy",
    "cataloguing and metadata",
    "reference services",
    "children and young people",
    "community outreach",
    "advocacy",
    "library technology",
    "research support",
    "archives and special collections",
    "collection development",
    "copyright and licensing",
    "leadership and management",
    "accessibility and inclusion",
    "indigenous knowledge",
    "research data management",
    "reading promotion",
    "user experience",
    "school libraries",
    "health libraries",
    "law libraries",
    "makerspaces",
    "marketing and events",
    "professional development",
)

SETTING_NAMES = frozenset(
    {
        "coordinator_role_id",
        "alerts_channel_id",
        "timezone",
        "spaces_category_id",
        "spaces_parent_channel_id",
        "interests",
        "sectors",
        "career_stages",
    }
)


@dataclass(frozen=True)
class ProgrammeSettings:
    guild_id: int
    coordinator_role_id: int | None = None
    alerts_channel_id: int | None = None
    timezone: str = "UTC"
    spaces_category_id: int | None = None
    spaces_parent_channel_id: int | None = None
    interests: tuple[str, ...] = DEFAULT_INTERESTS
    sectors: tuple[str, ...] = DEFAULT_SECTORS
    career_stages: tuple[str, ...] = DEFAULT_CAREER_STAGES

    @property
    def field_options(self) -> FieldOptions:
        return FieldOptions(sectors=self.sectors, career_stages=self.career_stages, interests=self.interests)


class ProgrammeService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def get(self, guild_id: int) -> ProgrammeSettings:
        """The guild's settings; a guild that never ran /setup gets the defaults."""
        async with self._db.session() as session:
            row = await session.get(Programme, guild_id)
            return ProgrammeSettings(guild_id) if row is None else _settings(row)

    async def update(self, guild_id: int, **changes: object) -> ProgrammeSettings:
        unknown = set(changes) - SETTING_NAMES
        if unknown:
            raise ValueError(f"unknown programme settings: {sorted(unknown)}")
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.get(Programme, guild_id)
            if row is None:
                row = Programme(guild_id=guild_id, created_at=now, updated_at=now)
                session.add(row)
            for name, value in changes.items():
                setattr(row, name, list(value) if isinstance(value, tuple) else value)
            row.updated_at = now
            await session.flush()
            return _settings(row)


def _settings(row: Programme) -> ProgrammeSettings:
    return ProgrammeSettings(
        guild_id=row.guild_id,
        coordinator_role_id=row.coordinator_role_id,
        alerts_channel_id=row.alerts_channel_id,
        timezone=row.timezone,
        spaces_category_id=row.spaces_category_id,
        spaces_parent_channel_id=row.spaces_parent_channel_id,
        interests=tuple(row.interests) or DEFAULT_INTERESTS,
        sectors=tuple(row.sectors) or DEFAULT_SECTORS,
        career_stages=tuple(row.career_stages) or DEFAULT_CAREER_STAGES,
    )
