"""Discord-side helpers every cog shares: the one error path, private replies, the coordinator check."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.access import is_coordinator
from bot.db import describe_transient, is_transient
from bot.errors import NotCoordinator, UserFacingError, new_error_id

if TYPE_CHECKING:
    from bot.app import TandemBot

log = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (
    "Tandem can't reach its database just now; nothing was changed. Please try again in a minute."
)


class CoordinatorRequired(app_commands.CheckFailure):
    """Raised by the coordinator check; the error path shows NotCoordinator's message."""


class CheckError(app_commands.AppCommandError):
    """A check that failed on an exception (the database unreachable, a bug): discord.py hands
    only AppCommandErrors raised by checks to the tree's error path, so this carries the original."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


async def reply_privately(interaction: discord.Interaction, content: str, **kwargs: Any) -> None:
    """Answer the interaction ephemerally, whether or not it was already answered or deferred."""
    kwargs.setdefault("allowed_mentions", discord.AllowedMentions.none())
    if interaction.response.is_done():
        await interaction.followup.send(content, ephemeral=True, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=True, **kwargs)


def user_message_for(error: BaseException) -> str | None:
    """The message to show for an error the user can act on, or None for a bug of ours."""
    while isinstance(error, app_commands.CommandInvokeError | CheckError):
        error = error.original
    if isinstance(error, UserFacingError):
        return error.message
    if is_transient(error):
        return DATABASE_UNAVAILABLE
    if isinstance(error, CoordinatorRequired):
        return NotCoordinator().message
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works inside the programme's server, not in direct messages."
    if isinstance(error, app_commands.TransformerError):
        return f"“{error.value}” is not a valid {error.type.name.lower().replace('_', ' ')} here."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} seconds."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


async def report_error(interaction: discord.Interaction, error: BaseException, *, where: str) -> None:
    """The single error path for commands, buttons, selects and modals."""
    message = user_message_for(error)
    if message == DATABASE_UNAVAILABLE:
        # Not a bug: one line, no traceback, and nothing from the error's SQL or the database URL.
        log.warning(
            "%s (guild %s, user %s): the database is unavailable (%s)",
            where,
            interaction.guild_id,
            interaction.user.id if interaction.user else None,
            describe_transient(error),
        )
    elif message is None:
        error_id = new_error_id()
        original = getattr(error, "original", error)
        log.error(
            "Unexpected error %s in %s (guild %s, user %s)",
            error_id,
            where,
            interaction.guild_id,
            interaction.user.id if interaction.user else None,
            exc_info=(type(original), original, original.__traceback__),
        )
        message = (
            "Something went wrong on our side, and nothing was changed. If it happens again, "
            f"tell a coordinator and quote error id `{error_id}`."
        )
    try:
        await reply_privately(interaction, message)
    except discord.HTTPException:
        # The interaction may have expired (15 minutes) or been answered elsewhere; the log has it.
        log.warning("Could not deliver an error reply for %s", where, exc_info=True)


def describe_interaction(interaction: discord.Interaction) -> str:
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    custom_id = (interaction.data or {}).get("custom_id", "?")
    return f"component {custom_id}"


class TandemTree(app_commands.CommandTree["TandemBot"]):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error, where=describe_interaction(interaction))


class TandemView(discord.ui.View):
    """Base view: its errors take the same path as commands'."""

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report_error(interaction, error, where=describe_interaction(interaction))


class TandemModal(discord.ui.Modal):
    """Base modal: its errors take the same path as commands'."""

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report_error(interaction, error, where=f"modal {self.custom_id}")


async def caller_is_coordinator(interaction: discord.Interaction) -> bool:
    member = interaction.user
    if interaction.guild_id is None or not isinstance(member, discord.Member):
        return False
    bot: TandemBot = interaction.client  # type: ignore[assignment]
    programme = await bot.programmes.get(interaction.guild_id)
    return is_coordinator(
        role_ids=(role.id for role in member.roles),
        manage_guild=member.guild_permissions.manage_guild,
        coordinator_role_id=programme.coordinator_role_id,
    )


async def require_coordinator(interaction: discord.Interaction) -> bool:
    """The check behind every coordinator command, run inside the bot whatever Discord allowed."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    try:
        allowed = await caller_is_coordinator(interaction)  # reads the programme's coordinator role
    except Exception as error:
        raise CheckError(error) from error
    if not allowed:
        raise CoordinatorRequired()
    return True


def coordinator_only() -> Any:
    """Mark a command as a coordinator's: checked in the bot, hinted to Discord, listed by /help."""

    def decorate(func: Any) -> Any:
        func = app_commands.check(require_coordinator)(func)
        func = app_commands.default_permissions(manage_guild=True)(func)
        return app_commands.guild_only()(func)

    return decorate


class CoordinatorGroup(app_commands.Group):
    """A command group whose every subcommand is a coordinator's."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("guild_only", True)
        kwargs.setdefault("default_permissions", discord.Permissions(manage_guild=True))
        super().__init__(**kwargs)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await require_coordinator(interaction)


def is_coordinator_command(command: app_commands.Command[Any, ..., Any] | app_commands.Group) -> bool:
    node: Any = command
    while node is not None:
        if isinstance(node, CoordinatorGroup):
            return True
        if require_coordinator in getattr(node, "checks", ()):
            return True
        node = node.parent
    return False
