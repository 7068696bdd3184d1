"""The emulator's world: users, guilds, roles, members, channels, threads, messages, commands.

Plain dataclasses, readable by tests (``emu.state`` or the driver's reading methods). Ids are
snowflakes from one :class:`~tests.emulator.snowflake.SnowflakeGenerator`, so they increase in
creation order. Lookups that the REST layer needs raise :class:`~tests.emulator.errors.APIError`
with Discord's codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .snowflake import SnowflakeGenerator, snowflake_time, utcnow

# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types)
GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_FORUM = 15
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})

# Message flags
EPHEMERAL = 1 << 6
LOADING = 1 << 7
IS_COMPONENTS_V2 = 1 << 15


@dataclass(eq=False)
class User:
    """A Discord user. ``dms_open=False`` makes DMs from the bot fail with 50007."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None
    dms_open: bool = True
    avatar: str | None = None

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass(eq=False)
class Role:
    """A guild role. The @everyone role has the guild's id and position 0."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass(eq=False)
class Member:
    """A user's membership of a guild: role ids (without @everyone), join time, nickname."""

    user_id: int
    guild_id: int
    roles: list[int] = field(default_factory=list)
    joined_at: dt.datetime = field(default_factory=utcnow)
    nick: str | None = None

    @property
    def id(self) -> int:
        return self.user_id

    @property
    def mention(self) -> str:
        return f"<@{self.user_id}>"


@dataclass
class Overwrite:
    """A channel permission overwrite; ``type`` is 0 for a role, 1 for a member."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0


@dataclass(eq=False)
class Channel:
    """A guild channel, a category, a thread or a DM channel (by ``type``).

    ``overwrites`` maps the target id (role or user) to its :class:`Overwrite`. Thread-only fields:
    ``owner_id``, ``archived``, ``locked``, ``invitable``, ``thread_members`` (user id -> join time).
    DM-only: ``recipients`` (the user's id; the bot is implied).
    """

    id: int
    type: int
    guild_id: int | None
    name: str | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    last_message_id: int | None = None
    recipients: list[int] = field(default_factory=list)
    # threads
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 10080
    archive_timestamp: dt.datetime | None = None
    thread_members: dict[int, dt.datetime] = field(default_factory=dict)
    message_count: int = 0
    total_message_sent: int = 0
    flags: int = 0

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def is_category(self) -> bool:
        return self.type == GUILD_CATEGORY

    @property
    def is_dm(self) -> bool:
        return self.type == DM

    @property
    def created_at(self) -> dt.datetime:
        return snowflake_time(self.id)

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"


@dataclass(eq=False)
class StoredAttachment:
    """A file attached to a message (by the bot or by a test). ``data`` holds the exact bytes."""

    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None
    url: str = ""
    ephemeral: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    def text(self, encoding: str = "utf-8") -> str:
        """The file decoded as text (e.g. a CSV the bot sent)."""
        return self.data.decode(encoding)


@dataclass(eq=False)
class Message:
    """A message as stored: what the bot (or a member) sent, with Discord's derived fields.

    ``allowed_mentions`` is what the sender passed; ``mentions``/``mention_roles``/
    ``mention_everyone`` are who was actually pinged after applying it. ``ephemeral_for`` is the
    user id an ephemeral message is visible to (None for normal messages).
    """

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    flags: int = 0
    type: int = 0
    tts: bool = False
    timestamp: dt.datetime = field(default_factory=utcnow)
    edited_timestamp: dt.datetime | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    nonce: str | int | None = None
    ephemeral_for: int | None = None
    reactions: dict[str, set[int]] = field(default_factory=dict)
    pinned: bool = False
    pinned_at: dt.datetime | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    def all_components(self) -> Iterator[dict[str, Any]]:
        """Every component in the message, depth first (rows, containers, sections, accessories)."""
        yield from walk_components(self.components)

    def component(self, custom_id: str) -> dict[str, Any] | None:
        """The interactive component with ``custom_id``, or None."""
        for component in self.all_components():
            if component.get("custom_id") == custom_id:
                return component
        return None

    @property
    def embed(self) -> dict[str, Any] | None:
        """The first embed, or None."""
        return self.embeds[0] if self.embeds else None


def walk_components(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield every component in a component tree, depth first."""
    for component in components:
        yield component
        children = list(component.get("components") or [])
        if component.get("component"):
            children.append(component["component"])
        if component.get("accessory"):
            children.append(component["accessory"])
        yield from walk_components(children)


@dataclass(eq=False)
class Guild:
    """A guild. Roles and members live here; channels are in :attr:`State.channels`."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    description: str | None = None
    preferred_locale: str = "en-US"

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]


@dataclass(eq=False)
class Command:
    """An application command registered by the bot (the payload it sent, plus ids)."""

    id: int
    application_id: int
    guild_id: int | None
    payload: dict[str, Any]
    version: int

    @property
    def name(self) -> str:
        return self.payload["name"]

    @property
    def type(self) -> int:
        return self.payload.get("type", 1)


class State:
    """All emulated data, keyed by snowflake. Shared by the REST, gateway and driver layers."""

    def __init__(self) -> None:
        self.snowflakes = SnowflakeGenerator()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, dict[int, Message]] = {}
        self.attachments: dict[int, StoredAttachment] = {}
        self.dm_channels: dict[int, int] = {}
        self.global_commands: dict[int, Command] = {}
        self.guild_commands: dict[int, dict[int, Command]] = {}

    def new_id(self) -> int:
        return self.snowflakes.next()

    # -- lookups raising Discord errors -------------------------------------------------------

    def guild(self, guild_id: int) -> Guild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise errors.unknown_guild()
        return guild

    def channel(self, channel_id: int) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise errors.unknown_channel()
        return channel

    def user(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise errors.unknown_user()
        return user

    def member(self, guild_id: int, user_id: int) -> Member:
        member = self.guild(guild_id).members.get(user_id)
        if member is None:
            raise errors.unknown_member()
        return member

    def role(self, guild_id: int, role_id: int) -> Role:
        role = self.guild(guild_id).roles.get(role_id)
        if role is None:
            raise errors.unknown_role()
        return role

    def message(self, channel_id: int, message_id: int) -> Message:
        message = self.messages.get(channel_id, {}).get(message_id)
        if message is None or message.deleted or message.ephemeral_for is not None:
            # ephemeral messages exist only for the interaction webhook routes
            raise errors.unknown_message()
        return message

    # -- queries --------------------------------------------------------------------------------

    def guild_channels(self, guild_id: int, *, threads: bool = False) -> list[Channel]:
        """Channels of a guild (not threads unless ``threads``), sorted by position then id."""
        found = [c for c in self.channels.values() if c.guild_id == guild_id and (threads or not c.is_thread)]
        return sorted(found, key=lambda c: (c.position, c.id))

    def threads(
        self, guild_id: int, *, parent_id: int | None = None, active: bool | None = None
    ) -> list[Channel]:
        """Threads of a guild, optionally of one parent, optionally only (in)active ones."""
        return [
            c
            for c in self.channels.values()
            if c.guild_id == guild_id
            and c.is_thread
            and (parent_id is None or c.parent_id == parent_id)
            and (active is None or c.archived != active)
        ]

    def children(self, category_id: int) -> list[Channel]:
        return [c for c in self.channels.values() if c.parent_id == category_id and not c.is_thread]

    def channel_messages(self, channel_id: int, *, include_ephemeral: bool = False) -> list[Message]:
        """Messages of a channel in order, without deleted ones (and ephemeral ones by default)."""
        return [
            m
            for m in self.messages.get(channel_id, {}).values()
            if not m.deleted and (include_ephemeral or m.ephemeral_for is None)
        ]

    def add_message(self, message: Message) -> Message:
        self.messages.setdefault(message.channel_id, {})[message.id] = message
        channel = self.channels.get(message.channel_id)
        if channel is not None and message.ephemeral_for is None:
            channel.last_message_id = message.id
            if channel.is_thread:
                channel.message_count += 1
                channel.total_message_sent += 1
        return message

    def find_message(self, message_id: int) -> Message | None:
        for bucket in self.messages.values():
            message = bucket.get(message_id)
            if message is not None:
                return message
        return None

    def display_name(self, guild_id: int | None, user_id: int) -> str:
        user = self.users.get(user_id)
        if guild_id is not None:
            member = self.guilds[guild_id].members.get(user_id) if guild_id in self.guilds else None
            if member is not None and member.nick:
                return member.nick
        if user is None:
            return str(user_id)
        return user.global_name or user.username

    def highest_role_position(self, guild_id: int, user_id: int) -> int:
        guild = self.guild(guild_id)
        member = guild.members.get(user_id)
        if member is None:
            return -1
        return max((guild.roles[r].position for r in member.roles if r in guild.roles), default=0)

    def commands_for(self, guild_id: int | None) -> list[Command]:
        """Guild commands of ``guild_id`` (if any) followed by the global ones."""
        found = list(self.guild_commands.get(guild_id, {}).values()) if guild_id is not None else []
        return found + list(self.global_commands.values())
