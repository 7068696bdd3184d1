"""Fixtures for the emulator's own tests: a started emulator, a small world, a connected bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.emulator import Emulator, Guild, Member, Role
from tests.emulator import permissions as perms
from tests.emulator_tests.sample_bot import TestBot
from tests.support.logcheck import check_no_logged_errors


@dataclass
class World:
    guild: Guild
    coordinator_role: Role
    coordinator: Member
    alice: Member
    bob: Member
    carol: Member


@pytest.fixture(autouse=True)
def no_client_errors(caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test if discord.py logged an error (a payload it could not parse, a handler that
    raised) or the emulator failed internally: its payloads must be ones the real client accepts."""
    yield from check_no_logged_errors(caplog, request)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
def world(emu: Emulator) -> World:
    guild = emu.create_guild("ILN")
    coordinators = emu.create_role(guild.id, "Coordinators", perms.MANAGE_GUILD)
    return World(
        guild=guild,
        coordinator_role=coordinators,
        coordinator=emu.add_member(guild.id, "cora", roles=[coordinators]),
        alice=emu.add_member(guild.id, "alice"),
        bob=emu.add_member(guild.id, "bob"),
        carol=emu.add_member(guild.id, "carol", dms_open=False),
    )


@pytest.fixture
async def bot(emu: Emulator, world: World) -> AsyncIterator[TestBot]:
    client = TestBot(world.guild.id)
    async with emu.running(client) as running:
        yield running


class Api:
    """Raw HTTP calls to the emulator as the bot (for asserting exact status codes and bodies)."""

    def __init__(self, emu: Emulator, session: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.session = session

    async def __call__(
        self, method: str, path: str, json: Any = None, *, auth: bool = True, **kwargs: Any
    ) -> tuple[int, Any, Any]:
        headers = {"Authorization": f"Bot {self.emu.bot_token}"} if auth else {}
        async with self.session.request(
            method, self.emu.api_url + path, json=json, headers=headers, **kwargs
        ) as r:
            body = await r.json() if r.content_type == "application/json" else await r.text()
            return r.status, body, r.headers


@pytest.fixture
async def api(emu: Emulator) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(emu, session)
