"""The one adapter that changes Discord for partner spaces: channels, threads, their permissions,
the messages posted in them. bot/rounds.py decides what should happen; this module makes it so.

Visibility is the programme's privacy promise:
- a private channel denies VIEW_CHANNEL to @everyone, allows the partners to view, send, read the
  history, attach files, embed links and react, allows the bot to view, send and manage the
  channel, and lets the coordinator role in only when the programme allows it;
- a private thread (type 12, not invitable) lives in a parent channel where everyone may view and
  send in threads but nobody may post, create threads or manage them (which would reveal every
  private thread), except the bot, and the coordinator role when the programme allows it.
Discord errors become `SpaceError`s: permanent (missing access, unknown channel, a limit) or
transient (server errors after discord.py's own retries). discord.py waits on 429s by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import discord

from bot.intro import SpaceMessage
from bot.rounds import GuildCapacity, SpaceError, SpaceSpec
from bot.space_plan import CATEGORY_LIMIT, CHANNEL, THREAD

if TYPE_CHECKING:
    from bot.app import TandemBot


log = logging.getLogger(__name__)
T = TypeVar("T")


async def discord_call(action: Callable[[], Awaitable[T]]) -> T:
    """Run a Discord call for a space; its failure becomes a `SpaceError` saying what went wrong."""
    try:
        return await action()
    except discord.Forbidden as error:
        raise SpaceError(
            f"Discord refused: missing permissions ({error.text or error.status})", permanent=True
        ) from None
    except discord.NotFound as error:
        raise SpaceError(
            f"not found on Discord ({error.text or error.status})", permanent=True, gone=True
        ) from None
    except discord.HTTPException as error:
        permanent = 400 <= error.status < 500
        raise SpaceError(
            f"Discord answered {error.status}: {error.text or 'no details'}", permanent=permanent
        ) from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise SpaceError(f"network error: {error!r}", permanent=False) from None


PARTNER = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    read_message_history=True,
    attach_files=True,
    embed_links=True,
    add_reactions=True,
)
PARTNER_CLOSED_DENY = discord.Permissions(
    send_messages=True,
    send_messages_in_threads=True,
    add_reactions=True,
    create_public_threads=True,
    create_private_threads=True,
)
BOT = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    read_message_history=True,
    embed_links=True,
    attach_files=True,
    manage_channels=True,
)
BOT_IN_PARENT = BOT | discord.Permissions(create_private_threads=True, manage_threads=True)
COORDINATOR = discord.Permissions(view_channel=True, read_message_history=True, send_messages=True)
PARENT_EVERYONE_ALLOW = discord.Permissions(
    view_channel=True, read_message_history=True, send_messages_in_threads=True
)
PARENT_EVERYONE_DENY = discord.Permissions(
    send_messages=True, create_public_threads=True, create_private_threads=True, manage_threads=True
)

NEEDED = {
    CHANNEL: BOT | PARTNER | discord.Permissions(manage_roles=True),
    THREAD: BOT_IN_PARENT | PARTNER | discord.Permissions(manage_roles=True),
}
NEEDED_IN_PARENT = discord.Permissions(
    view_channel=True,
    send_messages_in_threads=True,
    create_private_threads=True,
    manage_threads=True,
    read_message_history=True,
)
ARCHIVE_AFTER_MINUTES = 10080  # a week, Discord's longest


def permission_names(permissions: discord.Permissions) -> list[str]:
    return [name.replace("_", " ").title() for name, value in permissions if value]


def _overwrite(
    allow: discord.Permissions, deny: discord.Permissions | None = None
) -> discord.PermissionOverwrite:
    return discord.PermissionOverwrite.from_pair(allow, deny or discord.Permissions.none())


class DiscordSpaces:
    """`bot.rounds.SpaceAdapter` on the real discord.py client."""

    def __init__(self, bot: TandemBot) -> None:
        self.bot = bot

    # -- lookups ------------------------------------------------------------------------------

    def _guild(self, guild_id: int) -> discord.Guild:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            raise SpaceError("the bot is not in that server", permanent=True)
        return guild

    async def _channel(self, channel_id: int) -> Any:
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            channel = await self._call(lambda: self.bot.fetch_channel(channel_id))
        return channel

    async def _call(self, action: Callable[[], Awaitable[T]]) -> T:
        return await discord_call(action)

    # -- checks -------------------------------------------------------------------------------

    async def capacity(self, guild_id: int) -> GuildCapacity:
        guild = self._guild(guild_id)
        return GuildCapacity(channels=len(guild.channels), active_threads=len(guild.threads))

    async def missing_permissions(self, guild_id: int, kind: str, parent_id: int | None) -> list[str]:
        guild = self._guild(guild_id)
        have = guild.me.guild_permissions
        if have.administrator:
            return []
        missing = discord.Permissions(NEEDED[kind].value & ~have.value)
        names = permission_names(missing)
        if kind == THREAD and parent_id is not None:
            parent = guild.get_channel(parent_id)
            if not isinstance(parent, discord.TextChannel):
                names.append(f"a text channel to hold the threads (channel {parent_id} is gone)")
            else:
                inside = parent.permissions_for(guild.me)
                lacking = discord.Permissions(NEEDED_IN_PARENT.value & ~inside.value)
                names += [f"{name} in #{parent.name}" for name in permission_names(lacking)]
        return names

    # -- containers ---------------------------------------------------------------------------

    async def ensure_category(self, guild_id: int, name: str, known_id: int | None) -> int:
        guild = self._guild(guild_id)
        if known_id is not None and isinstance(guild.get_channel(known_id), discord.CategoryChannel):
            return known_id
        for category in guild.categories:
            if category.name == name:
                return category.id
        overwrites: dict[Any, discord.PermissionOverwrite] = {
            guild.default_role: _overwrite(
                discord.Permissions.none(), discord.Permissions(view_channel=True)
            ),
            guild.me: _overwrite(BOT),
        }
        category = await self._call(
            lambda: guild.create_category(name, overwrites=overwrites, reason="Tandem: partner spaces")
        )
        return category.id

    async def free_category_slots(self, guild_id: int, category_id: int) -> int | None:
        category = self._guild(guild_id).get_channel(category_id)
        if not isinstance(category, discord.CategoryChannel):
            return None
        return max(CATEGORY_LIMIT - len(category.channels), 0)

    async def ensure_parent(
        self,
        guild_id: int,
        name: str,
        marker: str,
        known_id: int | None,
        coordinator_role_id: int | None,
        coordinators_see: bool,
    ) -> int:
        guild = self._guild(guild_id)
        if known_id is not None and isinstance(guild.get_channel(known_id), discord.TextChannel):
            return known_id
        for channel in guild.text_channels:
            if channel.topic == marker:
                return channel.id
        overwrites: dict[Any, discord.PermissionOverwrite] = {
            guild.default_role: _overwrite(PARENT_EVERYONE_ALLOW, PARENT_EVERYONE_DENY),
            guild.me: _overwrite(BOT_IN_PARENT),
        }
        role = guild.get_role(coordinator_role_id) if coordinator_role_id else None
        if role is not None:
            manage = discord.Permissions(manage_threads=True)
            overwrites[role] = (
                _overwrite(manage) if coordinators_see else _overwrite(discord.Permissions.none(), manage)
            )
        channel = await self._call(
            lambda: guild.create_text_channel(
                name, topic=marker, overwrites=overwrites, reason="Tandem: partner spaces"
            )
        )
        return channel.id

    # -- spaces -------------------------------------------------------------------------------

    def _channel_overwrites(
        self, guild: discord.Guild, spec: SpaceSpec, *, closed: bool = False
    ) -> dict[Any, discord.PermissionOverwrite]:
        overwrites: dict[Any, discord.PermissionOverwrite] = {
            guild.default_role: _overwrite(
                discord.Permissions.none(), discord.Permissions(view_channel=True)
            ),
            guild.me: _overwrite(BOT),
        }
        partner = (
            _overwrite(discord.Permissions(view_channel=True, read_message_history=True), PARTNER_CLOSED_DENY)
            if closed
            else _overwrite(PARTNER)
        )
        for member_id in spec.member_ids:
            overwrites[discord.Object(id=member_id, type=discord.Member)] = partner
        role = guild.get_role(spec.coordinator_role_id) if spec.coordinator_role_id else None
        if role is not None and spec.coordinators_see:
            overwrites[role] = _overwrite(COORDINATOR)
        return overwrites

    async def find_space(self, spec: SpaceSpec) -> int | None:
        guild = self._guild(spec.guild_id)
        if spec.kind == CHANNEL:
            for channel in guild.text_channels:
                if channel.topic == spec.marker:
                    return channel.id
            return None
        threads = await self._call(guild.active_threads)
        for thread in [*threads, *guild.threads]:
            if (
                thread.parent_id == spec.container_id
                and thread.name == spec.name
                and thread.owner_id == guild.me.id
            ):
                return thread.id
        return None

    async def create_space(self, spec: SpaceSpec) -> int:
        guild = self._guild(spec.guild_id)
        if spec.kind == CHANNEL:
            category = guild.get_channel(spec.container_id) if spec.container_id else None
            if spec.container_id and not isinstance(category, discord.CategoryChannel):
                raise SpaceError("the round's category is gone", permanent=True)
            channel = await self._call(
                lambda: guild.create_text_channel(
                    spec.name,
                    category=category,  # type: ignore[arg-type]
                    topic=spec.marker,
                    overwrites=self._channel_overwrites(guild, spec),
                    reason="Tandem: partner space",
                )
            )
            return channel.id
        parent = await self._channel(spec.container_id or 0)
        if not isinstance(parent, discord.TextChannel):
            raise SpaceError("the channel holding the round's threads is gone", permanent=True)
        thread = await self._call(
            lambda: parent.create_thread(
                name=spec.name,
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=ARCHIVE_AFTER_MINUTES,
                reason="Tandem: partner space",
            )
        )
        return thread.id

    async def admit(self, spec: SpaceSpec, space_id: int) -> None:
        """Make sure every partner is in the space (threads take members one by one)."""
        if spec.kind == CHANNEL:
            return
        thread = await self._channel(space_id)
        for member_id in spec.member_ids:
            await self._call(lambda m=member_id: thread.add_user(discord.Object(id=m)))

    async def set_members(self, spec: SpaceSpec, space_id: int, removed: Sequence[int] = ()) -> None:
        """Give the space exactly `spec.member_ids` as partners; `removed` lose their access."""
        space = await self._channel(space_id)
        if spec.kind == CHANNEL:
            guild = self._guild(spec.guild_id)
            await self._call(lambda: space.edit(overwrites=self._channel_overwrites(guild, spec)))
            return
        for member_id in removed:
            try:
                await self._call(lambda m=member_id: space.remove_user(discord.Object(id=m)))
            except SpaceError as error:  # already gone (left the server), which is what we want
                log.info("Could not remove %s from thread %s: %s", member_id, space_id, error.message)
        for member_id in spec.member_ids:
            await self._call(lambda m=member_id: space.add_user(discord.Object(id=m)))

    async def close_space(self, spec: SpaceSpec, space_id: int) -> None:
        space = await self._channel(space_id)
        if spec.kind == CHANNEL:
            guild = self._guild(spec.guild_id)
            await self._call(
                lambda: space.edit(overwrites=self._channel_overwrites(guild, spec, closed=True))
            )
        else:
            await self._call(lambda: space.edit(archived=True, locked=True))

    async def delete_channel(self, channel_id: int) -> None:
        try:
            channel = await self._channel(channel_id)
            await self._call(lambda: channel.delete(reason="Tandem: the round's retention period is over"))
        except SpaceError as error:
            if "not found" not in error.message:
                raise

    # -- messages -----------------------------------------------------------------------------

    async def find_message(self, space_id: int, marker: str) -> int | None:
        space = await self._channel(space_id)
        me = self.bot.user.id if self.bot.user else 0

        async def scan() -> int | None:
            async for message in space.history(limit=50):
                if message.author.id != me:
                    continue
                footers = [embed.footer.text or "" for embed in message.embeds]
                if marker in message.content or any(marker in footer for footer in footers):
                    return message.id
            return None

        return await self._call(scan)

    async def post(self, space_id: int, message: SpaceMessage) -> int:
        space = await self._channel(space_id)
        embed = None
        if message.title or message.description or message.fields:
            embed = discord.Embed(
                title=message.title or None,
                description=message.description or None,
                colour=discord.Colour.teal(),
            )
            for name, value in message.fields:
                embed.add_field(name=name, value=value, inline=False)
            if message.footer:
                embed.set_footer(text=message.footer)
        content = message.content
        if message.marker and embed is None and message.marker not in content:
            content = f"{content}\n-# {message.marker}"
        mentions = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(id=i) for i in message.mention_ids]
        )
        sent = await self._call(lambda: space.send(content[:2000], embed=embed, allowed_mentions=mentions))
        return sent.id

    # -- round-wide discussion threads (bot/topic_posts.py) -----------------------------------

    async def open_discussion(self, channel_id: int, message: SpaceMessage, name: str) -> int:
        """Post a topic in the programme's discussion channel and open a public thread on it.

        Idempotent: a message already carrying `message.marker` is reused, and so is its thread (a
        thread opened on a message has the message's id)."""
        channel = await self._channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise SpaceError("the discussion channel is gone or is not a text channel", permanent=True)
        existing = await self.find_message(channel_id, message.marker) if message.marker else None
        if existing is not None:
            if channel.guild.get_thread(existing) is not None:
                return existing
            target = channel.get_partial_message(existing)
        else:
            target = channel.get_partial_message(await self.post(channel_id, message))
        thread = await self._call(lambda: target.create_thread(name=name, reason="Tandem: topic discussion"))
        return thread.id
