"""Discord permission bits and the permission computation, as Discord documents it.

The computation (https://discord.com/developers/docs/topics/permissions):

1. Base permissions: the guild owner has every permission; otherwise the @everyone role's
   permissions OR-ed with those of each of the member's roles; ADMINISTRATOR grants everything.
2. Channel overwrites, in this order: the @everyone overwrite (deny, then allow), all of the
   member's role overwrites combined (deny the union of denies, then allow the union of allows),
   then the member's own overwrite (deny, then allow). ADMINISTRATOR skips overwrites.
3. Implicit rules: without VIEW_CHANNEL a member has no permission in the channel; without
   SEND_MESSAGES (SEND_MESSAGES_IN_THREADS in a thread) they cannot mention @everyone, send TTS,
   attach files or embed links either.
4. Threads have no overwrites: they take the parent channel's permissions. A private thread
   (type 12) is visible only to its thread members and to those with MANAGE_THREADS on the parent,
   and in both cases only if they can view the parent.

The functions here are pure over a :class:`~tests.emulator.state.State`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import Channel, Guild, State

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
PRIORITY_SPEAKER = 1 << 8
STREAM = 1 << 9
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
VIEW_GUILD_INSIGHTS = 1 << 19
CONNECT = 1 << 20
SPEAK = 1 << 21
MUTE_MEMBERS = 1 << 22
DEAFEN_MEMBERS = 1 << 23
MOVE_MEMBERS = 1 << 24
USE_VAD = 1 << 25
CHANGE_NICKNAME = 1 << 26
MANAGE_NICKNAMES = 1 << 27
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
MANAGE_GUILD_EXPRESSIONS = 1 << 30
USE_APPLICATION_COMMANDS = 1 << 31
REQUEST_TO_SPEAK = 1 << 32
MANAGE_EVENTS = 1 << 33
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
USE_EXTERNAL_STICKERS = 1 << 37
SEND_MESSAGES_IN_THREADS = 1 << 38
USE_EMBEDDED_ACTIVITIES = 1 << 39
MODERATE_MEMBERS = 1 << 40
VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41
USE_SOUNDBOARD = 1 << 42
CREATE_GUILD_EXPRESSIONS = 1 << 43
CREATE_EVENTS = 1 << 44
USE_EXTERNAL_SOUNDS = 1 << 45
SEND_VOICE_MESSAGES = 1 << 46
SEND_POLLS = 1 << 49
USE_EXTERNAL_APPS = 1 << 50
PIN_MESSAGES = 1 << 51

ALL = 0
for _name, _value in list(globals().items()):
    if _name.isupper() and isinstance(_value, int) and _name != "ALL":
        ALL |= _value
del _name, _value

NONE = 0

#: What @everyone gets in a new guild (roughly Discord's default role permissions).
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | USE_VAD
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | REQUEST_TO_SPEAK
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | USE_EXTERNAL_STICKERS
    | SEND_MESSAGES_IN_THREADS
    | USE_EMBEDDED_ACTIVITIES
    | SEND_VOICE_MESSAGES
    | SEND_POLLS
    | USE_EXTERNAL_APPS
)

#: What the bot's managed role gets by default: enough to run private spaces, not ADMINISTRATOR.
DEFAULT_BOT = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | MANAGE_CHANNELS
    | MANAGE_ROLES
    | MANAGE_THREADS
    | MANAGE_MESSAGES
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | USE_APPLICATION_COMMANDS
)

#: Permissions a recipient has in a DM channel.
DM_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_TTS_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | MENTION_EVERYONE
)

_SEND_DEPENDENT = MENTION_EVERYONE | SEND_TTS_MESSAGES | ATTACH_FILES | EMBED_LINKS


def has(permissions: int, flags: int) -> bool:
    """True when every bit of ``flags`` is set in ``permissions``."""
    return permissions & flags == flags


def names(permissions: int) -> list[str]:
    """The names of the bits set in ``permissions`` (for readable assertion messages)."""
    return [
        name
        for name, value in globals().items()
        if name.isupper()
        and isinstance(value, int)
        and value
        and value & (value - 1) == 0
        and permissions & value
    ]


def base_permissions(guild: Guild, user_id: int) -> int:
    """Guild-level permissions of a member (step 1); 0 when the user is not a member."""
    member = guild.members.get(user_id)
    if member is None:
        return NONE
    if user_id == guild.owner_id:
        return ALL
    everyone = guild.roles.get(guild.id)
    permissions = everyone.permissions if everyone else NONE
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            permissions |= role.permissions
    if permissions & ADMINISTRATOR:
        return ALL
    return permissions


def apply_overwrites(base: int, guild: Guild, channel: Channel, user_id: int) -> int:
    """Apply a channel's overwrites to ``base`` permissions (step 2), without implicit rules."""
    if base & ADMINISTRATOR:
        return ALL
    permissions = base
    overwrites = channel.overwrites
    everyone = overwrites.get(guild.id)
    if everyone is not None:
        permissions &= ~everyone.deny
        permissions |= everyone.allow
    member = guild.members.get(user_id)
    role_ids = member.roles if member else []
    allow = deny = NONE
    for role_id in role_ids:
        overwrite = overwrites.get(role_id)
        if overwrite is not None and overwrite.type == 0:
            allow |= overwrite.allow
            deny |= overwrite.deny
    permissions &= ~deny
    permissions |= allow
    own = overwrites.get(user_id)
    if own is not None and own.type == 1:
        permissions &= ~own.deny
        permissions |= own.allow
    return permissions


def _implicit(permissions: int, *, thread: bool) -> int:
    if permissions == ALL:
        return permissions
    if not permissions & VIEW_CHANNEL:
        return NONE
    send = SEND_MESSAGES_IN_THREADS if thread else SEND_MESSAGES
    if not permissions & send:
        permissions &= ~_SEND_DEPENDENT
    return permissions


def permissions_for(state: State, user_id: int, channel_id: int) -> int:
    """Effective permissions of ``user_id`` in ``channel_id`` (a guild channel, thread or DM).

    Returns 0 for unknown channels, users who are not members of the guild, DMs the user is not a
    recipient of, and private threads the user may not see.
    """
    channel = state.channels.get(channel_id)
    if channel is None:
        return NONE
    if channel.guild_id is None:
        return DM_PERMISSIONS if user_id in channel.recipients else NONE
    guild = state.guilds[channel.guild_id]
    if user_id not in guild.members:
        return NONE
    if channel.is_thread:
        parent = state.channels.get(channel.parent_id or 0)
        if parent is None:
            return NONE
        permissions = _implicit(
            apply_overwrites(base_permissions(guild, user_id), guild, parent, user_id), thread=True
        )
        if channel.type == 12 and user_id not in channel.thread_members and not permissions & MANAGE_THREADS:
            return NONE
        return permissions
    permissions = apply_overwrites(base_permissions(guild, user_id), guild, channel, user_id)
    return _implicit(permissions, thread=False)


def can_view(state: State, user_id: int, channel_id: int) -> bool:
    """Whether ``user_id`` can see ``channel_id`` (has VIEW_CHANNEL after every rule above)."""
    return bool(permissions_for(state, user_id, channel_id) & VIEW_CHANNEL)
