"""Every coordinator command is refused to a member inside the bot, even when a server admin has
opened it to everyone in Discord's settings. The list comes from the bot itself, so a command
added later is covered without touching this test."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from sqlalchemy import func, select

from bot.interactions import is_coordinator_command
from bot.models import Participant, Round
from tests.e2e.conftest import Programme
from tests.emulator import Attachment


def coordinator_commands(programme: Programme) -> list[app_commands.Command[Any, ..., Any]]:
    guild = discord.Object(programme.guild.id)
    stack: list[Any] = list(
        programme.bot.tree.get_commands(guild=guild, type=discord.AppCommandType.chat_input)
    )
    leaves = []
    while stack:
        node = stack.pop()
        if isinstance(node, app_commands.Group):
            stack.extend(node.commands)
        elif is_coordinator_command(node):
            leaves.append(node)
    return sorted(leaves, key=lambda c: c.qualified_name)


def required_options(
    programme: Programme, command: app_commands.Command[Any, ..., Any], member_id: int
) -> dict[str, Any]:
    """A plausible value for every required option, by its type."""
    kinds = discord.AppCommandOptionType
    channel = programme.emu.channel_named(programme.guild.id, "general")
    assert channel is not None
    values: dict[str, Any] = {}
    for parameter in command.parameters:
        if not parameter.required:
            continue
        if parameter.type is kinds.string:
            values[parameter.display_name] = parameter.choices[0].value if parameter.choices else "now"
        elif parameter.type in (kinds.integer, kinds.number):
            values[parameter.display_name] = parameter.min_value or 1
        elif parameter.type is kinds.boolean:
            values[parameter.display_name] = True
        elif parameter.type in (kinds.user, kinds.mentionable):
            values[parameter.display_name] = member_id
        elif parameter.type is kinds.role:
            values[parameter.display_name] = programme.coordinator_role.id
        elif parameter.type is kinds.channel:
            values[parameter.display_name] = channel.id
        elif parameter.type is kinds.attachment:
            values[parameter.display_name] = Attachment("people.csv", b"discord_id,name\n")
    return values


async def test_every_coordinator_command_is_refused_to_a_member(programme: Programme) -> None:
    commands = coordinator_commands(programme)
    names = {command.qualified_name for command in commands}
    assert {"setup", "participants import", "round create", "round launch"} <= names
    member = programme.add_member("mallory")
    for root in {command.qualified_name.split()[0] for command in commands}:
        programme.emu.open_command_to_everyone(programme.guild.id, root)
    for command in commands:
        options = required_options(programme, command, member.id)
        handle = await programme.emu.slash(programme.guild.id, member.id, command.qualified_name, options)
        response = await handle.response()
        assert response.ephemeral, command.qualified_name
        assert "Only the programme's coordinators" in (response.content or ""), (
            command.qualified_name,
            response.content,
        )
    async with programme.bot.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Round)) == 0
        assert await session.scalar(select(func.count()).select_from(Participant)) == 0
