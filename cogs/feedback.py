"""Feedback: the half-time check-in buttons, the end-of-round survey (button → modal), the
keep-in-touch buttons, and `/report`. Thin: the rules live in bot/checkins.py and bot/reports.py.

Every button is a `DynamicItem` whose custom_id names the match it acts on, so it works after a
restart; each checks that the presser is a current partner of that match.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import TandemBot
from bot.checkins import NEED_HELP, parse_survey
from bot.interactions import TandemModal, coordinator_only, reply_privately, report_error
from bot.notify import NO_PINGS
from bot.reports import CHECKIN_LABELS, compute_report, report_pngs
from bot.rounds import SpaceError
from bot.spaces import discord_call
from cogs.engagement import DiscordOutlet

log = logging.getLogger(__name__)

CHECKIN_STYLES = {
    "well": discord.ButtonStyle.success,
    "better": discord.ButtonStyle.secondary,
    "help": discord.ButtonStyle.danger,
}
KEEP_LABELS = {
    "space": "Keep this space open",
    "close": "Let it close",
    "next": "Join the next round",
    "skip": "Not next round",
}
CHECKIN_REPLIES = {
    "well": "Thanks! Recorded: going well. Enjoy the rest of the round.",
    "better": "Thanks for telling us. Recorded: could be better. A coordinator may check in with you.",
    "help": "Thanks for telling us. The coordinators have been told and will be in touch soon.",
}


# -- Discord, as the feedback service sees it -----------------------------------------------------


class DiscordFeedbackOutlet:
    """`bot.checkins.FeedbackOutlet` on the real client."""

    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot
        self.alerts = DiscordOutlet(bot)  # the engagement alert, with its rematch button

    async def _send(
        self, space_id: int, content: str, view: discord.ui.View, member_ids: Sequence[int]
    ) -> int:
        mentions = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(id=i) for i in member_ids]
        )
        try:
            channel: Any = self.bot.get_channel(space_id) or await discord_call(
                lambda: self.bot.fetch_channel(space_id)
            )
            message = await discord_call(
                lambda: channel.send(content[:2000], view=view, allowed_mentions=mentions)
            )
        except SpaceError as error:
            await self.bot.rounds.space_unreachable(space_id, error)
            raise
        return int(message.id)

    async def post_checkin(
        self, space_id: int, match_id: int, round_name: str, member_ids: Sequence[int]
    ) -> int:
        view = discord.ui.View(timeout=None)
        for choice in CHECKIN_STYLES:
            view.add_item(CheckInButton(match_id, choice))
        who = " ".join(f"<@{m}>" for m in member_ids)
        return await self._send(
            space_id,
            f"{who} Half-way through **{round_name}**: how is your partnership going? Each of you can "
            "answer with a button (only you and the coordinators see what you chose; press again to "
            "change it).",
            view,
            member_ids,
        )

    async def post_survey(
        self, space_id: int, match_id: int, round_name: str, member_ids: Sequence[int]
    ) -> int:
        who = " ".join(f"<@{m}>" for m in member_ids)
        return await self._send(
            space_id,
            f"{who} **{round_name}** is nearly over. Please share your feedback (a rating, what you gained, "
            "anything else), and tell us whether to **keep this space open** after the round (only if "
            "every partner here chooses it) and whether you'd like to **join the next round**.",
            survey_view(match_id),
            member_ids,
        )

    async def alert(self, guild_id: int, text: str, match_id: int) -> int | None:
        return await self.alerts.alert(guild_id, text, match_id)


def survey_view(match_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(SurveyButton(match_id))
    for what in KEEP_LABELS:
        view.add_item(KeepButton(match_id, what))
    return view


# -- the buttons ------------------------------------------------------------------------------------


class CheckInButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"tandem:checkin:(?P<match>\d+):(?P<choice>well|better|help)",
):
    def __init__(self, match_id: int, choice: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=CHECKIN_LABELS[choice],
                style=CHECKIN_STYLES[choice],
                custom_id=f"tandem:checkin:{match_id}:{choice}",
            )
        )
        self.match_id = match_id
        self.choice = choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CheckInButton:
        return cls(int(match["match"]), match["choice"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: TandemBot = interaction.client  # type: ignore[assignment]
        try:
            await bot.feedback.partnership(self.match_id, interaction.user.id)  # partners only
            if self.choice == NEED_HELP:  # the alert may take a moment; answer within 3 seconds
                await interaction.response.defer(ephemeral=True, thinking=True)
            _who, previous = await bot.feedback.record_checkin(
                self.match_id, interaction.user.id, self.choice
            )
            text = CHECKIN_REPLIES[self.choice]
            if previous is not None and previous != self.choice:
                text += f" (Changed from “{CHECKIN_LABELS[previous]}”.)"
            await reply_privately(interaction, text)
        except Exception as error:  # the same error path as every command
            await report_error(
                interaction, error, where=f"button tandem:checkin:{self.match_id}:{self.choice}"
            )


class SurveyButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"tandem:survey:(?P<match>\d+)"):
    def __init__(self, match_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Share your feedback",
                style=discord.ButtonStyle.primary,
                custom_id=f"tandem:survey:{match_id}",
            )
        )
        self.match_id = match_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SurveyButton:
        return cls(int(match["match"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: TandemBot = interaction.client  # type: ignore[assignment]
        try:
            who = await bot.feedback.partnership(self.match_id, interaction.user.id)
            await interaction.response.send_modal(SurveyModal(self.match_id, who.round_name))
        except Exception as error:
            await report_error(interaction, error, where=f"button tandem:survey:{self.match_id}")


class KeepButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"tandem:keep:(?P<match>\d+):(?P<what>space|close|next|skip)",
):
    def __init__(self, match_id: int, what: str) -> None:
        style = discord.ButtonStyle.success if what in ("space", "next") else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(
                label=KEEP_LABELS[what], style=style, custom_id=f"tandem:keep:{match_id}:{what}"
            )
        )
        self.match_id = match_id
        self.what = what

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> KeepButton:
        return cls(int(match["match"]), match["what"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: TandemBot = interaction.client  # type: ignore[assignment]
        try:
            if self.what in ("space", "close"):
                keep = self.what == "space"
                await bot.feedback.record_keep(self.match_id, interaction.user.id, keep_space=keep)
                text = (
                    "Noted: keep this space open. It stays open after the round if every partner here "
                    "chooses the same."
                    if keep
                    else "Noted: this space becomes read-only when the round ends."
                )
            else:
                join = self.what == "next"
                await bot.feedback.record_keep(self.match_id, interaction.user.id, join_next=join)
                text = (
                    "Noted: you'll be enrolled in the next round when it opens."
                    if join
                    else "Noted: you won't be enrolled in the next round automatically."
                )
            await reply_privately(interaction, text + " Press another button to change your mind.")
        except Exception as error:
            await report_error(interaction, error, where=f"button tandem:keep:{self.match_id}:{self.what}")


class SurveyModal(TandemModal):
    def __init__(self, match_id: int, round_name: str) -> None:
        super().__init__(title=f"Feedback: {round_name}"[:45], custom_id=f"tandem:survey-form:{match_id}")
        self.match_id = match_id
        self.rating: discord.ui.TextInput[SurveyModal] = discord.ui.TextInput(
            custom_id="rating", placeholder="1 (poor) to 5 (excellent)", min_length=1, max_length=2
        )
        self.gained: discord.ui.TextInput[SurveyModal] = discord.ui.TextInput(
            custom_id="gained", placeholder="New ideas, a contact abroad, confidence…", max_length=200
        )
        self.comments: discord.ui.TextInput[SurveyModal] = discord.ui.TextInput(
            custom_id="comments",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=1000,
            placeholder="Anything else the coordinators should know (up to 1,000 characters)",
        )
        self.add_item(discord.ui.Label(text="How was the round? (1 to 5)", component=self.rating))
        self.add_item(discord.ui.Label(text="What did you gain?", component=self.gained))
        self.add_item(discord.ui.Label(text="Comments (optional)", component=self.comments))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot: TandemBot = interaction.client  # type: ignore[assignment]
        answer = parse_survey(self.rating.value, self.gained.value, self.comments.value or "")
        await bot.feedback.record_survey(self.match_id, interaction.user.id, answer)
        await reply_privately(interaction, f"Thank you! Your feedback is saved (rating {answer.rating}/5).")


# -- the cog ----------------------------------------------------------------------------------------


class Feedback(commands.Cog):
    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot

    def dynamic_items(self) -> list[type[discord.ui.DynamicItem[Any]]]:
        return [CheckInButton, SurveyButton, KeepButton]

    async def cog_load(self) -> None:
        self.bot.feedback.outlet = DiscordFeedbackOutlet(self.bot)

    @app_commands.command(name="report", description="A round's figures, as a summary, a CSV and charts")
    @app_commands.describe(which="The round's name or number (default: the latest launched or ended one)")
    @app_commands.rename(which="round")
    @coordinator_only()
    async def report(
        self, interaction: discord.Interaction, which: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        guild_id = interaction.guild_id or 0
        round_id = await self.bot.feedback.report_round(guild_id, which)
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await self.bot.feedback.round_data(round_id)
        report = compute_report(data, self.bot.clock.now())
        charts = await asyncio.to_thread(report_pngs, report)
        embed = discord.Embed(
            title=f"Report: {report.name}"[:256],
            description="\n".join(report.summary_lines())[:4096],
            colour=discord.Colour.teal(),
        )
        embed.set_footer(text=f"Round #{round_id} · {report.status} · the CSV omits erased participants")
        slug = re.sub(r"[^a-z0-9]+", "-", report.name.lower()).strip("-") or f"round-{round_id}"
        files = [discord.File(io.BytesIO(report.csv_bytes()), filename=f"{slug}.csv")]
        files += [discord.File(io.BytesIO(png), filename=name) for name, png in charts]
        await interaction.followup.send(
            embed=embed, files=files[:10], ephemeral=True, allowed_mentions=NO_PINGS
        )


async def setup(bot: TandemBot) -> None:
    await bot.add_cog(Feedback(bot))
