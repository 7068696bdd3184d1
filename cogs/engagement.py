"""Engagement: the activity listener, the nudge sweep's schedule, `/nudge settings`, and the buttons
under a coordinator alert (nudge again, offer a rematch, end the match). Thin: the rules live in
bot/nudges.py and bot/engagement.py.

The listener reads who wrote where and when, never what: Tandem has no message-content intent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import UTC, timedelta
from typing import Any

import discord
from apscheduler.triggers.interval import IntervalTrigger
from discord import app_commands
from discord.ext import commands

from bot import jobs
from bot.app import TandemBot
from bot.charts import warm_up
from bot.durations import format_duration, parse_duration
from bot.engagement import REMATCH, NudgeSettings
from bot.errors import UserFacingError
from bot.interactions import CoordinatorGroup, reply_privately, report_error, require_coordinator
from bot.intro import SpaceMessage
from bot.notify import NO_PINGS, direct_message
from bot.rounds import RematchChoice, SpaceError
from cogs.rounds import RematchView

log = logging.getLogger(__name__)

COUNTED = (discord.MessageType.default, discord.MessageType.reply)
ACTIONS = {"nudge": "Nudge again", "rematch": "Offer a rematch", "end": "End the match"}


def sweep_job_id(guild_id: int) -> str:
    return f"tandem:nudge-sweep:{guild_id}"


# -- Discord, as the engagement service sees it ------------------------------------------------


class DiscordOutlet:
    """`bot.engagement.EngagementOutlet` on the real client."""

    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot

    async def direct_message(self, member_id: int, text: str) -> bool:
        return await direct_message(self.bot, member_id, text)

    async def post_in_space(self, space_id: int, message: SpaceMessage) -> bool:
        try:
            await self.bot.rounds.adapter.post(space_id, message)
        except SpaceError as error:
            log.warning("Could not post a nudge in space %s: %s", space_id, error.message)
            await self.bot.rounds.space_unreachable(space_id, error)
            return False
        return True

    async def alert(self, guild_id: int, text: str, match_id: int | None = None) -> int | None:
        programme = await self.bot.programmes.get(guild_id)
        channel = self.bot.get_channel(programme.alerts_channel_id) if programme.alerts_channel_id else None
        if not isinstance(channel, discord.TextChannel):
            log.warning("Guild %s has no alerts channel (set one with /setup); alert not posted", guild_id)
            return None
        extra: dict[str, Any] = {"view": alert_view(match_id)} if match_id is not None else {}
        try:
            message = await channel.send(text[:2000], allowed_mentions=NO_PINGS, **extra)
        except discord.HTTPException:
            log.warning("Could not post an alert in guild %s", guild_id, exc_info=True)
            return None
        return message.id


def alert_view(match_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(AlertButton(match_id, action))
    return view


class AlertButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"tandem:alert:(?P<match>\d+):(?P<action>nudge|rematch|end)",
):
    """One of the three buttons under an alert; works after a restart, checks the coordinator."""

    def __init__(self, match_id: int, action: str) -> None:
        style = discord.ButtonStyle.danger if action == "end" else discord.ButtonStyle.secondary
        if action == "nudge":
            style = discord.ButtonStyle.primary
        super().__init__(
            discord.ui.Button(
                label=ACTIONS[action], style=style, custom_id=f"tandem:alert:{match_id}:{action}"
            )
        )
        self.match_id = match_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AlertButton:
        return cls(int(match["match"]), match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: TandemBot = interaction.client  # type: ignore[assignment]
        try:
            await require_coordinator(interaction)
            guild_id = interaction.guild_id or 0
            if self.action == "rematch":
                await self._offer_rematch(bot, interaction, guild_id)
                return
            await interaction.response.defer()
            if self.action == "nudge":
                summary = await bot.engagement.nudge_again(guild_id, self.match_id, interaction.user.id)
            else:
                summary = await bot.engagement.end_match(guild_id, self.match_id, interaction.user.id)
            await close_alert(interaction, f"{summary} (by <@{interaction.user.id}>)")
        except Exception as error:  # the same error path as every command
            await report_error(interaction, error, where=f"button tandem:alert:{self.match_id}:{self.action}")

    async def _offer_rematch(self, bot: TandemBot, interaction: discord.Interaction, guild_id: int) -> None:
        member_id = await bot.engagement.rematch_member(guild_id, self.match_id)
        choice = await bot.rounds.rematch_options(guild_id, member_id)
        lines = [f"Options for **{choice.member.name}** (match {self.match_id}), best first:"]
        for option in choice.options:
            reasons = f" ({'; '.join(option.reasons)})" if option.reasons else ""
            lines.append(f"• {option.label}{reasons}"[:300])
        lines.append("Pick one: the spaces are updated and everyone involved is told.")
        rounds_cog = bot.get_cog("Rounds")
        view = AlertRematchView(rounds_cog, interaction.user.id, choice, self.match_id, interaction.message)
        await interaction.response.send_message(
            "\n".join(lines)[:2000], view=view, ephemeral=True, allowed_mentions=NO_PINGS
        )


async def close_alert(interaction: discord.Interaction, outcome: str) -> None:
    """Note what was done under the alert, and take its buttons away."""
    message = interaction.message
    content = (message.content if message else "") + f"\n→ {outcome}"
    try:
        await interaction.edit_original_response(content=content[:2000], view=None, allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        log.warning("Could not update the alert message", exc_info=True)


class AlertRematchView(RematchView):
    """The rematch options under an alert: the same as /round rematch, and the alert is closed."""

    def __init__(
        self,
        cog: Any,
        owner_id: int,
        choice: RematchChoice,
        match_id: int,
        alert_message: discord.Message | None,
    ) -> None:
        super().__init__(cog, owner_id, choice)
        self.match_id = match_id
        self.alert_message = alert_message

    async def pick(self, interaction: discord.Interaction) -> None:
        await super().pick(interaction)
        bot: TandemBot = interaction.client  # type: ignore[assignment]
        # The rematch is saved: if the database fails now, the alert is marked handled later.
        await jobs.run_now(
            bot.scheduler,
            bot.engagement.resolve_alert,
            job_id=f"tandem:alert:{self.match_id}:resolve",
            what=f"marking the alert of match {self.match_id} handled",
            args=[self.match_id, REMATCH, interaction.user.id],
        )
        if self.alert_message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.alert_message.edit(
                    content=(
                        f"{self.alert_message.content}\n→ {self.choice.member.name} was rematched "
                        f"(by <@{interaction.user.id}>)"
                    )[:2000],
                    view=None,
                    allowed_mentions=NO_PINGS,
                )


# -- the cog ------------------------------------------------------------------------------------


class NudgeGroup(CoordinatorGroup):
    pass


def _duration(text: str | None, name: str, *, zero_ok: bool = False) -> timedelta | None:
    if text is None:
        return None
    if zero_ok and text.strip().lower() in ("0", "0s", "none", "off"):
        return timedelta(0)
    try:
        return parse_duration(text)
    except UserFacingError as error:
        raise UserFacingError(f"`{name}`: {error.message}") from None


class Engagement(commands.Cog):
    nudge = NudgeGroup(name="nudge", description="When quiet partners are nudged and coordinators alerted")

    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot
        self._scheduled = False
        self._warm: asyncio.Task[None] | None = None

    def dynamic_items(self) -> list[type[discord.ui.DynamicItem[Any]]]:
        return [AlertButton]

    async def cog_load(self) -> None:
        self.bot.engagement.outlet = DiscordOutlet(self.bot)
        await self.schedule_sweeps()
        self._warm = asyncio.create_task(asyncio.to_thread(warm_up))  # matplotlib's font cache

    async def cog_unload(self) -> None:
        if self._warm is not None and not self._warm.done():
            self._warm.cancel()

    # -- the sweep's schedule -----------------------------------------------------------------

    async def schedule_sweeps(self, guild_ids: list[int] | None = None) -> None:
        """Derive a sweep job per guild from the database (at start-up, and on joining guilds)."""
        schedule = await self.bot.engagement.sweep_schedule(guild_ids or [], self.bot.settings.shard)
        for guild_id, every in schedule.items():
            self.schedule_sweep(guild_id, every)

    def schedule_sweep(self, guild_id: int, every: timedelta) -> None:
        seconds = int(every.total_seconds())
        jobs.add_job(
            self.bot.scheduler,
            self.run_sweep,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            job_id=sweep_job_id(guild_id),
            what=f"the nudge sweep in guild {guild_id}",
            args=[guild_id],
            coalesce=True,  # a sweep missed while the bot was busy runs once, not many times
            max_instances=1,
            misfire_grace_time=seconds,
        )

    async def run_sweep(self, guild_id: int) -> None:
        # Nudges and alerts are claimed by unique rows before they are sent, so a retry after a
        # database failure (bot/jobs.py) repeats none of them.
        await self.bot.engagement.sweep(guild_id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            await self._schedule_sweeps_or_retry([guild.id for guild in self.bot.guilds])

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._schedule_sweeps_or_retry([guild.id])

    async def _schedule_sweeps_or_retry(self, guild_ids: list[int]) -> None:
        # The sweep's interval is in the database: if it is away now, the sweeps are scheduled later.
        await jobs.run_now(
            self.bot.scheduler,
            self.schedule_sweeps,
            job_id=f"tandem:sweeps:{','.join(map(str, sorted(guild_ids)))}:schedule",
            what="scheduling the nudge sweeps",
            args=[guild_ids],
        )

    # -- activity -----------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Count a partner's message in their space: who and when, never the content."""
        if message.guild is None or message.author.bot or message.webhook_id is not None:
            return
        if message.type not in COUNTED:
            return
        # A message missed while the database is away would make its author look quiet: counted later.
        await jobs.run_now(
            self.bot.scheduler,
            self.bot.engagement.record_message,
            job_id=f"tandem:activity:{message.channel.id}:{message.author.id}",
            what=f"counting a message in channel {message.channel.id}",
            args=[message.channel.id, message.author.id],
        )

    # -- /nudge settings ----------------------------------------------------------------------

    @nudge.command(name="settings", description="When quiet partners are nudged")
    @app_commands.describe(
        quiet_after="A partner is quiet after this long without writing, like 7d (1h to 60d)",
        max_nudges="Unanswered nudges before the coordinators are alerted (1 to 5)",
        grace="No nudges this long after a launch, like 3d (0s for none)",
        sweep_every="How often Tandem checks for quiet partners, like 1h (1m to 1d)",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        quiet_after: app_commands.Range[str, 1, 40] | None = None,
        max_nudges: app_commands.Range[int, 1, 5] | None = None,
        grace: app_commands.Range[str, 1, 40] | None = None,
        sweep_every: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        guild_id = interaction.guild_id or 0
        changes = {
            "quiet_after": _duration(quiet_after, "quiet_after"),
            "max_nudges": max_nudges,
            "grace": _duration(grace, "grace", zero_ok=True),
            "sweep_every": _duration(sweep_every, "sweep_every"),
        }
        if all(value is None for value in changes.values()):
            current = await self.bot.engagement.settings(guild_id)
            await reply_privately(interaction, "\n".join(["**Nudge settings**", *current.lines()]))
            return
        updated: NudgeSettings = await self.bot.engagement.update_settings(guild_id, **changes)  # type: ignore[arg-type]
        self.schedule_sweep(guild_id, updated.sweep_every)
        await reply_privately(
            interaction,
            "\n".join(["**Nudge settings saved**", *updated.lines()])
            + f"\nThe next sweep runs within {format_duration(updated.sweep_every)}.",
        )


async def setup(bot: TandemBot) -> None:
    await bot.add_cog(Engagement(bot))
