"""/round: create, preview, launch, status, end, rematch (coordinators), and the listeners that
notice a space deleted by hand. Thin: parse, check, call bot.rounds, reply.

Long work (launching hundreds of spaces, closing them) runs in a task owned by this cog, not by the
interaction: it edits one progress message while the interaction token lives (15 minutes), then
carries on in a normal message in the same channel, and finishes even if nobody is watching. On
start-up, launches and closings left unfinished by a crash or restart carry on by themselves. When
the database fails in the middle, the work stops cleanly (what was done stays recorded), the
progress message says so, and it carries on by itself with backoff (bot/jobs.py) once the
database is back; the alerts channel says when it has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import discord
from apscheduler.triggers.date import DateTrigger
from discord import app_commands
from discord.ext import commands

from bot import jobs
from bot.app import TandemBot
from bot.background import BackgroundTasks
from bot.charts import messages_per_week_png
from bot.db import describe_transient, is_transient
from bot.durations import format_duration, parse_duration
from bot.engagement import health_lines
from bot.errors import UserFacingError, new_error_id
from bot.interactions import CoordinatorGroup, TandemView, reply_privately, require_coordinator
from bot.invitations import send_round_invitations
from bot.rounds import (
    DEFAULT_CADENCE,
    LaunchCheck,
    LaunchInterrupted,
    PairChanges,
    Preview,
    RematchChoice,
    parse_start,
    status_lines,
)
from bot.space_plan import AUTO, CHANNEL, THREAD
from cogs.signup import ConfirmView

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()
TOKEN_SAFE_SECONDS = 14 * 60  # interaction tokens last 15 minutes
PROGRESS_EVERY_SECONDS = 1.5
LAUNCH_NOT_STARTED = (
    "Tandem can't reach its database just now, so the launch did not start and nothing was changed. "
    "Please run /round launch again in a minute."
)


class ProgressMessage:
    """One message that shows how far a long job has got, edited at most every 1.5 seconds.

    It edits the interaction's response while the token is valid, then a normal message in the same
    channel; the workers never wait on it (the edits happen in a task of their own)."""

    def __init__(self, bot: TandemBot, interaction: discord.Interaction, label: str) -> None:
        self.bot = bot
        self.interaction = interaction
        self.label = label
        self.started = time.monotonic()
        self._text = ""
        self._shown = ""
        self._fallback: discord.Message | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def update(self, done: int, total: int) -> None:
        self._text = f"{self.label}: {done}/{total}"
        if self._task is None:
            self._task = asyncio.create_task(self._loop())
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._text != self._shown:
                await self._show(self._text)
            await asyncio.sleep(PROGRESS_EVERY_SECONDS)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None  # a carried-on launch may update it again

    async def finish(self, text: str) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._show(text[:2000])

    async def _show(self, text: str) -> None:
        self._shown = text
        if self._fallback is None and time.monotonic() - self.started < TOKEN_SAFE_SECONDS:
            try:
                await self.interaction.edit_original_response(
                    content=text, view=None, allowed_mentions=NO_PINGS
                )
                return
            except discord.HTTPException:
                log.info("The progress message's token has expired; carrying on in the channel")
        channel = self.interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            return
        try:
            if self._fallback is None:
                self._fallback = await channel.send(text, allowed_mentions=NO_PINGS)
            else:
                await self._fallback.edit(content=text, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.warning("Could not show progress in channel %s", getattr(channel, "id", "?"))


def _when(moment: Any) -> str:
    return discord.utils.format_dt(moment, "f")


class RoundGroup(CoordinatorGroup):
    pass


class PreviewView(TandemView):
    """Under a preview: re-run with another seed, or go on to launch."""

    def __init__(self, cog: Rounds, preview: Preview) -> None:
        super().__init__(timeout=900)
        self.cog = cog
        self.preview = preview

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await require_coordinator(interaction)

    @discord.ui.button(label="Re-run with another seed", style=discord.ButtonStyle.secondary)
    async def reseed(self, interaction: discord.Interaction, button: discord.ui.Button[PreviewView]) -> None:
        await interaction.response.defer()
        preview = await self.cog.bot.rounds.preview(interaction.guild_id or 0, self.preview.seed + 1)
        self.preview = preview
        content, file = preview_message(preview)
        await interaction.edit_original_response(content=content, attachments=[file], view=self)

    @discord.ui.button(label="Launch…", style=discord.ButtonStyle.primary)
    async def launch(self, interaction: discord.Interaction, button: discord.ui.Button[PreviewView]) -> None:
        await self.cog.offer_launch(interaction, AUTO)


class RematchView(TandemView):
    def __init__(self, cog: Rounds, owner_id: int, choice: RematchChoice) -> None:
        super().__init__(timeout=900)
        self.cog = cog
        self.owner_id = owner_id
        self.choice = choice
        select: discord.ui.Select[RematchView] = discord.ui.Select(
            placeholder="Pick an option",
            options=[
                discord.SelectOption(label=option.label[:100], value=str(index))
                for index, option in enumerate(choice.options)
            ],
        )
        select.callback = self.pick  # type: ignore[method-assign]
        self.add_item(select)
        self.select = select

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id

    async def pick(self, interaction: discord.Interaction) -> None:
        option = self.choice.options[int(self.select.values[0])]
        await interaction.response.edit_message(content=f"Working on it: {option.label}…", view=None)
        try:
            summary = await self.cog.bot.rounds.apply_rematch(
                interaction.guild_id or 0, self.choice.member.member_id, option
            )
        except LaunchInterrupted as stop:  # a space being recreated: it is made when the database is back
            delay = self.cog.carry_on_launch_later(stop)
            await interaction.edit_original_response(content="\n".join(stop.lines(delay)), view=None)
            self.stop()
            return
        await interaction.edit_original_response(content=f"Done. {summary}", allowed_mentions=NO_PINGS)
        self.stop()


def preview_message(preview: Preview) -> tuple[str, discord.File]:
    head = f"**Preview of {preview.round.name}** (seed {preview.seed})"
    body = "\n".join(preview.summary_lines())
    tail = "The full proposal is attached. Launch creates exactly these matches."
    content = f"{head}\n{body}"[: 2000 - len(tail) - 1] + "\n" + tail
    file = discord.File(io.BytesIO(preview.csv_bytes()), filename=f"preview-round-{preview.round.id}.csv")
    return content, file


class Rounds(commands.Cog):
    round = RoundGroup(name="round", description="Run the programme's rounds and partner spaces")

    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot
        self.tasks = BackgroundTasks()
        self._resumed = False

    async def cog_load(self) -> None:
        await self.schedule_deletions()

    async def cog_unload(self) -> None:
        await self.tasks.cancel_all()

    # -- create -------------------------------------------------------------------------------

    @round.command(name="create", description="Open a new round for signups")
    @app_commands.describe(
        name="The round's name, like Spring 2026",
        starts="now, a date (2026-04-01), a date and time (2026-04-01 09:00) or a length from now (2w)",
        ends="The last day, as a date (give this or length)",
        length="How long it runs, like 16w (the default) or 30m for a trial",
        cadence="How often a new topic comes out, like 14d (the default) or 45s for a trial",
        group_size="People per match (2: pairs; a trio absorbs an odd participant)",
        country_cap="At most this % of the round from one country (ILN used 20); others wait for a place",
    )
    async def create(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 100],
        starts: app_commands.Range[str, 1, 40],
        ends: app_commands.Range[str, 1, 40] | None = None,
        length: app_commands.Range[str, 1, 40] | None = None,
        cadence: app_commands.Range[str, 1, 40] | None = None,
        group_size: app_commands.Range[int, 2, 10] = 2,
        country_cap: app_commands.Range[int, 5, 100] | None = None,
    ) -> None:
        guild_id = interaction.guild_id or 0
        programme = await self.bot.programmes.get(guild_id)
        now = self.bot.clock.now()
        start = parse_start(starts, now, programme.timezone)
        end = parse_start(ends, now, programme.timezone) if ends else None
        info = await self.bot.rounds.create_round(
            guild_id,
            name,
            start,
            ends_at=end,
            length=parse_duration(length) if length else None,
            cadence=parse_duration(cadence) if cadence else DEFAULT_CADENCE,
            group_size=group_size,
            country_cap_percent=country_cap,
        )
        cap = f" No country may take more than {country_cap}% of the places." if country_cap else ""
        await reply_privately(
            interaction,
            f"**{info.name}** is open for signups (draft): it starts {_when(info.starts_at)} and ends "
            f"{_when(info.ends_at)} ({format_duration(info.length)}), with a topic every "
            f"{format_duration(timedelta(seconds=info.cadence_seconds))}, in pairs.{cap} "
            "Members who already have a profile are being invited by DM. "
            "When signups close, run /round preview.",
        )
        # The invitations read the database once, before the first DM: if it is away, they wait for it.
        self.tasks.start(
            jobs.run_now(
                self.bot.scheduler,
                self._invite,
                job_id=f"tandem:round:{info.id}:invite",
                what=f"inviting the members with a profile to round {info.id}",
                args=[guild_id, info.id, info.name],
            )
        )

    async def _invite(self, guild_id: int, round_id: int, round_name: str) -> None:
        reached = await send_round_invitations(self.bot, guild_id, round_id, round_name)
        log.info("Invited %d member(s) with a profile to round %s", reached, round_id)

    # -- preview ------------------------------------------------------------------------------

    @round.command(name="preview", description="Propose the matches for the open round, with a CSV")
    @app_commands.describe(
        seed="Another seed gives another proposal among equally good ones",
        pin="Pin this member to…",
        pin_with="…this member (they will be matched together)",
        forbid="Keep this member apart from…",
        forbid_with="…this member",
        clear_pairs="Forget every pin and keep-apart set for this round first",
    )
    async def preview(
        self,
        interaction: discord.Interaction,
        seed: app_commands.Range[int, 0, 2**31] | None = None,
        pin: discord.Member | None = None,
        pin_with: discord.Member | None = None,
        forbid: discord.Member | None = None,
        forbid_with: discord.Member | None = None,
        clear_pairs: bool = False,
    ) -> None:
        guild_id = interaction.guild_id or 0
        if (pin is None) != (pin_with is None) or (forbid is None) != (forbid_with is None):
            raise UserFacingError("A pin or keep-apart needs two members: give both `pin` and `pin_with`.")
        pairs = []
        if pin is not None and pin_with is not None:
            pairs.append((pin.id, pin_with.id, "pin"))
        if forbid is not None and forbid_with is not None:
            pairs.append((forbid.id, forbid_with.id, "forbid"))
        changes = PairChanges(clear=clear_pairs, pairs=tuple(pairs))
        changes.check()
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.bot.rounds.preview(guild_id, seed, changes)  # pins saved with the proposal
        content, file = preview_message(result)
        await interaction.followup.send(
            content, file=file, view=PreviewView(self, result), ephemeral=True, allowed_mentions=NO_PINGS
        )

    # -- launch -------------------------------------------------------------------------------

    @round.command(name="launch", description="Create a private space for every match, after a confirm")
    @app_commands.describe(spaces="Channels or threads; by default the bot picks what fits the server")
    async def launch(
        self, interaction: discord.Interaction, spaces: Literal["auto", "channels", "threads"] = "auto"
    ) -> None:
        await self.offer_launch(interaction, {"channels": CHANNEL, "threads": THREAD}.get(spaces, AUTO))

    async def offer_launch(self, interaction: discord.Interaction, requested: str) -> None:
        check = await self.bot.rounds.check_launch(interaction.guild_id or 0, requested)
        if self.bot.rounds.busy(check.round.id):
            await reply_privately(
                interaction, f"**{check.round.name}** is launching right now; see its progress."
            )
            return
        if check.resuming:
            text = (
                f"**{check.round.name}** was launched, but {check.remaining} of its spaces are not finished. "
                "Carry on where it stopped? Nothing is created twice."
            )
            label = "Carry on"
        else:
            text = (
                f"Launch **{check.round.name}**? Tandem will create {check.plan.description} "
                f"(chosen because {check.plan.reason}) and post an intro in each. "
                "Partners are notified; this cannot be undone."
            )
            label = "Launch"
        view = ConfirmView(interaction.user.id, label)
        await interaction.response.send_message(text, view=view, ephemeral=True, allowed_mentions=NO_PINGS)
        if await view.wait() or not view.confirmed:
            return
        await view.interaction.response.edit_message(content="Creating spaces…", view=None)
        self.tasks.start(self._launch(view.interaction, check))

    async def _launch(self, interaction: discord.Interaction, check: LaunchCheck) -> None:
        progress = ProgressMessage(self.bot, interaction, "Creating spaces")
        try:
            await self._launch_with(progress, interaction, check)
        finally:
            progress.stop()

    async def _launch_with(
        self, progress: ProgressMessage, interaction: discord.Interaction, check: LaunchCheck
    ) -> None:
        try:
            if not check.resuming:
                await self.bot.rounds.start_launch(check.round.id, check.plan.kind)
            report = await self.bot.rounds.run_launch(check.round.id, progress.update)
        except UserFacingError as error:
            await progress.finish(error.message)
            return
        except LaunchInterrupted as stop:
            progress.stop()
            delay = self.carry_on_launch_later(stop, progress)
            await progress.finish("\n".join(stop.lines(delay)))
            return
        except Exception as error:
            if is_transient(error):  # start_launch failed: one transaction, so nothing was launched
                log.warning(
                    "Round %s did not launch: the database is unavailable (%s)",
                    check.round.id,
                    describe_transient(error),
                )
                await progress.finish(LAUNCH_NOT_STARTED)
                return
            error_id = new_error_id()
            log.exception("Launch of round %s failed (error id %s)", check.round.id, error_id)
            await progress.finish(
                f"The launch stopped on an unexpected error (id `{error_id}`). Run /round launch to carry on."
            )
            return
        word = "channels" if check.plan.kind == CHANNEL else "threads"
        lines = report.lines()
        if not check.resuming:
            lines.insert(1, f"Spaces are private {word} because {check.plan.reason}.")
        await progress.finish("\n".join(lines))
        if report.failures:
            await self.bot.alert(interaction.guild_id or 0, "\n".join(report.lines()))

    def carry_on_launch_later(
        self, stop: LaunchInterrupted, progress: ProgressMessage | None = None
    ) -> timedelta:
        """A launch the database interrupted: carry on by itself, with backoff, once it is back."""
        log.warning(
            "The launch of round %s stopped with %s of %s spaces ready: the database is unavailable (%s)",
            stop.round_id,
            stop.done,
            stop.total,
            describe_transient(stop),
        )
        return jobs.retry_later(
            self.bot.scheduler,
            self.carry_on_launch,
            job_id=launch_job_id(stop.round_id),
            what=f"the launch of round {stop.round_id}",
            args=[stop.round_id, progress, "The launch carried on once the database was back."],
        )

    async def carry_on_launch(self, round_id: int, progress: ProgressMessage | None, why: str) -> None:
        """Run a launch again (resumed at start-up, or after a database failure) and report it.
        A database that fails again raises, so the retry job tries later (bot/jobs.py)."""
        try:
            report = await self.bot.rounds.run_launch(round_id, progress.update if progress else None)
        except LaunchInterrupted as stop:
            if progress is not None:
                progress.stop()
                await progress.finish("\n".join(stop.lines(None)))
            raise
        finally:
            if progress is not None:
                progress.stop()
        text = "\n".join(report.lines())
        if progress is not None:
            await progress.finish(text)
        await self.bot.alert(await self.bot.rounds.guild_of(round_id), f"{why} {text}")

    # -- status -------------------------------------------------------------------------------

    @round.command(name="status", description="The round's state, spaces and health")
    async def status(self, interaction: discord.Interaction) -> None:
        guild_id = interaction.guild_id or 0
        status = await self.bot.rounds.status(guild_id)
        lines = status_lines(status)
        health = await self.bot.engagement.health(guild_id)
        if health is not None and health.round_id != status.round.id:
            health = None
        if health is not None and health.running:
            lines += health_lines(health)
        await reply_privately(interaction, "\n".join(lines)[:2000])
        if health is not None:
            await self._attach_activity_chart(interaction, guild_id)

    async def _attach_activity_chart(self, interaction: discord.Interaction, guild_id: int) -> None:
        """Messages per week across the round, quiet matches highlighted, added to the answer."""
        data = await self.bot.engagement.weekly_activity(guild_id)
        if data is None:
            return
        png = await asyncio.to_thread(messages_per_week_png, data)
        file = discord.File(io.BytesIO(png), filename="activity.png")
        try:
            await interaction.edit_original_response(attachments=[file])
        except discord.HTTPException:
            log.warning("Could not attach the activity chart to /round status", exc_info=True)

    # -- end ----------------------------------------------------------------------------------

    @round.command(name="end", description="Close the running round: spaces become read-only")
    @app_commands.describe(delete_after="Delete the spaces this long after the end, like 30d (default: keep)")
    async def end(
        self, interaction: discord.Interaction, delete_after: app_commands.Range[str, 1, 40] | None = None
    ) -> None:
        guild_id = interaction.guild_id or 0
        retention = parse_duration(delete_after) if delete_after else None
        current = await self.bot.rounds.check_end(guild_id)
        keep = f" and deleted after {format_duration(retention)}" if retention else ""
        view = ConfirmView(interaction.user.id, f"End {current.name}"[:80])
        await interaction.response.send_message(
            f"End **{current.name}**? Every space becomes read-only for its partners{keep}, and they get a "
            "closing message.",
            view=view,
            ephemeral=True,
        )
        if await view.wait() or not view.confirmed:
            return
        # The button is answered first; an error after it is reported below it, privately.
        await view.interaction.response.edit_message(content=f"Ending **{current.name}**…", view=None)
        info = await self.bot.rounds.end_round(guild_id, retention)  # one transaction
        self.tasks.start(self._close(view.interaction, info.id))

    async def _close(self, interaction: discord.Interaction, round_id: int) -> None:
        progress = ProgressMessage(self.bot, interaction, "Closing spaces")
        try:
            await self.carry_on_closing(round_id, progress, announce=False)
        except Exception as error:
            if not is_transient(error):
                raise
            delay = jobs.retry_later(
                self.bot.scheduler,
                self.carry_on_closing,
                job_id=closing_job_id(round_id),
                what=f"closing the spaces of round {round_id}",
                args=[round_id, progress],
            )
            log.warning(
                "Closing the spaces of round %s stopped: the database is unavailable (%s)",
                round_id,
                describe_transient(error),
            )
            await progress.finish(
                "Closing the spaces stopped: Tandem can't reach its database just now. The round has "
                "ended, and every space closed so far stays closed. Tandem carries on by itself in "
                f"{format_duration(delay)}, and keeps trying until the database is back; the alerts "
                "channel says when it has finished."
            )

    async def carry_on_closing(
        self, round_id: int, progress: ProgressMessage | None, *, announce: bool = True
    ) -> None:
        """Close the spaces of an ended round that are still open (resumable: each space once).
        A database failure raises, so a retry job can try later (bot/jobs.py)."""
        try:
            closed, failed = await self.bot.rounds.run_closing(
                round_id, progress.update if progress else None
            )
        finally:
            if progress is not None:
                progress.stop()
        await self.schedule_deletions()
        text = f"The round has ended: {closed} spaces are read-only now."
        if failed:
            text += f" {failed} could not be closed; /round status lists them."
        if progress is not None:
            await progress.finish(text)
        if announce:
            await self.bot.alert(await self.bot.rounds.guild_of(round_id), text)

    async def schedule_deletions(self) -> None:
        """Derive the deletion jobs from the database (at start-up and after /round end)."""
        now = self.bot.clock.now()
        for round_id, due in await self.bot.rounds.deletions_due():
            # The scheduler runs on real time; the delay comes from the bot's clock (the same thing
            # in production, a ManualClock in tests).
            run_at = datetime.now(UTC) + max(due - now, timedelta(0))
            jobs.add_job(
                self.bot.scheduler,
                self.bot.rounds.delete_spaces,
                DateTrigger(run_date=run_at, timezone=UTC),
                job_id=f"tandem:round:{round_id}:delete-spaces",
                what=f"deleting the spaces of round {round_id}",
                args=[round_id],
                misfire_grace_time=None,  # however late: deleting is idempotent
            )

    # -- rematch ------------------------------------------------------------------------------

    @round.command(name="rematch", description="Find a new partner or match for a member")
    @app_commands.describe(member="The member whose partner left or went silent")
    async def rematch(self, interaction: discord.Interaction, member: discord.Member) -> None:
        choice = await self.bot.rounds.rematch_options(interaction.guild_id or 0, member.id)
        lines = [f"Options for **{choice.member.name}** in **{choice.round.name}**, best first:"]
        for option in choice.options:
            reasons = f" ({'; '.join(option.reasons)})" if option.reasons else ""
            lines.append(f"• {option.label}{reasons}"[:300])
        lines.append("Pick one: the spaces are updated and everyone involved is told.")
        await interaction.response.send_message(
            "\n".join(lines)[:2000],
            view=RematchView(self, interaction.user.id, choice),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    # -- settings -----------------------------------------------------------------------------

    @round.command(name="privacy", description="Whether coordinators can read partner spaces")
    @app_commands.describe(coordinators_see_spaces="Off (the default): coordinators see activity only")
    async def privacy(self, interaction: discord.Interaction, coordinators_see_spaces: bool) -> None:
        await self.bot.rounds.set_coordinators_see_spaces(interaction.guild_id or 0, coordinators_see_spaces)
        if coordinators_see_spaces:
            text = (
                "Coordinators will see the partner spaces created from now on. "
                "Partners are told so in each intro."
            )
        else:
            text = "Coordinators will not see the partner spaces created from now on (only their activity)."
        await reply_privately(interaction, text + " Spaces that exist already keep their permissions.")

    # -- listeners ----------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._resumed:
            return
        self._resumed = True
        await jobs.run_now(
            self.bot.scheduler,
            self.resume_unfinished_work,
            job_id="tandem:resume-rounds",
            what="resuming unfinished launches and closings",
        )

    async def resume_unfinished_work(self) -> None:
        """At start-up: carry on with launches and closings a crash or restart left unfinished,
        each in the background and, if the database fails on the way, again later."""
        for round_id in await self.bot.rounds.unfinished_launches():
            if not self.bot.rounds.busy(round_id):
                log.info("Carrying on with the launch of round %s", round_id)
                self.tasks.start(
                    jobs.run_now(
                        self.bot.scheduler,
                        self.carry_on_launch,
                        job_id=launch_job_id(round_id),
                        what=f"the launch of round {round_id}",
                        args=[round_id, None, "Launch resumed after a restart."],
                    )
                )
        for round_id in await self.bot.rounds.unfinished_closings():
            if not self.bot.rounds.busy(round_id):
                self.tasks.start(
                    jobs.run_now(
                        self.bot.scheduler,
                        functools.partial(self.carry_on_closing, announce=False),
                        job_id=closing_job_id(round_id),
                        what=f"closing the spaces of round {round_id}",
                        args=[round_id, None],
                    )
                )

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self._space_deleted(channel.guild.id, channel.id)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self._space_deleted(payload.guild_id, payload.thread_id)

    async def _space_deleted(self, guild_id: int, channel_id: int) -> None:
        # Discord tells us once: missed while the database is away, a deletion is recorded later.
        await jobs.run_now(
            self.bot.scheduler,
            self.bot.rounds.space_deleted,
            job_id=f"tandem:space-deleted:{channel_id}",
            what=f"recording that channel {channel_id} was deleted",
            args=[guild_id, channel_id],
        )


def launch_job_id(round_id: int) -> str:
    return f"tandem:round:{round_id}:launch"


def closing_job_id(round_id: int) -> str:
    return f"tandem:round:{round_id}:close"


async def setup(bot: TandemBot) -> None:
    await bot.add_cog(Rounds(bot))
