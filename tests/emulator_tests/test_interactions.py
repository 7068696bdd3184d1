"""Commands, components and modals: from the member's action to the bot's answer and back."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from tests.emulator import Attachment, CommandUnavailable, Emulator, InvalidInteraction, MemberForbidden
from tests.emulator_tests.conftest import World
from tests.emulator_tests.sample_bot import PNG_BYTES, TestBot


async def test_command_sync_keeps_the_schema(emu: Emulator, world: World, bot: TestBot) -> None:
    names = {c.name for c in emu.commands(world.guild) if c.guild_id == world.guild.id}
    assert {"echo", "round", "secret", "panel", "signup", "admin", "Profile"} <= names
    round_cmd = next(c for c in emu.commands(world.guild) if c.name == "round")
    sub = {o["name"]: o["type"] for o in round_cmd.payload["options"]}
    assert sub == {"admin": 2, "create": 1, "status": 1}
    fetched = await bot.tree.fetch_commands(guild=discord.Object(world.guild.id))
    assert {c.name for c in fetched} == names
    assert all(c.id for c in fetched)
    # syncing again keeps the ids
    before = {c.name: c.id for c in emu.commands(world.guild)}
    await bot.tree.sync(guild=discord.Object(world.guild.id))
    assert {c.name: c.id for c in emu.commands(world.guild)} == before


async def test_slash_command_with_typed_options(emu: Emulator, world: World, bot: TestBot) -> None:
    general = emu.channels(world.guild)[0]
    handle = await emu.slash(
        world.guild,
        world.alice,
        "echo",
        text="hi <@0>",
        count=2,
        loud=True,
        ratio=0.5,
        who=world.bob,
        role=world.coordinator_role,
        where=general,
    )
    response = await handle.response(timeout=5)
    assert response.type == 4
    assert not response.ephemeral
    assert response.content == "HI <@0> HI <@0>"
    seen = bot.seen["echo"][0]
    assert (seen["count"], seen["loud"], seen["ratio"]) == (2, True, 0.5)
    assert isinstance(seen["who"], discord.Member)
    assert seen["who"].id == world.bob.id
    assert isinstance(seen["role"], discord.Role)
    assert seen["role"].id == world.coordinator_role.id
    assert seen["where"].id == general.id
    message = emu.messages(general)[-1]
    assert message is handle.original
    assert message.type == 20
    assert message.interaction_metadata["user"]["id"] == str(world.alice.id)
    assert message.allowed_mentions == {"parse": []}
    assert message.mentions == []
    assert handle.response_latency is not None
    assert handle.response_latency < 1


async def test_subcommands_groups_choices_and_attachment_option(
    emu: Emulator, world: World, bot: TestBot
) -> None:
    csv = Attachment("applicants.csv", "name,country\nalice,FR\n")
    handle = await emu.slash(
        world.guild, world.coordinator, "round create", name="Spring", starts="2025-03-01", file=csv
    )
    response = await handle.response()
    assert response.ephemeral
    assert response.content == "Round Spring created"
    assert bot.seen["round_create"] == [
        {
            "name": "Spring",
            "starts": "2025-03-01",
            "file": "applicants.csv",
            "content": "name,country\nalice,FR\n",
        }
    ]
    handle = await emu.slash(world.guild, world.coordinator, "round admin reset", confirm=True)
    assert (await handle.response()).content == "reset True"
    handle = await emu.slash(world.guild, world.coordinator, "round status", detail="long")
    assert (await handle.response()).content == "status long"


async def test_driver_rejects_what_discord_would_not_send(emu: Emulator, world: World, bot: TestBot) -> None:
    with pytest.raises(CommandUnavailable, match="synced"):
        await emu.slash(world.guild, world.alice, "nonexistent")
    with pytest.raises(CommandUnavailable, match="subcommand"):
        await emu.slash(world.guild, world.alice, "round")
    with pytest.raises(InvalidInteraction, match="required"):
        await emu.slash(world.guild, world.alice, "round create", name="x")
    with pytest.raises(InvalidInteraction, match="unknown option"):
        await emu.slash(world.guild, world.alice, "echo", text="x", colour="red")
    with pytest.raises(InvalidInteraction, match="choices"):
        await emu.slash(world.guild, world.alice, "round status", detail="medium")
    with pytest.raises(InvalidInteraction, match="above"):
        await emu.slash(world.guild, world.alice, "echo", text="x", count=9)
    with pytest.raises(CommandUnavailable, match="for guild None"):
        await emu.slash(None, world.alice, "echo", text="guild commands are not offered in DMs")
    # default_member_permissions hides /admin from members without Manage Server
    with pytest.raises(CommandUnavailable, match="MANAGE_GUILD"):
        await emu.slash(world.guild, world.alice, "admin")
    handle = await emu.slash(world.guild, world.coordinator, "admin")
    assert (await handle.response()).content == "admin ok"


async def test_ephemeral_response_and_followups(emu: Emulator, world: World, bot: TestBot) -> None:
    general = emu.channels(world.guild)[0]
    handle = await emu.slash(world.guild, world.alice, "secret")
    response = await handle.response()
    assert response.ephemeral
    assert response.content == "only you"
    followups = await handle.wait_followups(2)
    assert [(m.content, m.ephemeral) for m in followups] == [
        ("follow-up, also private", True),
        ("follow-up, public", False),
    ]
    assert [m.content for m in emu.messages(general)] == ["follow-up, public"]
    assert len(emu.messages(general, include_ephemeral=True)) == 3


async def test_deferred_response_then_edit(emu: Emulator, world: World, bot: TestBot) -> None:
    handle = await emu.slash(world.guild, world.alice, "slow")
    response = await handle.response()
    assert response.type == 5
    assert response.deferred
    assert response.ephemeral
    original = await handle.wait_original(lambda m: m.content == "done after work")
    assert original.ephemeral
    assert not original.loading


async def test_three_second_deadline(emu: Emulator, world: World, bot: TestBot) -> None:
    emu.interaction_deadline = 0.2  # Discord's 3 s, shrunk for speed
    handle = await emu.slash(world.guild, world.alice, "late", delay=0.3)
    await emu.wait_for(lambda: handle.expired)  # the bot called back after the deadline: 10062
    with pytest.raises(TimeoutError, match="too late"):
        await handle.response(timeout=0.01)
    assert handle.expired
    assert await emu.wait_for(lambda: bot.seen.get("late_error")) == [10062]
    quick = await emu.slash(world.guild, world.alice, "late", delay=0.0)
    assert (await quick.response()).latency < 0.2


async def test_button_clicks_and_message_update(emu: Emulator, world: World, bot: TestBot) -> None:
    panel = await emu.slash(world.guild, world.coordinator, "panel")
    message = (await panel.response()).message
    assert message is not None
    assert message.component("panel:join")["type"] == 2
    click = await emu.click(world.guild, world.alice, message, "panel:join")
    joined = await click.response()
    assert joined.ephemeral
    assert joined.content == "Joined, alice!"
    assert bot.seen["join"] == [world.alice.id]
    refresh = await emu.click(world.guild, world.bob, panel, "panel:refresh")
    assert (await refresh.response()).type == 7
    assert message.content == "Refreshed"
    assert refresh.original is message
    with pytest.raises(InvalidInteraction, match="no component"):
        await emu.click(world.guild, world.alice, message, "panel:nope")


async def test_persistent_view_survives_without_message_tracking(
    emu: Emulator, world: World, bot: TestBot
) -> None:
    # a message the bot posted before a restart: only the persistent view (custom ids) can answer
    general = emu.channels(world.guild)[0]
    row = {"type": 1, "components": [{"type": 2, "style": 1, "label": "Join", "custom_id": "panel:join"}]}
    old = emu.seed_message(general, content="old panel", components=[row])
    response = await (await emu.click(world.guild, world.carol, old, "panel:join")).response()
    assert response.content == "Joined, carol!"


async def test_string_select(emu: Emulator, world: World, bot: TestBot) -> None:
    panel = await emu.slash(world.guild, world.coordinator, "panel")
    await panel.response()
    handle = await emu.select(world.guild, world.alice, panel, "panel:topic", ["art", "policy"])
    assert (await handle.response()).content == "Topics: art, policy"
    assert bot.seen["topics"] == [["art", "policy"]]
    with pytest.raises(InvalidInteraction, match="not an option"):
        await emu.select(world.guild, world.alice, panel, "panel:topic", ["cooking"])
    with pytest.raises(InvalidInteraction, match=r"takes 1\.\.2"):
        await emu.select(world.guild, world.alice, panel, "panel:topic", ["art", "policy", "science"])


async def test_modal_with_label_wrapped_select_and_text_input(
    emu: Emulator, world: World, bot: TestBot
) -> None:
    handle = await emu.slash(world.guild, world.alice, "signup")
    response = await handle.response()
    assert response.is_modal
    assert response.modal is not None
    assert response.modal["title"] == "Sign up"
    assert [c["type"] for c in response.modal["components"]] == [18, 18, 1]
    with pytest.raises(InvalidInteraction, match="required"):
        await emu.submit_modal(world.guild, world.alice, handle, {"signup:languages": ["en"]})
    with pytest.raises(MemberForbidden):
        await emu.submit_modal(
            world.guild, world.bob, handle, {"signup:goals": "x", "signup:languages": ["en"]}
        )
    submit = await emu.submit_modal(
        world.guild,
        world.alice,
        handle,
        {"signup:languages": ["en", "fr"], "signup:goals": "Learn open science"},
    )
    assert (await submit.response()).content == "Thanks! en, fr"
    assert bot.seen["signup"] == [{"languages": ["en", "fr"], "goals": "Learn open science", "nick": ""}]


async def test_user_select_resolves_members(emu: Emulator, world: World, bot: TestBot) -> None:
    panel = await emu.slash(world.guild, world.coordinator, "panel")
    await panel.response()
    handle = await emu.select(world.guild, world.alice, panel, "panel:partner", [world.bob])
    assert (await handle.response()).content == "Partner: bob"
    assert bot.seen["partner"] == [("Member", world.bob.id)]


async def test_role_and_channel_selects(emu: Emulator, world: World, bot: TestBot) -> None:
    panel = await emu.slash(world.guild, world.coordinator, "panel")
    await panel.response()
    general = emu.channels(world.guild)[0]
    handle = await emu.select(world.guild, world.alice, panel, "panel:role", [world.coordinator_role])
    assert (await handle.response()).type == 6  # deferred update: nothing visible
    handle = await emu.select(world.guild, world.alice, panel, "panel:channel", [general.id])
    await handle.response()
    assert bot.seen["role"] == [[("Role", world.coordinator_role.id)]]
    assert bot.seen["channel"] == [[("AppCommandChannel", general.id)]]
    category = emu.create_channel(world.guild, "Spaces", type=4)
    with pytest.raises(InvalidInteraction, match="channel type"):
        await emu.select(world.guild, world.alice, panel, "panel:channel", [category])


async def test_global_command_in_a_dm(emu: Emulator, world: World, bot: TestBot) -> None:
    assert [c.name for c in emu.commands()] == ["ping"]
    handle = await emu.slash(None, world.alice, "ping")
    response = await handle.response()
    assert response.content == "pong from dm"
    assert response.message.channel_id == emu.dm_channel(world.alice).id
    in_guild = await emu.slash(world.guild, world.alice, "ping")
    assert (await in_guild.response()).ephemeral


async def test_autocomplete_and_context_menu(emu: Emulator, world: World, bot: TestBot) -> None:
    handle = await emu.autocomplete(world.guild, world.alice, "topic", "name", name="s")
    response = await handle.response()
    assert response.type == 8
    assert [c["value"] for c in response.choices] == ["science", "sport"]
    handle = await emu.context_menu(world.guild, world.alice, "Profile", world.bob)
    assert (await handle.response()).content == "profile of bob"


async def test_files_sent_by_the_bot_are_readable(emu: Emulator, world: World, bot: TestBot) -> None:
    handle = await emu.slash(world.guild, world.coordinator, "export")
    response = await handle.response()
    csv, png = response.attachments
    assert (csv.filename, png.filename) == ("participants.csv", "chart.png")
    assert csv.text().splitlines() == ["name,country", "alice,FR", "bob,DE"]
    assert csv.content_type.startswith("text/csv")
    assert png.content_type == "image/png"
    assert png.data == PNG_BYTES
    async with aiohttp.ClientSession() as session, session.get(png.url) as r:
        assert r.status == 200
        assert await r.read() == PNG_BYTES


async def test_dm_to_member_and_to_member_with_closed_dms(emu: Emulator, world: World, bot: TestBot) -> None:
    sent = await emu.slash(world.guild, world.coordinator, "dm", member=world.bob)
    assert (await sent.response()).content == "DM sent"
    assert [m.content for m in emu.dms(world.bob)] == ["Hello from the bot"]
    failed = await emu.slash(world.guild, world.coordinator, "dm", member=world.carol)
    assert (await failed.response()).content == "DM failed: 50007"
    assert emu.dms(world.carol) == []


async def test_interaction_needs_a_connected_bot(emu: Emulator, world: World) -> None:
    from tests.emulator import DriverError

    with pytest.raises(DriverError):
        await emu.slash(world.guild, world.alice, "echo", text="x")
