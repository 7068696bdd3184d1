"""End-to-end fixtures: the real Tandem bot, on the real discord.py, against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app import TandemBot
from bot.clock import ManualClock
from tests.emulator import Emulator, Guild, InteractionResponse, Member, Role
from tests.emulator import permissions as perms
from tests.support.bots import START, make_bot
from tests.support.databases import backend_params, fresh_database_url
from tests.support.logcheck import check_no_logged_errors


@pytest.fixture(autouse=True)
def no_logged_errors(caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> Iterator[None]:
    yield from check_no_logged_errors(caplog, request)


@dataclass
class Programme:
    """A guild with a coordinator and members, and the Tandem bot connected to it."""

    emu: Emulator
    bot: TandemBot
    clock: ManualClock
    guild: Guild
    coordinator_role: Role
    coordinator: Member
    admin: Member
    members: list[Member] = field(default_factory=list)

    async def run(self, member: Member, command: str, **options: Any) -> InteractionResponse:
        """`member` runs `/command` with options; returns the bot's first answer."""
        handle = await self.emu.slash(self.guild.id, member.id, command, options)
        return await handle.response()

    def add_member(self, name: str, **kwargs: Any) -> Member:
        member = self.emu.add_member(self.guild.id, name, **kwargs)
        self.members.append(member)
        return member


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
    assert not emulator.server_errors, f"the emulator failed internally: {emulator.server_errors}"
    assert not emulator.unknown_routes, (
        f"the bot called routes the emulator does not know: {emulator.unknown_routes}"
    )


@pytest.fixture(params=backend_params())
def e2e_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def programme(emu: Emulator, e2e_backend: str, tmp_path: Path) -> AsyncIterator[Programme]:
    guild = emu.create_guild("International Librarians")
    coordinator_role = emu.create_role(guild.id, "Coordinators")
    coordinator = emu.add_member(guild.id, "cora", roles=[coordinator_role])
    admin = emu.add_member(
        guild.id, "adele", roles=[emu.create_role(guild.id, "Admins", perms.ADMINISTRATOR)]
    )
    database_url = await fresh_database_url(e2e_backend, tmp_path)
    clock = ManualClock(START)
    bot = make_bot(emu, database_url, guild.id, clock, extra_extensions=["tests.e2e.probe_cog"])
    async with emu.running(bot):
        await emu.wait_for_commands(guild.id)
        await bot.programmes.update(guild.id, coordinator_role_id=coordinator_role.id)
        yield Programme(emu, bot, clock, guild, coordinator_role, coordinator, admin)
