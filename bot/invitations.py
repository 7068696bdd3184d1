"""Asking members with a profile to join a new round: a DM with a Join button that survives restarts.

Profiles outlive rounds, but a place in a round is never assumed: when a round opens, each member
who has a profile and no place in it is asked, and one press enrols them.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.interactions import report_error
from bot.notify import NO_PINGS, direct_message
from bot.signup import place_text

if TYPE_CHECKING:
    from bot.app import TandemBot

log = logging.getLogger(__name__)


class JoinRoundButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"tandem:join:(?P<guild>\d+):(?P<round>\d+)"
):
    def __init__(self, guild_id: int, round_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Join the round",
                style=discord.ButtonStyle.primary,
                custom_id=f"tandem:join:{guild_id}:{round_id}",
            )
        )
        self.guild_id = guild_id
        self.round_id = round_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> JoinRoundButton:
        return cls(int(match["guild"]), int(match["round"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: TandemBot = interaction.client  # type: ignore[assignment]
        try:
            place, promoted = await bot.participants.join_open_round(
                self.guild_id, interaction.user.id, self.round_id
            )
        except Exception as error:  # the same error path as every command
            await report_error(interaction, error, where=f"button tandem:join:{self.round_id}")
            return
        await interaction.response.edit_message(content=place_text(place), view=None)
        await tell_promoted(bot, promoted, place.round_name)


async def send_round_invitations(bot: TandemBot, guild_id: int, round_id: int, round_name: str) -> int:
    """DM every member with a profile but no place in the round; returns how many were reached."""
    guild = bot.get_guild(guild_id)
    server = guild.name if guild else "the programme"
    reached = 0
    for member_id in await bot.participants.members_to_invite(guild_id, round_id):
        view = discord.ui.View(timeout=None)
        view.add_item(JoinRoundButton(guild_id, round_id))
        try:
            user = bot.get_user(member_id) or await bot.fetch_user(member_id)
            await user.send(
                f"A new round of {server}'s mentoring programme is open for signups: **{round_name}**. "
                "Your profile is ready; press the button to join. (Run /signup in the server first if "
                "anything in your profile has changed.)",
                view=view,
                allowed_mentions=NO_PINGS,
            )
            reached += 1
        except discord.HTTPException:
            log.info("Could not invite member %s to round %s (DMs closed?)", member_id, round_id)
    return reached


async def tell_promoted(bot: TandemBot, member_ids: list[int], round_name: str) -> None:
    """Tell waiting members that a place in the round is now theirs."""
    for member_id in member_ids:
        await direct_message(
            bot,
            member_id,
            f"Good news: a place freed up in **{round_name}**, and it is yours. You're enrolled.",
        )
