"""Discord's JSON error shape and the error codes the emulator answers with.

REST handlers raise :class:`APIError`; the server turns it into
``{"message": ..., "code": ..., "errors": ...}`` with the HTTP status, as Discord does.
Driver methods (acting as a member) raise :class:`DriverError` subclasses instead, since a test
author calling them wants a Python exception, not an HTTP answer.
"""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """An error answered to the bot in Discord's JSON error format."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def not_found() -> APIError:
    return APIError(404, 0, "404: Not Found")


def unauthorized() -> APIError:
    return APIError(401, 0, "401: Unauthorized")


def unknown_channel() -> APIError:
    return APIError(404, 10003, "Unknown Channel")


def unknown_guild() -> APIError:
    return APIError(404, 10004, "Unknown Guild")


def unknown_member() -> APIError:
    return APIError(404, 10007, "Unknown Member")


def unknown_message() -> APIError:
    return APIError(404, 10008, "Unknown Message")


def unknown_overwrite() -> APIError:
    return APIError(404, 10009, "Unknown Overwrite")


def unknown_role() -> APIError:
    return APIError(404, 10011, "Unknown Role")


def unknown_user() -> APIError:
    return APIError(404, 10013, "Unknown User")


def unknown_webhook() -> APIError:
    return APIError(404, 10015, "Unknown Webhook")


def unknown_interaction() -> APIError:
    return APIError(404, 10062, "Unknown interaction")


def unknown_command() -> APIError:
    return APIError(404, 10063, "Unknown application command")


def missing_access() -> APIError:
    return APIError(403, 50001, "Missing Access")


def missing_permissions() -> APIError:
    return APIError(403, 50013, "Missing Permissions")


def cannot_dm() -> APIError:
    return APIError(403, 50007, "Cannot send messages to this user")


def cannot_edit_others() -> APIError:
    return APIError(403, 50005, "Cannot edit a message authored by another user")


def empty_message() -> APIError:
    return APIError(400, 50006, "Cannot send an empty message")


def wrong_channel_type() -> APIError:
    return APIError(400, 50024, "Cannot execute action on this channel type")


def archived_thread() -> APIError:
    return APIError(400, 50083, "Thread is archived")


def locked_thread() -> APIError:
    return APIError(403, 160005, "Thread is locked")


def already_acknowledged() -> APIError:
    return APIError(400, 40060, "Interaction has already been acknowledged.")


def max_guild_channels() -> APIError:
    return APIError(400, 30013, "Maximum number of guild channels reached (500)")


def max_active_threads() -> APIError:
    return APIError(400, 160006, "Maximum number of active threads reached")


def max_thread_members() -> APIError:
    return APIError(400, 30033, "Max number of thread participants has been reached (1000)")


def max_roles() -> APIError:
    return APIError(400, 30005, "Maximum number of guild roles reached (250)")


def field_error(code: str, message: str) -> dict[str, Any]:
    """One entry of an Invalid Form Body ``errors`` tree: ``{"_errors": [{code, message}]}``."""
    return {"_errors": [{"code": code, "message": message}]}


def invalid_form(errors: dict[str, Any]) -> APIError:
    """50035 Invalid Form Body with a nested ``errors`` tree."""
    return APIError(400, 50035, "Invalid Form Body", errors)


def invalid_field(path: str, code: str, message: str) -> APIError:
    """50035 for a single field; ``path`` is dotted, e.g. ``"embeds.0.title"``."""
    tree: dict[str, Any] = field_error(code, message)
    for part in reversed(path.split(".")):
        tree = {part: tree}
    return invalid_form(tree)


class DriverError(Exception):
    """Raised by a driver method when a member could not do what the test asked."""


class MemberForbidden(DriverError):
    """The member lacks the permission for the action (Discord's client would not let them)."""


class CommandUnavailable(DriverError):
    """The command is not registered, or the member may not use it."""


class InvalidInteraction(DriverError):
    """Options, values or components given by the test do not fit what the bot registered/sent."""
