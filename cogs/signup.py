"""Participants' commands: /signup, /profile, /pause, /resume, /leave, /privacy export and delete.

The signup form is two modals (a modal holds at most five inputs): typed answers first, then
choices from the programme's lists. Between the steps the answers wait in memory for half an
hour; a restart only means running /signup again.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
from apscheduler.triggers.interval import IntervalTrigger
from discord import app_commands
from discord.ext import commands

from bot import jobs
from bot.app import TandemBot
from bot.dates import parse_until
from bot.errors import UserFacingError
from bot.interactions import TandemModal, TandemView, reply_privately
from bot.invitations import JoinRoundButton, tell_promoted
from bot.matching.model import Applicant
from bot.notify import alert_coordinators
from bot.participants import SignupResult
from bot.programmes import ProgrammeSettings
from bot.rounds import Departure
from bot.signup import (
    MATCH_PREFERENCE_LABELS,
    MAX_AVOIDED_MEMBERS,
    MAX_SELECT_OPTIONS,
    FormProblems,
    StepOne,
    StepOneAnswers,
    StepTwo,
    build_applicant,
    check_step_one,
    check_step_two,
    choose_timezone,
    place_text,
    prefill_step_one,
    prefill_step_two,
    profile_lines,
)
from bot.timezones import local_time_text
from bot.validation import MAX_GOALS_LENGTH

log = logging.getLogger(__name__)

DRAFT_LIFETIME = timedelta(minutes=30)
NO_PINGS = discord.AllowedMentions.none()
COLOUR = discord.Colour.teal()


@dataclass
class SignupDraft:
    """A form in progress: what was typed (to refill the form) and step one once it is valid."""

    started: datetime
    typed_one: StepOne = field(default_factory=StepOne)
    answers: StepOneAnswers | None = None
    typed_two: StepTwo | None = None


def _problems_text(problems: FormProblems, step: int) -> str:
    lines = "\n".join(f"• {problem}" for problem in problems.problems)
    return f"**Please fix {'this' if len(problems.problems) == 1 else 'these'} (step {step} of 2):**\n{lines}"


def _profile_embed(
    applicant: Applicant, title: str, now: datetime, footer: str | None = None
) -> discord.Embed:
    embed = discord.Embed(title=title, colour=COLOUR)
    local = local_time_text(applicant.timezone, now)
    for label, value in profile_lines(applicant, local):
        embed.add_field(name=label, value=value[:1024], inline=label not in ("Goals", "Interests"))
    if footer:
        embed.set_footer(text=footer)
    return embed


class StepOneModal(TandemModal):
    def __init__(self, cog: Signup, typed: StepOne) -> None:
        super().__init__(title="Your profile (step 1 of 2)", custom_id="tandem:signup:step1", timeout=900)
        self.cog = cog
        self.country = discord.ui.TextInput(
            custom_id="country", default=typed.country or None, max_length=60, placeholder="Chile, or CL"
        )
        self.timezone = discord.ui.TextInput(
            custom_id="timezone",
            default=typed.timezone or None,
            required=False,
            max_length=64,
            placeholder="America/Santiago",
        )
        self.languages = discord.ui.TextInput(
            custom_id="languages",
            default=typed.languages or None,
            max_length=200,
            placeholder="Spanish, English",
        )
        self.goals = discord.ui.TextInput(
            custom_id="goals",
            style=discord.TextStyle.paragraph,
            default=typed.goals or None,
            required=False,
            max_length=MAX_GOALS_LENGTH,
            placeholder="A colleague to compare notes with on digital preservation…",
        )
        self.avoid = discord.ui.UserSelect(
            custom_id="do_not_match",
            min_values=0,
            max_values=MAX_AVOIDED_MEMBERS,
            required=False,
            default_values=[discord.Object(id=i, type=discord.User) for i in sorted(typed.do_not_match)],
        )
        self.add_item(discord.ui.Label(text="The country you work in", component=self.country))
        self.add_item(
            discord.ui.Label(
                text="Your time zone",
                description="Leave it empty to pick from your country's time zones",
                component=self.timezone,
            )
        )
        self.add_item(
            discord.ui.Label(text="Languages you can hold a conversation in", component=self.languages)
        )
        self.add_item(discord.ui.Label(text="What you hope to get from the programme", component=self.goals))
        self.add_item(
            discord.ui.Label(
                text="Members not to match you with (optional)",
                description="Nobody is told who is on this list",
                component=self.avoid,
            )
        )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        typed = StepOne(
            country=self.country.value,
            timezone=self.timezone.value,
            languages=self.languages.value,
            goals=self.goals.value,
            do_not_match=frozenset(user.id for user in self.avoid.values),
        )
        draft = self.cog.draft(interaction, fresh=True)
        draft.typed_one = typed
        try:
            draft.answers = check_step_one(typed, interaction.user.id)
        except FormProblems as problems:
            draft.answers = None
            await interaction.response.send_message(
                _problems_text(problems, 1), view=FixStepOneView(self.cog), ephemeral=True
            )
            return
        await interaction.response.send_message(
            **self.cog.step_two_message(draft.answers, interaction), ephemeral=True
        )


class FixStepOneView(TandemView):
    def __init__(self, cog: Signup) -> None:
        super().__init__(timeout=900)
        self.cog = cog

    @discord.ui.button(
        label="Fix my answers", style=discord.ButtonStyle.primary, custom_id="tandem:signup:fix"
    )
    async def fix(self, interaction: discord.Interaction, button: discord.ui.Button[FixStepOneView]) -> None:
        await interaction.response.send_modal(StepOneModal(self.cog, self.cog.draft(interaction).typed_one))


class StepTwoView(TandemView):
    def __init__(self, cog: Signup, answers: StepOneAnswers) -> None:
        super().__init__(timeout=900)
        self.cog = cog
        if answers.zone_choices:
            select: discord.ui.Select[StepTwoView] = discord.ui.Select(
                custom_id="tandem:signup:zone",
                placeholder="Pick your time zone",
                options=[
                    discord.SelectOption(label=zone, default=zone == answers.timezone)
                    for zone in answers.zone_choices[:MAX_SELECT_OPTIONS]
                ],
                row=0,
            )
            select.callback = self.pick_zone  # type: ignore[method-assign]
            self.add_item(select)
            self.zone_select = select

    async def pick_zone(self, interaction: discord.Interaction) -> None:
        draft = self.cog.draft(interaction)
        if draft.answers is None:
            await reply_privately(interaction, "This form has expired: run /signup again.")
            return
        draft.answers = choose_timezone(draft.answers, self.zone_select.values[0])
        await interaction.response.edit_message(**self.cog.step_two_message(draft.answers, interaction))

    @discord.ui.button(
        label="Continue", style=discord.ButtonStyle.primary, row=1, custom_id="tandem:signup:continue"
    )
    async def proceed(self, interaction: discord.Interaction, button: discord.ui.Button[StepTwoView]) -> None:
        draft = self.cog.draft(interaction)
        if draft.answers is None:
            await reply_privately(interaction, "This form has expired: run /signup again.")
            return
        if draft.answers.timezone is None:
            await reply_privately(interaction, "Pick your time zone in the menu first, then press Continue.")
            return
        programme = await self.cog.bot.programmes.get(interaction.guild_id or 0)
        typed = draft.typed_two or prefill_step_two(
            await self.cog.stored_applicant(interaction), programme.field_options
        )
        await interaction.response.send_modal(StepTwoModal(self.cog, programme, typed))

    @discord.ui.button(
        label="Back", style=discord.ButtonStyle.secondary, row=1, custom_id="tandem:signup:back"
    )
    async def back(self, interaction: discord.Interaction, button: discord.ui.Button[StepTwoView]) -> None:
        await interaction.response.send_modal(StepOneModal(self.cog, self.cog.draft(interaction).typed_one))


class StepTwoModal(TandemModal):
    def __init__(self, cog: Signup, programme: ProgrammeSettings, typed: StepTwo) -> None:
        super().__init__(title="Your profile (step 2 of 2)", custom_id="tandem:signup:step2", timeout=900)
        self.cog = cog
        self.sector = _choice_select("sector", programme.sectors, typed.sector)
        self.stage = _choice_select("career_stage", programme.career_stages, typed.career_stage)
        self.preference: discord.ui.Select[StepTwoModal] = discord.ui.Select(
            custom_id="match_preference",
            options=[
                discord.SelectOption(label=label, value=value, default=value == typed.match_preference)
                for value, label in MATCH_PREFERENCE_LABELS.items()
            ],
        )
        interests = programme.interests[:MAX_SELECT_OPTIONS]
        self.interests: discord.ui.Select[StepTwoModal] = discord.ui.Select(
            custom_id="interests",
            min_values=1,
            max_values=min(10, len(interests)),
            options=[
                discord.SelectOption(label=i[:100], value=i[:100], default=i in typed.interests)
                for i in interests
            ],
        )
        self.own = discord.ui.TextInput(
            custom_id="own_interests",
            default=typed.own_interests or None,
            required=False,
            max_length=130,
            placeholder="zines, oral history",
        )
        self.add_item(discord.ui.Label(text="Your sector", component=self.sector))
        self.add_item(discord.ui.Label(text="Your career stage", component=self.stage))
        self.add_item(discord.ui.Label(text="How would you like to be matched?", component=self.preference))
        self.add_item(discord.ui.Label(text="Your interests (1 to 10)", component=self.interests))
        self.add_item(
            discord.ui.Label(
                text="Interests in your own words (optional)",
                description="Up to three, separated by commas",
                component=self.own,
            )
        )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        draft = self.cog.draft(interaction)
        if draft.answers is None:
            await reply_privately(interaction, "This form has expired: run /signup again.")
            return
        typed = StepTwo(
            sector=_first(self.sector.values),
            career_stage=_first(self.stage.values),
            match_preference=_first(self.preference.values),
            interests=tuple(self.interests.values),
            own_interests=self.own.value,
        )
        draft.typed_two = typed
        programme = await self.cog.bot.programmes.get(interaction.guild_id or 0)
        try:
            chosen = check_step_two(typed, programme.field_options)
            applicant = build_applicant(
                interaction.user.id, interaction.user.display_name, draft.answers, chosen
            )
        except FormProblems as problems:
            await interaction.response.edit_message(
                content=_problems_text(problems, 2), embed=None, view=StepTwoView(self.cog, draft.answers)
            )
            return
        result = await self.cog.bot.participants.save_profile(interaction.guild_id or 0, applicant)
        self.cog.forget_draft(interaction)
        await interaction.response.edit_message(content=None, embed=self.cog.saved_embed(result), view=None)
        if result.place is not None:
            await tell_promoted(self.cog.bot, list(result.promoted_member_ids), result.place.round_name)


def _choice_select(custom_id: str, choices: tuple[str, ...], current: str) -> discord.ui.Select[StepTwoModal]:
    return discord.ui.Select(
        custom_id=custom_id,
        options=[
            discord.SelectOption(label=c[:100], value=c[:100], default=c == current) for c in choices[:25]
        ],
    )


def _first(values: list[str]) -> str:
    return values[0] if values else ""


class ConfirmView(TandemView):
    """Two buttons, for actions that cannot be undone; only the member who asked can press them."""

    def __init__(self, owner_id: int, confirm_label: str) -> None:
        super().__init__(timeout=300)
        self.owner_id = owner_id
        self.confirmed: bool | None = None
        self.confirm.label = confirm_label

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger, custom_id="tandem:confirm")
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        self.confirmed = True
        self.interaction = interaction
        self.stop()

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="tandem:cancel")
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        self.confirmed = False
        await interaction.response.edit_message(content="Nothing was changed.", view=None)
        self.stop()


class Signup(commands.Cog):
    privacy = app_commands.Group(
        name="privacy", description="See or erase what Tandem holds about you", guild_only=True
    )

    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot
        self._drafts: dict[tuple[int, int], SignupDraft] = {}
        self._reconciled = False

    def dynamic_items(self) -> list[type[discord.ui.DynamicItem[Any]]]:
        return [JoinRoundButton]

    async def cog_load(self) -> None:
        # Pauses end by themselves: a sweep clears the ones whose date has come.
        jobs.add_job(
            self.bot.scheduler,
            self.bot.participants.end_expired_pauses,
            IntervalTrigger(minutes=15, timezone=UTC),
            job_id="tandem:end-pauses",
            what="ending the pauses that have run out",
            misfire_grace_time=15 * 60,
            coalesce=True,
        )

    # -- drafts ---------------------------------------------------------------------------------

    def draft(self, interaction: discord.Interaction, *, fresh: bool = False) -> SignupDraft:
        now = self.bot.clock.now()
        key = (interaction.guild_id or 0, interaction.user.id)
        for stale in [k for k, d in self._drafts.items() if now - d.started > DRAFT_LIFETIME]:
            del self._drafts[stale]
        draft = self._drafts.get(key)
        if draft is None:
            draft = self._drafts[key] = SignupDraft(started=now)
        elif fresh:
            draft.started = now
        return draft

    def forget_draft(self, interaction: discord.Interaction) -> None:
        self._drafts.pop((interaction.guild_id or 0, interaction.user.id), None)

    async def open_form(self, interaction: discord.Interaction) -> None:
        """Start the form afresh, filled in with the member's stored profile if they have one."""
        draft = self.draft(interaction, fresh=True)
        draft.typed_one = prefill_step_one(await self.stored_applicant(interaction))
        draft.answers, draft.typed_two = None, None
        await interaction.response.send_modal(StepOneModal(self, draft.typed_one))

    async def stored_applicant(self, interaction: discord.Interaction) -> Applicant | None:
        profile = await self.bot.participants.get_profile(interaction.guild_id or 0, interaction.user.id)
        return None if profile is None else profile.applicant

    def step_two_message(
        self, answers: StepOneAnswers, interaction: discord.Interaction
    ) -> dict[str, object]:
        if answers.timezone is None:
            zone_line = "Your country has several time zones: pick yours in the menu below."
        else:
            now = local_time_text(answers.timezone, self.bot.clock.now())
            zone_line = (
                f"In **{answers.timezone}** it is {now} now. "
                "If that is not your time, pick another zone or go back."
            )
        content = f"**Step 1 of 2 is done.** {zone_line}\nPress **Continue** for the last step."
        return {"content": content, "embed": None, "view": StepTwoView(self, answers)}

    def saved_embed(self, result: SignupResult) -> discord.Embed:
        title = "Welcome to the programme!" if result.created else "Your profile is updated"
        embed = _profile_embed(result.profile.applicant, title, self.bot.clock.now())
        embed.description = place_text(result.place)
        return embed

    # -- commands -------------------------------------------------------------------------------

    @app_commands.command(name="signup", description="Join the programme, or edit your profile")
    @app_commands.guild_only()
    async def signup(self, interaction: discord.Interaction) -> None:
        await self.open_form(interaction)

    @app_commands.command(name="profile", description="See your profile")
    @app_commands.guild_only()
    async def profile(self, interaction: discord.Interaction) -> None:
        profile = await self.bot.participants.get_profile(interaction.guild_id or 0, interaction.user.id)
        if profile is None:
            await reply_privately(interaction, "You have no profile yet: run /signup to join the programme.")
            return
        place = await self.bot.participants.current_place(interaction.guild_id or 0, interaction.user.id)
        footer = None
        if profile.paused:
            until = f" until {profile.paused_until:%Y-%m-%d %H:%M} UTC" if profile.paused_until else ""
            footer = f"Paused{until}: no reminders. /resume to come back."
        embed = _profile_embed(profile.applicant, "Your profile", self.bot.clock.now(), footer)
        embed.description = place_text(place) if place else "You are not in a round at the moment."
        await interaction.response.send_message(embed=embed, view=EditProfileView(self), ephemeral=True)

    @app_commands.command(name="pause", description="Take a break: no reminders until you resume")
    @app_commands.describe(until="When to come back by itself: a date (2026-04-01) or a length (2w, 10d)")
    @app_commands.guild_only()
    async def pause(
        self, interaction: discord.Interaction, until: app_commands.Range[str, 1, 40] | None = None
    ) -> None:
        guild_id = interaction.guild_id or 0
        profile = await self.bot.participants.get_profile(guild_id, interaction.user.id)
        zone = profile.applicant.timezone if profile else "UTC"
        end = parse_until(until, self.bot.clock.now(), zone) if until else None
        await self.bot.participants.pause(guild_id, interaction.user.id, end)
        when = f" until {discord.utils.format_dt(end, 'D')}" if end else " until you run /resume"
        await reply_privately(interaction, f"You're paused{when}. Tandem won't send you reminders meanwhile.")

    @app_commands.command(name="resume", description="Come back from a pause")
    @app_commands.guild_only()
    async def resume(self, interaction: discord.Interaction) -> None:
        await self.bot.participants.resume(interaction.guild_id or 0, interaction.user.id)
        await reply_privately(interaction, "Welcome back! Reminders are on again.")

    @app_commands.command(name="leave", description="Withdraw from the current round")
    @app_commands.guild_only()
    async def leave(self, interaction: discord.Interaction) -> None:
        guild_id = interaction.guild_id or 0
        place = await self.bot.participants.current_place(guild_id, interaction.user.id)
        if place is None:
            await reply_privately(
                interaction, "You are not in a round at the moment, so there is nothing to leave."
            )
            return
        view = ConfirmView(interaction.user.id, f"Leave {place.round_name}"[:80])
        await interaction.response.send_message(
            f"Leave **{place.round_name}**? Your profile is kept for future rounds.",
            view=view,
            ephemeral=True,
        )
        if await view.wait() or not view.confirmed:
            return
        # The button is answered first; an error after it is reported below it, privately.
        await view.interaction.response.edit_message(content=f"Leaving **{place.round_name}**…", view=None)
        departure = await self.bot.rounds.leave(guild_id, interaction.user.id)
        if departure.place is None:
            raise UserFacingError("You are not in a round at the moment, so there is nothing to leave.")
        await view.interaction.edit_original_response(
            content=(
                f"You've left **{departure.place.round_name}**. Thank you for taking part; "
                "you're welcome back any time."
            )
        )
        await self.after_leaving(guild_id, interaction.user.id, departure, reason="left with /leave")

    async def after_leaving(
        self, guild_id: int, member_id: int, departure: Departure, *, reason: str
    ) -> None:
        """Tell the partners, the coordinators and any promoted member; the departure is recorded
        already, so a database failure here is tried again later rather than reported to the member."""
        if departure.place is None:
            return
        await jobs.run_now(
            self.bot.scheduler,
            self._announce_departure,
            job_id=f"tandem:departure:{guild_id}:{member_id}",
            what=f"telling the coordinators that member {member_id} left",
            args=[guild_id, member_id, departure, reason],
        )

    async def _announce_departure(
        self, guild_id: int, member_id: int, departure: Departure, reason: str
    ) -> None:
        place = departure.place
        assert place is not None
        # In a launched round their partners are told in the space, and the alert offers a rematch.
        if departure.left:
            await self.bot.rounds.announce_member_left(guild_id, member_id, departure.left, reason)
        else:
            await alert_coordinators(
                self.bot, guild_id, f"<@{member_id}> {reason} and is no longer in **{place.round_name}**."
            )
        await tell_promoted(self.bot, list(place.promoted_member_ids), place.round_name)

    @privacy.command(name="export", description="Get every piece of data Tandem holds about you")
    async def export(self, interaction: discord.Interaction) -> None:
        data = await self.bot.participants.export_member_data(interaction.guild_id or 0, interaction.user.id)
        payload = json.dumps(data, indent=2, ensure_ascii=False).encode()
        await interaction.response.send_message(
            "Here is everything Tandem holds about you in this server. Message content is never stored.",
            file=discord.File(io.BytesIO(payload), filename="tandem-my-data.json"),
            ephemeral=True,
        )

    @privacy.command(name="delete", description="Erase your profile and personal data")
    async def delete(self, interaction: discord.Interaction) -> None:
        guild_id = interaction.guild_id or 0
        view = ConfirmView(interaction.user.id, "Erase my data")
        await interaction.response.send_message(
            "Erase your profile and personal data? You'll leave any round you are in, and this can't be "
            "undone. Programme statistics keep an anonymous count.",
            view=view,
            ephemeral=True,
        )
        if await view.wait() or not view.confirmed:
            return
        await view.interaction.response.edit_message(content="Erasing your data…", view=None)
        # Leaving the round and erasing are one transaction: their partners are told and the
        # coordinators offered a rematch afterwards, exactly as with /leave.
        departure = await self.bot.rounds.leave(guild_id, interaction.user.id, erase=True)
        await view.interaction.edit_original_response(
            content="Your data is erased. If you ever want to come back, run /signup."
        )
        await self.after_leaving(guild_id, interaction.user.id, departure, reason="erased their data")

    # -- members who leave the server -------------------------------------------------------------

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        # Missed while the database is away, a departure would never be recorded: it is retried.
        await jobs.run_now(
            self.bot.scheduler,
            self.member_removed,
            job_id=f"tandem:member-removed:{payload.guild_id}:{payload.user.id}",
            what=f"withdrawing member {payload.user.id}, who left the server",
            args=[payload.guild_id, payload.user.id],
        )

    async def member_removed(self, guild_id: int, member_id: int, reason: str = "left the server") -> None:
        departure = await self.bot.rounds.leave(guild_id, member_id)
        await self.after_leaving(guild_id, member_id, departure, reason=reason)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Partners who left a server while the bot was offline (no event came): the same as leaving."""
        if self._reconciled:
            return
        self._reconciled = True
        for guild in list(self.bot.guilds):
            for member_id in await self.bot.rounds.partners_in_rounds(guild.id):
                if guild.get_member(member_id) is not None:
                    continue
                try:  # confirm with Discord: an incomplete member list must never end a partnership
                    await guild.fetch_member(member_id)
                except discord.NotFound:
                    log.info("Member %s left guild %s while the bot was offline", member_id, guild.id)
                    await self.member_removed(guild.id, member_id, "left the server while Tandem was offline")
                except discord.HTTPException:
                    log.warning("Could not check whether member %s is still in guild %s", member_id, guild.id)


class EditProfileView(TandemView):
    def __init__(self, cog: Signup) -> None:
        super().__init__(timeout=900)
        self.cog = cog

    @discord.ui.button(label="Edit", style=discord.ButtonStyle.primary, custom_id="tandem:profile:edit")
    async def edit(
        self, interaction: discord.Interaction, button: discord.ui.Button[EditProfileView]
    ) -> None:
        await self.cog.open_form(interaction)


async def setup(bot: TandemBot) -> None:
    await bot.add_cog(Signup(bot))
