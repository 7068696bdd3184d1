"""Building and editing stored messages from API bodies (JSON or multipart with files).

Shared by the bot's REST calls, interaction responses and follow-ups, and members' messages sent by
the driver. Attachments keep their exact bytes and get a URL served by the emulator, so the bot can
``Attachment.read()`` them and tests can read what the bot uploaded. Mentions are resolved with
``allowed_mentions`` like Discord: ``Message.mentions`` holds who was actually pinged.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import errors, validation
from . import permissions as perms
from .snowflake import utcnow
from .state import EPHEMERAL, IS_COMPONENTS_V2, Channel, Message, StoredAttachment, walk_components

if TYPE_CHECKING:
    from .emulator import Emulator

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
EVERYONE = re.compile(r"@(everyone|here)")

#: Message flags a sender may set (SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS, V2).
SETTABLE_FLAGS = (1 << 2) | EPHEMERAL | (1 << 12) | IS_COMPONENTS_V2


@dataclass
class UploadedFile:
    """A file part of a multipart request (``files[n]``)."""

    filename: str
    data: bytes
    content_type: str | None = None


class MessageFactory:
    """Creates and edits :class:`Message` objects in the emulator's state."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def create(
        self,
        channel: Channel,
        author_id: int,
        body: dict[str, Any],
        files: dict[int, UploadedFile] | None = None,
        *,
        ephemeral_for: int | None = None,
        extra_flags: int = 0,
        message_type: int = 0,
        interaction_metadata: dict[str, Any] | None = None,
        validate: bool = True,
        store: bool = True,
    ) -> Message:
        files = files or {}
        if validate:
            validation.validate_message(body, file_count=len(files))
        flags = (int(body.get("flags") or 0) & SETTABLE_FLAGS) | extra_flags
        if ephemeral_for is None:
            flags &= ~EPHEMERAL
        message = Message(
            id=self.emu.state.new_id(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=str(body.get("content") or ""),
            embeds=[_embed(e) for e in body.get("embeds") or []],
            components=assign_component_ids(body.get("components") or []),
            allowed_mentions=body.get("allowed_mentions"),
            flags=flags,
            type=message_type,
            tts=bool(body.get("tts")),
            timestamp=utcnow(),
            nonce=body.get("nonce"),
            ephemeral_for=ephemeral_for,
            interaction_metadata=interaction_metadata,
        )
        if interaction_metadata is not None:
            message.webhook_id = self.emu.application_id
            message.application_id = self.emu.application_id
        reference = body.get("message_reference")
        if reference:
            message.message_reference = self._reference(channel, reference)
            if message.message_reference is not None:
                message.type = 19
        message.attachments = self.attachments(channel.id, body.get("attachments"), files, [], ephemeral_for)
        self._resolve_mentions(message, channel)
        if store:
            self.emu.state.add_message(message)
        return message

    def edit(
        self, message: Message, body: dict[str, Any], files: dict[int, UploadedFile] | None = None
    ) -> None:
        """Apply an edit body: only the fields present change (``null`` clears)."""
        files = files or {}
        merged = {
            "content": message.content,
            "embeds": message.embeds,
            "components": message.components,
            "flags": message.flags,
        }
        merged.update({k: v for k, v in body.items() if k in merged})
        validation.validate_message(merged, require_content=False, file_count=len(files))
        if "content" in body:
            message.content = str(body["content"] or "")
        if "embeds" in body:
            message.embeds = [_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            message.components = assign_component_ids(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            keep = message.flags & (EPHEMERAL | IS_COMPONENTS_V2)
            message.flags = keep | (int(body["flags"]) & (1 << 2))
            if int(body["flags"]) & IS_COMPONENTS_V2:
                message.flags |= IS_COMPONENTS_V2
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if "attachments" in body or files:
            message.attachments = self.attachments(
                message.channel_id, body.get("attachments"), files, message.attachments, message.ephemeral_for
            )
        channel = self.emu.state.channels.get(message.channel_id)
        if channel is not None:
            self._resolve_mentions(message, channel)
        message.edited_timestamp = utcnow()

    def attachments(
        self,
        channel_id: int,
        listed: list[dict[str, Any]] | None,
        files: dict[int, UploadedFile],
        existing: list[StoredAttachment],
        ephemeral_for: int | None,
    ) -> list[StoredAttachment]:
        """The attachment list after a create/edit: kept existing ones plus uploaded files."""
        result: list[StoredAttachment] = []
        used: set[int] = set()
        by_id = {a.id: a for a in existing}
        for entry in listed or []:
            raw_id = entry.get("id")
            try:
                number = int(raw_id) if raw_id is not None else None
            except (TypeError, ValueError):
                number = None
            if number is not None and number in by_id:
                result.append(by_id[number])
            elif number is not None and number in files:
                used.add(number)
                upload = files[number]
                result.append(
                    self.store_attachment(
                        channel_id,
                        entry.get("filename") or upload.filename,
                        upload.data,
                        upload.content_type,
                        description=entry.get("description"),
                        ephemeral=ephemeral_for is not None,
                    )
                )
        if listed is None and existing:
            result.extend(existing)
        for index, upload in sorted(files.items()):
            if index not in used:
                result.append(
                    self.store_attachment(
                        channel_id,
                        upload.filename,
                        upload.data,
                        upload.content_type,
                        ephemeral=ephemeral_for is not None,
                    )
                )
        return result

    def store_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        content_type: str | None = None,
        *,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> StoredAttachment:
        attachment_id = self.emu.state.new_id()
        attachment = StoredAttachment(
            id=attachment_id,
            filename=filename,
            data=data,
            content_type=content_type or guess_content_type(filename),
            description=description,
            url=f"{self.emu.base_url}/attachments/{channel_id}/{attachment_id}/{quote(filename)}",
            ephemeral=ephemeral,
        )
        self.emu.state.attachments[attachment_id] = attachment
        return attachment

    def _reference(self, channel: Channel, reference: dict[str, Any]) -> dict[str, Any] | None:
        message_id = int(reference.get("message_id") or 0)
        channel_id = int(reference.get("channel_id") or channel.id)
        target = self.emu.state.messages.get(channel_id, {}).get(message_id)
        if target is None or target.deleted:
            if reference.get("fail_if_not_exists", True):
                raise errors.invalid_field(
                    "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                )
            return None
        data = {"message_id": str(message_id), "channel_id": str(channel_id), "type": 0}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        return data

    def _resolve_mentions(self, message: Message, channel: Channel) -> None:
        state = self.emu.state
        allowed = message.allowed_mentions
        if allowed is None:
            parse = {"users", "roles", "everyone"}
            allowed_users: set[int] = set()
            allowed_roles: set[int] = set()
        else:
            parse = set(allowed.get("parse") or [])
            allowed_users = {int(u) for u in allowed.get("users") or []}
            allowed_roles = {int(r) for r in allowed.get("roles") or []}
        content = message.content
        users = [int(u) for u in USER_MENTION.findall(content)]
        mentioned = [
            u for u in dict.fromkeys(users) if u in state.users and ("users" in parse or u in allowed_users)
        ]
        if message.message_reference is not None and (allowed is None or allowed.get("replied_user", True)):
            target = state.messages.get(int(message.message_reference["channel_id"]), {}).get(
                int(message.message_reference["message_id"])
            )
            if target is not None and target.author_id not in mentioned:
                mentioned.append(target.author_id)
        message.mentions = mentioned
        can_everyone = message.guild_id is None or bool(
            perms.permissions_for(state, message.author_id, channel.id) & perms.MENTION_EVERYONE
        )
        roles = []
        if message.guild_id is not None:
            guild = state.guilds[message.guild_id]
            for raw in dict.fromkeys(ROLE_MENTION.findall(content)):
                role = guild.roles.get(int(raw))
                if role is None or not ("roles" in parse or role.id in allowed_roles):
                    continue
                if role.mentionable or can_everyone:
                    roles.append(role.id)
        message.mention_roles = roles
        message.mention_everyone = bool(EVERYONE.search(content)) and "everyone" in parse and can_everyone


def _embed(embed: dict[str, Any]) -> dict[str, Any]:
    data = dict(embed)
    data.setdefault("type", "rich")
    return data


def assign_component_ids(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every component without an ``id`` a sequential one, as Discord does."""
    used = {c["id"] for c in walk_components(components) if isinstance(c.get("id"), int)}
    counter = 0
    for component in walk_components(components):
        if component.get("id") is None:
            counter += 1
            while counter in used:
                counter += 1
            component["id"] = counter
            used.add(counter)
    return components


def guess_content_type(filename: str) -> str | None:
    guessed, _ = mimetypes.guess_type(filename)
    if guessed == "text/csv" or filename.lower().endswith(".csv"):
        return "text/csv; charset=utf-8"
    if guessed and guessed.startswith("text/"):
        return f"{guessed}; charset=utf-8"
    return guessed
