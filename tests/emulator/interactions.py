"""Interactions: what a member's slash command, click, select or modal submit sends to the bot,
and what the bot answers through the callback and webhook endpoints.

The driver builds INTERACTION_CREATE payloads from what the bot registered (commands) or sent
(components, modals) and returns an :class:`InteractionHandle`; the REST layer calls
:class:`Interactions` for ``POST /interactions/{id}/{token}/callback``, follow-ups and
``/webhooks/{application_id}/{token}/messages/...``.

Discord's rules kept here: a callback must arrive within :attr:`Emulator.interaction_deadline`
seconds (3 by default) or the interaction is unknown (10062); it can be answered once (40060);
follow-ups need an acknowledged interaction and a token younger than 15 minutes; the first
follow-up after a deferred (type 5) response edits the loading message instead of creating one.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import errors, payloads, validation
from . import permissions as perms
from .errors import CommandUnavailable, DriverError, InvalidInteraction, MemberForbidden
from .messages import UploadedFile, assign_component_ids
from .state import EPHEMERAL, LOADING, Channel, Command, Message, StoredAttachment

if TYPE_CHECKING:
    from .emulator import Emulator

# interaction types
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# callback types
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

SELECT_TYPES = {3, 5, 6, 7, 8}
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass
class Attachment:
    """A file a member attaches (to an attachment option or a modal file upload)."""

    filename: str
    data: bytes | str
    content_type: str | None = None
    description: str | None = None

    @property
    def bytes(self) -> bytes:
        return self.data.encode() if isinstance(self.data, str) else self.data


@dataclass
class InteractionResponse:
    """The bot's first answer to an interaction (the callback), as a test sees it.

    ``content``/``embeds``/``components``/``flags``/``attachments`` are a snapshot taken when the
    callback arrived; ``message`` is the live stored message (it reflects later edits).
    """

    type: int
    latency: float
    data: dict[str, Any]
    message: Message | None = None
    content: str | None = None
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    attachments: list[StoredAttachment] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def deferred(self) -> bool:
        return self.type in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE)

    @property
    def is_modal(self) -> bool:
        return self.type == MODAL


@dataclass
class InteractionRecord:
    """Server-side bookkeeping of one interaction."""

    id: int
    token: str
    type: int
    guild_id: int | None
    channel_id: int
    user_id: int
    payload: dict[str, Any]
    source_message_id: int | None = None
    command_name: str | None = None
    dispatched_at: float = 0.0
    response: InteractionResponse | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    deferred_pending: bool = False
    expired: bool = False
    late_callbacks: int = 0
    responded: asyncio.Event = field(default_factory=asyncio.Event)


class InteractionHandle:
    """What a driver call returns: await the bot's response, read follow-ups and edits."""

    def __init__(self, emulator: Emulator, record: InteractionRecord) -> None:
        self._emu = emulator
        self.record = record

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.record.type} responded={self.responded}>"

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def token(self) -> str:
        return self.record.token

    @property
    def user_id(self) -> int:
        return self.record.user_id

    @property
    def responded(self) -> bool:
        return self.record.response is not None

    @property
    def expired(self) -> bool:
        """True when the bot answered after the deadline (and got 10062 Unknown interaction)."""
        return self.record.expired

    async def response(self, timeout: float = 5.0) -> InteractionResponse:  # noqa: ASYNC109
        """Wait for the bot's callback and return it (TimeoutError if it never answers)."""
        try:
            await asyncio.wait_for(self.record.responded.wait(), timeout)
        except TimeoutError:
            detail = " (it answered too late: 10062)" if self.record.expired else ""
            raise TimeoutError(
                f"the bot did not answer interaction {self.record.command_name or self.record.type!r} "
                f"within {timeout}s{detail}"
            ) from None
        assert self.record.response is not None
        return self.record.response

    @property
    def response_latency(self) -> float | None:
        """Seconds from dispatching INTERACTION_CREATE to the bot's callback (None: no answer)."""
        return None if self.record.response is None else self.record.response.latency

    @property
    def original(self) -> Message | None:
        """The current state of the original response message (after edits), if there is one."""
        if self.record.original_message_id is None:
            return None
        return self._emu.state.find_message(self.record.original_message_id)

    @property
    def followups(self) -> list[Message]:
        """Follow-up messages in order (not counting a follow-up that filled a deferred response)."""
        found = (self._emu.state.find_message(i) for i in self.record.followup_ids)
        return [m for m in found if m is not None]

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal the bot opened in response (``{"custom_id", "title", "components"}``)."""
        response = self.record.response
        return response.modal if response else None

    @property
    def messages(self) -> list[Message]:
        """The original response (if any) followed by the follow-ups."""
        original = self.original
        return ([original] if original is not None else []) + self.followups

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[Message]:  # noqa: ASYNC109
        """Wait until at least ``count`` follow-ups were sent; return them."""
        await self._emu.wait_for(lambda: len(self.followups) >= count, timeout=timeout)
        return self.followups

    async def wait_original(
        self,
        predicate: Callable[[Message], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Message:
        """Wait until the original response exists, is no longer loading and satisfies
        ``predicate``; return it."""

        def ready() -> Message | None:
            message = self.original
            if message is None or message.loading:
                return None
            if predicate is not None and not predicate(message):
                return None
            return message

        return await self._emu.wait_for(ready, timeout=timeout)


class Interactions:
    """Builds interactions for the driver and answers the bot's interaction REST calls."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.records: dict[int, InteractionRecord] = {}
        self._by_token: dict[str, InteractionRecord] = {}

    @property
    def _state(self):
        return self.emu.state

    # -- driver side: building and dispatching ---------------------------------------------------

    def find_command(self, guild_id: int | None, name: str, command_type: int = 1) -> Command:
        for command in self._state.commands_for(guild_id):
            if command.name == name and command.type == command_type:
                return command
        registered = sorted({c.name for c in self._state.commands_for(guild_id)})
        raise CommandUnavailable(
            f"the bot has not synced a command named {name!r} (type {command_type}) "
            f"for guild {guild_id}; synced: {registered}"
        )

    def _context(self, guild_id: int | None, user_id: int, channel_id: int | None) -> tuple[Channel, int]:
        """The channel an interaction happens in and the member's permissions there."""
        state = self._state
        if guild_id is None:
            channel = self.emu.dm_channel(user_id)
            return channel, perms.DM_PERMISSIONS
        guild = state.guilds.get(guild_id)
        if guild is None:
            raise DriverError(f"unknown guild {guild_id}")
        if user_id not in guild.members:
            raise DriverError(f"user {user_id} is not a member of guild {guild_id}")
        if channel_id is None:
            channel_id = self.emu.default_channel_id(guild_id, user_id)
        channel = state.channels.get(channel_id)
        if channel is None or channel.guild_id != guild_id:
            raise DriverError(f"channel {channel_id} is not in guild {guild_id}")
        permissions = perms.permissions_for(state, user_id, channel.id)
        if not permissions & perms.VIEW_CHANNEL:
            raise MemberForbidden(f"user {user_id} cannot see channel {channel.name!r}")
        return channel, permissions

    def _base_payload(
        self, itype: int, guild_id: int | None, user_id: int, channel: Channel, permissions: int, locale: str
    ) -> tuple[dict[str, Any], int, str]:
        state = self._state
        interaction_id = state.new_id()
        token = f"emu-{interaction_id}-{secrets.token_urlsafe(24)}"
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.emu.application_id),
            "type": itype,
            "token": token,
            "version": 1,
            "channel_id": str(channel.id),
            "channel": payloads.channel(state, channel, permissions=permissions),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "app_permissions": str(perms.permissions_for(state, self.emu.bot_user_id, channel.id)),
        }
        if guild_id is not None:
            guild = state.guilds[guild_id]
            payload.update(
                {
                    "guild_id": str(guild_id),
                    "guild": {"id": str(guild_id), "locale": guild.preferred_locale, "features": []},
                    "guild_locale": guild.preferred_locale,
                    "member": payloads.member(state, guild.members[user_id], permissions=permissions),
                    "authorizing_integration_owners": {"0": str(guild_id)},
                    "context": 0,
                }
            )
        else:
            payload.update(
                {
                    "user": payloads.user(state.users[user_id]),
                    "authorizing_integration_owners": {"0": str(user_id)},
                    "context": 1,
                }
            )
        return payload, interaction_id, token

    def dispatch(self, record: InteractionRecord) -> InteractionHandle:
        if not self.emu.gateway.connected_for(record.guild_id):
            raise DriverError("the bot is not connected to the gateway; it would never see this interaction")
        self.records[record.id] = record
        self._by_token[record.token] = record
        record.dispatched_at = time.monotonic()
        self.emu.events.interaction_create(record.payload)
        return InteractionHandle(self.emu, record)

    def slash(
        self,
        guild_id: int | None,
        user_id: int,
        command: str,
        options: Mapping[str, Any],
        *,
        channel_id: int | None = None,
        locale: str = "en-US",
        autocomplete_focus: str | None = None,
    ) -> InteractionHandle:
        parts = command.split()
        if not parts:
            raise InvalidInteraction("empty command name")
        registered = self.find_command(guild_id, parts[0])
        channel, permissions = self._context(guild_id, user_id, channel_id)
        self._check_command_allowed(registered, guild_id, user_id, permissions)
        # walk subcommand groups / subcommands
        schema_options = registered.payload.get("options") or []
        path: list[dict[str, Any]] = []
        for part in parts[1:]:
            match = next(
                (o for o in schema_options if o.get("name") == part and o.get("type") in (1, 2)), None
            )
            if match is None:
                raise CommandUnavailable(f"{command!r}: {parts[0]!r} has no subcommand (group) {part!r}")
            path.append(match)
            schema_options = match.get("options") or []
        if any(o.get("type") in (1, 2) for o in schema_options):
            subs = [o["name"] for o in schema_options if o.get("type") in (1, 2)]
            raise CommandUnavailable(f"{command!r} is a group; name a subcommand: {subs}")
        resolved: dict[str, dict[str, Any]] = {}
        leaf = self._options(schema_options, options, guild_id, channel, resolved, autocomplete_focus)
        for parent in reversed(path):
            leaf = [{"name": parent["name"], "type": parent["type"], "options": leaf}]
        data: dict[str, Any] = {
            "id": str(registered.id),
            "name": registered.name,
            "type": 1,
            "options": leaf,
        }
        if registered.guild_id is not None:
            data["guild_id"] = str(registered.guild_id)
        if resolved:
            data["resolved"] = resolved
        itype = AUTOCOMPLETE if autocomplete_focus else APPLICATION_COMMAND
        payload, interaction_id, token = self._base_payload(
            itype, guild_id, user_id, channel, permissions, locale
        )
        payload["data"] = data
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=itype,
            guild_id=guild_id,
            channel_id=channel.id,
            user_id=user_id,
            payload=payload,
            command_name=command,
        )
        return self.dispatch(record)

    def context_menu(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        target: Any,
        *,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """A user (type 2) or message (type 3) context-menu command on ``target``."""
        state = self._state
        message_target = isinstance(target, Message)
        registered = self.find_command(guild_id, name, 3 if message_target else 2)
        if message_target:
            channel_id = target.channel_id
        channel, permissions = self._context(guild_id, user_id, channel_id)
        self._check_command_allowed(registered, guild_id, user_id, permissions)
        resolved: dict[str, dict[str, Any]] = {}
        if message_target:
            target_id = target.id
            resolved["messages"] = {str(target.id): payloads.message(state, target)}
        else:
            target_id = _id_of(target)
            self._resolve_user(target_id, guild_id, channel, resolved)
        data: dict[str, Any] = {
            "id": str(registered.id),
            "name": registered.name,
            "type": registered.type,
            "target_id": str(target_id),
            "resolved": resolved,
        }
        if registered.guild_id is not None:
            data["guild_id"] = str(registered.guild_id)
        payload, interaction_id, token = self._base_payload(
            APPLICATION_COMMAND, guild_id, user_id, channel, permissions, locale
        )
        payload["data"] = data
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=APPLICATION_COMMAND,
            guild_id=guild_id,
            channel_id=channel.id,
            user_id=user_id,
            payload=payload,
            command_name=name,
        )
        return self.dispatch(record)

    def _check_command_allowed(
        self, command: Command, guild_id: int | None, user_id: int, permissions: int
    ) -> None:
        payload = command.payload
        contexts = payload.get("contexts")
        if guild_id is None:
            if command.guild_id is not None:
                raise CommandUnavailable(f"/{command.name} is a guild command; it is not offered in DMs")
            if (contexts is not None and 1 not in contexts) or (
                contexts is None and payload.get("dm_permission") is False
            ):
                raise CommandUnavailable(f"/{command.name} is not available in DMs")
            return
        if contexts is not None and 0 not in contexts:
            raise CommandUnavailable(f"/{command.name} is not available in guilds")
        required = payload.get("default_member_permissions")
        if required is not None and (guild_id, command.name) not in self.emu.commands_opened_to_everyone:
            bits = int(required)
            if not perms.has(permissions, bits) or (bits == 0 and permissions != perms.ALL):
                raise CommandUnavailable(
                    f"/{command.name} needs {perms.names(bits) or 'ADMINISTRATOR'}; "
                    f"user {user_id} has it hidden (default_member_permissions)"
                )
        if not permissions & perms.USE_APPLICATION_COMMANDS:
            raise MemberForbidden(f"user {user_id} lacks USE_APPLICATION_COMMANDS here")

    def _options(
        self,
        schema: list[dict[str, Any]],
        given: Mapping[str, Any],
        guild_id: int | None,
        channel: Channel,
        resolved: dict[str, dict[str, Any]],
        focus: str | None,
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in schema}
        unknown = set(given) - set(by_name)
        if unknown:
            raise InvalidInteraction(
                f"unknown option(s) {sorted(unknown)}; the command has {sorted(by_name)}"
            )
        result = []
        for option in schema:
            name = option["name"]
            if name not in given or given[name] is None:
                if option.get("required") and focus is None:
                    raise InvalidInteraction(f"option {name!r} is required")
                continue
            entry: dict[str, Any] = {"name": name, "type": option["type"]}
            if focus is not None and name == focus:
                entry["value"] = str(given[name])
                entry["focused"] = True
            else:
                entry["value"] = self._option_value(option, given[name], guild_id, channel, resolved)
            result.append(entry)
        return result

    def _option_value(
        self,
        option: dict[str, Any],
        value: Any,
        guild_id: int | None,
        channel: Channel,
        resolved: dict[str, dict[str, Any]],
    ) -> Any:
        otype = option["type"]
        name = option["name"]
        state = self._state
        if otype == 3:
            value = str(value)
            if option.get("min_length") is not None and len(value) < option["min_length"]:
                raise InvalidInteraction(f"{name!r} is shorter than {option['min_length']}")
            if option.get("max_length") is not None and len(value) > option["max_length"]:
                raise InvalidInteraction(f"{name!r} is longer than {option['max_length']}")
            if len(value) > 6000:
                raise InvalidInteraction(f"{name!r} is longer than 6000")
        elif otype == 4:
            if isinstance(value, bool) or int(value) != value:
                raise InvalidInteraction(f"{name!r} must be an integer")
            value = int(value)
        elif otype == 10:
            value = float(value)
        elif otype == 5:
            if not isinstance(value, bool):
                raise InvalidInteraction(f"{name!r} must be a bool")
        elif otype == 6:
            user_id = _id_of(value)
            self._resolve_user(user_id, guild_id, channel, resolved)
            return str(user_id)
        elif otype == 7:
            channel_id = _id_of(value)
            target = state.channels.get(channel_id)
            if target is None or target.guild_id != guild_id:
                raise InvalidInteraction(f"{name!r}: channel {channel_id} is not in this guild")
            allowed_types = option.get("channel_types")
            if allowed_types and target.type not in allowed_types:
                raise InvalidInteraction(f"{name!r}: channel type {target.type} not in {allowed_types}")
            self._resolve_channel(target, resolved)
            return str(channel_id)
        elif otype == 8:
            role_id = _id_of(value)
            self._resolve_role(role_id, guild_id, resolved)
            return str(role_id)
        elif otype == 9:
            target_id = _id_of(value)
            guild = state.guilds.get(guild_id or 0)
            if guild is not None and target_id in guild.roles:
                self._resolve_role(target_id, guild_id, resolved)
            else:
                self._resolve_user(target_id, guild_id, channel, resolved)
            return str(target_id)
        elif otype == 11:
            if not isinstance(value, Attachment):
                raise InvalidInteraction(f"{name!r} needs an emulator Attachment(filename, data)")
            stored = self.emu.message_factory.store_attachment(
                channel.id,
                value.filename,
                value.bytes,
                value.content_type,
                description=value.description,
                ephemeral=True,
            )
            resolved.setdefault("attachments", {})[str(stored.id)] = payloads.attachment(stored)
            return str(stored.id)
        else:
            raise InvalidInteraction(f"option type {otype} of {name!r} is not supported by the emulator")
        choices = option.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise InvalidInteraction(
                f"{name!r}={value!r} is not one of the choices {[c['value'] for c in choices]}"
            )
        if otype in (4, 10):
            if option.get("min_value") is not None and value < option["min_value"]:
                raise InvalidInteraction(f"{name!r} is below {option['min_value']}")
            if option.get("max_value") is not None and value > option["max_value"]:
                raise InvalidInteraction(f"{name!r} is above {option['max_value']}")
        return value

    def _resolve_user(
        self, user_id: int, guild_id: int | None, channel: Channel, resolved: dict[str, dict[str, Any]]
    ) -> None:
        state = self._state
        user = state.users.get(user_id)
        if user is None:
            raise InvalidInteraction(f"unknown user {user_id}")
        resolved.setdefault("users", {})[str(user_id)] = payloads.user(user)
        guild = state.guilds.get(guild_id or 0)
        if guild is not None and user_id in guild.members:
            member = payloads.member(
                state,
                guild.members[user_id],
                with_user=False,
                permissions=perms.permissions_for(state, user_id, channel.id),
            )
            resolved.setdefault("members", {})[str(user_id)] = member

    def _resolve_role(self, role_id: int, guild_id: int | None, resolved: dict[str, dict[str, Any]]) -> None:
        guild = self._state.guilds.get(guild_id or 0)
        if guild is None or role_id not in guild.roles:
            raise InvalidInteraction(f"unknown role {role_id}")
        resolved.setdefault("roles", {})[str(role_id)] = payloads.role(guild.roles[role_id])

    def _resolve_channel(self, target: Channel, resolved: dict[str, dict[str, Any]]) -> None:
        data = payloads.channel(self._state, target)
        data["permissions"] = str(perms.permissions_for(self._state, self.emu.bot_user_id, target.id))
        resolved.setdefault("channels", {})[str(target.id)] = data

    # -- components ---------------------------------------------------------------------------

    def component(
        self,
        guild_id: int | None,
        user_id: int,
        message: Message,
        custom_id: str,
        values: list[Any] | None,
        *,
        locale: str = "en-US",
    ) -> InteractionHandle:
        if message.guild_id != guild_id:
            raise DriverError(f"message {message.id} is not in guild {guild_id}")
        if message.ephemeral_for is not None and message.ephemeral_for != user_id:
            raise MemberForbidden(f"message {message.id} is ephemeral for another user")
        component = message.component(custom_id)
        if component is None:
            ids = [c.get("custom_id") for c in message.all_components() if c.get("custom_id")]
            raise InvalidInteraction(f"message {message.id} has no component {custom_id!r}; it has {ids}")
        if component.get("disabled"):
            raise InvalidInteraction(f"component {custom_id!r} is disabled")
        channel, permissions = self._context(guild_id, user_id, message.channel_id)
        ctype = component["type"]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": ctype, "id": component.get("id")}
        if ctype == 2:
            if values is not None:
                raise InvalidInteraction(f"{custom_id!r} is a button; use click()")
            if component.get("style") in (5, 6):
                raise InvalidInteraction(f"{custom_id!r} is a link/premium button; it sends no interaction")
        elif ctype in SELECT_TYPES:
            if values is None:
                raise InvalidInteraction(f"{custom_id!r} is a select; use select() with values")
            resolved: dict[str, dict[str, Any]] = {}
            data["values"] = self._select_values(component, values, guild_id, channel, resolved)
            if resolved:
                data["resolved"] = resolved
        else:
            raise InvalidInteraction(f"component type {ctype} is not interactive")
        payload, interaction_id, token = self._base_payload(
            MESSAGE_COMPONENT, guild_id, user_id, channel, permissions, locale
        )
        payload["data"] = data
        payload["message"] = payloads.message(self._state, message)
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=MESSAGE_COMPONENT,
            guild_id=guild_id,
            channel_id=channel.id,
            user_id=user_id,
            payload=payload,
            source_message_id=message.id,
            command_name=custom_id,
        )
        return self.dispatch(record)

    def _select_values(
        self,
        component: dict[str, Any],
        values: list[Any],
        guild_id: int | None,
        channel: Channel,
        resolved: dict[str, dict[str, Any]],
    ) -> list[str]:
        ctype = component["type"]
        custom_id = component.get("custom_id")
        minimum = component.get("min_values", 1)
        maximum = component.get("max_values", 1)
        if component.get("required") is False:
            minimum = 0
        if not minimum <= len(values) <= maximum:
            raise InvalidInteraction(f"{custom_id!r} takes {minimum}..{maximum} values, got {len(values)}")
        if ctype == 3:
            allowed = [o["value"] for o in component.get("options") or []]
            for value in values:
                if value not in allowed:
                    raise InvalidInteraction(f"{custom_id!r}: {value!r} is not an option {allowed}")
            return [str(v) for v in values]
        result = []
        guild = self._state.guilds.get(guild_id or 0)
        for value in values:
            target_id = _id_of(value)
            if ctype == 5 or (ctype == 7 and not (guild and target_id in guild.roles)):
                self._resolve_user(target_id, guild_id, channel, resolved)
            elif ctype in (6, 7):
                self._resolve_role(target_id, guild_id, resolved)
            elif ctype == 8:
                target = self._state.channels.get(target_id)
                if target is None or target.guild_id != guild_id:
                    raise InvalidInteraction(f"{custom_id!r}: channel {target_id} is not in this guild")
                types = component.get("channel_types")
                if types and target.type not in types:
                    raise InvalidInteraction(f"{custom_id!r}: channel type {target.type} not in {types}")
                self._resolve_channel(target, resolved)
            result.append(str(target_id))
        return result

    # -- modals ---------------------------------------------------------------------------------

    def modal_submit(
        self,
        guild_id: int | None,
        user_id: int,
        modal: dict[str, Any],
        values: Mapping[str, Any],
        *,
        source: InteractionRecord | None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        channel_id = source.channel_id if source else None
        channel, permissions = self._context(guild_id, user_id, channel_id)
        resolved: dict[str, dict[str, Any]] = {}
        remaining = dict(values)
        components = [
            self._submitted(c, remaining, guild_id, channel, resolved) for c in modal.get("components") or []
        ]
        if remaining:
            raise InvalidInteraction(f"the modal has no input(s) {sorted(remaining)}")
        data: dict[str, Any] = {"custom_id": modal["custom_id"], "components": components}
        if resolved:
            data["resolved"] = resolved
        payload, interaction_id, token = self._base_payload(
            MODAL_SUBMIT, guild_id, user_id, channel, permissions, locale
        )
        payload["data"] = data
        source_message_id = source.source_message_id if source else None
        if source_message_id is not None:
            message = self._state.find_message(source_message_id)
            if message is not None:
                payload["message"] = payloads.message(self._state, message)
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=MODAL_SUBMIT,
            guild_id=guild_id,
            channel_id=channel.id,
            user_id=user_id,
            payload=payload,
            source_message_id=source_message_id,
            command_name=modal["custom_id"],
        )
        return self.dispatch(record)

    def _submitted(
        self,
        component: dict[str, Any],
        values: dict[str, Any],
        guild_id: int | None,
        channel: Channel,
        resolved: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        ctype = component.get("type")
        if ctype == 1:
            return {
                "type": 1,
                "id": component.get("id"),
                "components": [
                    self._submitted(c, values, guild_id, channel, resolved)
                    for c in component.get("components") or []
                ],
            }
        if ctype == 18:
            return {
                "type": 18,
                "id": component.get("id"),
                "component": self._submitted(component["component"], values, guild_id, channel, resolved),
            }
        custom_id = component.get("custom_id")
        base: dict[str, Any] = {"type": ctype, "id": component.get("id")}
        if custom_id is None:
            return base  # text display and other static parts
        base["custom_id"] = custom_id
        present = custom_id in values
        value = values.pop(custom_id, None)
        required = component.get("required", True)
        if ctype == 4:
            text = str(value) if present else (component.get("value") or "")
            if required and not text:
                raise InvalidInteraction(f"text input {custom_id!r} is required")
            if text:
                if component.get("min_length") and len(text) < component["min_length"]:
                    raise InvalidInteraction(f"{custom_id!r} is shorter than {component['min_length']}")
                if component.get("max_length") and len(text) > component["max_length"]:
                    raise InvalidInteraction(f"{custom_id!r} is longer than {component['max_length']}")
            base["value"] = text
        elif ctype in SELECT_TYPES:
            chosen = (
                list(value)
                if present
                else [o["value"] for o in component.get("options") or [] if o.get("default")]
            )
            if not chosen and not required:
                base["values"] = []
            else:
                base["values"] = self._select_values(component, chosen, guild_id, channel, resolved)
        elif ctype == 21:  # radio group
            options = [o["value"] for o in component.get("options") or []]
            if value is None and required:
                raise InvalidInteraction(f"radio group {custom_id!r} is required")
            if value is not None and value not in options:
                raise InvalidInteraction(f"{custom_id!r}: {value!r} is not an option {options}")
            base["value"] = value
        elif ctype == 22:  # checkbox group
            options = [o["value"] for o in component.get("options") or []]
            chosen = list(value or [])
            for item in chosen:
                if item not in options:
                    raise InvalidInteraction(f"{custom_id!r}: {item!r} is not an option {options}")
            base["values"] = chosen
        elif ctype == 23:  # checkbox
            base["value"] = bool(value)
        elif ctype == 19:  # file upload
            files = list(value or [])
            if required and not files:
                raise InvalidInteraction(f"file upload {custom_id!r} is required")
            ids = []
            for item in files:
                if not isinstance(item, Attachment):
                    raise InvalidInteraction(f"{custom_id!r} needs emulator Attachment objects")
                stored = self.emu.message_factory.store_attachment(
                    channel.id, item.filename, item.bytes, item.content_type, ephemeral=True
                )
                resolved.setdefault("attachments", {})[str(stored.id)] = payloads.attachment(stored)
                ids.append(str(stored.id))
            base["values"] = ids
        else:
            raise InvalidInteraction(f"modal component type {ctype} is not supported by the emulator")
        return base

    # -- bot side: callbacks -------------------------------------------------------------------

    def _record(self, interaction_id: int, token: str) -> InteractionRecord:
        record = self.records.get(interaction_id)
        if record is None or record.token != token:
            raise errors.unknown_interaction()
        return record

    def callback(
        self,
        interaction_id: int,
        token: str,
        body: dict[str, Any],
        files: dict[int, UploadedFile],
        with_response: bool,
    ) -> dict[str, Any] | None:
        record = self._record(interaction_id, token)
        latency = time.monotonic() - record.dispatched_at
        deadline = self.emu.interaction_deadline
        if record.response is None and deadline is not None and latency > deadline:
            record.expired = True
            record.late_callbacks += 1
            raise errors.unknown_interaction()
        if record.response is not None:
            raise errors.already_acknowledged()
        ctype = body.get("type")
        data = body.get("data") or {}
        state = self._state
        response = InteractionResponse(type=ctype, latency=latency, data=copy.deepcopy(data))
        resource_message: Message | None = None
        if ctype == PONG:
            if record.type != PING:
                raise errors.invalid_field(
                    "type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid response type"
                )
        elif ctype in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            if record.type == AUTOCOMPLETE:
                raise errors.invalid_field(
                    "type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid response type"
                )
            channel = state.channel(record.channel_id)
            ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
            message_type = 20 if record.type == APPLICATION_COMMAND else 0
            if ctype == CHANNEL_MESSAGE:
                message = self.emu.message_factory.create(
                    channel,
                    self.emu.bot_user_id,
                    data,
                    files,
                    ephemeral_for=record.user_id if ephemeral else None,
                    message_type=message_type,
                    interaction_metadata=self._metadata(record),
                )
            else:
                message = self.emu.message_factory.create(
                    channel,
                    self.emu.bot_user_id,
                    {"flags": EPHEMERAL if ephemeral else 0},
                    ephemeral_for=record.user_id if ephemeral else None,
                    extra_flags=LOADING,
                    message_type=message_type,
                    interaction_metadata=self._metadata(record),
                    validate=False,
                )
                record.deferred_pending = True
            record.original_message_id = message.id
            resource_message = message
            self._snapshot(response, message)
            if not message.ephemeral:
                self.emu.events.message_create(message)
        elif ctype in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            if record.source_message_id is None:
                raise errors.invalid_field(
                    "type",
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    "Interaction response type is only valid for components",
                )
            message = state.find_message(record.source_message_id)
            if message is None or message.deleted:
                raise errors.unknown_message()
            record.original_message_id = message.id
            if ctype == UPDATE_MESSAGE:
                self.emu.message_factory.edit(message, data, files)
                if not message.ephemeral:
                    self.emu.events.message_update(message)
                resource_message = message
            self._snapshot(response, message)
        elif ctype == AUTOCOMPLETE_RESULT:
            if record.type != AUTOCOMPLETE:
                raise errors.invalid_field(
                    "type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid response type"
                )
            response.choices = list(data.get("choices") or [])
        elif ctype == MODAL:
            if record.type in (MODAL_SUBMIT, AUTOCOMPLETE):
                raise errors.invalid_field(
                    "type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid response type"
                )
            validation.validate_modal(data)
            modal = copy.deepcopy(data)
            assign_component_ids(modal["components"])
            response.modal = modal
        else:
            raise errors.invalid_field(
                "type", "INTERACTION_RESPONSE_TYPE_INVALID", f"Unsupported type {ctype}"
            )
        record.response = response
        record.responded.set()
        if not with_response:
            return None
        result: dict[str, Any] = {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "activity_instance_id": None,
                "response_message_id": _sf(record.original_message_id),
                "response_message_loading": ctype == DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(response.flags & EPHEMERAL),
            }
        }
        resource: dict[str, Any] = {"type": ctype}
        if resource_message is not None:
            resource["message"] = payloads.message(state, resource_message)
        result["resource"] = resource
        return result

    def _snapshot(self, response: InteractionResponse, message: Message) -> None:
        response.message = message
        response.content = message.content
        response.embeds = copy.deepcopy(message.embeds)
        response.components = copy.deepcopy(message.components)
        response.flags = message.flags
        response.attachments = list(message.attachments)

    def _metadata(self, record: InteractionRecord) -> dict[str, Any]:
        state = self._state
        data: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "user": payloads.user(state.users[record.user_id]),
            "authorizing_integration_owners": record.payload.get("authorizing_integration_owners", {}),
        }
        if record.type == APPLICATION_COMMAND:
            data["name"] = record.command_name
            data["command_type"] = 1
        if record.source_message_id is not None:
            data["interacted_message_id"] = str(record.source_message_id)
        return data

    # -- bot side: webhooks (follow-ups, original response) ----------------------------------------

    def _webhook_record(self, application_id: int, token: str) -> InteractionRecord:
        record = self._by_token.get(token)
        if record is None or application_id != self.emu.application_id:
            raise errors.unknown_webhook()
        if time.monotonic() - record.dispatched_at > self.emu.interaction_token_ttl:
            raise errors.APIError(401, 50027, "Invalid Webhook Token")
        return record

    def followup(
        self,
        application_id: int,
        token: str,
        body: dict[str, Any],
        files: dict[int, UploadedFile],
        wait: bool,
    ) -> dict[str, Any] | None:
        record = self._webhook_record(application_id, token)
        if record.response is None:
            raise errors.unknown_webhook()
        state = self._state
        if record.deferred_pending and record.original_message_id is not None:
            # Backwards compatibility: the first follow-up after a deferred response edits it.
            message = state.find_message(record.original_message_id)
            if message is not None and message.loading:
                self._fill_deferred(record, message, body, files, require_content=True)
                return payloads.message(state, message) if wait else None
        channel = state.channel(record.channel_id)
        ephemeral = bool(int(body.get("flags") or 0) & EPHEMERAL)
        message = self.emu.message_factory.create(
            channel,
            self.emu.bot_user_id,
            body,
            files,
            ephemeral_for=record.user_id if ephemeral else None,
            message_type=20 if record.type == APPLICATION_COMMAND else 0,
            interaction_metadata=self._metadata(record),
        )
        record.followup_ids.append(message.id)
        if not message.ephemeral:
            self.emu.events.message_create(message)
        return payloads.message(state, message) if wait else None

    def _fill_deferred(
        self,
        record: InteractionRecord,
        message: Message,
        body: dict[str, Any],
        files: dict[int, UploadedFile],
        *,
        require_content: bool = False,
    ) -> None:
        body = {k: v for k, v in body.items() if k != "flags"}
        validation.validate_message(body, require_content=require_content, file_count=len(files))
        self.emu.message_factory.edit(message, body, files)
        message.flags &= ~LOADING
        message.edited_timestamp = None
        record.deferred_pending = False
        if not message.ephemeral:
            self.emu.events.message_update(message)

    def _webhook_message(self, record: InteractionRecord, message_ref: str) -> Message:
        state = self._state
        if message_ref == "@original":
            if record.original_message_id is None:
                raise errors.unknown_message()
            message = state.find_message(record.original_message_id)
        else:
            message_id = int(message_ref)
            if message_id != record.original_message_id and message_id not in record.followup_ids:
                raise errors.unknown_message()
            message = state.find_message(message_id)
        if message is None or message.deleted:
            raise errors.unknown_message()
        return message

    def get_message(self, application_id: int, token: str, message_ref: str) -> dict[str, Any]:
        record = self._webhook_record(application_id, token)
        return payloads.message(self._state, self._webhook_message(record, message_ref))

    def edit_message(
        self,
        application_id: int,
        token: str,
        message_ref: str,
        body: dict[str, Any],
        files: dict[int, UploadedFile],
    ) -> dict[str, Any]:
        record = self._webhook_record(application_id, token)
        message = self._webhook_message(record, message_ref)
        if message.loading:
            self._fill_deferred(record, message, body, files)
        else:
            self.emu.message_factory.edit(message, body, files)
            if not message.ephemeral:
                self.emu.events.message_update(message)
        return payloads.message(self._state, message)

    def delete_message(self, application_id: int, token: str, message_ref: str) -> None:
        record = self._webhook_record(application_id, token)
        message = self._webhook_message(record, message_ref)
        message.deleted = True
        if not message.ephemeral:
            self.emu.events.message_delete(message)


def _id_of(value: Any) -> int:
    """An id from an int, a numeric string, or anything with an ``id`` (state or discord.py objects)."""
    if isinstance(value, bool):
        raise InvalidInteraction(f"{value!r} is not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        return int(value.id)
    raise InvalidInteraction(f"cannot take an id from {value!r}")


def _sf(value: int | None) -> str | None:
    return None if value is None else str(value)
