"""A cog loaded only in end-to-end tests, to exercise the bot's shared machinery on its own:
the error path for a command that fails unexpectedly, and the coordinator check."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import TandemBot
from bot.errors import UserFacingError
from bot.interactions import CoordinatorGroup


class ProbeGroup(CoordinatorGroup):
    @app_commands.command(name="ping", description="Answer pong, to coordinators only")
    async def ping(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)


class Probe(commands.Cog):
    probe_admin = ProbeGroup(name="probe-admin", description="Test-only coordinator commands")

    @app_commands.command(name="probe-crash", description="Fail with an unexpected error")
    async def crash(self, interaction: discord.Interaction) -> None:
        raise RuntimeError("the probe failed on purpose")

    @app_commands.command(name="probe-refuse", description="Fail with an error meant for the user")
    async def refuse(self, interaction: discord.Interaction) -> None:
        raise UserFacingError("That can't be done: the probe says no.")


async def setup(bot: TandemBot) -> None:
    await bot.add_cog(Probe())
