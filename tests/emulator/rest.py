"""The emulated REST API v10 (``/api/v10/...``), enforcing Discord's permissions and limits.

Every request goes through one middleware that: records it in the REST log, answers unknown
routes with 404 ``{"message": "404: Not Found", "code": 0}`` (and records them), checks the bot
token (webhook and interaction-callback routes need none), applies the per-route rate limit,
applies injected faults, runs the handler and turns :class:`APIError` into Discord's JSON error.

Handlers enforce what a real bot runs into: VIEW_CHANNEL (50001 Missing Access), the specific
permission (50013 Missing Permissions), role hierarchy, overwrites the bot may not grant, 500
channels per guild (30013), 50 per category (50035), 1,000 active threads (160006), message and
embed limits (50035), DMs to users who closed them (50007). State changes emit the gateway events
Discord sends for them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors, payloads, validation
from . import permissions as perms
from .errors import APIError
from .messages import UploadedFile, guess_content_type
from .snowflake import iso, utcnow
from .state import (
    GUILD_ANNOUNCEMENT,
    GUILD_CATEGORY,
    GUILD_FORUM,
    GUILD_TEXT,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    Channel,
    Command,
    Guild,
    Message,
    Overwrite,
    Role,
)

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
MAX_GUILD_CHANNELS = 500
MAX_CATEGORY_CHANNELS = 50
MAX_ACTIVE_THREADS = 1000
MAX_ROLES = 250
TEXT_LIKE = (GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BODY_KEY = web.RequestKey("emulator_body", object)


@dataclass
class RestCall:
    """One REST request as the emulator saw it."""

    method: str
    path: str
    route: str | None
    status: int
    at: float
    duration: float
    body: Any = None
    error_code: int | None = None
    query: dict[str, str] | None = None

    @property
    def key(self) -> str:
        """``"METHOD /template"``, e.g. ``"POST /guilds/{guild_id}/channels"``."""
        return f"{self.method} {self.route}"


def json_response(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json" (no charset), as Discord sends and discord.py compares.
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        headers={"Content-Type": "application/json"},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def _snowflake(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.invalid_field(
            field, "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.'
        ) from None


class RestApi:
    """Route table and handlers. Mounted on the emulator's aiohttp application."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    @property
    def state(self):
        return self.emu.state

    @property
    def bot_id(self) -> int:
        return self.emu.bot_user_id

    # -- setup ----------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Handler]]:
        """(method, template relative to /api/v10, handler)."""
        r = [
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", "/users/@me", self.get_me),
            ("GET", "/users/{user_id}", self.get_user),
            ("GET", "/users/@me/guilds", self.get_my_guilds),
            ("POST", "/users/@me/channels", self.create_dm),
            ("POST", "/auth/logout", self.logout),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/@me", self.get_application),
            # application commands
            ("GET", "/applications/{application_id}/commands", self.list_commands),
            ("PUT", "/applications/{application_id}/commands", self.put_commands),
            ("POST", "/applications/{application_id}/commands", self.upsert_command),
            ("GET", "/applications/{application_id}/commands/{command_id}", self.get_command),
            ("PATCH", "/applications/{application_id}/commands/{command_id}", self.edit_command),
            ("DELETE", "/applications/{application_id}/commands/{command_id}", self.delete_command),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self.list_commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self.put_commands),
            ("POST", "/applications/{application_id}/guilds/{guild_id}/commands", self.upsert_command),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands/permissions",
                self.command_permissions,
            ),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self.get_command,
            ),
            (
                "PATCH",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self.edit_command,
            ),
            (
                "DELETE",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self.delete_command,
            ),
            # guilds
            ("GET", "/guilds/{guild_id}", self.get_guild),
            ("GET", "/guilds/{guild_id}/channels", self.list_channels),
            ("POST", "/guilds/{guild_id}/channels", self.create_channel),
            ("PATCH", "/guilds/{guild_id}/channels", self.move_channels),
            ("GET", "/guilds/{guild_id}/roles", self.list_roles),
            ("POST", "/guilds/{guild_id}/roles", self.create_role),
            ("GET", "/guilds/{guild_id}/roles/{role_id}", self.get_role),
            ("PATCH", "/guilds/{guild_id}/roles/{role_id}", self.edit_role),
            ("DELETE", "/guilds/{guild_id}/roles/{role_id}", self.delete_role),
            ("GET", "/guilds/{guild_id}/members", self.list_members),
            ("GET", "/guilds/{guild_id}/members/search", self.search_members),
            ("PATCH", "/guilds/{guild_id}/members/@me", self.edit_me),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member),
            ("PATCH", "/guilds/{guild_id}/members/{user_id}", self.edit_member),
            ("DELETE", "/guilds/{guild_id}/members/{user_id}", self.kick_member),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.add_member_role),
            ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.remove_member_role),
            ("GET", "/guilds/{guild_id}/threads/active", self.active_threads),
            # channels
            ("GET", "/channels/{channel_id}", self.get_channel),
            ("PATCH", "/channels/{channel_id}", self.edit_channel),
            ("DELETE", "/channels/{channel_id}", self.delete_channel),
            ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}", self.put_overwrite),
            ("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}", self.delete_overwrite),
            ("POST", "/channels/{channel_id}/typing", self.typing),
            ("GET", "/channels/{channel_id}/messages", self.list_messages),
            ("POST", "/channels/{channel_id}/messages", self.create_message),
            ("POST", "/channels/{channel_id}/messages/bulk-delete", self.bulk_delete),
            ("GET", "/channels/{channel_id}/messages/pins", self.list_pins),
            ("PUT", "/channels/{channel_id}/messages/pins/{message_id}", self.pin),
            ("DELETE", "/channels/{channel_id}/messages/pins/{message_id}", self.unpin),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self.add_reaction),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self.remove_reaction,
            ),
            ("POST", "/channels/{channel_id}/threads", self.create_thread),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.create_thread_from_message),
            ("GET", "/channels/{channel_id}/threads/archived/public", self.archived_threads),
            ("GET", "/channels/{channel_id}/threads/archived/private", self.archived_threads),
            ("GET", "/channels/{channel_id}/users/@me/threads/archived/private", self.archived_threads),
            ("GET", "/channels/{channel_id}/thread-members", self.list_thread_members),
            ("GET", "/channels/{channel_id}/thread-members/{user_id}", self.get_thread_member),
            ("PUT", "/channels/{channel_id}/thread-members/{user_id}", self.add_thread_member),
            ("DELETE", "/channels/{channel_id}/thread-members/{user_id}", self.remove_thread_member),
            # interactions and their webhooks (no bot token needed)
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.interaction_callback),
            ("POST", "/webhooks/{application_id}/{token}", self.followup),
            ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", self.webhook_get_message),
            ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", self.webhook_edit_message),
            (
                "DELETE",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self.webhook_delete_message,
            ),
        ]
        return r

    PUBLIC_PREFIXES = ("/interactions/", "/webhooks/")

    def install(self, app: web.Application) -> None:
        for method, template, handler in self.routes():
            app.router.add_route(method, API_PREFIX + template, handler)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self.cdn_attachment)

    # -- middleware -----------------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        started = time.monotonic()
        path = request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX) else request.path
        info = request.match_info
        template: str | None = None
        if info.http_exception is None and info.route.resource is not None:
            template = info.route.resource.canonical[len(API_PREFIX) :]
        headers: dict[str, str] = {"Via": "1.1 google"}
        error_code: int | None = None
        if template is None:
            status = info.http_exception.status if info.http_exception is not None else 404
            self.emu.record_unknown_route(request.method, path)
            message = "405: Method Not Allowed" if status == 405 else "404: Not Found"
            response: web.StreamResponse = json_response({"message": message, "code": 0}, status)
            error_code = 0
        else:
            response, error_code = await self._handle(request, handler, template, path, headers)
        for key, value in headers.items():
            response.headers[key] = value
        self.emu.rest_log.append(
            RestCall(
                method=request.method,
                path=path,
                route=template,
                status=response.status,
                at=time.time(),
                duration=time.monotonic() - started,
                body=request.get(BODY_KEY),
                error_code=error_code,
                query=dict(request.query) or None,
            )
        )
        return response

    async def _handle(
        self, request: web.Request, handler: Handler, template: str, path: str, headers: dict[str, str]
    ) -> tuple[web.StreamResponse, int | None]:
        method = request.method
        authorized = request.headers.get("Authorization") == f"Bot {self.emu.bot_token}"
        if not template.startswith(self.PUBLIC_PREFIXES) and not authorized:
            error = errors.unauthorized()
            return json_response(error.body(), error.status), error.code
        match = request.match_info
        major = "+".join(
            match[k]
            for k in ("channel_id", "guild_id", "application_id", "interaction_id", "token")
            if k in match and (k != "application_id" or "token" in match)
        )
        decision = self.emu.rate_limiter.check(f"{method} {template}", major)
        headers.update(decision.headers)
        if not decision.allowed:
            body = {
                "message": "You are being rate limited.",
                "retry_after": round(decision.retry_after, 3),
                "global": False,
            }
            return json_response(body, 429), None
        fault = self.emu.faults.pick(method, template, path)
        if fault is not None:
            if fault.status == 429:
                headers.update(
                    {
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                        "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
                        "X-RateLimit-Scope": "user",
                        "Retry-After": str(max(1, int(fault.retry_after + 0.999))),
                    }
                )
                body = {
                    "message": "You are being rate limited.",
                    "retry_after": fault.retry_after,
                    "global": False,
                }
                return json_response(body, 429), None
            body = {"message": f"{fault.status}: Emulated server error", "code": 0}
            return json_response(body, fault.status), 0
        try:
            return await handler(request), None
        except APIError as error:
            return json_response(error.body(), error.status), error.code
        except Exception as exc:  # an emulator bug: answer like Discord's 500, and record it
            log.exception("emulator: %s %s failed", method, path)
            self.emu.server_errors.append((method, path, exc))
            return json_response({"message": "500: Internal Server Error", "code": 0}, 500), 0

    # -- request helpers ------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> tuple[dict[str, Any], dict[int, UploadedFile]]:
        """JSON body, or multipart ``payload_json`` plus ``files[n]`` parts."""
        files: dict[int, UploadedFile] = {}
        body: Any = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                name = getattr(part, "name", None) or ""
                if name == "payload_json":
                    body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    match = re.fullmatch(r"files\[(\d+)\]", name) or re.fullmatch(r"file(\d*)", name)
                    index = int(match.group(1) or 0) if match else len(files)
                    filename = getattr(part, "filename", None) or f"file{index}"
                    data = await part.read(decode=False)  # type: ignore[union-attr]
                    declared = part.headers.get("Content-Type")
                    if declared in (None, "application/octet-stream"):
                        declared = guess_content_type(filename) or declared
                    files[index] = UploadedFile(filename, bytes(data), declared)
        elif request.can_read_body:
            text = await request.text()
            if text:
                try:
                    body = json.loads(text)
                except json.JSONDecodeError:
                    raise APIError(400, 50109, "The request body contains invalid JSON.") from None
        request[BODY_KEY] = (
            body
            if not files
            else {
                "payload_json": body,
                "files": [f.filename for _, f in sorted(files.items())],
            }
        )
        return body if body is not None else {}, files

    def _int(self, request: web.Request, name: str) -> int:
        try:
            return int(request.match_info[name])
        except ValueError:
            raise errors.not_found() from None

    def _perms(self, channel: Channel) -> int:
        return perms.permissions_for(self.state, self.bot_id, channel.id)

    def _require(self, channel: Channel, flags: int = 0) -> int:
        """Bot must see ``channel`` (else 50001) and have ``flags`` there (else 50013)."""
        permissions = self._perms(channel)
        if not permissions & perms.VIEW_CHANNEL:
            raise errors.missing_access()
        if flags and not perms.has(permissions, flags):
            raise errors.missing_permissions()
        return permissions

    def _guild(self, guild_id: int) -> Guild:
        guild = self.state.guild(guild_id)
        if self.bot_id not in guild.members:
            raise errors.missing_access()
        return guild

    def _require_guild(self, guild: Guild, flags: int) -> int:
        permissions = perms.base_permissions(guild, self.bot_id)
        if not perms.has(permissions, flags):
            raise errors.missing_permissions()
        return permissions

    def _channel(self, request: web.Request) -> Channel:
        channel = self.state.channel(self._int(request, "channel_id"))
        if channel.guild_id is not None and self.bot_id not in self.state.guilds[channel.guild_id].members:
            raise errors.missing_access()
        return channel

    def _outranks(self, guild: Guild, position: int) -> bool:
        if guild.owner_id == self.bot_id:
            return True
        return self.state.highest_role_position(guild.id, self.bot_id) > position

    # -- gateway, users, application ------------------------------------------------------------

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.emu.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.emu.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_me(self, request: web.Request) -> web.Response:
        return json_response(payloads.client_user(self.state.users[self.bot_id]))

    async def get_user(self, request: web.Request) -> web.Response:
        return json_response(payloads.user(self.state.user(self._int(request, "user_id"))))

    async def get_my_guilds(self, request: web.Request) -> web.Response:
        result = []
        for guild in self.state.guilds.values():
            if self.bot_id in guild.members:
                result.append(
                    {
                        "id": str(guild.id),
                        "name": guild.name,
                        "icon": None,
                        "banner": None,
                        "owner": guild.owner_id == self.bot_id,
                        "permissions": str(perms.base_permissions(guild, self.bot_id)),
                        "features": [],
                    }
                )
        return json_response(result)

    async def logout(self, request: web.Request) -> web.Response:
        return no_content()

    async def get_application(self, request: web.Request) -> web.Response:
        return json_response(self.emu.application_payload())

    async def create_dm(self, request: web.Request) -> web.Response:
        body, _ = await self._body(request)
        user_id = _snowflake(body.get("recipient_id"), "recipient_id")
        self.state.user(user_id)
        channel = self.emu.dm_channel(user_id)
        return json_response(payloads.channel(self.state, channel))

    # -- application commands ------------------------------------------------------------------

    def _command_scope(self, request: web.Request) -> tuple[int | None, dict[int, Command]]:
        application_id = self._int(request, "application_id")
        if application_id != self.emu.application_id:
            raise errors.missing_access()
        if "guild_id" in request.match_info:
            guild_id = self._int(request, "guild_id")
            self._guild(guild_id)
            return guild_id, self.state.guild_commands.setdefault(guild_id, {})
        return None, self.state.global_commands

    def _command_payload(self, command: Command) -> dict[str, Any]:
        data = dict(command.payload)
        data.update(
            {
                "id": str(command.id),
                "application_id": str(command.application_id),
                "version": str(command.version),
                "type": command.type,
                "default_member_permissions": command.payload.get("default_member_permissions"),
                "nsfw": command.payload.get("nsfw", False),
            }
        )
        if command.type == 1:
            data.setdefault("options", [])
        else:
            data["description"] = ""
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return data

    def _store_command(
        self, guild_id: int | None, scope: dict[int, Command], payload: dict[str, Any]
    ) -> tuple[Command, bool]:
        ctype = payload.get("type", 1)
        payload = {
            k: v for k, v in payload.items() if k not in ("id", "application_id", "version", "guild_id")
        }
        payload.setdefault("type", ctype)
        existing = next((c for c in scope.values() if c.name == payload["name"] and c.type == ctype), None)
        if existing is not None:
            existing.payload = payload
            existing.version = self.state.new_id()
            return existing, False
        command = Command(
            id=self.state.new_id(),
            application_id=self.emu.application_id,
            guild_id=guild_id,
            payload=payload,
            version=self.state.new_id(),
        )
        scope[command.id] = command
        return command, True

    async def list_commands(self, request: web.Request) -> web.Response:
        _, scope = self._command_scope(request)
        return json_response([self._command_payload(c) for c in scope.values()])

    async def put_commands(self, request: web.Request) -> web.Response:
        guild_id, scope = self._command_scope(request)
        body, _ = await self._body(request)
        if not isinstance(body, list):
            raise errors.invalid_form(
                errors.field_error("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
            )
        validation.validate_commands(body)
        keep: set[int] = set()
        for entry in body:
            command, _ = self._store_command(guild_id, scope, entry)
            keep.add(command.id)
        for command_id in [c for c in scope if c not in keep]:
            del scope[command_id]
        self.emu.command_syncs += 1
        return json_response([self._command_payload(scope[c]) for c in scope])

    async def upsert_command(self, request: web.Request) -> web.Response:
        guild_id, scope = self._command_scope(request)
        body, _ = await self._body(request)
        validation.validate_command(body)
        command, created = self._store_command(guild_id, scope, body)
        return json_response(self._command_payload(command), 201 if created else 200)

    def _find_command(self, request: web.Request) -> tuple[dict[int, Command], Command]:
        _, scope = self._command_scope(request)
        command = scope.get(self._int(request, "command_id"))
        if command is None:
            raise errors.unknown_command()
        return scope, command

    async def get_command(self, request: web.Request) -> web.Response:
        _, command = self._find_command(request)
        return json_response(self._command_payload(command))

    async def edit_command(self, request: web.Request) -> web.Response:
        _, command = self._find_command(request)
        body, _ = await self._body(request)
        payload = dict(command.payload)
        payload.update(body)
        validation.validate_command(payload)
        command.payload = payload
        command.version = self.state.new_id()
        return json_response(self._command_payload(command))

    async def delete_command(self, request: web.Request) -> web.Response:
        scope, command = self._find_command(request)
        del scope[command.id]
        return no_content()

    async def command_permissions(self, request: web.Request) -> web.Response:
        self._command_scope(request)
        return json_response([])

    # -- guilds ---------------------------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        data = payloads.guild(self.state, guild)
        if request.query.get("with_counts") in ("true", "1", "True"):
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return json_response(data)

    async def list_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        return json_response([payloads.channel(self.state, c) for c in self.state.guild_channels(guild.id)])

    def _overwrites(
        self, guild: Guild, raw: list[dict[str, Any]] | None, field: str, *, grantable: int | None
    ) -> dict[int, Overwrite]:
        """Parse overwrites; ``grantable`` = the bits the bot may allow/deny (None: anything)."""
        result: dict[int, Overwrite] = {}
        for index, entry in enumerate(raw or []):
            target = _snowflake(entry.get("id"), f"{field}.{index}.id")
            kind = entry.get("type")
            kind = {"role": 0, "member": 1}.get(kind, kind)
            try:
                kind = int(kind)
            except (TypeError, ValueError):
                raise errors.invalid_field(
                    f"{field}.{index}.type", "BASE_TYPE_CHOICES", "Value must be one of (0, 1)."
                ) from None
            if kind not in (0, 1):
                raise errors.invalid_field(
                    f"{field}.{index}.type", "BASE_TYPE_CHOICES", "Value must be one of (0, 1)."
                )
            if kind == 0 and target not in guild.roles:
                raise errors.invalid_field(f"{field}.{index}.id", "UNKNOWN_ROLE", f"Unknown role {target}")
            if kind == 1 and target not in self.state.users:
                raise errors.invalid_field(f"{field}.{index}.id", "UNKNOWN_USER", f"Unknown user {target}")
            allow = int(entry.get("allow") or 0)
            deny = int(entry.get("deny") or 0)
            if grantable is not None and (allow | deny) & ~grantable:
                raise errors.missing_permissions()
            result[target] = Overwrite(target, kind, allow, deny)
        return result

    def _grantable(self, guild: Guild, channel: Channel | None, parent: Channel | None) -> int | None:
        """What overwrites the bot may set: None if admin/owner, else its guild (or parent) perms.
        MANAGE_ROLES in overwrites needs ADMINISTRATOR, unless the bot has an explicit
        MANAGE_ROLES overwrite in the channel."""
        base = perms.base_permissions(guild, self.bot_id)
        if base == perms.ALL:
            return None
        grantable = base
        if parent is not None:
            grantable |= perms.permissions_for(self.state, self.bot_id, parent.id)
        if channel is not None:
            member = guild.members[self.bot_id]
            for target in [self.bot_id, *member.roles]:
                overwrite = channel.overwrites.get(target)
                if overwrite is not None and overwrite.allow & perms.MANAGE_ROLES:
                    return None
        return grantable & ~perms.MANAGE_ROLES

    def _check_name(self, name: Any, field: str = "name") -> str:
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise errors.invalid_field(field, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        return name

    def _check_parent(self, guild: Guild, parent_id: Any, *, moving: Channel | None = None) -> Channel | None:
        if parent_id is None:
            return None
        parent = self.state.channels.get(_snowflake(parent_id, "parent_id"))
        if parent is None or parent.guild_id != guild.id or not parent.is_category:
            raise errors.invalid_field("parent_id", "CHANNEL_PARENT_INVALID", "Invalid parent channel")
        siblings = [c for c in self.state.children(parent.id) if c is not moving]
        if len(siblings) >= MAX_CATEGORY_CHANNELS:
            raise errors.invalid_field(
                "parent_id",
                "CHANNEL_PARENT_MAX_CHANNELS",
                f"Maximum number of channels in category reached ({MAX_CATEGORY_CHANNELS})",
            )
        return parent

    async def create_channel(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        body, _ = await self._body(request)
        ctype = int(body.get("type") or 0)
        if ctype not in (GUILD_TEXT, 2, GUILD_CATEGORY, GUILD_ANNOUNCEMENT, 13, GUILD_FORUM, 16):
            raise errors.invalid_field("type", "BASE_TYPE_CHOICES", "Value must be a valid channel type.")
        name = self._check_name(body.get("name"))
        if ctype in TEXT_LIKE:
            name = re.sub(r"-{2,}", "-", re.sub(r"\s+", "-", name.strip().lower()))
        topic = body.get("topic")
        if topic is not None and len(topic) > 1024:
            raise errors.invalid_field("topic", "BASE_TYPE_MAX_LENGTH", "Must be 1024 or fewer in length.")
        parent: Channel | None = None
        if body.get("parent_id") is not None:
            if ctype == GUILD_CATEGORY:
                raise errors.invalid_field(
                    "parent_id", "CHANNEL_PARENT_INVALID_TYPE", "Categories cannot have a parent"
                )
            parent = self._check_parent(guild, body["parent_id"])
        if parent is not None:
            self._require(parent, perms.MANAGE_CHANNELS)
        else:
            self._require_guild(guild, perms.MANAGE_CHANNELS)
        if len(self.state.guild_channels(guild.id)) >= MAX_GUILD_CHANNELS:
            raise errors.max_guild_channels()
        raw_overwrites = body.get("permission_overwrites")
        if raw_overwrites is not None:
            if raw_overwrites and not perms.has(
                perms.base_permissions(guild, self.bot_id), perms.MANAGE_ROLES
            ):
                raise errors.missing_permissions()
            overwrites = self._overwrites(
                guild, raw_overwrites, "permission_overwrites", grantable=self._grantable(guild, None, parent)
            )
        elif parent is not None:
            overwrites = {k: Overwrite(o.id, o.type, o.allow, o.deny) for k, o in parent.overwrites.items()}
        else:
            overwrites = {}
        siblings = [
            c for c in self.state.guild_channels(guild.id) if c.is_category == (ctype == GUILD_CATEGORY)
        ]
        channel = Channel(
            id=self.state.new_id(),
            type=ctype,
            guild_id=guild.id,
            name=name,
            position=int(body["position"]) if body.get("position") is not None else len(siblings),
            parent_id=parent.id if parent else None,
            topic=topic,
            nsfw=bool(body.get("nsfw")),
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
            overwrites=overwrites,
        )
        self.state.channels[channel.id] = channel
        self.emu.events.channel_create(channel)
        return json_response(payloads.channel(self.state, channel), 201)

    async def move_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        self._require_guild(guild, perms.MANAGE_CHANNELS)
        body, _ = await self._body(request)
        changed = []
        for index, entry in enumerate(body if isinstance(body, list) else []):
            channel = self.state.channels.get(_snowflake(entry.get("id"), f"{index}.id"))
            if channel is None or channel.guild_id != guild.id:
                raise errors.unknown_channel()
            if entry.get("position") is not None:
                channel.position = int(entry["position"])
            if "parent_id" in entry:
                parent = self._check_parent(guild, entry["parent_id"], moving=channel)
                channel.parent_id = parent.id if parent else None
                if entry.get("lock_permissions") and parent is not None:
                    channel.overwrites = {
                        k: Overwrite(o.id, o.type, o.allow, o.deny) for k, o in parent.overwrites.items()
                    }
            changed.append(channel)
        for channel in changed:
            self.emu.events.channel_update(channel)
        return no_content()

    # -- roles ----------------------------------------------------------------------------------

    async def list_roles(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        return json_response(
            [payloads.role(r) for r in sorted(guild.roles.values(), key=lambda r: r.position)]
        )

    async def get_role(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        return json_response(payloads.role(self.state.role(guild.id, self._int(request, "role_id"))))

    def _role_permissions(self, guild: Guild, value: Any) -> int:
        bits = int(value or 0)
        base = perms.base_permissions(guild, self.bot_id)
        if base != perms.ALL and bits & ~base:
            raise errors.missing_permissions()
        return bits

    async def create_role(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        self._require_guild(guild, perms.MANAGE_ROLES)
        body, _ = await self._body(request)
        if len(guild.roles) >= MAX_ROLES:
            raise errors.max_roles()
        bits = (
            self._role_permissions(guild, body.get("permissions"))
            if "permissions" in body
            else (guild.everyone.permissions)
        )
        role = self.emu.add_role(
            guild.id,
            str(body.get("name") or "new role")[:100],
            permissions=bits,
            color=int(body.get("color") or 0),
            hoist=bool(body.get("hoist")),
            mentionable=bool(body.get("mentionable")),
            dispatch=True,
        )
        return json_response(payloads.role(role))

    async def edit_role(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        self._require_guild(guild, perms.MANAGE_ROLES)
        role = self.state.role(guild.id, self._int(request, "role_id"))
        if not self._outranks(guild, role.position):
            raise errors.missing_permissions()
        body, _ = await self._body(request)
        if "name" in body:
            role.name = str(body["name"])[:100]
        if "permissions" in body:
            role.permissions = self._role_permissions(guild, body["permissions"])
        for key in ("color", "hoist", "mentionable"):
            if key in body and body[key] is not None:
                setattr(role, key, type(getattr(role, key))(body[key]))
        self.emu.events.role_update(role)
        return json_response(payloads.role(role))

    async def delete_role(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        self._require_guild(guild, perms.MANAGE_ROLES)
        role = self.state.role(guild.id, self._int(request, "role_id"))
        if role.id == guild.id or role.managed or not self._outranks(guild, role.position):
            raise errors.missing_permissions()
        self.emu.remove_role(guild.id, role.id)
        return no_content()

    # -- members --------------------------------------------------------------------------------

    async def list_members(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        if not self.emu.privileged_intents & (1 << 1):
            raise errors.missing_access()
        limit = int(request.query.get("limit", 1))
        if not 1 <= limit <= 1000:
            raise errors.invalid_field("limit", "NUMBER_TYPE_MAX", "int value should be <= 1000 and >= 1.")
        after = int(request.query.get("after", 0))
        members = sorted((m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id)
        return json_response([payloads.member(self.state, m) for m in members[:limit]])

    async def search_members(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        query = request.query.get("query", "").lower()
        limit = int(request.query.get("limit", 1))
        found = [
            m
            for m in guild.members.values()
            if self.state.users[m.user_id].username.lower().startswith(query)
            or (m.nick or "").lower().startswith(query)
        ]
        return json_response([payloads.member(self.state, m) for m in found[:limit]])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        return json_response(
            payloads.member(self.state, self.state.member(guild.id, self._int(request, "user_id")))
        )

    def _check_role_change(self, guild: Guild, role_id: int) -> Role:
        self._require_guild(guild, perms.MANAGE_ROLES)
        role = self.state.role(guild.id, role_id)
        if role.managed or role.id == guild.id or not self._outranks(guild, role.position):
            raise errors.missing_permissions()
        return role

    async def edit_member(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        member = self.state.member(guild.id, self._int(request, "user_id"))
        body, _ = await self._body(request)
        if "roles" in body and body["roles"] is not None:
            wanted = [_snowflake(r, "roles") for r in body["roles"]]
            for role_id in set(wanted) ^ set(member.roles):
                self._check_role_change(guild, role_id)
            member.roles = list(dict.fromkeys(wanted))
        if "nick" in body:
            self._require_guild(guild, perms.MANAGE_NICKNAMES)
            if member.user_id == guild.owner_id and self.bot_id != guild.owner_id:
                raise errors.missing_permissions()
            member.nick = body["nick"] or None
        self.emu.events.member_update(member)
        return json_response(payloads.member(self.state, member))

    async def edit_me(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        self._require_guild(guild, perms.CHANGE_NICKNAME)
        body, _ = await self._body(request)
        member = guild.members[self.bot_id]
        if "nick" in body:
            member.nick = body["nick"] or None
        self.emu.events.member_update(member)
        return json_response(payloads.member(self.state, member))

    async def kick_member(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        self._require_guild(guild, perms.KICK_MEMBERS)
        member = self.state.member(guild.id, self._int(request, "user_id"))
        if member.user_id == guild.owner_id or not self._outranks(
            guild, self.state.highest_role_position(guild.id, member.user_id)
        ):
            raise errors.missing_permissions()
        self.emu.remove_member(guild.id, member.user_id)
        return no_content()

    async def add_member_role(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        member = self.state.member(guild.id, self._int(request, "user_id"))
        role = self._check_role_change(guild, self._int(request, "role_id"))
        if role.id not in member.roles:
            member.roles.append(role.id)
            self.emu.events.member_update(member)
        return no_content()

    async def remove_member_role(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        member = self.state.member(guild.id, self._int(request, "user_id"))
        role = self._check_role_change(guild, self._int(request, "role_id"))
        if role.id in member.roles:
            member.roles.remove(role.id)
            self.emu.events.member_update(member)
        return no_content()

    # -- channels -------------------------------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel.guild_id is not None:
            self._require(channel)
        data = payloads.channel(self.state, channel)
        if channel.is_thread and self.bot_id in channel.thread_members:
            data["member"] = payloads.thread_member(self.state, channel, self.bot_id)
        return json_response(data)

    async def edit_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel.guild_id is None:
            raise errors.wrong_channel_type()
        body, _ = await self._body(request)
        if channel.is_thread:
            self._edit_thread(channel, body)
        else:
            self._edit_guild_channel(channel, body)
        return json_response(payloads.channel(self.state, channel))

    def _edit_guild_channel(self, channel: Channel, body: dict[str, Any]) -> None:
        guild = self.state.guilds[channel.guild_id]  # type: ignore[index]
        self._require(channel, perms.MANAGE_CHANNELS)
        if "permission_overwrites" in body:
            self._require(channel, perms.MANAGE_ROLES)
            parent = self.state.channels.get(channel.parent_id or 0)
            overwrites = self._overwrites(
                guild,
                body["permission_overwrites"],
                "permission_overwrites",
                grantable=self._grantable(guild, channel, parent),
            )
        else:
            overwrites = None
        parent_change = "parent_id" in body
        parent = None
        if parent_change and body["parent_id"] is not None:
            if channel.is_category:
                raise errors.invalid_field(
                    "parent_id", "CHANNEL_PARENT_INVALID_TYPE", "Categories cannot have a parent"
                )
            parent = self._check_parent(guild, body["parent_id"], moving=channel)
        if "name" in body:
            name = self._check_name(body["name"])
            if channel.type in TEXT_LIKE:
                name = re.sub(r"-{2,}", "-", re.sub(r"\s+", "-", name.strip().lower()))
            channel.name = name
        if "topic" in body:
            if body["topic"] is not None and len(body["topic"]) > 1024:
                raise errors.invalid_field(
                    "topic", "BASE_TYPE_MAX_LENGTH", "Must be 1024 or fewer in length."
                )
            channel.topic = body["topic"]
        for key in ("nsfw", "rate_limit_per_user", "position"):
            if key in body and body[key] is not None:
                setattr(channel, key, type(getattr(channel, key))(body[key]))
        if overwrites is not None:
            channel.overwrites = overwrites
        if parent_change:
            channel.parent_id = parent.id if parent else None
            if body.get("lock_permissions") and parent is not None:
                channel.overwrites = {
                    k: Overwrite(o.id, o.type, o.allow, o.deny) for k, o in parent.overwrites.items()
                }
        self.emu.events.channel_update(channel)

    def _edit_thread(self, thread: Channel, body: dict[str, Any]) -> None:
        permissions = self._require(thread)
        moderator = bool(permissions & perms.MANAGE_THREADS)
        owner = thread.owner_id == self.bot_id
        if ("locked" in body or "invitable" in body) and not moderator:
            raise errors.missing_permissions()
        if not (moderator or owner):
            raise errors.missing_permissions()
        if thread.locked and not moderator:
            raise errors.locked_thread()
        unarchiving = thread.archived and body.get("archived") is False
        if thread.archived and not unarchiving and set(body) - {"archived", "locked"}:
            raise errors.archived_thread()
        if unarchiving and len(self.state.threads(thread.guild_id, active=True)) >= MAX_ACTIVE_THREADS:  # type: ignore[arg-type]
            raise errors.max_active_threads()
        if "name" in body:
            thread.name = self._check_name(body["name"])
        if "archived" in body and body["archived"] is not None:
            thread.archived = bool(body["archived"])
            thread.archive_timestamp = utcnow()
        if "locked" in body and body["locked"] is not None:
            thread.locked = bool(body["locked"])
        if "invitable" in body and body["invitable"] is not None:
            if thread.type != PRIVATE_THREAD:
                raise errors.invalid_field(
                    "invitable", "BASE_TYPE_INVALID", "Only private threads are invitable"
                )
            thread.invitable = bool(body["invitable"])
        if body.get("auto_archive_duration") is not None:
            thread.auto_archive_duration = int(body["auto_archive_duration"])
        if body.get("rate_limit_per_user") is not None:
            thread.rate_limit_per_user = int(body["rate_limit_per_user"])
        self.emu.events.thread_update(thread)

    async def delete_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel.guild_id is None:
            raise errors.wrong_channel_type()
        if channel.is_thread:
            self._require(channel, perms.MANAGE_THREADS)
        else:
            self._require(channel, perms.MANAGE_CHANNELS)
        data = payloads.channel(self.state, channel)
        self.emu.delete_channel(channel.id)
        return json_response(data)

    async def put_overwrite(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel.guild_id is None or channel.is_thread:
            raise errors.wrong_channel_type()
        guild = self.state.guilds[channel.guild_id]
        self._require(channel, perms.MANAGE_ROLES)
        body, _ = await self._body(request)
        entry = dict(body)
        entry["id"] = request.match_info["overwrite_id"]
        parent = self.state.channels.get(channel.parent_id or 0)
        parsed = self._overwrites(
            guild, [entry], "overwrite", grantable=self._grantable(guild, channel, parent)
        )
        channel.overwrites.update(parsed)
        self.emu.events.channel_update(channel)
        return no_content()

    async def delete_overwrite(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel.guild_id is None or channel.is_thread:
            raise errors.wrong_channel_type()
        self._require(channel, perms.MANAGE_ROLES)
        target = self._int(request, "overwrite_id")
        if channel.overwrites.pop(target, None) is not None:
            self.emu.events.channel_update(channel)
        return no_content()

    async def typing(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel.guild_id is not None:
            self._require(
                channel, perms.SEND_MESSAGES_IN_THREADS if channel.is_thread else perms.SEND_MESSAGES
            )
        return no_content()

    # -- messages -------------------------------------------------------------------------------

    def _readable(self, channel: Channel) -> bool:
        """Bot may read history here (raises 50001 when it cannot even see the channel)."""
        if channel.guild_id is None:
            return True
        return bool(self._require(channel) & perms.READ_MESSAGE_HISTORY)

    def _message_out(self, message: Message) -> dict[str, Any]:
        return self.emu.events.message_payload(message, self.emu.rest_intents)

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if not self._readable(channel):
            return json_response([])
        query = request.query
        limit = int(query.get("limit", 50))
        if not 1 <= limit <= 100:
            raise errors.invalid_field("limit", "NUMBER_TYPE_MAX", "int value should be <= 100 and >= 1.")
        messages = self.state.channel_messages(channel.id)
        if "before" in query:
            before = int(query["before"])
            selected = [m for m in messages if m.id < before][-limit:]
        elif "after" in query:
            after = int(query["after"])
            selected = [m for m in messages if m.id > after][:limit]
        elif "around" in query:
            around = int(query["around"])
            older = [m for m in messages if m.id < around][-(limit // 2) :] if limit > 1 else []
            newer = [m for m in messages if m.id >= around][: limit - len(older)]
            selected = older + newer
        else:
            selected = messages[-limit:]
        return json_response([self._message_out(m) for m in reversed(selected)])

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if not self._readable(channel):
            raise errors.missing_permissions()
        return json_response(
            self._message_out(self.state.message(channel.id, self._int(request, "message_id")))
        )

    def _check_send(self, channel: Channel, body: dict[str, Any], files: dict[int, UploadedFile]) -> None:
        if channel.guild_id is None:
            recipient = self.state.users.get(channel.recipients[0]) if channel.recipients else None
            shares_guild = recipient is not None and any(
                recipient.id in g.members and self.bot_id in g.members for g in self.state.guilds.values()
            )
            if recipient is None or not recipient.dms_open or recipient.bot or not shares_guild:
                raise errors.cannot_dm()
            return
        if channel.type in (GUILD_CATEGORY, GUILD_FORUM):
            raise errors.wrong_channel_type()
        permissions = self._require(channel)
        needed = perms.SEND_MESSAGES_IN_THREADS if channel.is_thread else perms.SEND_MESSAGES
        if not permissions & needed:
            raise errors.missing_permissions()
        if (
            files or any(isinstance(a, dict) for a in body.get("attachments") or [])
        ) and not permissions & perms.ATTACH_FILES:
            raise errors.missing_permissions()
        if channel.is_thread:
            if channel.locked and not permissions & perms.MANAGE_THREADS:
                raise errors.locked_thread()
            if channel.archived:
                channel.archived = False
                channel.archive_timestamp = utcnow()
                self.emu.events.thread_update(channel)

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body, files = await self._body(request)
        self._check_send(channel, body, files)
        message = self.emu.message_factory.create(channel, self.bot_id, body, files)
        self.emu.events.message_create(message)
        return json_response(payloads.message(self.state, message))

    async def edit_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel.guild_id is not None:
            self._require(channel)
        message = self.state.message(channel.id, self._int(request, "message_id"))
        body, files = await self._body(request)
        if message.author_id != self.bot_id:
            if set(body) - {"flags"}:
                raise errors.cannot_edit_others()
            if not self._require(channel) & perms.MANAGE_MESSAGES:
                raise errors.missing_permissions()
        if channel.is_thread and channel.archived:
            raise errors.archived_thread()
        self.emu.message_factory.edit(message, body, files)
        self.emu.events.message_update(message)
        return json_response(payloads.message(self.state, message))

    async def delete_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        message = self.state.message(channel.id, self._int(request, "message_id"))
        if message.author_id != self.bot_id:
            if channel.guild_id is None or not self._require(channel) & perms.MANAGE_MESSAGES:
                raise errors.missing_permissions()
        elif channel.guild_id is not None:
            self._require(channel)
        message.deleted = True
        self.emu.events.message_delete(message)
        return no_content()

    async def bulk_delete(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel.guild_id is None:
            raise errors.wrong_channel_type()
        self._require(channel, perms.MANAGE_MESSAGES)
        body, _ = await self._body(request)
        ids = [_snowflake(i, "messages") for i in body.get("messages") or []]
        if not 2 <= len(ids) <= 100:
            raise errors.invalid_field(
                "messages", "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length."
            )
        deleted = []
        for message_id in ids:
            message = self.state.messages.get(channel.id, {}).get(message_id)
            if message is not None and not message.deleted:
                message.deleted = True
                deleted.append(message_id)
        self.emu.events.message_delete_bulk(channel, deleted)
        return no_content()

    async def list_pins(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if not self._readable(channel):
            return json_response({"items": [], "has_more": False})
        pinned = sorted(
            (m for m in self.state.channel_messages(channel.id) if m.pinned),
            key=lambda m: m.pinned_at or m.timestamp,
            reverse=True,
        )
        items = [{"pinned_at": iso(m.pinned_at), "message": self._message_out(m)} for m in pinned]
        return json_response({"items": items, "has_more": False})

    async def pin(self, request: web.Request) -> web.Response:
        return self._set_pin(request, True)

    async def unpin(self, request: web.Request) -> web.Response:
        return self._set_pin(request, False)

    def _set_pin(self, request: web.Request, pinned: bool) -> web.Response:
        channel = self._channel(request)
        if channel.guild_id is not None:
            permissions = self._require(channel)
            if not permissions & (perms.MANAGE_MESSAGES | perms.PIN_MESSAGES):
                raise errors.missing_permissions()
        message = self.state.message(channel.id, self._int(request, "message_id"))
        message.pinned = pinned
        message.pinned_at = utcnow() if pinned else None
        self.emu.events.message_update(message)
        return no_content()

    async def add_reaction(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel.guild_id is not None:
            self._require(channel, perms.READ_MESSAGE_HISTORY | perms.ADD_REACTIONS)
        message = self.state.message(channel.id, self._int(request, "message_id"))
        message.reactions.setdefault(request.match_info["emoji"], set()).add(self.bot_id)
        return no_content()

    async def remove_reaction(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        message = self.state.message(channel.id, self._int(request, "message_id"))
        message.reactions.get(request.match_info["emoji"], set()).discard(self.bot_id)
        return no_content()

    # -- threads --------------------------------------------------------------------------------

    def _new_thread(
        self, parent: Channel, body: dict[str, Any], thread_type: int, thread_id: int | None
    ) -> Channel:
        if parent.guild_id is None or parent.type not in (GUILD_TEXT, GUILD_ANNOUNCEMENT):
            raise errors.wrong_channel_type()
        needed = (
            perms.CREATE_PRIVATE_THREADS if thread_type == PRIVATE_THREAD else perms.CREATE_PUBLIC_THREADS
        )
        self._require(parent, needed)
        name = self._check_name(body.get("name"))
        if len(self.state.threads(parent.guild_id, active=True)) >= MAX_ACTIVE_THREADS:
            raise errors.max_active_threads()
        now = utcnow()
        thread = Channel(
            id=thread_id or self.state.new_id(),
            type=thread_type,
            guild_id=parent.guild_id,
            name=name,
            parent_id=parent.id,
            owner_id=self.bot_id,
            invitable=bool(body.get("invitable", True)) if thread_type == PRIVATE_THREAD else True,
            auto_archive_duration=int(body.get("auto_archive_duration") or 4320),
            archive_timestamp=now,
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
            thread_members={self.bot_id: now},
        )
        self.state.channels[thread.id] = thread
        self.emu.events.thread_create(thread)
        return thread

    async def create_thread(self, request: web.Request) -> web.Response:
        parent = self._channel(request)
        body, _ = await self._body(request)
        thread_type = int(body.get("type") or PRIVATE_THREAD)
        if thread_type not in (PUBLIC_THREAD, PRIVATE_THREAD, 10):
            raise errors.invalid_field("type", "BASE_TYPE_CHOICES", "Value must be one of (10, 11, 12).")
        thread = self._new_thread(parent, body, thread_type, None)
        data = payloads.channel(self.state, thread)
        data["member"] = payloads.thread_member(self.state, thread, self.bot_id)
        return json_response(data, 201)

    async def create_thread_from_message(self, request: web.Request) -> web.Response:
        parent = self._channel(request)
        message = self.state.message(parent.id, self._int(request, "message_id"))
        if any(c.id == message.id for c in self.state.channels.values()):
            raise APIError(400, 160004, "A thread has already been created for this message")
        body, _ = await self._body(request)
        thread_type = 10 if parent.type == GUILD_ANNOUNCEMENT else PUBLIC_THREAD
        thread = self._new_thread(parent, body, thread_type, message.id)
        return json_response(payloads.channel(self.state, thread), 201)

    async def archived_threads(self, request: web.Request) -> web.Response:
        parent = self._channel(request)
        permissions = self._require(parent, perms.READ_MESSAGE_HISTORY)
        path = request.path
        if path.endswith("/users/@me/threads/archived/private"):
            threads = [
                t
                for t in self.state.threads(parent.guild_id, parent_id=parent.id, active=False)  # type: ignore[arg-type]
                if t.type == PRIVATE_THREAD and self.bot_id in t.thread_members
            ]
        elif path.endswith("/private"):
            if not permissions & perms.MANAGE_THREADS:
                raise errors.missing_permissions()
            threads = [
                t
                for t in self.state.threads(parent.guild_id, parent_id=parent.id, active=False)  # type: ignore[arg-type]
                if t.type == PRIVATE_THREAD
            ]
        else:
            threads = [
                t
                for t in self.state.threads(parent.guild_id, parent_id=parent.id, active=False)  # type: ignore[arg-type]
                if t.type != PRIVATE_THREAD
            ]
        threads.sort(key=lambda t: t.archive_timestamp or utcnow(), reverse=True)
        limit = int(request.query.get("limit", 50))
        before = request.query.get("before")
        if before:
            if before.isdigit():
                threads = [t for t in threads if t.id < int(before)]
            else:
                moment = dt.datetime.fromisoformat(before)
                threads = [t for t in threads if (t.archive_timestamp or utcnow()) < moment]
        page = threads[:limit]
        return json_response(
            {
                "threads": [payloads.channel(self.state, t) for t in page],
                "members": [
                    payloads.thread_member(self.state, t, self.bot_id)
                    for t in page
                    if self.bot_id in t.thread_members
                ],
                "has_more": len(threads) > limit,
            }
        )

    async def active_threads(self, request: web.Request) -> web.Response:
        guild = self._guild(self._int(request, "guild_id"))
        threads = [
            t
            for t in self.state.threads(guild.id, active=True)
            if perms.can_view(self.state, self.bot_id, t.id)
        ]
        return json_response(
            {
                "threads": [payloads.channel(self.state, t) for t in threads],
                "members": [
                    payloads.thread_member(self.state, t, self.bot_id)
                    for t in threads
                    if self.bot_id in t.thread_members
                ],
            }
        )

    def _thread(self, request: web.Request) -> Channel:
        thread = self._channel(request)
        if not thread.is_thread:
            raise errors.wrong_channel_type()
        return thread

    def _target_user(self, request: web.Request) -> int:
        raw = request.match_info["user_id"]
        return self.bot_id if raw == "@me" else self._int(request, "user_id")

    async def list_thread_members(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        self._require(thread)
        if not self.emu.privileged_intents & (1 << 1):
            raise errors.missing_access()
        with_member = request.query.get("with_member") in ("true", "True", "1")
        after = int(request.query.get("after", 0))
        limit = int(request.query.get("limit", 100))
        ids = sorted(u for u in thread.thread_members if u > after)[:limit]
        return json_response(
            [payloads.thread_member(self.state, thread, u, with_member=with_member) for u in ids]
        )

    async def get_thread_member(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        self._require(thread)
        user_id = self._target_user(request)
        if user_id not in thread.thread_members:
            raise errors.unknown_member()
        with_member = request.query.get("with_member") in ("true", "True", "1")
        return json_response(payloads.thread_member(self.state, thread, user_id, with_member=with_member))

    async def add_thread_member(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        user_id = self._target_user(request)
        guild = self.state.guilds[thread.guild_id]  # type: ignore[index]
        if thread.archived:
            raise errors.archived_thread()
        if user_id == self.bot_id:
            self._require(thread)
        else:
            permissions = self._require(thread, perms.SEND_MESSAGES_IN_THREADS)
            if thread.locked and not permissions & perms.MANAGE_THREADS:
                raise errors.locked_thread()
            if (
                thread.type == PRIVATE_THREAD
                and not thread.invitable
                and not permissions & perms.MANAGE_THREADS
            ):
                raise errors.missing_permissions()
        if user_id not in guild.members:
            raise errors.unknown_member()
        if user_id not in thread.thread_members:
            if len(thread.thread_members) >= 1000:
                raise errors.max_thread_members()
            self.emu.add_thread_member(thread.id, user_id)
        return no_content()

    async def remove_thread_member(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        user_id = self._target_user(request)
        if thread.archived:
            raise errors.archived_thread()
        if user_id != self.bot_id:
            permissions = self._require(thread)
            creator = thread.type == PRIVATE_THREAD and thread.owner_id == self.bot_id
            if not (permissions & perms.MANAGE_THREADS or creator):
                raise errors.missing_permissions()
        if user_id not in thread.thread_members:
            raise errors.unknown_member()
        self.emu.remove_thread_member(thread.id, user_id)
        return no_content()

    # -- interactions ---------------------------------------------------------------------------

    async def interaction_callback(self, request: web.Request) -> web.Response:
        body, files = await self._body(request)
        with_response = request.query.get("with_response") in ("1", "true", "True")
        result = self.emu.interactions.callback(
            self._int(request, "interaction_id"), request.match_info["token"], body, files, with_response
        )
        return no_content() if result is None else json_response(result)

    async def followup(self, request: web.Request) -> web.Response:
        body, files = await self._body(request)
        wait = request.query.get("wait") in ("1", "true", "True")
        result = self.emu.interactions.followup(
            self._int(request, "application_id"), request.match_info["token"], body, files, wait
        )
        return no_content() if result is None else json_response(result)

    async def webhook_get_message(self, request: web.Request) -> web.Response:
        return json_response(
            self.emu.interactions.get_message(
                self._int(request, "application_id"),
                request.match_info["token"],
                request.match_info["message_id"],
            )
        )

    async def webhook_edit_message(self, request: web.Request) -> web.Response:
        body, files = await self._body(request)
        return json_response(
            self.emu.interactions.edit_message(
                self._int(request, "application_id"),
                request.match_info["token"],
                request.match_info["message_id"],
                body,
                files,
            )
        )

    async def webhook_delete_message(self, request: web.Request) -> web.Response:
        self.emu.interactions.delete_message(
            self._int(request, "application_id"),
            request.match_info["token"],
            request.match_info["message_id"],
        )
        return no_content()

    # -- CDN ------------------------------------------------------------------------------------

    async def cdn_attachment(self, request: web.Request) -> web.StreamResponse:
        try:
            attachment = self.state.attachments.get(int(request.match_info["attachment_id"]))
        except ValueError:
            attachment = None
        if attachment is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(
            body=attachment.data,
            content_type=(attachment.content_type or "application/octet-stream").split(";")[0],
        )
