"""The Discord API emulator and its test driver.

Typical use::

    emu = Emulator()
    await emu.start()
    guild = emu.create_guild("ILN")
    alice = emu.add_member(guild.id, "alice")
    async with emu.running(MyBot(...)) as bot:          # patches discord.py, starts, waits for ready
        handle = await emu.slash(guild.id, alice, "round create", name="Spring")
        response = await handle.response(timeout=5)
        assert response.ephemeral
    await emu.stop()

Setting up (``create_*``, ``add_member`` ...) is synchronous and, when the bot is connected, sends
the gateway events Discord would send. Acting as a member (``slash``, ``click``, ``send_message``
...) is ``async`` and enforces the member's permissions. Reading (``channels``, ``messages``,
``dms``, ``can_view`` ...) returns the live state objects from :mod:`tests.emulator.state`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from . import payloads
from . import permissions as perms
from .errors import DriverError, MemberForbidden
from .events import Events
from .faults import Faults
from .gateway import GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT, Gateway
from .interactions import Attachment, InteractionHandle, InteractionResponse, Interactions
from .messages import MessageFactory, UploadedFile
from .patch import patch_discord
from .ratelimit import RateLimiter
from .rest import RestApi, RestCall
from .snowflake import utcnow
from .state import (
    DM,
    GUILD_CATEGORY,
    GUILD_TEXT,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    Channel,
    Command,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    State,
    User,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Id = int | User | Member | Role | Channel | Guild | Any


def _id(value: Id) -> int:
    """Accept an int id or anything with an id (state objects, discord.py objects)."""
    if isinstance(value, Member):
        return value.user_id
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value.id)


class Emulator:
    """An emulated Discord (REST + gateway) on 127.0.0.1 for a real discord.py client.

    Constructor options: ``bot_name``; ``bot_permissions`` (the bot's managed role in new guilds,
    default :data:`permissions.DEFAULT_BOT`, not ADMINISTRATOR); ``privileged_intents`` enabled for
    the application (default all three); ``heartbeat_interval_ms``; ``interaction_deadline``;
    ``rate_limit`` (default bucket: requests, seconds); ``full_member_list``.

    Attributes a test may read or set:

    - ``base_url``, ``api_url`` (``base_url + "/api/v10"``), ``gateway_url``
    - ``bot_token``, ``application_id``, ``bot_user_id``, ``state`` (all data)
    - ``rest_log`` (list of :class:`RestCall`), ``unknown_routes`` (list of (method, path)),
      ``server_errors`` (exceptions inside the emulator: bugs, answered as 500)
    - ``dispatched`` (list of (event name, payload) sent on the gateway)
    - ``interaction_deadline`` (seconds, default 3.0; None disables), ``interaction_token_ttl``
      (default 900 s), ``heartbeat_interval_ms``, ``privileged_intents`` (bit set enabled for the
      application), ``full_member_list`` (GUILD_CREATE carries all members even without presences)
    """

    def __init__(
        self,
        *,
        bot_name: str = "Tandem",
        bot_permissions: int = perms.DEFAULT_BOT,
        privileged_intents: int = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT,
        heartbeat_interval_ms: int = 10_000,
        interaction_deadline: float | None = 3.0,
        rate_limit: tuple[int, float] = (50, 1.0),
        full_member_list: bool = False,
    ) -> None:
        self.state = State()
        self.bot_token = f"emu.{secrets.token_urlsafe(12)}.{secrets.token_urlsafe(24)}"
        self.default_bot_permissions = bot_permissions
        self.privileged_intents = privileged_intents
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self.interaction_token_ttl = 15 * 60.0
        self.full_member_list = full_member_list
        #: Let a second IDENTIFY on a shard keep the older session (two processes on one shard).
        self.concurrent_sessions = False
        self.rate_limiter = RateLimiter(*rate_limit)
        self.faults = Faults()
        self.rest_log: list[RestCall] = []
        self.unknown_routes: list[tuple[str, str]] = []
        #: Exceptions raised inside the emulator while answering (method, path, exception): bugs.
        self.server_errors: list[tuple[str, str, Exception]] = []
        self.dispatched: list[tuple[str, dict[str, Any]]] = []
        self.command_syncs = 0
        #: (guild id, top-level command name) pairs a server admin opened to everyone.
        self.commands_opened_to_everyone: set[tuple[int, str]] = set()

        owner = self.create_user("app-owner")
        self.application_owner_id = owner.id
        bot = self.create_user(bot_name, bot=True)
        self.bot_user_id = bot.id
        self.application_id = bot.id  # like modern Discord apps: application id == bot user id
        self.bot_name = bot_name

        self.gateway = Gateway(self)
        self.events = Events(self)
        self.interactions = Interactions(self)
        self.message_factory = MessageFactory(self)
        self.rest = RestApi(self)

        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> Emulator:
        """Listen on 127.0.0.1 on an ephemeral port."""
        app = web.Application(middlewares=[self.rest.middleware], client_max_size=64 * 1024 * 1024)
        self.rest.install(app)
        app.router.add_get("/ws", self.gateway.handle)
        app.router.add_get("/ws/resume", self.gateway.handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/resume"

    @property
    def application_flags(self) -> int:
        flags = 1 << 23  # APPLICATION_COMMAND_BADGE
        if self.privileged_intents & GUILD_PRESENCES:
            flags |= 1 << 12
        if self.privileged_intents & GUILD_MEMBERS:
            flags |= 1 << 14
        if self.privileged_intents & MESSAGE_CONTENT:
            flags |= 1 << 18
        return flags

    @property
    def rest_intents(self) -> int:
        """Intents that govern REST answers (message content): those enabled for the app."""
        return self.privileged_intents

    def application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": payloads.user(self.state.users[self.application_owner_id]),
            "team": None,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "bot": payloads.user(self.state.users[self.bot_user_id]),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": sum(
                1 for g in self.state.guilds.values() if self.bot_user_id in g.members
            ),
            "tags": [],
            "integration_types_config": {"0": {}},
        }

    @contextlib.asynccontextmanager
    async def running(self, client: Any, *, ready_timeout: float = 10.0) -> AsyncIterator[Any]:
        """Run a discord.py ``client`` against the emulator for the duration of the block.

        Patches discord.py's base URLs (see :func:`patch_discord`), starts the client with the
        emulator's token, waits until ``client.wait_until_ready()`` (pass ``guild_ready_timeout``
        small, e.g. 0.05, to the client so that does not take 2 s), yields the client, then closes it.
        """
        with patch_discord(self):
            task = asyncio.create_task(client.start(self.bot_token), name="emulated-discord-client")
            body_failed = False
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + ready_timeout
                while not client.is_ready():
                    if task.done():
                        task.result()
                        raise DriverError("the client stopped before it was ready")
                    if loop.time() >= deadline:
                        raise TimeoutError(f"the client was not ready within {ready_timeout}s")
                    await asyncio.sleep(0.005)
                try:
                    yield client
                except BaseException:
                    body_failed = True
                    raise
            finally:
                crashed = task.done() and not task.cancelled() and task.exception() is not None
                with contextlib.suppress(Exception):
                    await client.close()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, 5)
            if crashed and not body_failed:
                # the client died while the test ran (e.g. a gateway error it could not handle)
                raise DriverError("the discord.py client crashed during the test") from task.exception()

    # -- bookkeeping used by the layers ---------------------------------------------------------------

    def record_event(self, event: str, data: dict[str, Any]) -> None:
        self.dispatched.append((event, data))

    def record_unknown_route(self, method: str, path: str) -> None:
        log.warning("emulator: unknown route %s %s", method, path)
        self.unknown_routes.append((method, path))

    def events_named(self, name: str) -> list[dict[str, Any]]:
        """Payloads of every gateway dispatch named ``name`` (e.g. ``"CHANNEL_CREATE"``)."""
        return [data for event, data in self.dispatched if event == name]

    def calls(self, method: str | None = None, route: str | None = None) -> list[RestCall]:
        """REST calls, optionally filtered by method and route template
        (``"/channels/{channel_id}/messages"``)."""
        return [
            c
            for c in self.rest_log
            if (method is None or c.method == method.upper()) and (route is None or c.route == route)
        ]

    # -- setup: users, guilds, roles, members ---------------------------------------------------

    def create_user(
        self, username: str, *, bot: bool = False, dms_open: bool = True, global_name: str | None = None
    ) -> User:
        user = User(
            id=self.state.new_id(), username=username, bot=bot, dms_open=dms_open, global_name=global_name
        )
        self.state.users[user.id] = user
        return user

    def create_guild(
        self,
        name: str = "Test Guild",
        owner_id: Id | None = None,
        *,
        bot_permissions: int | None = None,
        everyone_permissions: int = perms.DEFAULT_EVERYONE,
        with_general: bool = True,
        bot_member: bool = True,
    ) -> Guild:
        """A guild with an @everyone role, an owner (created if not given), a ``general`` text
        channel and the bot as a member with its managed role (``bot_permissions``, default the
        emulator's). Sends GUILD_CREATE if the bot is connected."""
        if owner_id is None:
            owner = self.create_user(f"{name.lower().replace(' ', '-')}-owner")
            owner_id = owner.id
        owner_id = _id(owner_id)
        guild = Guild(id=self.state.new_id(), name=name, owner_id=owner_id)
        guild.roles[guild.id] = Role(
            id=guild.id, guild_id=guild.id, name="@everyone", permissions=everyone_permissions
        )
        self.state.guilds[guild.id] = guild
        guild.members[owner_id] = Member(user_id=owner_id, guild_id=guild.id)
        if with_general:
            self._new_channel(guild.id, "general", GUILD_TEXT)
        if bot_member:
            bot_role = Role(
                id=self.state.new_id(),
                guild_id=guild.id,
                name=self.bot_name,
                permissions=self.default_bot_permissions if bot_permissions is None else bot_permissions,
                position=1,
                managed=True,
                bot_id=self.bot_user_id,
            )
            guild.roles[bot_role.id] = bot_role
            guild.members[self.bot_user_id] = Member(
                user_id=self.bot_user_id, guild_id=guild.id, roles=[bot_role.id]
            )
            self.events.guild_create(guild)
        return guild

    def bot_role(self, guild_id: Id) -> Role:
        """The bot's managed role in a guild."""
        guild = self.state.guild(_id(guild_id))
        return next(r for r in guild.roles.values() if r.bot_id == self.bot_user_id)

    def set_bot_permissions(self, guild_id: Id, permissions: int) -> None:
        """Change the permissions of the bot's managed role (sends GUILD_ROLE_UPDATE)."""
        role = self.bot_role(guild_id)
        role.permissions = permissions
        self.events.role_update(role)

    def add_role(
        self,
        guild_id: int,
        name: str,
        *,
        permissions: int = 0,
        position: int | None = None,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
        dispatch: bool = True,
    ) -> Role:
        guild = self.state.guild(guild_id)
        target = 1 if position is None else max(1, position)
        shifted = []
        for role in guild.roles.values():
            if role.id != guild.id and role.position >= target:
                role.position += 1
                shifted.append(role)
        role = Role(
            id=self.state.new_id(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=target,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        if dispatch:
            self.events.role_create(role)
            for other in shifted:
                self.events.role_update(other)
        return role

    def create_role(
        self,
        guild_id: Id,
        name: str,
        permissions: int = 0,
        *,
        position: int | None = None,
        mentionable: bool = False,
        color: int = 0,
        hoist: bool = False,
    ) -> Role:
        """A role at ``position`` (default 1: just above @everyone, below the bot's role)."""
        return self.add_role(
            _id(guild_id),
            name,
            permissions=permissions,
            position=position,
            mentionable=mentionable,
            color=color,
            hoist=hoist,
        )

    def remove_role(self, guild_id: Id, role_id: Id) -> None:
        guild = self.state.guild(_id(guild_id))
        role_id = _id(role_id)
        guild.roles.pop(role_id, None)
        for member in guild.members.values():
            if role_id in member.roles:
                member.roles.remove(role_id)
        for channel in self.state.guild_channels(guild.id):
            channel.overwrites.pop(role_id, None)
        self.events.role_delete(guild.id, role_id)

    def add_member(
        self,
        guild_id: Id,
        user: str | User | int,
        roles: Iterable[Id] = (),
        *,
        dms_open: bool = True,
        nick: str | None = None,
        global_name: str | None = None,
    ) -> Member:
        """Add a member (a new user named ``user``, or an existing user/id) with ``roles``.
        Sends GUILD_MEMBER_ADD when the bot is connected (and has the members intent)."""
        guild = self.state.guild(_id(guild_id))
        if isinstance(user, str):
            user_obj = self.create_user(user, dms_open=dms_open, global_name=global_name)
        else:
            user_obj = self.state.user(_id(user))
        role_ids = [_id(r) for r in roles]
        for role_id in role_ids:
            if role_id not in guild.roles:
                raise DriverError(f"role {role_id} is not in guild {guild.id}")
        member = Member(user_id=user_obj.id, guild_id=guild.id, roles=role_ids, nick=nick, joined_at=utcnow())
        guild.members[user_obj.id] = member
        if self.bot_user_id in guild.members:
            self.events.member_add(member)
        return member

    def remove_member(self, guild_id: Id, user_id: Id) -> None:
        """Remove a member (leave/kick); sends GUILD_MEMBER_REMOVE."""
        guild = self.state.guild(_id(guild_id))
        user_id = _id(user_id)
        if guild.members.pop(user_id, None) is None:
            raise DriverError(f"user {user_id} is not a member of guild {guild.id}")
        for thread in self.state.threads(guild.id):
            thread.thread_members.pop(user_id, None)
        self.events.member_remove(guild.id, user_id)

    def set_member_roles(self, guild_id: Id, user_id: Id, roles: Iterable[Id]) -> Member:
        """Replace a member's roles (as a moderator would); sends GUILD_MEMBER_UPDATE."""
        member = self.state.member(_id(guild_id), _id(user_id))
        member.roles = [_id(r) for r in roles]
        self.events.member_update(member)
        return member

    def set_dms_open(self, user_id: Id, open_: bool) -> None:
        """Open or close a user's DMs (closed: the bot's DMs fail with 403 50007)."""
        self.state.user(_id(user_id)).dms_open = open_

    # -- setup: channels and threads --------------------------------------------------------------

    def _new_channel(
        self,
        guild_id: int,
        name: str,
        ctype: int,
        *,
        parent_id: int | None = None,
        overwrites: dict[int, Overwrite] | None = None,
        topic: str | None = None,
    ) -> Channel:
        siblings = [
            c for c in self.state.guild_channels(guild_id) if c.is_category == (ctype == GUILD_CATEGORY)
        ]
        channel = Channel(
            id=self.state.new_id(),
            type=ctype,
            guild_id=guild_id,
            name=name,
            position=len(siblings),
            parent_id=parent_id,
            topic=topic,
            overwrites=overwrites or {},
        )
        self.state.channels[channel.id] = channel
        return channel

    def create_channel(
        self,
        guild_id: Id,
        name: str,
        type: int = GUILD_TEXT,
        parent_id: Id | None = None,
        overwrites: Mapping[Id, tuple[int, int]] | Iterable[Overwrite] | None = None,
        *,
        topic: str | None = None,
    ) -> Channel:
        """A channel (text by default; ``type=4`` for a category). ``overwrites`` maps a role or
        member (or id) to ``(allow, deny)``, or is a list of :class:`Overwrite`. Without
        overwrites a channel in a category copies the category's. Sends CHANNEL_CREATE."""
        guild = self.state.guild(_id(guild_id))
        parent = None if parent_id is None else self.state.channel(_id(parent_id))
        parsed = self._parse_overwrites(guild, overwrites)
        if parsed is None and parent is not None:
            parsed = {k: Overwrite(o.id, o.type, o.allow, o.deny) for k, o in parent.overwrites.items()}
        channel = self._new_channel(
            guild.id, name, type, parent_id=parent.id if parent else None, overwrites=parsed, topic=topic
        )
        self.events.channel_create(channel)
        return channel

    def _parse_overwrites(self, guild: Guild, overwrites: Any) -> dict[int, Overwrite] | None:
        if overwrites is None:
            return None
        result: dict[int, Overwrite] = {}
        if isinstance(overwrites, Mapping):
            for target, (allow, deny) in overwrites.items():
                target_id = _id(target)
                kind = 0 if target_id in guild.roles else 1
                result[target_id] = Overwrite(target_id, kind, allow, deny)
        else:
            for overwrite in overwrites:
                result[overwrite.id] = overwrite
        return result

    def set_overwrite(self, channel_id: Id, target: Id, allow: int = 0, deny: int = 0) -> None:
        """Set (or with allow=deny=0 keep an empty) overwrite for a role or member; CHANNEL_UPDATE."""
        channel = self.state.channel(_id(channel_id))
        guild = self.state.guild(channel.guild_id)  # type: ignore[arg-type]
        target_id = _id(target)
        kind = 0 if target_id in guild.roles else 1
        channel.overwrites[target_id] = Overwrite(target_id, kind, allow, deny)
        self.events.channel_update(channel)

    def create_thread(
        self,
        channel_id: Id,
        name: str,
        *,
        private: bool = True,
        members: Iterable[Id] = (),
        owner_id: Id | None = None,
        invitable: bool = True,
    ) -> Channel:
        """A thread in a text channel, created by ``owner_id`` (default: the guild owner) with
        ``members`` added. Sends THREAD_CREATE / THREAD_MEMBERS_UPDATE as visible to the bot."""
        parent = self.state.channel(_id(channel_id))
        guild = self.state.guild(parent.guild_id)  # type: ignore[arg-type]
        owner = guild.owner_id if owner_id is None else _id(owner_id)
        now = utcnow()
        thread = Channel(
            id=self.state.new_id(),
            type=PRIVATE_THREAD if private else PUBLIC_THREAD,
            guild_id=guild.id,
            name=name,
            parent_id=parent.id,
            owner_id=owner,
            invitable=invitable,
            archive_timestamp=now,
            thread_members={owner: now},
        )
        self.state.channels[thread.id] = thread
        for member in members:
            thread.thread_members[_id(member)] = now
        self.events.thread_create(thread)
        return thread

    def add_thread_member(self, thread_id: Id, user_id: Id) -> None:
        """Add a user to a thread (THREAD_MEMBERS_UPDATE; THREAD_CREATE if the bot now sees it)."""
        thread = self.state.channel(_id(thread_id))
        user_id = _id(user_id)
        saw = perms.can_view(self.state, self.bot_user_id, thread.id)
        thread.thread_members[user_id] = utcnow()
        if user_id == self.bot_user_id and not saw:
            self.events.thread_create(thread, newly_created=False)
        self.events.thread_members_update(thread, added=[user_id])

    def remove_thread_member(self, thread_id: Id, user_id: Id) -> None:
        thread = self.state.channel(_id(thread_id))
        user_id = _id(user_id)
        self.events.thread_members_update(thread, removed=[user_id])
        thread.thread_members.pop(user_id, None)

    def set_thread_archived(
        self, thread_id: Id, archived: bool = True, *, locked: bool | None = None
    ) -> None:
        """Archive (or unarchive/lock) a thread as Discord's auto-archive would; THREAD_UPDATE."""
        thread = self.state.channel(_id(thread_id))
        thread.archived = archived
        if locked is not None:
            thread.locked = locked
        thread.archive_timestamp = utcnow()
        self.events.thread_update(thread)

    def delete_channel(self, channel_id: Id) -> None:
        """Delete a channel, category (children move out of it) or thread; sends the events."""
        channel = self.state.channel(_id(channel_id))
        if channel.is_thread:
            self.events.thread_delete(channel)
            del self.state.channels[channel.id]
            return
        for thread in self.state.threads(channel.guild_id, parent_id=channel.id):  # type: ignore[arg-type]
            self.events.thread_delete(thread)
            del self.state.channels[thread.id]
        self.events.channel_delete(channel)
        del self.state.channels[channel.id]
        if channel.is_category:
            for child in self.state.children(channel.id):
                child.parent_id = None
                self.events.channel_update(child)

    def dm_channel(self, user_id: Id) -> Channel:
        """The DM channel between the bot and ``user_id`` (created on first use)."""
        user_id = _id(user_id)
        channel_id = self.state.dm_channels.get(user_id)
        if channel_id is not None:
            return self.state.channels[channel_id]
        channel = Channel(id=self.state.new_id(), type=DM, guild_id=None, recipients=[user_id])
        self.state.channels[channel.id] = channel
        self.state.dm_channels[user_id] = channel.id
        return channel

    def default_channel_id(self, guild_id: int, user_id: int) -> int:
        """The first text channel ``user_id`` can see (where an unspecified interaction happens)."""
        for channel in self.state.guild_channels(guild_id):
            if channel.type == GUILD_TEXT and perms.can_view(self.state, user_id, channel.id):
                return channel.id
        raise DriverError(f"user {user_id} can see no text channel in guild {guild_id}; pass channel_id")

    # -- acting as a member ----------------------------------------------------------------------

    async def send_message(
        self,
        member_id: Id,
        channel_id: Id,
        content: str = "",
        *,
        embeds: list[dict[str, Any]] | None = None,
        attachments: Iterable[Attachment] = (),
        reply_to: Message | int | None = None,
    ) -> Message:
        """A member writes in a channel or thread (or a user in their DM with the bot).

        Enforces the member's permissions like Discord's client: VIEW_CHANNEL, SEND_MESSAGES (or
        SEND_MESSAGES_IN_THREADS), ATTACH_FILES, locked threads; an archived thread is unarchived;
        writing in a public thread joins it. Sends MESSAGE_CREATE (content stripped for a bot
        without the MESSAGE_CONTENT intent unless it is mentioned)."""
        user_id = _id(member_id)
        channel = self.state.channel(_id(channel_id))
        files = {i: UploadedFile(a.filename, a.bytes, a.content_type) for i, a in enumerate(attachments)}
        if channel.guild_id is None:
            if user_id not in channel.recipients:
                raise MemberForbidden(f"user {user_id} is not in DM channel {channel.id}")
        else:
            permissions = perms.permissions_for(self.state, user_id, channel.id)
            name = channel.name
            if not permissions & perms.VIEW_CHANNEL:
                raise MemberForbidden(f"user {user_id} cannot see #{name}")
            needed = perms.SEND_MESSAGES_IN_THREADS if channel.is_thread else perms.SEND_MESSAGES
            if not permissions & needed:
                raise MemberForbidden(f"user {user_id} cannot send messages in #{name}")
            if files and not permissions & perms.ATTACH_FILES:
                raise MemberForbidden(f"user {user_id} cannot attach files in #{name}")
            if channel.is_thread:
                if channel.locked and not permissions & perms.MANAGE_THREADS:
                    raise MemberForbidden(f"thread #{name} is locked")
                if channel.archived:
                    channel.archived = False
                    channel.archive_timestamp = utcnow()
                    self.events.thread_update(channel)
                if user_id not in channel.thread_members:
                    self.add_thread_member(channel.id, user_id)
        body: dict[str, Any] = {"content": content, "embeds": embeds or []}
        if reply_to is not None:
            body["message_reference"] = {"message_id": _id(reply_to), "channel_id": channel.id}
        message = self.message_factory.create(channel, user_id, body, files)
        self.events.message_create(message)
        await asyncio.sleep(0)
        return message

    def seed_message(
        self, channel_id: Id, author_id: Id | None = None, content: str = "", **body: Any
    ) -> Message:
        """Store a message that already exists (e.g. one the bot posted before a restart), without
        sending any event. ``author_id`` defaults to the bot; ``body`` takes Discord message fields
        such as ``embeds`` or ``components`` (raw dicts)."""
        channel = self.state.channel(_id(channel_id))
        author = self.bot_user_id if author_id is None else _id(author_id)
        return self.message_factory.create(channel, author, {"content": content, **body})

    async def send_dm(self, user_id: Id, content: str, **kwargs: Any) -> Message:
        """A user writes to the bot in their DM channel (MESSAGE_CREATE with DIRECT_MESSAGES)."""
        channel = self.dm_channel(user_id)
        return await self.send_message(user_id, channel.id, content, **kwargs)

    async def slash(
        self,
        guild_id: Id | None,
        member_id: Id,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel_id: Id | None = None,
        locale: str = "en-US",
        **kwargs: Any,
    ) -> InteractionHandle:
        """A member runs ``/command`` (``"round create"`` for a subcommand, ``"a b c"`` for a
        group's subcommand) with options by name (``options={...}`` and/or keywords).

        Option types come from the command the bot synced: strings, ints, floats, bools, users,
        members, roles, channels (objects or ids) and :class:`Attachment` files become typed
        options with ``resolved`` data. Raises :class:`CommandUnavailable` if the bot did not sync
        the command or the member may not use it, :class:`InvalidInteraction` for bad options.
        ``guild_id=None`` runs it in the member's DM with the bot."""
        merged = dict(options or {})
        merged.update(kwargs)
        handle = self.interactions.slash(
            None if guild_id is None else _id(guild_id),
            _id(member_id),
            command,
            merged,
            channel_id=None if channel_id is None else _id(channel_id),
            locale=locale,
        )
        await asyncio.sleep(0)
        return handle

    async def autocomplete(
        self,
        guild_id: Id | None,
        member_id: Id,
        command: str,
        focused: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel_id: Id | None = None,
        **kwargs: Any,
    ) -> InteractionHandle:
        """An autocomplete request while the member types option ``focused``; the response's
        ``choices`` holds what the bot suggested."""
        merged = dict(options or {})
        merged.update(kwargs)
        merged.setdefault(focused, "")
        handle = self.interactions.slash(
            None if guild_id is None else _id(guild_id),
            _id(member_id),
            command,
            merged,
            channel_id=None if channel_id is None else _id(channel_id),
            autocomplete_focus=focused,
        )
        await asyncio.sleep(0)
        return handle

    async def context_menu(
        self, guild_id: Id | None, member_id: Id, name: str, target: Any, *, channel_id: Id | None = None
    ) -> InteractionHandle:
        """A user command (target: a user/member) or message command (target: a Message)."""
        handle = self.interactions.context_menu(
            None if guild_id is None else _id(guild_id),
            _id(member_id),
            name,
            target,
            channel_id=None if channel_id is None else _id(channel_id),
        )
        await asyncio.sleep(0)
        return handle

    def _message(self, message: Any) -> Message:
        if isinstance(message, Message):
            return message
        if isinstance(message, InteractionHandle):
            found = message.original
            if found is None:
                raise DriverError("that interaction has no original response message")
            return found
        if isinstance(message, InteractionResponse):
            if message.message is None:
                raise DriverError("that response created no message")
            return message.message
        found = self.state.find_message(_id(message))
        if found is None or found.deleted:
            raise DriverError(f"unknown message {message!r}")
        return found

    async def click(
        self, guild_id: Id | None, member_id: Id, message: Any, custom_id: str
    ) -> InteractionHandle:
        """A member clicks the button ``custom_id`` on ``message`` (a Message, message id,
        InteractionHandle or InteractionResponse)."""
        handle = self.interactions.component(
            None if guild_id is None else _id(guild_id),
            _id(member_id),
            self._message(message),
            custom_id,
            None,
        )
        await asyncio.sleep(0)
        return handle

    async def select(
        self, guild_id: Id | None, member_id: Id, message: Any, custom_id: str, values: Iterable[Any]
    ) -> InteractionHandle:
        """A member picks ``values`` in the select ``custom_id`` (option values for a string
        select; users/roles/channels or their ids for the other selects)."""
        handle = self.interactions.component(
            None if guild_id is None else _id(guild_id),
            _id(member_id),
            self._message(message),
            custom_id,
            list(values),
        )
        await asyncio.sleep(0)
        return handle

    async def submit_modal(
        self, guild_id: Id | None, member_id: Id, modal: Any, values: Mapping[str, Any]
    ) -> InteractionHandle:
        """A member submits the modal the bot opened. ``modal`` is the InteractionHandle (or its
        InteractionResponse, or the modal dict); ``values`` maps each input's custom_id to a
        string (text input), a list (selects: option values or users/roles/channels; checkbox
        group), a value (radio group), a bool (checkbox) or a list of :class:`Attachment` (file
        upload). Inputs left out keep their default; required ones must be given. Works for
        ActionRow-wrapped text inputs and Label (type 18) wrapped components alike."""
        source = None
        if isinstance(modal, InteractionHandle):
            source = modal.record
            if source.response is None or source.response.modal is None:
                raise DriverError("the bot did not answer that interaction with a modal")
            modal_data = source.response.modal
        elif isinstance(modal, InteractionResponse):
            if modal.modal is None:
                raise DriverError("that response is not a modal")
            modal_data = modal.modal
            source = next((r for r in self.interactions.records.values() if r.response is modal), None)
        else:
            modal_data = dict(modal)
        user_id = _id(member_id)
        if source is not None and source.user_id != user_id:
            raise MemberForbidden("a modal can only be submitted by the user it was shown to")
        handle = self.interactions.modal_submit(
            None if guild_id is None else _id(guild_id), user_id, modal_data, values, source=source
        )
        await asyncio.sleep(0)
        return handle

    # -- reading ----------------------------------------------------------------------------------

    def guild(self, guild_id: Id) -> Guild:
        return self.state.guild(_id(guild_id))

    def channel(self, channel_id: Id) -> Channel:
        return self.state.channel(_id(channel_id))

    def member(self, guild_id: Id, user_id: Id) -> Member:
        return self.state.member(_id(guild_id), _id(user_id))

    def user(self, user_id: Id) -> User:
        return self.state.user(_id(user_id))

    def channels(
        self, guild_id: Id, *, type: int | None = None, parent_id: Id | None = None
    ) -> list[Channel]:
        """Guild channels (no threads), by position; filter by ``type`` and/or category."""
        parent = None if parent_id is None else _id(parent_id)
        return [
            c
            for c in self.state.guild_channels(_id(guild_id))
            if (type is None or c.type == type) and (parent is None or c.parent_id == parent)
        ]

    def channel_named(self, guild_id: Id, name: str) -> Channel | None:
        """The first channel or thread of a guild with that name, or None."""
        return next(
            (c for c in self.state.guild_channels(_id(guild_id), threads=True) if c.name == name), None
        )

    def threads(
        self, guild_id: Id | None = None, *, parent_id: Id | None = None, active: bool | None = None
    ) -> list[Channel]:
        """Threads of a guild and/or of one parent channel, optionally only (in)active ones."""
        parent = None if parent_id is None else _id(parent_id)
        if guild_id is None:
            if parent is None:
                raise DriverError("pass guild_id or parent_id")
            guild = self.state.channel(parent).guild_id
        else:
            guild = _id(guild_id)
        return self.state.threads(guild, parent_id=parent, active=active)  # type: ignore[arg-type]

    def thread_members(self, thread_id: Id) -> set[int]:
        return set(self.state.channel(_id(thread_id)).thread_members)

    def messages(self, channel_id: Id, *, include_ephemeral: bool = False) -> list[Message]:
        """Messages of a channel or thread in order (the bot's and members'), without deleted ones."""
        return self.state.channel_messages(_id(channel_id), include_ephemeral=include_ephemeral)

    def dms(self, user_id: Id) -> list[Message]:
        """Messages the bot sent to ``user_id`` in their DM channel, in order."""
        channel_id = self.state.dm_channels.get(_id(user_id))
        if channel_id is None:
            return []
        return [m for m in self.state.channel_messages(channel_id) if m.author_id == self.bot_user_id]

    def permissions_for(self, user_id: Id, channel_id: Id) -> int:
        """Effective permission bits of a user in a channel/thread (see :mod:`.permissions`)."""
        return perms.permissions_for(self.state, _id(user_id), _id(channel_id))

    def can_view(self, user_id: Id, channel_id: Id) -> bool:
        return perms.can_view(self.state, _id(user_id), _id(channel_id))

    def viewers(self, channel_id: Id) -> set[int]:
        """Every member of the channel's guild who can see it (the bot included)."""
        channel = self.state.channel(_id(channel_id))
        if channel.guild_id is None:
            return {self.bot_user_id, *channel.recipients}
        guild = self.state.guilds[channel.guild_id]
        return {u for u in guild.members if perms.can_view(self.state, u, channel.id)}

    def commands(self, guild_id: Id | None = None) -> list[Command]:
        """Commands the bot synced: a guild's (if given) then the global ones."""
        return self.state.commands_for(None if guild_id is None else _id(guild_id))

    # -- waiting ----------------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        interval: float = 0.005,
        message: str | None = None,
    ) -> T:
        """Poll ``predicate`` (sync or async) until it returns something truthy; return that.
        Raises TimeoutError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value  # type: ignore[return-value]
            if loop.time() >= deadline:
                raise TimeoutError(message or f"condition not met within {timeout}s")
            await asyncio.sleep(interval)

    async def wait_until_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has identified (READY and GUILD_CREATEs sent) or resumed."""
        await self.wait_for(lambda: self.gateway.connected, timeout, message="the bot did not connect")

    async def wait_for_message(
        self,
        channel_id: Id,
        predicate: Callable[[Message], bool] | None = None,
        *,
        author_id: Id | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Message:
        """Wait for a message in a channel (by the bot unless ``author_id``) matching ``predicate``."""
        author = self.bot_user_id if author_id is None else _id(author_id)

        def found() -> Message | None:
            for message in reversed(self.messages(channel_id)):
                if message.author_id == author and (predicate is None or predicate(message)):
                    return message
            return None

        return await self.wait_for(
            found, timeout, message=f"no matching message in channel {_id(channel_id)}"
        )

    async def wait_for_dm(
        self,
        user_id: Id,
        predicate: Callable[[Message], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Message:
        """Wait for a DM from the bot to ``user_id`` matching ``predicate``."""

        def found() -> Message | None:
            for message in reversed(self.dms(user_id)):
                if predicate is None or predicate(message):
                    return message
            return None

        return await self.wait_for(found, timeout, message=f"no matching DM to user {_id(user_id)}")

    async def wait_for_commands(self, guild_id: Id | None = None, *, timeout: float = 5.0) -> list[Command]:  # noqa: ASYNC109
        """Wait until the bot has synced at least one command (for the guild, or globally)."""
        return await self.wait_for(
            lambda: self.commands(guild_id), timeout, message="the bot synced no command"
        )

    # -- faults and limits ------------------------------------------------------------------------

    def fail_next(
        self, method: str, route: str, count: int = 1, status: int = 500, *, retry_after: float = 0.05
    ) -> None:
        """Answer the next ``count`` requests matching ``method`` and ``route`` (a template such
        as ``"/channels/{channel_id}/messages"`` or a glob like ``"/channels/*/messages"``) with
        ``status`` (5xx; or 429 with ``retry_after`` seconds)."""
        self.faults.fail_next(method, route, count, status, retry_after)

    def set_chaos(
        self,
        rate: float,
        statuses: Iterable[int] = (429, 500),
        seed: int | None = 0,
        routes: Iterable[str] = (),
        *,
        retry_after: float = 0.05,
    ) -> None:
        """Fail a seeded random fraction of REST calls (``rate=0`` stops). Note discord.py waits
        1 s, 3 s, ... before retrying a 5xx, so prefer 429 or a small rate for speed."""
        self.faults.set_chaos(rate, statuses, seed, routes, retry_after)

    def open_command_to_everyone(self, guild_id: Id, command_name: str) -> None:
        """What a server admin does under Server Settings → Integrations: let every member use a
        command whatever its ``default_member_permissions``. The bot's own checks still apply."""
        self.commands_opened_to_everyone.add((_id(guild_id), command_name.split()[0]))

    def set_rate_limit(self, route: str, limit: int, per: float) -> None:
        """Limit a route bucket, e.g. ``set_rate_limit("POST /guilds/{guild_id}/channels", 5, 1.0)``."""
        self.rate_limiter.set_limit(route, limit, per)

    async def drop_gateway(self, *, resumable: bool = True, code: int = 4000) -> None:
        """Cut the gateway connection. The client reconnects and RESUMEs (events sent meanwhile
        are replayed); with ``resumable=False`` its RESUME gets INVALID_SESSION and it must
        IDENTIFY again."""
        await self.gateway.drop(code=code, resumable=resumable)

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client closes and RESUMEs."""
        self.gateway.send_reconnect()


__all__ = ["Attachment", "Emulator", "InteractionHandle", "InteractionResponse"]
