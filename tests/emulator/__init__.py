"""A Discord API v10 emulator (REST + gateway) for testing a real discord.py client.

See :class:`Emulator` for the driver API and ``tests/emulator/README.md`` for a guide.
"""

from . import permissions
from .emulator import Emulator
from .errors import (
    APIError,
    CommandUnavailable,
    DriverError,
    InvalidInteraction,
    MemberForbidden,
)
from .interactions import Attachment, InteractionHandle, InteractionResponse
from .patch import install_patch, patch_discord, use_compression
from .rest import RestCall
from .state import Channel, Command, Guild, Member, Message, Overwrite, Role, StoredAttachment, User

__all__ = [
    "APIError",
    "Attachment",
    "Channel",
    "Command",
    "CommandUnavailable",
    "DriverError",
    "Emulator",
    "Guild",
    "InteractionHandle",
    "InteractionResponse",
    "InvalidInteraction",
    "Member",
    "MemberForbidden",
    "Message",
    "Overwrite",
    "RestCall",
    "Role",
    "StoredAttachment",
    "User",
    "install_patch",
    "patch_discord",
    "permissions",
    "use_compression",
]
