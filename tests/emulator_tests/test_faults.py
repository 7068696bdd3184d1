"""Rate limits and injected faults: Discord's answers, and discord.py coping with them."""

from __future__ import annotations

import time

from tests.emulator import Emulator
from tests.emulator.faults import Faults
from tests.emulator_tests.conftest import Api, World
from tests.emulator_tests.sample_bot import TestBot


async def test_rate_limit_answers_429_like_discord(emu: Emulator, world: World, api: Api) -> None:
    emu.set_rate_limit("POST /channels/{channel_id}/messages", 2, 0.5)
    path = f"/channels/{emu.channels(world.guild)[0].id}/messages"
    first = await api("POST", path, {"content": "1"})
    assert first[0] == 200
    assert first[2]["X-RateLimit-Limit"] == "2"
    assert first[2]["X-RateLimit-Remaining"] == "1"
    assert float(first[2]["X-RateLimit-Reset-After"]) <= 0.5
    assert first[2]["X-RateLimit-Bucket"]
    assert (await api("POST", path, {"content": "2"}))[0] == 200
    status, body, headers = await api("POST", path, {"content": "3"})
    assert status == 429
    assert body["global"] is False
    assert 0 < body["retry_after"] <= 0.5
    assert isinstance(body["retry_after"], float)
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Scope"] == "user"
    assert "Retry-After" in headers
    assert headers["Via"]
    assert [m.content for m in emu.messages(emu.channels(world.guild)[0])] == ["1", "2"]
    # other channels are other buckets (major parameter), other routes are unaffected
    other = emu.create_channel(world.guild, "other")
    assert (await api("POST", f"/channels/{other.id}/messages", {"content": "x"}))[0] == 200


async def test_discord_py_waits_out_a_tight_bucket(emu: Emulator, world: World, bot: TestBot) -> None:
    emu.set_rate_limit("POST /guilds/{guild_id}/channels", 5, 0.25)
    guild = bot.get_guild(world.guild.id)
    started = time.monotonic()
    for index in range(12):
        await guild.create_text_channel(f"space-{index}")
    elapsed = time.monotonic() - started
    assert len(emu.channels(world.guild)) == 13
    assert elapsed >= 0.45  # 12 calls at 5 per 0.25 s span at least three windows
    assert all(c.status == 201 for c in emu.calls("POST", "/guilds/{guild_id}/channels"))


async def test_discord_py_retries_after_a_429(emu: Emulator, world: World, bot: TestBot) -> None:
    emu.fail_next("POST", "/guilds/{guild_id}/channels", count=2, status=429, retry_after=0.05)
    await bot.get_guild(world.guild.id).create_text_channel("after-429")
    statuses = [c.status for c in emu.calls("POST", "/guilds/{guild_id}/channels")]
    assert statuses == [429, 429, 201]
    assert emu.channel_named(world.guild, "after-429") is not None


async def test_discord_py_retries_a_500(emu: Emulator, world: World, bot: TestBot) -> None:
    general = emu.channels(world.guild)[0]
    emu.fail_next("POST", "/channels/*/messages", status=500)
    await bot.get_channel(general.id).send("survives a 500")  # discord.py sleeps 1 s, then retries
    assert [c.status for c in emu.calls("POST", "/channels/{channel_id}/messages")] == [500, 200]
    assert [m.content for m in emu.messages(general)] == ["survives a 500"]


async def test_seeded_chaos_is_reproducible_and_survivable(emu: Emulator, world: World, bot: TestBot) -> None:
    def pattern(seed: int) -> list[bool]:
        faults = Faults()
        faults.set_chaos(0.3, statuses=(429,), seed=seed)
        return [faults.pick("GET", "/x", "/x") is not None for _ in range(50)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    emu.set_chaos(0.3, statuses=(429,), seed=3, routes=("POST /channels/*/messages",))
    channel = bot.get_channel(emu.channels(world.guild)[0].id)
    for index in range(10):
        await channel.send(f"m{index}")
    assert [m.content for m in emu.messages(channel.id)] == [f"m{i}" for i in range(10)]
    assert emu.faults.injected  # some calls really failed
    emu.set_chaos(0)
