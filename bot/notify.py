"""Messages the bot sends on its own: to the coordinators' alerts channel, and to members by DM.

The one place that turns "tell someone" into a Discord call; user text is never a ping.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

if TYPE_CHECKING:
    from bot.app import TandemBot

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()


async def alert_coordinators(bot: TandemBot, guild_id: int, content: str) -> bool:
    """Post to the programme's alerts channel; False (and a warning in the log) if there is none."""
    programme = await bot.programmes.get(guild_id)
    channel = bot.get_channel(programme.alerts_channel_id) if programme.alerts_channel_id else None
    if not isinstance(channel, discord.TextChannel):
        log.warning("Guild %s has no alerts channel (set one with /setup); alert not posted", guild_id)
        return False
    try:
        await channel.send(content, allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        log.warning("Could not post an alert in guild %s", guild_id, exc_info=True)
        return False
    return True


async def direct_message(bot: TandemBot, user_id: int, content: str) -> bool:
    """DM a member; False when their DMs are closed or they cannot be reached."""
    try:
        user = bot.get_user(user_id) or await bot.fetch_user(user_id)
        await user.send(content, allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        log.info("Could not DM user %s (DMs closed or no shared server)", user_id)
        return False
    return True
