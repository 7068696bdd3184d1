"""A Tandem bot process for end-to-end tests: the real bot, pointed at the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from bot.app import TandemBot, discover_extensions
from bot.clock import ManualClock
from bot.config import DEFAULT_PROMPTS_DIR, Settings
from bot.db import SQLITE_BUSY_TIMEOUT, Database
from bot.sharding import EVERY_GUILD, Shard
from tests.emulator import Emulator

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_bot(
    emu: Emulator,
    database_url: str,
    guild_id: int,
    clock: ManualClock | None = None,
    *,
    extra_extensions: Sequence[str] = (),
    shard: Shard = EVERY_GUILD,
    busy_timeout: float = SQLITE_BUSY_TIMEOUT,
) -> TandemBot:
    """The bot as `python -m bot --sync` builds it, with DEV_GUILD_ID set to the test's guild.
    `busy_timeout`: how long SQLite waits for a lock (tests of a locked database shorten it)."""
    return build_bot(
        emu.bot_token,
        database_url,
        guild_id,
        clock,
        extra_extensions=extra_extensions,
        shard=shard,
        busy_timeout=busy_timeout,
    )


def build_bot(
    token: str,
    database_url: str,
    guild_id: int,
    clock: ManualClock | None = None,
    *,
    extra_extensions: Sequence[str] = (),
    shard: Shard = EVERY_GUILD,
    busy_timeout: float = SQLITE_BUSY_TIMEOUT,
) -> TandemBot:
    """`make_bot` given the emulator's token only: what a bot in a process of its own has
    (tests/support/bot_process.py)."""
    settings = Settings(
        discord_token=token,
        database_url=database_url,
        dev_guild_id=guild_id,
        log_level="INFO",
        prompts_dir=DEFAULT_PROMPTS_DIR,
        shard=shard,
    )
    return TandemBot(
        settings=settings,
        database=Database(database_url, busy_timeout=busy_timeout),
        clock=clock or ManualClock(START),
        sync_commands=True,
        extensions=[*discover_extensions(), *extra_extensions],
        guild_ready_timeout=0.05,  # discord.py otherwise waits 2 s for more guilds
    )


@asynccontextmanager
async def standalone(
    emu: Emulator,
    database_url: str,
    guild_id: int,
    clock: ManualClock | None = None,
    *,
    shard: Shard = EVERY_GUILD,
) -> AsyncIterator[TandemBot]:
    """One bot process: connected with its commands synced, and closed at the end like a stopped one."""
    bot = make_bot(emu, database_url, guild_id, clock, shard=shard)
    async with emu.running(bot):
        await emu.wait_for_commands(guild_id)
        yield bot
