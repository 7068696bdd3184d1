"""Coordinators' roster commands: /participants import, /participants export, /participants list.

Import and export use the same columns (bot/applicants_csv.py), so a coordinator can export,
edit in a spreadsheet and import again; an import only creates and updates, never deletes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import TandemBot
from bot.applicants_csv import CsvProblems, write_applicants
from bot.errors import UserFacingError
from bot.interactions import CoordinatorGroup, TandemView, caller_is_coordinator
from bot.participants import OPEN_ROUND, RoundSummary
from bot.roster import (
    ROUND_STATUSES,
    STATUS_LABELS,
    check_upload,
    decode_upload,
    filter_roster,
    import_summary,
    page_of,
    problem_report,
    read_applicant_upload,
    roster_heading,
    roster_line,
)
from bot.validation import ValidationError, parse_country

COLOUR = discord.Colour.teal()
NO_PINGS = discord.AllowedMentions.none()
ALL_PROFILES = "all"
ENDED_ROUND = "ended"
LIST_TIMEOUT = 14 * 60  # an interaction's token can edit its reply for 15 minutes


class RosterView(TandemView):
    """Previous and Next for one caller's list; the lines are fixed when the list is asked for."""

    def __init__(self, owner_id: int, heading: str, lines: list[str]) -> None:
        super().__init__(timeout=LIST_TIMEOUT)
        self.owner_id = owner_id
        self.heading = heading
        self.lines = lines
        self.number = 1
        self.origin: discord.Interaction | None = None
        self._sync_buttons()

    def embed(self) -> discord.Embed:
        page = page_of(self.lines, self.number)
        embed = discord.Embed(title=self.heading, description="\n".join(page.lines), colour=COLOUR)
        embed.set_footer(text=page.footer)
        return embed

    def _sync_buttons(self) -> None:
        page = page_of(self.lines, self.number)
        self.previous.disabled = not page.has_previous
        self.next.disabled = not page.has_next

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "This list belongs to the coordinator who asked for it: run /participants list yourself.",
            ephemeral=True,
        )
        return False

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.number = page_of(self.lines, self.number + step).number
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self, allowed_mentions=NO_PINGS)

    @discord.ui.button(
        label="Previous", style=discord.ButtonStyle.secondary, custom_id="tandem:roster:previous"
    )
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[RosterView]) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary, custom_id="tandem:roster:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[RosterView]) -> None:
        await self._turn(interaction, +1)

    async def on_timeout(self) -> None:
        if self.origin is None:
            return
        with contextlib.suppress(discord.HTTPException):  # dismissed, or its token expired
            await self.origin.edit_original_response(view=None)


def _round_choice_name(summary: RoundSummary) -> str:
    return f"{summary.name} ({summary.status})"[:100]


class Participants(commands.Cog):
    participants = CoordinatorGroup(name="participants", description="Import, export and list participants")

    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot

    # -- import -------------------------------------------------------------------------------

    @participants.command(name="import", description="Add or update participants from a CSV file")
    @app_commands.describe(
        file="A .csv file (UTF-8), one participant per row, with the columns of /participants export"
    )
    async def import_(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        guild = interaction.guild
        assert guild is not None
        check_upload(file.filename, file.size)
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = decode_upload(await file.read())
        programme = await self.bot.programmes.get(guild.id)
        try:
            applicants = await asyncio.to_thread(read_applicant_upload, text, programme.field_options)
        except CsvProblems as problems:
            report = problem_report(problems.problems, file.filename)
            files = []
            if report.attachment is not None:
                payload = io.BytesIO(report.attachment.encode())
                files.append(discord.File(payload, filename="import-problems.txt"))
            await interaction.followup.send(
                report.message, files=files, ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        # Read before the import, so that once the import is saved nothing else can fail on the database.
        rounds = await self.bot.participants.rounds(guild.id)
        open_round = next((r.name for r in rounds if r.status == OPEN_ROUND), None)
        result = await self.bot.participants.import_applicants(guild.id, applicants)  # one transaction
        strangers = [a for a in applicants if guild.get_member(a.member_id) is None]
        await interaction.followup.send(
            import_summary(result, file.filename, open_round, strangers),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    # -- export -------------------------------------------------------------------------------

    @participants.command(name="export", description="Download every participant's profile as a CSV file")
    async def export(self, interaction: discord.Interaction) -> None:
        guild_id = interaction.guild_id or 0
        await interaction.response.defer(ephemeral=True, thinking=True)
        rows = await self.bot.participants.list_participants(guild_id)
        buffer = io.StringIO()
        count = write_applicants(buffer, (row.applicant for row in rows))
        payload = buffer.getvalue().encode("utf-8-sig")  # the mark makes spreadsheets read accents right
        if len(payload) > interaction.filesize_limit:
            raise UserFacingError(
                f"The export is {len(payload) // (1024 * 1024)} MB, "
                "more than this server accepts in one file."
            )
        day = self.bot.clock.now().date().isoformat()
        if count:
            content = (
                f"{count} participant{'s' if count != 1 else ''}. Cells that start with =, +, - or @ begin "
                "with ' so that a spreadsheet shows them as text; /participants import removes it again."
            )
        else:
            content = (
                "No participants yet. Here are the columns, to fill in and bring in with "
                "/participants import."
            )
        await interaction.followup.send(
            content,
            file=discord.File(io.BytesIO(payload), filename=f"tandem-participants-{day}.csv"),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    # -- list ---------------------------------------------------------------------------------

    @participants.command(name="list", description="Page through participants, by round, country or status")
    @app_commands.describe(
        round_="Whose place to show (default: the current round); “all” lists every profile",
        country="Only participants in this country (a name or a code such as CL)",
        status="Only participants with this place in the round, or paused ones",
    )
    @app_commands.rename(round_="round")
    @app_commands.choices(
        status=[
            app_commands.Choice(name="Enrolled", value="enrolled"),
            app_commands.Choice(name="On the waiting list", value="waitlisted"),
            app_commands.Choice(name="Withdrawn", value="withdrawn"),
            app_commands.Choice(name="Paused", value="paused"),
            app_commands.Choice(name="Not in the round", value="none"),
        ]
    )
    async def list_(
        self,
        interaction: discord.Interaction,
        round_: app_commands.Range[str, 1, 100] | None = None,
        country: app_commands.Range[str, 1, 60] | None = None,
        status: str | None = None,
    ) -> None:
        guild_id = interaction.guild_id or 0
        chosen = await self._resolve_round(guild_id, round_)
        if chosen is None and status in ROUND_STATUSES:
            raise UserFacingError(
                f"status: “{STATUS_LABELS[status]}” needs a round, and there is none yet "
                "(or you chose all profiles)."
            )
        code = None
        if country is not None:
            try:
                code = parse_country(country)
            except ValidationError as error:
                raise UserFacingError(str(error)) from None
        entries = await self.bot.participants.roster(
            guild_id, chosen.round_id if chosen else None, country=code
        )
        entries = filter_roster(entries, status)
        heading = roster_heading(chosen.name if chosen else None, code, status)
        if not entries:
            await interaction.response.send_message(
                f"No participants in **{discord.utils.escape_markdown(heading)}**.",
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        lines = [roster_line(entry, in_round=chosen is not None) for entry in entries]
        view = RosterView(interaction.user.id, heading[:256], lines)
        view.origin = interaction
        await interaction.response.send_message(
            embed=view.embed(), view=view, ephemeral=True, allowed_mentions=NO_PINGS
        )

    async def _resolve_round(self, guild_id: int, typed: str | None) -> RoundSummary | None:
        """The round the coordinator means: by id (from the menu) or name; by default the newest
        round that has not ended. None: all profiles."""
        rounds = await self.bot.participants.rounds(guild_id)
        if typed is None:
            return next((r for r in rounds if r.status != ENDED_ROUND), None)
        wanted = typed.strip()
        if wanted.casefold() == ALL_PROFILES:
            return None
        for summary in rounds:
            if wanted == str(summary.round_id) or wanted.casefold() == summary.name.casefold():
                return summary
        known = ", ".join(f"“{r.name}”" for r in rounds[:10]) or "none yet"
        raise UserFacingError(
            f"round: there is no round called “{discord.utils.escape_markdown(wanted)}” (rounds: {known})."
        )

    @list_.autocomplete("round_")
    async def round_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not await caller_is_coordinator(interaction):
            return []
        typed = current.strip().casefold()
        rounds = await self.bot.participants.rounds(interaction.guild_id or 0)
        choices = [app_commands.Choice(name="All profiles, in a round or not", value=ALL_PROFILES)]
        choices += [
            app_commands.Choice(name=_round_choice_name(r), value=str(r.round_id))
            for r in rounds
            if typed in r.name.casefold()
        ]
        return choices[:25]


async def setup(bot: TandemBot) -> None:
    await bot.add_cog(Participants(bot))
