"""Serialise the emulator's state into Discord API v10 JSON payloads.

Every function returns plain dicts shaped like Discord's (snowflakes as strings, ISO 8601 UTC
timestamps, permission bit sets as strings), complete enough for discord.py 2.7 to build its
models without falling back on defaults it cannot have.
"""

from __future__ import annotations

from typing import Any

from . import permissions as perms
from .snowflake import iso, snowflake_time
from .state import (
    DM,
    EPHEMERAL,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    State,
    StoredAttachment,
    User,
)


def user(u: User) -> dict[str, Any]:
    return {
        "id": str(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": u.avatar,
        "bot": u.bot,
        "system": False,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "primary_guild": None,
    }


def client_user(u: User) -> dict[str, Any]:
    """The bot's own user, as ``GET /users/@me`` and READY return it."""
    data = user(u)
    data.update({"verified": True, "mfa_enabled": False, "locale": "en-US", "email": None, "bot": True})
    return data


def role(r: Role) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(r.id),
        "name": r.name,
        "permissions": str(r.permissions),
        "position": r.position,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
        "hoist": r.hoist,
        "icon": None,
        "unicode_emoji": None,
        "managed": r.managed,
        "mentionable": r.mentionable,
        "flags": 0,
    }
    if r.bot_id is not None:
        data["tags"] = {"bot_id": str(r.bot_id)}
    return data


def member(
    state: State, m: Member, *, with_user: bool = True, permissions: int | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "roles": [str(r) for r in m.roles],
        "joined_at": iso(m.joined_at),
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
        "avatar_decoration_data": None,
    }
    if with_user:
        data["user"] = user(state.users[m.user_id])
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def overwrite(o: Overwrite) -> dict[str, Any]:
    return {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)}


def channel(state: State, c: Channel, *, permissions: int | None = None) -> dict[str, Any]:
    """A channel, thread or DM channel object. ``permissions`` adds the field interactions carry."""
    if c.type == DM:
        data: dict[str, Any] = {
            "id": str(c.id),
            "type": DM,
            "last_message_id": _sf(c.last_message_id),
            "recipients": [user(state.users[r]) for r in c.recipients if r in state.users],
            "flags": 0,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data
    data = {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id),
        "name": c.name,
        "parent_id": _sf(c.parent_id),
        "nsfw": c.nsfw,
        "rate_limit_per_user": c.rate_limit_per_user,
        "last_message_id": _sf(c.last_message_id),
        "flags": c.flags,
    }
    if c.is_thread:
        data.update(
            {
                "owner_id": str(c.owner_id),
                "message_count": c.message_count,
                "total_message_sent": c.total_message_sent,
                "member_count": min(len(c.thread_members), 50),
                "thread_metadata": {
                    "archived": c.archived,
                    "auto_archive_duration": c.auto_archive_duration,
                    "archive_timestamp": iso(c.archive_timestamp or snowflake_time(c.id)),
                    "locked": c.locked,
                    "invitable": c.invitable,
                    "create_timestamp": iso(snowflake_time(c.id)),
                },
                "applied_tags": [],
            }
        )
    else:
        data.update(
            {
                "position": c.position,
                "permission_overwrites": [overwrite(o) for o in c.overwrites.values()],
                "topic": c.topic,
                "default_auto_archive_duration": 1440,
                "default_thread_rate_limit_per_user": 0,
            }
        )
        if c.type == 2:
            data.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def thread_member(
    state: State, thread: Channel, user_id: int, *, with_member: bool = False
) -> dict[str, Any]:
    joined = thread.thread_members.get(user_id) or snowflake_time(thread.id)
    data: dict[str, Any] = {
        "id": str(thread.id),
        "user_id": str(user_id),
        "join_timestamp": iso(joined),
        "flags": 0,
    }
    if with_member and thread.guild_id is not None:
        guild_member = state.guilds[thread.guild_id].members.get(user_id)
        if guild_member is not None:
            data["member"] = member(state, guild_member)
    return data


def attachment(a: StoredAttachment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(a.id),
        "filename": a.filename,
        "size": a.size,
        "url": a.url,
        "proxy_url": a.url,
        "content_type": a.content_type,
        "description": a.description,
    }
    if a.ephemeral:
        data["ephemeral"] = True
    return data


def message(state: State, m: Message, *, strip_content: bool = False) -> dict[str, Any]:
    """A message object. ``strip_content`` empties what the MESSAGE_CONTENT intent protects."""
    author = state.users[m.author_id]
    data: dict[str, Any] = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "author": user(author),
        "content": "" if strip_content else m.content,
        "timestamp": iso(m.timestamp),
        "edited_timestamp": iso(m.edited_timestamp),
        "tts": m.tts,
        "mention_everyone": m.mention_everyone,
        "mentions": [user(state.users[u]) for u in m.mentions if u in state.users],
        "mention_roles": [str(r) for r in m.mention_roles],
        "attachments": [] if strip_content else [attachment(a) for a in m.attachments],
        "embeds": [] if strip_content else m.embeds,
        "components": [] if strip_content else m.components,
        "reactions": [
            {
                "emoji": {"id": None, "name": emoji},
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "me": state_bot_reacted(state, users),
                "me_burst": False,
                "burst_colors": [],
            }
            for emoji, users in m.reactions.items()
            if users
        ],
        "pinned": m.pinned,
        "type": m.type,
        "flags": m.flags,
    }
    if m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
    if m.nonce is not None:
        data["nonce"] = m.nonce
    if m.webhook_id is not None:
        data["webhook_id"] = str(m.webhook_id)
    if m.application_id is not None:
        data["application_id"] = str(m.application_id)
    if m.interaction_metadata is not None:
        data["interaction_metadata"] = m.interaction_metadata
    if m.message_reference is not None:
        data["message_reference"] = m.message_reference
    channel_obj = state.channels.get(m.channel_id)
    if channel_obj is not None and channel_obj.is_thread:
        data["position"] = max(channel_obj.total_message_sent - 1, 0)
    return data


def state_bot_reacted(state: State, users: set[int]) -> bool:
    bot_ids = {u.id for u in state.users.values() if u.bot}
    return bool(users & bot_ids)


def guild(state: State, g: Guild) -> dict[str, Any]:
    """The guild object ``GET /guilds/{id}`` returns (no channels, no members)."""
    system_channel = next((c.id for c in state.guild_channels(g.id) if c.type == 0), None)
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "icon_hash": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(g.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [role(r) for r in sorted(g.roles.values(), key=lambda r: r.position)],
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": _sf(system_channel),
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "max_presences": None,
        "max_members": 500000,
        "vanity_url_code": None,
        "description": g.description,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": g.preferred_locale,
        "public_updates_channel_id": None,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": False,
        "safety_alerts_channel_id": None,
        "incidents_data": None,
    }


def guild_create(state: State, g: Guild, *, viewer_id: int, members: list[Member]) -> dict[str, Any]:
    """The GUILD_CREATE payload for the bot ``viewer_id``, with the given ``members``."""
    data = guild(state, g)
    viewer = g.members.get(viewer_id)
    data.update(
        {
            "joined_at": iso(viewer.joined_at if viewer else snowflake_time(g.id)),
            "large": len(g.members) > 250,
            "unavailable": False,
            "member_count": len(g.members),
            "voice_states": [],
            "members": [member(state, m) for m in members],
            "channels": [
                {k: v for k, v in channel(state, c).items() if k != "guild_id"}
                for c in state.guild_channels(g.id)
            ],
            "threads": [
                channel(state, t)
                for t in state.threads(g.id, active=True)
                if perms.can_view(state, viewer_id, t.id)
            ],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
        }
    )
    return data


def ephemeral_flags(flags: int) -> bool:
    return bool(flags & EPHEMERAL)


def _sf(value: int | None) -> str | None:
    return None if value is None else str(value)
