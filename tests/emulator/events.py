"""Which gateway events Discord would send for a change, to whom, and with what payload.

Each method builds the event payload and hands it to :meth:`Gateway.dispatch` with the intent the
event needs and a visibility check for the bot (a bot only gets message events for channels it can
see, and private-thread events only when it is a member or has MANAGE_THREADS). Messages lose their
content, embeds, attachments and components when the session lacks the MESSAGE_CONTENT intent,
unless they are DMs, mention the bot, or are the bot's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import payloads
from . import permissions as perms
from .gateway import (
    DIRECT_MESSAGES,
    GUILD_MEMBERS,
    GUILD_MESSAGES,
    GUILD_PRESENCES,
    GUILDS,
    MESSAGE_CONTENT,
    GatewaySession,
)
from .state import Channel, Guild, Member, Message, Role

if TYPE_CHECKING:
    from .emulator import Emulator

CHUNK_SIZE = 1000


class Events:
    """Emit the gateway events that follow from state changes (used by REST and the driver)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    @property
    def _state(self):
        return self.emu.state

    @property
    def _bot_id(self) -> int:
        return self.emu.bot_user_id

    def _sees(self, channel_id: int) -> bool:
        return perms.can_view(self._state, self._bot_id, channel_id)

    def _dispatch(self, event: str, data: dict[str, Any], **kwargs: Any) -> int:
        return self.emu.gateway.dispatch(event, data, **kwargs)

    # -- connection -------------------------------------------------------------------------------

    def bot_guilds(self) -> list[Guild]:
        return [g for g in self._state.guilds.values() if self._bot_id in g.members]

    def ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        state = self._state
        return {
            "v": 10,
            "user": payloads.client_user(state.users[self._bot_id]),
            "guilds": [
                {"id": str(g.id), "unavailable": True} for g in self.bot_guilds() if session.holds(g.id)
            ],
            "session_id": session.session_id,
            "shard": [session.shard_id, session.shard_count],
            "session_type": "normal",
            "resume_gateway_url": self.emu.resume_gateway_url,
            "application": {"id": str(self.emu.application_id), "flags": self.emu.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["emulated"],
            "auth": {},
            "_trace": ['["tandem-discord-emulator"]'],
        }

    def guild_create_payload(self, guild: Guild, session: GatewaySession) -> dict[str, Any]:
        # Like Discord: without GUILD_PRESENCES only the bot itself is in ``members``; the rest
        # comes from REQUEST_GUILD_MEMBERS (discord.py chunks at start-up with the members intent).
        if session.has_intent(GUILD_PRESENCES) or self.emu.full_member_list:
            members = list(guild.members.values())
        else:
            members = [m for m in guild.members.values() if m.user_id == self._bot_id]
        return payloads.guild_create(self._state, guild, viewer_id=self._bot_id, members=members)

    def member_chunks(self, session: GatewaySession, data: dict[str, Any]) -> list[dict[str, Any]]:
        guild = self._state.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return []
        query = (data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        user_ids = [int(u) for u in data.get("user_ids") or []]
        not_found: list[str] = []
        if user_ids:
            members = [guild.members[u] for u in user_ids if u in guild.members]
            not_found = [str(u) for u in user_ids if u not in guild.members]
        elif not session.has_intent(GUILD_MEMBERS) and not query:
            members = []
        else:
            members = [
                m
                for m in guild.members.values()
                if self._state.users[m.user_id].username.lower().startswith(query)
                or (m.nick or "").lower().startswith(query)
            ]
            if limit:
                members = members[:limit]
        chunks = [members[i : i + CHUNK_SIZE] for i in range(0, len(members), CHUNK_SIZE)] or [[]]
        result = []
        for index, chunk in enumerate(chunks):
            payload: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [payloads.member(self._state, m) for m in chunk],
                "chunk_index": index,
                "chunk_count": len(chunks),
            }
            if not_found and index == 0:
                payload["not_found"] = not_found
            if data.get("nonce"):
                payload["nonce"] = data["nonce"]
            result.append(payload)
        return result

    # -- guilds, roles, members --------------------------------------------------------------------

    def guild_create(self, guild: Guild) -> None:
        for session in list(self.emu.gateway.sessions.values()):
            if not session.invalidated and session.has_intent(GUILDS) and session.holds(guild.id):
                self.emu.gateway._emit(session, "GUILD_CREATE", self.guild_create_payload(guild, session))

    def guild_delete(self, guild_id: int) -> None:
        self._dispatch("GUILD_DELETE", {"id": str(guild_id), "unavailable": False}, intent=GUILDS)

    def role_create(self, role: Role) -> None:
        data = {"guild_id": str(role.guild_id), "role": payloads.role(role)}
        self._dispatch("GUILD_ROLE_CREATE", data, intent=GUILDS)

    def role_update(self, role: Role) -> None:
        data = {"guild_id": str(role.guild_id), "role": payloads.role(role)}
        self._dispatch("GUILD_ROLE_UPDATE", data, intent=GUILDS)

    def role_delete(self, guild_id: int, role_id: int) -> None:
        data = {"guild_id": str(guild_id), "role_id": str(role_id)}
        self._dispatch("GUILD_ROLE_DELETE", data, intent=GUILDS)

    def member_add(self, member: Member) -> None:
        data = payloads.member(self._state, member)
        data["guild_id"] = str(member.guild_id)
        self._dispatch("GUILD_MEMBER_ADD", data, intent=GUILD_MEMBERS)

    def member_update(self, member: Member) -> None:
        data = payloads.member(self._state, member)
        data["guild_id"] = str(member.guild_id)
        intent = 0 if member.user_id == self._bot_id else GUILD_MEMBERS
        self._dispatch("GUILD_MEMBER_UPDATE", data, intent=intent)

    def member_remove(self, guild_id: int, user_id: int) -> None:
        data = {"guild_id": str(guild_id), "user": payloads.user(self._state.users[user_id])}
        self._dispatch("GUILD_MEMBER_REMOVE", data, intent=GUILD_MEMBERS)

    # -- channels and threads ----------------------------------------------------------------------

    def channel_create(self, channel: Channel) -> None:
        if channel.is_thread:
            self.thread_create(channel)
            return
        self._dispatch("CHANNEL_CREATE", payloads.channel(self._state, channel), intent=GUILDS)

    def channel_update(self, channel: Channel) -> None:
        if channel.is_thread:
            self.thread_update(channel)
            return
        self._dispatch("CHANNEL_UPDATE", payloads.channel(self._state, channel), intent=GUILDS)

    def channel_delete(self, channel: Channel) -> None:
        if channel.is_thread:
            self.thread_delete(channel)
            return
        self._dispatch("CHANNEL_DELETE", payloads.channel(self._state, channel), intent=GUILDS)

    def thread_create(self, thread: Channel, *, newly_created: bool = True) -> None:
        data = payloads.channel(self._state, thread)
        if newly_created:
            data["newly_created"] = True
        if self._bot_id in thread.thread_members:
            data["member"] = payloads.thread_member(self._state, thread, self._bot_id)
        self._dispatch("THREAD_CREATE", data, intent=GUILDS, when=lambda s: self._sees(thread.id))

    def thread_update(self, thread: Channel) -> None:
        data = payloads.channel(self._state, thread)
        self._dispatch("THREAD_UPDATE", data, intent=GUILDS, when=lambda s: self._sees(thread.id))

    def thread_delete(self, thread: Channel, *, visible: bool | None = None) -> None:
        data = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "parent_id": str(thread.parent_id),
            "type": thread.type,
        }
        seen = self._sees(thread.id) if visible is None else visible
        self._dispatch("THREAD_DELETE", data, intent=GUILDS, when=lambda s: seen)

    def thread_members_update(
        self,
        thread: Channel,
        *,
        added: list[int] = (),
        removed: list[int] = (),  # type: ignore[assignment]
    ) -> None:
        """THREAD_MEMBERS_UPDATE; sessions without GUILD_MEMBERS only get it about the bot itself."""
        data: dict[str, Any] = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": min(len(thread.thread_members), 50),
        }
        if added:
            data["added_members"] = [
                payloads.thread_member(self._state, thread, u, with_member=True) for u in added
            ]
        if removed:
            data["removed_member_ids"] = [str(u) for u in removed]
        involves_bot = self._bot_id in added or self._bot_id in removed

        def when(session: GatewaySession) -> bool:
            if not (session.has_intent(GUILD_MEMBERS) or involves_bot):
                return False
            return self._sees(thread.id) or self._bot_id in removed

        self._dispatch("THREAD_MEMBERS_UPDATE", data, intent=GUILDS, when=when)

    # -- messages ---------------------------------------------------------------------------------

    def _message_intent(self, message: Message) -> int:
        return DIRECT_MESSAGES if message.guild_id is None else GUILD_MESSAGES

    def _message_visible(self, message: Message) -> bool:
        if message.ephemeral_for is not None:
            return False
        return message.guild_id is None or self._sees(message.channel_id)

    def needs_stripping(self, intents: int, message: Message) -> bool:
        """Whether a bot with ``intents`` gets ``message`` without content (MESSAGE_CONTENT rules)."""
        if intents & MESSAGE_CONTENT:
            return False
        if message.guild_id is None or message.author_id == self._bot_id:
            return False
        return self._bot_id not in message.mentions

    def message_payload(self, message: Message, intents: int) -> dict[str, Any]:
        data = payloads.message(self._state, message, strip_content=self.needs_stripping(intents, message))
        if message.guild_id is not None:
            guild = self._state.guilds.get(message.guild_id)
            member = guild.members.get(message.author_id) if guild else None
            if member is not None:
                data["member"] = payloads.member(self._state, member, with_user=False)
        return data

    def message_create(self, message: Message) -> None:
        self._dispatch(
            "MESSAGE_CREATE",
            {},
            intent=self._message_intent(message),
            when=lambda s: self._message_visible(message),
            transform=lambda s, _: self.message_payload(message, s.intents),
        )

    def message_update(self, message: Message) -> None:
        self._dispatch(
            "MESSAGE_UPDATE",
            {},
            intent=self._message_intent(message),
            when=lambda s: self._message_visible(message),
            transform=lambda s, _: self.message_payload(message, s.intents),
        )

    def message_delete(self, message: Message) -> None:
        data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        self._dispatch(
            "MESSAGE_DELETE",
            data,
            intent=self._message_intent(message),
            when=lambda s: self._message_visible(message),
        )

    def message_delete_bulk(self, channel: Channel, message_ids: list[int]) -> None:
        data = {
            "ids": [str(i) for i in message_ids],
            "channel_id": str(channel.id),
            "guild_id": str(channel.guild_id),
        }
        self._dispatch(
            "MESSAGE_DELETE_BULK", data, intent=GUILD_MESSAGES, when=lambda s: self._sees(channel.id)
        )

    # -- interactions -----------------------------------------------------------------------------

    def interaction_create(self, payload: dict[str, Any]) -> int:
        return self._dispatch("INTERACTION_CREATE", payload)
