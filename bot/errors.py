"""Errors the bot shows to people, and ids for the ones it cannot explain."""

from __future__ import annotations

import secrets

# Letters that cannot be mistaken for one another when a user reads an id aloud.
_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class UserFacingError(Exception):
    """An error whose message is meant for the person who caused it.

    The message is shown as is, privately, and nothing is logged as a failure.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotCoordinator(UserFacingError):
    def __init__(self) -> None:
        super().__init__(
            "Only the programme's coordinators can use this command "
            "(members with the coordinator role, or Manage Server)."
        )


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable} {problem}")
        self.variable = variable
        self.problem = problem


def new_error_id() -> str:
    """A short id a user can quote to a coordinator, and we can find in the logs."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(6))
