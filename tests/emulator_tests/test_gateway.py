"""Gateway: connect, READY, GUILD_CREATE, chunking, intents, compression, heartbeats, RESUME."""

from __future__ import annotations

import json
import zlib

import aiohttp
import discord
import pytest
import zstandard

from tests.emulator import Emulator, use_compression
from tests.emulator import permissions as p
from tests.emulator_tests.conftest import World
from tests.emulator_tests.sample_bot import TestBot


async def test_connect_sees_guild_members_channels_and_roles(
    emu: Emulator, world: World, bot: TestBot
) -> None:
    assert bot.user is not None
    assert bot.user.id == emu.bot_user_id
    assert bot.application_id == emu.application_id
    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    assert guild.name == "ILN"
    assert guild.owner_id == world.guild.owner_id
    # members arrive by chunking, as with Discord (GUILD_CREATE alone only carries the bot)
    assert guild.chunked
    assert {m.id for m in guild.members} == set(world.guild.members)
    assert guild.get_member(world.coordinator.id).get_role(world.coordinator_role.id) is not None
    assert guild.me.guild_permissions.manage_channels
    assert [c.name for c in guild.text_channels] == ["general"]
    assert {r.name for r in guild.roles} == {"@everyone", "Coordinators", "Tandem"}
    ready = emu.events_named("READY")[0]
    assert ready["resume_gateway_url"] == emu.resume_gateway_url
    assert ready["guilds"] == [{"id": str(world.guild.id), "unavailable": True}]
    assert len(emu.events_named("GUILD_CREATE")[0]["members"]) == 1
    assert emu.events_named("GUILD_MEMBERS_CHUNK")
    assert emu.unknown_routes == []


async def test_setup_changes_after_connect_reach_the_client(
    emu: Emulator, world: World, bot: TestBot
) -> None:
    dave = emu.add_member(world.guild, "dave")
    await emu.wait_for(lambda: bot.get_guild(world.guild.id).get_member(dave.id))
    assert await emu.wait_for(lambda: bot.seen.get("member_join")) == [dave.id]
    category = emu.create_channel(world.guild, "Spaces", type=4)
    text = emu.create_channel(
        world.guild, "room", parent_id=category, overwrites={world.guild.id: (0, p.VIEW_CHANNEL)}
    )
    channel = await emu.wait_for(lambda: bot.get_channel(text.id))
    assert channel.category_id == category.id
    assert channel.overwrites_for(channel.guild.default_role).view_channel is False
    thread = emu.create_thread(
        world.guild.members and emu.channels(world.guild)[0], "talk", members=[world.alice]
    )
    assert await emu.wait_for(lambda: bot.get_channel(thread.id))
    emu.remove_member(world.guild, dave)
    await emu.wait_for(lambda: bot.get_guild(world.guild.id).get_member(dave.id) is None)
    second = emu.create_guild("Second")
    assert await emu.wait_for(lambda: bot.get_guild(second.id))


async def test_message_content_intent_rules(emu: Emulator, world: World, bot: TestBot) -> None:
    general = emu.channels(world.guild)[0]
    await emu.send_message(world.alice, general, "plain words")
    await emu.send_message(world.alice, general, f"hey <@{emu.bot_user_id}>")
    await emu.send_dm(world.bob, "a direct message")
    await emu.wait_for(lambda: len(bot.seen.get("message", [])) == 3)
    contents = [content for _, _, content in bot.seen["message"]]
    # the test bot has no MESSAGE_CONTENT intent: only mentions and DMs carry content
    assert contents == ["", f"hey <@{emu.bot_user_id}>", "a direct message"]


async def test_events_follow_the_intents(emu: Emulator, world: World) -> None:
    intents = discord.Intents.default()
    intents.guild_messages = False  # and no members intent
    async with emu.running(TestBot(world.guild.id, intents=intents, chunk_guilds_at_startup=False)) as client:
        emu.add_member(world.guild, "dave")
        await emu.send_message(world.alice, emu.channels(world.guild)[0], "unseen")
        await emu.send_dm(world.alice, "seen")
        await emu.wait_for(lambda: client.seen.get("message"))
        assert [content for _, _, content in client.seen["message"]] == ["seen"]
        assert emu.events_named("GUILD_MEMBER_ADD") == []
        assert "member_join" not in client.seen
        # without the members intent the client only knows the members it met
        assert client.get_guild(world.guild.id).get_member(world.bob.id) is None


async def test_bot_without_message_content_sees_empty_content_over_rest_too(
    emu: Emulator, world: World
) -> None:
    restricted = Emulator(privileged_intents=p_intents_members_only())
    await restricted.start()
    try:
        guild = restricted.create_guild("G")
        alice = restricted.add_member(guild, "alice")
        general = restricted.channels(guild)[0]
        await restricted.send_message(alice, general, "secret words")
        async with restricted.running(TestBot(guild.id)) as client:
            history = [m async for m in client.get_channel(general.id).history(limit=5)]
            assert [m.content for m in history] == [""]
    finally:
        await restricted.stop()


def p_intents_members_only() -> int:
    return discord.Intents(members=True).value


async def test_privileged_intents_must_be_enabled(emu: Emulator, world: World) -> None:
    emu.privileged_intents = 0
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with emu.running(TestBot(world.guild.id), ready_timeout=5):
            pass


async def test_default_client_compression_is_zstd(emu: Emulator, world: World, bot: TestBot) -> None:
    assert emu.gateway.compressions == ["zstd-stream"]


async def test_zlib_stream_compression_works(emu: Emulator, world: World) -> None:
    with use_compression("zlib-stream"):
        async with emu.running(TestBot(world.guild.id)) as client:
            assert client.get_guild(world.guild.id) is not None
            await emu.send_message(world.alice, emu.channels(world.guild)[0], "zlib")
            await emu.wait_for(lambda: client.seen.get("message"))
    assert emu.gateway.compressions == ["zlib-stream"]


async def _raw_connect(session: aiohttp.ClientSession, emu: Emulator, compress: str | None):
    url = emu.gateway_url + "?v=10&encoding=json" + (f"&compress={compress}" if compress else "")
    return await session.ws_connect(url)


@pytest.mark.parametrize("compress", [None, "zlib-stream", "zstd-stream"])
async def test_raw_gateway_handshake(emu: Emulator, world: World, compress: str | None) -> None:
    if compress == "zlib-stream":
        inflater = zlib.decompressobj()

        def decode(data: bytes) -> dict:
            return json.loads(inflater.decompress(data))
    elif compress == "zstd-stream":
        zstd = zstandard.ZstdDecompressor().decompressobj()

        def decode(data: bytes) -> dict:
            return json.loads(zstd.decompress(data))
    else:

        def decode(data: str) -> dict:  # type: ignore[misc]
            return json.loads(data)

    async with aiohttp.ClientSession() as session, await _raw_connect(session, emu, compress) as ws:
        hello = decode((await ws.receive(timeout=2)).data)
        assert hello["op"] == 10
        assert hello["d"]["heartbeat_interval"] == emu.heartbeat_interval_ms
        await ws.send_json({"op": 1, "d": None})
        assert decode((await ws.receive(timeout=2)).data) == {"op": 11}
        intents = discord.Intents.default().value
        await ws.send_json({"op": 2, "d": {"token": emu.bot_token, "intents": intents, "properties": {}}})
        ready = decode((await ws.receive(timeout=2)).data)
        assert (ready["t"], ready["s"]) == ("READY", 1)
        guild_create = decode((await ws.receive(timeout=2)).data)
        assert guild_create["t"] == "GUILD_CREATE"
        assert guild_create["d"]["id"] == str(world.guild.id)
        assert guild_create["d"]["member_count"] == len(world.guild.members)


async def test_bad_token_closes_with_4004(emu: Emulator, world: World) -> None:
    async with aiohttp.ClientSession() as session, await _raw_connect(session, emu, None) as ws:
        await ws.receive(timeout=2)
        await ws.send_json({"op": 2, "d": {"token": "nope", "intents": 0, "properties": {}}})
        msg = await ws.receive(timeout=2)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == 4004


async def test_dropped_gateway_resumes_and_replays(emu: Emulator, world: World, bot: TestBot) -> None:
    assert emu.gateway.identify_count == 1
    await emu.drop_gateway()
    # sent while the client is away: kept with its sequence number and replayed on RESUME
    late = emu.add_member(world.guild, "late-joiner")
    await emu.wait_for(lambda: bot.resumed.is_set(), timeout=10)
    assert emu.gateway.resume_count == 1
    assert emu.gateway.identify_count == 1
    await emu.wait_for(lambda: bot.get_guild(world.guild.id).get_member(late.id))
    # and the session goes on: an event sent after the resume arrives
    await emu.send_message(world.alice, emu.channels(world.guild)[0], "after resume")
    await emu.wait_for(lambda: bot.seen.get("message"))


async def test_unresumable_drop_makes_the_client_identify_again(
    emu: Emulator, world: World, bot: TestBot
) -> None:
    await emu.drop_gateway(resumable=False)
    await emu.wait_for(lambda: emu.gateway.identify_count == 2 and emu.gateway.connected, timeout=10)
    assert emu.gateway.resume_count == 0
    handle = await emu.slash(world.guild, world.alice, "echo", text="still here")
    assert (await handle.response()).content == "still here"


async def test_reconnect_request_is_followed_by_resume(emu: Emulator, world: World, bot: TestBot) -> None:
    emu.request_reconnect()
    await emu.wait_for(lambda: emu.gateway.resume_count == 1, timeout=10)
