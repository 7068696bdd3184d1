"""/help: the commands the caller may use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import TandemBot
from bot.help import CommandEntry, render_help
from bot.interactions import caller_is_coordinator, is_coordinator_command


def _leaf_commands(bot: TandemBot, guild: discord.abc.Snowflake | None) -> Iterator[CommandEntry]:
    seen: set[str] = set()
    roots: list[Any] = list(bot.tree.get_commands(type=discord.AppCommandType.chat_input))
    if guild is not None:
        roots += bot.tree.get_commands(guild=guild, type=discord.AppCommandType.chat_input)
    stack = roots
    while stack:
        node = stack.pop()
        if isinstance(node, app_commands.Group):
            stack.extend(node.commands)
        elif node.qualified_name not in seen:
            seen.add(node.qualified_name)
            yield CommandEntry(node.qualified_name, node.description, is_coordinator_command(node))


class Help(commands.Cog):
    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="List the commands you can use")
    async def help(self, interaction: discord.Interaction) -> None:
        coordinator = await caller_is_coordinator(interaction)
        embed = discord.Embed(
            title="Tandem",
            description=(
                "Tandem matches you with a partner in another country and keeps the conversation going."
            ),
            colour=discord.Colour.teal(),
        )
        for heading, body in render_help(
            _leaf_commands(self.bot, interaction.guild), caller_is_coordinator=coordinator
        ):
            embed.add_field(name=heading, value=body, inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: TandemBot) -> None:
    await bot.add_cog(Help(bot))
