"""/setup: the programme's settings, shown with no options, changed with them.

Every option is checked before anything is saved, so a mistake changes nothing. After saving (and
when just looking), the reply warns about what would stop the programme from working: a channel
the bot cannot post in, a category where it cannot create spaces, an alerts channel that everyone
can read.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import TandemBot
from bot.errors import UserFacingError
from bot.interactions import coordinator_only
from bot.programme_input import join_within, parse_programme_list
from bot.programmes import ProgrammeSettings
from bot.validation import ValidationError, parse_timezone

COLOUR = discord.Colour.teal()
NO_PINGS = discord.AllowedMentions.none()
MAX_AUTOCOMPLETE = 25

# What the bot needs where, named as Discord's channel settings name them.
ALERTS_NEEDS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
}
CATEGORY_NEEDS = {
    "view_channel": "View Channels",
    "manage_channels": "Manage Channels",
    "manage_roles": "Manage Permissions",
    "send_messages": "Send Messages",
}
THREADS_NEEDS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "create_private_threads": "Create Private Threads",
    "send_messages_in_threads": "Send Messages in Threads",
    "manage_threads": "Manage Threads",
}
CHANNELS_PER_CATEGORY = 50

FIELD_LABELS = {
    "coordinator_role_id": "coordinator role",
    "alerts_channel_id": "alerts channel",
    "spaces_category_id": "spaces category",
    "spaces_parent_channel_id": "spaces parent channel",
    "timezone": "time zone",
    "interests": "interests",
    "sectors": "sectors",
    "career_stages": "career stages",
}


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


def _missing(channel: discord.abc.GuildChannel, me: discord.Member, needs: dict[str, str]) -> list[str]:
    allowed = channel.permissions_for(me)
    return [label for name, label in needs.items() if not getattr(allowed, name)]


def _channel_text(guild: discord.Guild, channel_id: int | None, unset: str) -> str:
    if channel_id is None:
        return unset
    if guild.get_channel(channel_id) is None:
        return f"a deleted channel ({channel_id}): set another"
    return f"<#{channel_id}>"


def settings_embed(guild: discord.Guild, settings: ProgrammeSettings, title: str) -> discord.Embed:
    embed = discord.Embed(title=title, colour=COLOUR)
    role_id = settings.coordinator_role_id
    if role_id is None:
        role = "not set: only members with Manage Server"
    elif guild.get_role(role_id) is None:
        role = f"a deleted role ({role_id}): only members with Manage Server"
    else:
        role = f"<@&{role_id}>, and members with Manage Server"
    embed.add_field(name="Coordinator role", value=role, inline=False)
    embed.add_field(name="Alerts channel", value=_channel_text(guild, settings.alerts_channel_id, "not set"))
    embed.add_field(name="Time zone", value=settings.timezone)
    embed.add_field(
        name="Spaces category (private channels)",
        value=_channel_text(guild, settings.spaces_category_id, "not set"),
        inline=False,
    )
    embed.add_field(
        name="Spaces parent channel (private threads)",
        value=_channel_text(guild, settings.spaces_parent_channel_id, "not set"),
        inline=False,
    )
    for name, items in (
        ("Interests", settings.interests),
        ("Sectors", settings.sectors),
        ("Career stages", settings.career_stages),
    ):
        embed.add_field(name=f"{name} ({len(items)})", value=join_within(items), inline=False)
    embed.set_footer(text="Change any of these with /setup and its options; lists are separated by ;")
    return embed


def setup_warnings(guild: discord.Guild, settings: ProgrammeSettings) -> list[str]:
    """What would stop the programme from working as set up, in words a coordinator can act on."""
    me = guild.me
    warnings: list[str] = []
    if settings.coordinator_role_id is not None and guild.get_role(settings.coordinator_role_id) is None:
        warnings.append("The coordinator role was deleted: set another with `coordinator_role`.")
    alerts = guild.get_channel(settings.alerts_channel_id) if settings.alerts_channel_id else None
    if settings.alerts_channel_id is None:
        warnings.append(
            "No alerts channel: Tandem can't tell coordinators when someone leaves or goes quiet. "
            "Set a private channel with `alerts_channel`."
        )
    elif alerts is not None:
        missing = _missing(alerts, me, ALERTS_NEEDS)
        if missing:
            warnings.append(f"Tandem can't post in <#{alerts.id}>: it needs {', '.join(missing)} there.")
        if alerts.permissions_for(guild.default_role).view_channel:
            warnings.append(
                f"Everyone can read <#{alerts.id}>. Alerts name participants: "
                "make it private to coordinators."
            )
    category = guild.get_channel(settings.spaces_category_id) if settings.spaces_category_id else None
    parent = (
        guild.get_channel(settings.spaces_parent_channel_id) if settings.spaces_parent_channel_id else None
    )
    if settings.spaces_category_id is None and settings.spaces_parent_channel_id is None:
        warnings.append(
            "No place for partner spaces yet: set `spaces_category` (private channels) or "
            "`spaces_parent_channel` (private threads, for big rounds) before launching a round."
        )
    if isinstance(category, discord.CategoryChannel):
        missing = _missing(category, me, CATEGORY_NEEDS)
        if missing:
            warnings.append(
                f"Tandem can't create partner spaces in **{discord.utils.escape_markdown(category.name)}**: "
                f"it needs {', '.join(missing)} there."
            )
        room = CHANNELS_PER_CATEGORY - len(category.channels)
        if room < CHANNELS_PER_CATEGORY // 2:
            warnings.append(
                f"**{discord.utils.escape_markdown(category.name)}** has room for {max(room, 0)} more "
                f"channels (a category holds {CHANNELS_PER_CATEGORY}); bigger rounds need "
                "`spaces_parent_channel` for threads."
            )
    if isinstance(parent, discord.TextChannel):
        missing = _missing(parent, me, THREADS_NEEDS)
        if missing:
            warnings.append(
                f"Tandem can't open private threads in <#{parent.id}>: it needs {', '.join(missing)} there."
            )
    return warnings


def _with_warnings(embed: discord.Embed, lead: str, warnings: list[str]) -> discord.Embed:
    lines = [lead] if lead else []
    lines += [f"⚠️ {warning}" for warning in warnings]
    embed.description = "\n".join(lines)[:4000] or None
    return embed


class Setup(commands.Cog):
    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot

    @app_commands.command(name="setup", description="See or change the programme's settings")
    @app_commands.describe(
        coordinator_role="Members with this role run the programme (Manage Server always can)",
        alerts_channel="A private channel where Tandem tells coordinators what needs them",
        spaces_category="The category for partner spaces as private channels",
        spaces_parent_channel="The channel whose private threads are partner spaces (for big rounds)",
        timezone="The programme's time zone, such as Europe/London",
        interests="The interests members choose from, separated by ; (at most 25)",
        sectors="The sectors members choose from, separated by ; (2 to 25)",
        career_stages="The career stages members choose from, separated by ; (2 to 25)",
    )
    @coordinator_only()
    async def setup_command(
        self,
        interaction: discord.Interaction,
        coordinator_role: discord.Role | None = None,
        alerts_channel: discord.TextChannel | None = None,
        spaces_category: discord.CategoryChannel | None = None,
        spaces_parent_channel: discord.TextChannel | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        interests: app_commands.Range[str, 1, 2000] | None = None,
        sectors: app_commands.Range[str, 1, 2000] | None = None,
        career_stages: app_commands.Range[str, 1, 2000] | None = None,
    ) -> None:
        guild = interaction.guild
        assert guild is not None  # guild_only
        problems: list[str] = []
        changes: dict[str, object] = {}
        if coordinator_role is not None:
            problem = self._role_problem(interaction, coordinator_role)
            if problem:
                problems.append(problem)
            changes["coordinator_role_id"] = coordinator_role.id
        for name, channel in (
            ("alerts_channel_id", alerts_channel),
            ("spaces_category_id", spaces_category),
            ("spaces_parent_channel_id", spaces_parent_channel),
        ):
            if channel is not None:
                changes[name] = channel.id
        typed: dict[str, str | None] = {
            "interests": interests,
            "sectors": sectors,
            "career_stages": career_stages,
        }
        if timezone is not None:
            try:
                changes["timezone"] = parse_timezone(timezone)
            except ValidationError as error:
                problems.append(str(error))
        for field, text in typed.items():
            if text is None:
                continue
            try:
                changes[field] = parse_programme_list(text, field)
            except ValidationError as error:
                problems.append(str(error))
        if problems:
            lines = "\n".join(f"• {problem}" for problem in problems)
            raise UserFacingError(f"**Nothing was changed.** Please fix:\n{lines}")

        if not changes:
            settings = await self.bot.programmes.get(guild.id)
            embed = settings_embed(guild, settings, "Programme settings")
            lead = ""
        else:
            settings = await self.bot.programmes.update(guild.id, **changes)
            embed = settings_embed(guild, settings, "Programme settings saved")
            lead = "Changed: " + ", ".join(FIELD_LABELS[name] for name in changes) + "."
        _with_warnings(embed, lead, setup_warnings(guild, settings))
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @staticmethod
    def _role_problem(interaction: discord.Interaction, role: discord.Role) -> str | None:
        name = discord.utils.escape_markdown(role.name)
        if role.is_default():
            return "coordinator_role: @everyone would make every member a coordinator; pick a role"
        if role.managed:
            return (
                f"coordinator_role: @{name} belongs to a bot or integration, "
                "so members can't be given it; pick another role"
            )
        member = interaction.user
        if (
            isinstance(member, discord.Member)
            and not member.guild_permissions.manage_guild
            and role not in member.roles
        ):
            return (
                f"coordinator_role: you don't have @{name}, so you would lose these commands; "
                "take the role first, or ask someone with Manage Server"
            )
        return None

    @setup_command.autocomplete("timezone")
    async def timezone_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().replace(" ", "_").casefold()
        names = [z for z in _zone_names() if typed in z.casefold()]
        names.sort(key=lambda z: (not z.casefold().split("/")[-1].startswith(typed), z))
        return [app_commands.Choice(name=z, value=z) for z in names[:MAX_AUTOCOMPLETE]]


async def setup(bot: TandemBot) -> None:
    await bot.add_cog(Setup(bot))
