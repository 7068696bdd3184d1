"""REST rules: permissions enforced on the bot, limits, errors, and the events that follow."""

from __future__ import annotations

import io

import discord
import pytest

from tests.emulator import Emulator
from tests.emulator import permissions as p
from tests.emulator_tests.conftest import Api, World
from tests.emulator_tests.sample_bot import TestBot


async def test_private_channel_space_created_by_the_bot(emu: Emulator, world: World, bot: TestBot) -> None:
    handle = await emu.slash(world.guild, world.coordinator, "space", member=world.alice)
    response = await handle.response()
    assert response.deferred
    assert response.ephemeral
    original = await handle.wait_original(lambda m: m.content.startswith("channel "))
    channel = emu.channel(int(original.content.split()[1]))
    assert channel.name == "space-alice"  # Discord lowercases text channel names, spaces become dashes
    assert emu.viewers(channel) == {world.alice.id, emu.bot_user_id, world.guild.owner_id}
    assert not emu.can_view(world.bob, channel)
    welcome = emu.messages(channel)[0]
    assert welcome.mentions == [world.alice.id]
    assert welcome.allowed_mentions["users"] == [world.alice.id]  # as the bot sent it
    assert emu.events_named("CHANNEL_CREATE")[-1]["id"] == str(channel.id)
    assert await emu.wait_for(lambda: bot.get_channel(channel.id))


async def test_private_thread_space_created_by_the_bot(emu: Emulator, world: World, bot: TestBot) -> None:
    handle = await emu.slash(world.guild, world.coordinator, "space", member=world.alice, private_thread=True)
    original = await handle.wait_original(lambda m: m.content.startswith("thread "))
    thread = emu.channel(int(original.content.split()[1]))
    assert thread.type == 12
    assert not thread.invitable
    assert thread.parent_id == emu.channels(world.guild)[0].id
    assert emu.thread_members(thread) == {emu.bot_user_id, world.alice.id}
    assert emu.can_view(world.alice, thread)
    assert not emu.can_view(world.bob, thread)
    assert emu.messages(thread)[0].content == f"Welcome <@{world.alice.id}>"
    cached = await emu.wait_for(lambda: bot.get_channel(thread.id))
    assert isinstance(cached, discord.Thread)
    assert cached.is_private()
    await emu.wait_for(lambda: world.alice.id in {m.id for m in cached.members})
    assert emu.events_named("THREAD_MEMBERS_UPDATE")


async def test_bot_without_view_or_send_gets_50001_and_50013(emu: Emulator, world: World, api: Api) -> None:
    hidden = emu.create_channel(world.guild, "hidden", overwrites={world.guild.id: (0, p.VIEW_CHANNEL)})
    status, body, _ = await api("GET", f"/channels/{hidden.id}")
    assert (status, body) == (403, {"message": "Missing Access", "code": 50001})
    status, body, _ = await api("POST", f"/channels/{hidden.id}/messages", {"content": "hi"})
    assert (status, body["code"]) == (403, 50001)
    readonly = emu.create_channel(
        world.guild, "readonly", overwrites={emu.bot_role(world.guild).id: (0, p.SEND_MESSAGES)}
    )
    status, body, _ = await api("POST", f"/channels/{readonly.id}/messages", {"content": "hi"})
    assert (status, body) == (403, {"message": "Missing Permissions", "code": 50013})
    status, body, _ = await api("GET", "/channels/1")
    assert (status, body["code"]) == (404, 10003)


async def test_forbidden_surfaces_in_discord_py(emu: Emulator, world: World, bot: TestBot) -> None:
    readonly = emu.create_channel(
        world.guild, "readonly", overwrites={emu.bot_role(world.guild).id: (0, p.SEND_MESSAGES)}
    )
    channel = await emu.wait_for(lambda: bot.get_channel(readonly.id))
    with pytest.raises(discord.Forbidden) as excinfo:
        await channel.send("hello")
    assert excinfo.value.code == 50013


async def test_overwrites_the_bot_may_not_grant(emu: Emulator, world: World, api: Api) -> None:
    path = f"/guilds/{world.guild.id}/channels"
    everyone = str(world.guild.id)
    # MANAGE_WEBHOOKS: the bot does not have it, so it cannot grant or deny it
    bad = {
        "name": "x",
        "permission_overwrites": [{"id": everyone, "type": 0, "allow": "0", "deny": str(p.MANAGE_WEBHOOKS)}],
    }
    assert (await api("POST", path, bad))[1]["code"] == 50013
    # MANAGE_ROLES in overwrites needs ADMINISTRATOR
    bad["permission_overwrites"][0]["deny"] = str(p.MANAGE_ROLES)
    assert (await api("POST", path, bad))[1]["code"] == 50013
    good = {
        "name": "Pair Space",
        "permission_overwrites": [
            {"id": everyone, "type": 0, "allow": "0", "deny": str(p.VIEW_CHANNEL)},
            {"id": str(world.alice.id), "type": 1, "allow": str(p.VIEW_CHANNEL), "deny": "0"},
        ],
    }
    status, created, _ = await api("POST", path, good)
    assert status == 201
    assert created["name"] == "pair-space"
    channel_id = int(created["id"])
    # the bot locked itself out: it can no longer manage the channel
    status, body, _ = await api(
        "PUT",
        f"/channels/{channel_id}/permissions/{world.bob.id}",
        {"type": 1, "allow": str(p.VIEW_CHANNEL), "deny": "0"},
    )
    assert (status, body["code"]) == (403, 50001)
    emu.set_overwrite(channel_id, emu.bot_user_id, allow=p.VIEW_CHANNEL)
    status, _, _ = await api(
        "PUT",
        f"/channels/{channel_id}/permissions/{world.bob.id}",
        {"type": 1, "allow": str(p.VIEW_CHANNEL), "deny": "0"},
    )
    assert status == 204
    assert emu.can_view(world.bob, channel_id)
    status, _, _ = await api("DELETE", f"/channels/{channel_id}/permissions/{world.bob.id}")
    assert status == 204
    assert not emu.can_view(world.bob, channel_id)


async def test_fifty_channels_per_category(emu: Emulator, world: World, api: Api) -> None:
    category = emu.create_channel(world.guild, "Spaces", type=4)
    for index in range(49):
        emu.create_channel(world.guild, f"space-{index}", parent_id=category)
    status, _, _ = await api(
        "POST", f"/guilds/{world.guild.id}/channels", {"name": "fiftieth", "parent_id": str(category.id)}
    )
    assert status == 201
    status, body, _ = await api(
        "POST", f"/guilds/{world.guild.id}/channels", {"name": "one-too-many", "parent_id": str(category.id)}
    )
    assert status == 400
    assert body["code"] == 50035
    assert body["errors"]["parent_id"]["_errors"][0]["code"] == "CHANNEL_PARENT_MAX_CHANNELS"


async def test_five_hundred_channels_per_guild(emu: Emulator, world: World, bot: TestBot) -> None:
    existing = len(emu.channels(world.guild))
    category = emu.create_channel(world.guild, "Spaces", type=4)  # categories count too
    for index in range(500 - existing - 2):
        emu.create_channel(world.guild, f"c{index}")
    guild = bot.get_guild(world.guild.id)
    spaces = await emu.wait_for(lambda: guild.get_channel(category.id))
    await guild.create_text_channel("the-500th")
    with pytest.raises(discord.HTTPException) as excinfo:
        await guild.create_text_channel("the-501st", category=spaces)
    assert excinfo.value.code == 30013
    assert excinfo.value.status == 400
    assert len(emu.channels(world.guild)) == 500


async def test_thousand_active_threads_per_guild(emu: Emulator, world: World, api: Api) -> None:
    general = emu.channels(world.guild)[0]
    for index in range(1000):
        emu.create_thread(general, f"t{index}")
    status, body, _ = await api("POST", f"/channels/{general.id}/threads", {"name": "one more", "type": 12})
    assert (status, body["code"]) == (400, 160006)
    emu.set_thread_archived(emu.threads(world.guild)[0])
    status, _, _ = await api("POST", f"/channels/{general.id}/threads", {"name": "fits now", "type": 12})
    assert status == 201


async def test_message_and_embed_limits(emu: Emulator, world: World, api: Api) -> None:
    path = f"/channels/{emu.channels(world.guild)[0].id}/messages"
    status, body, _ = await api("POST", path, {"content": "x" * 2001})
    assert status == 400
    assert body["code"] == 50035
    assert "content" in body["errors"]
    assert (await api("POST", path, {"content": "x" * 2000}))[0] == 200
    status, body, _ = await api("POST", path, {"embeds": [{"title": "t" * 257}]})
    assert body["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    status, body, _ = await api("POST", path, {"embeds": [{"description": "d"}] * 11})
    assert body["code"] == 50035
    status, body, _ = await api("POST", path, {"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]})
    assert "fields" in body["errors"]["embeds"]["0"]
    status, body, _ = await api(
        "POST", path, {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}
    )
    assert status == 400
    assert "Embed size exceeds" in str(body)
    status, body, _ = await api("POST", path, {"content": ""})
    assert (status, body["code"]) == (400, 50006)


async def test_dm_channel_and_closed_dms(emu: Emulator, world: World, api: Api) -> None:
    status, channel, _ = await api("POST", "/users/@me/channels", {"recipient_id": str(world.carol.id)})
    assert status == 200
    assert channel["type"] == 1
    status, body, _ = await api("POST", f"/channels/{channel['id']}/messages", {"content": "hi"})
    assert (status, body) == (403, {"message": "Cannot send messages to this user", "code": 50007})
    emu.set_dms_open(world.carol, True)
    assert (await api("POST", f"/channels/{channel['id']}/messages", {"content": "hi"}))[0] == 200
    assert [m.content for m in emu.dms(world.carol)] == ["hi"]


async def test_unknown_routes_are_404_and_recorded(emu: Emulator, api: Api) -> None:
    status, body, _ = await api("GET", "/guilds/1/emojis-of-the-future")
    assert (status, body) == (404, {"message": "404: Not Found", "code": 0})
    status, _, _ = await api("PATCH", "/gateway")
    assert status == 405
    assert emu.unknown_routes == [("GET", "/guilds/1/emojis-of-the-future"), ("PATCH", "/gateway")]


async def test_token_is_required(emu: Emulator, api: Api) -> None:
    status, body, _ = await api("GET", "/users/@me", auth=False)
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})


async def test_history_pagination(emu: Emulator, world: World, bot: TestBot) -> None:
    general = emu.channels(world.guild)[0]
    sent = [await emu.send_message(world.alice, general, f"m{i}") for i in range(30)]
    channel = bot.get_channel(general.id)
    newest = [m.id async for m in channel.history(limit=25)]
    assert newest == [m.id for m in reversed(sent)][:25]
    oldest = [m.id async for m in channel.history(limit=None, oldest_first=True)]
    assert oldest == [m.id for m in sent]
    after = [m.id async for m in channel.history(limit=5, after=discord.Object(sent[9].id))]
    assert after == [m.id for m in sent[10:15]]
    before = [m.id async for m in channel.history(limit=3, before=discord.Object(sent[9].id))]
    assert before == [sent[8].id, sent[7].id, sent[6].id]


async def test_send_edit_delete_with_files_and_events(emu: Emulator, world: World, bot: TestBot) -> None:
    general = emu.channels(world.guild)[0]
    channel = bot.get_channel(general.id)
    message = await channel.send(
        "report", file=discord.File(io.BytesIO(b"a,b\n1,2\n"), filename="report.csv")
    )
    stored = emu.messages(general)[-1]
    assert stored.attachments[0].text() == "a,b\n1,2\n"
    assert stored.attachments[0].filename == "report.csv"
    assert message.attachments[0].url == stored.attachments[0].url
    assert await message.attachments[0].read() == b"a,b\n1,2\n"
    await message.edit(content="report v2", embed=discord.Embed(title="Summary"))
    assert (stored.content, stored.embed["title"], stored.edited_timestamp is not None) == (
        "report v2",
        "Summary",
        True,
    )
    assert len(stored.attachments) == 1  # edits keep attachments unless told otherwise
    await message.delete()
    assert emu.messages(general) == []
    assert [e for e in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE") if emu.events_named(e)] == [
        "MESSAGE_CREATE",
        "MESSAGE_UPDATE",
        "MESSAGE_DELETE",
    ]
    theirs = await emu.send_message(world.alice, general, "mine")
    with pytest.raises(discord.Forbidden) as excinfo:
        await channel.get_partial_message(theirs.id).edit(content="hijacked")
    assert excinfo.value.code == 50005


async def test_roles_and_hierarchy(emu: Emulator, world: World, bot: TestBot) -> None:
    guild = bot.get_guild(world.guild.id)
    member = guild.get_member(world.alice.id)
    await member.add_roles(guild.get_role(world.coordinator_role.id))
    assert world.coordinator_role.id in emu.member(world.guild, world.alice).roles
    await emu.wait_for(lambda: guild.get_member(world.alice.id).get_role(world.coordinator_role.id))
    above = emu.create_role(world.guild, "Staff", position=10)
    await emu.wait_for(lambda: guild.get_role(above.id))
    with pytest.raises(discord.Forbidden):
        await member.add_roles(guild.get_role(above.id))
    created = await guild.create_role(name="Round 1", mentionable=True)
    assert emu.guild(world.guild).roles[created.id].name == "Round 1"
    with pytest.raises(discord.Forbidden):
        await guild.create_role(name="Admins", permissions=discord.Permissions(administrator=True))


async def test_threads_archive_and_member_management(emu: Emulator, world: World, bot: TestBot) -> None:
    general = bot.get_channel(emu.channels(world.guild)[0].id)
    thread = await general.create_thread(name="pair", type=discord.ChannelType.private_thread)
    await thread.add_user(discord.Object(world.alice.id))
    await thread.add_user(discord.Object(world.bob.id))
    await thread.remove_user(discord.Object(world.bob.id))
    assert emu.thread_members(thread.id) == {emu.bot_user_id, world.alice.id}
    await thread.edit(archived=True)
    assert emu.channel(thread.id).archived
    await emu.wait_for(lambda: bot.get_guild(world.guild.id).get_thread(thread.id) is None)
    await thread.send("wake up")  # sending unarchives, as on Discord
    assert not emu.channel(thread.id).archived
    await thread.edit(archived=True, locked=True)
    from tests.emulator import MemberForbidden

    with pytest.raises(MemberForbidden, match="locked"):
        await emu.send_message(world.alice, thread.id, "let me in")
    active = await bot.get_guild(world.guild.id).active_threads()
    assert thread.id not in {t.id for t in active}


async def test_member_messages_respect_member_permissions(emu: Emulator, world: World, bot: TestBot) -> None:
    from tests.emulator import MemberForbidden

    private = emu.create_channel(world.guild, "private", overwrites={world.guild.id: (0, p.VIEW_CHANNEL)})
    with pytest.raises(MemberForbidden, match="cannot see"):
        await emu.send_message(world.alice, private, "hello?")
    emu.set_overwrite(private, world.alice, allow=p.VIEW_CHANNEL)
    await emu.send_message(world.alice, private, "hello!")
    # the bot cannot see the channel: it gets no event for it
    assert "message" not in bot.seen


async def test_assorted_discord_py_calls_hit_known_routes(emu: Emulator, world: World, bot: TestBot) -> None:
    guild = bot.get_guild(world.guild.id)
    general = guild.get_channel(emu.channels(world.guild)[0].id)
    with pytest.raises(discord.Forbidden):  # the default bot role has no MANAGE_NICKNAMES
        await guild.get_member(world.alice.id).edit(nick="Ali")
    emu.set_bot_permissions(world.guild, p.DEFAULT_BOT | p.MANAGE_NICKNAMES | p.KICK_MEMBERS)
    assert (await bot.fetch_channel(general.id)).id == general.id
    assert len(await guild.fetch_channels()) == 1
    assert (await guild.fetch_member(world.alice.id)).name == "alice"
    assert {m.id async for m in guild.fetch_members(limit=None)} == set(world.guild.members)
    assert (await bot.fetch_user(world.bob.id)).name == "bob"
    assert {r.name for r in await guild.fetch_roles()} == {"@everyone", "Coordinators", "Tandem"}
    await (await guild.fetch_member(world.alice.id)).edit(nick="Ali")
    assert emu.member(world.guild, world.alice).nick == "Ali"
    category = await guild.create_category("Rounds")
    await general.edit(category=category, sync_permissions=True, topic="Say hi")
    assert (emu.channel(general.id).parent_id, emu.channel(general.id).topic) == (category.id, "Say hi")
    role = await guild.create_role(name="Round 1")
    await role.edit(name="Round one", mentionable=True)
    async with general.typing():
        message = await general.send("pin me")
    await message.pin()
    await message.add_reaction("👍")
    stored = emu.messages(general.id)[-1]
    assert stored.pinned
    assert stored.reactions == {"👍": {emu.bot_user_id}}
    assert [m.id async for m in general.pins()] == [message.id]
    thread = await message.create_thread(name="discussion")
    assert emu.channel(thread.id).type == 11
    await thread.edit(archived=True)
    archived = [t.id async for t in general.archived_threads()]
    assert archived == [thread.id]
    second = await general.send("two")
    await general.delete_messages([message, second])
    assert emu.messages(general.id) == []
    await role.delete()
    await guild.kick(discord.Object(world.bob.id))
    assert world.bob.id not in emu.guild(world.guild).members
    await category.delete()
    assert emu.channel(general.id).parent_id is None
    assert emu.unknown_routes == []
    assert emu.server_errors == []
