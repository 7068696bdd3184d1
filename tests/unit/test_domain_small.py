from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.access import is_coordinator
from bot.clock import ManualClock
from bot.errors import new_error_id
from bot.help import CommandEntry, render_help, visible_commands
from bot.logs import configure_logging

ENTRIES = [
    CommandEntry("signup", "Join the programme", coordinator_only=False),
    CommandEntry("round launch", "Create the spaces", coordinator_only=True),
    CommandEntry("help", "List commands", coordinator_only=False),
]


def test_participants_see_only_their_commands() -> None:
    names = [e.name for e in visible_commands(ENTRIES, caller_is_coordinator=False)]
    assert names == ["help", "signup"]
    sections = render_help(ENTRIES, caller_is_coordinator=False)
    assert [heading for heading, _ in sections] == ["Your commands"]
    assert "round launch" not in sections[0][1]


def test_coordinators_also_see_theirs() -> None:
    sections = dict(render_help(ENTRIES, caller_is_coordinator=True))
    assert sections["Coordinator commands"] == "`/round launch` — Create the spaces"
    assert "`/signup` — Join the programme" in sections["Your commands"]


@pytest.mark.parametrize(
    ("roles", "manage", "role", "expected"),
    [
        ([], True, None, True),
        ([5], False, 5, True),
        ([5], False, 6, False),
        ([5], False, None, False),
        ([], False, None, False),
    ],
)
def test_is_coordinator(roles: list[int], manage: bool, role: int | None, expected: bool) -> None:
    assert is_coordinator(role_ids=roles, manage_guild=manage, coordinator_role_id=role) is expected


def test_manual_clock() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.advance(timedelta(days=112)) == datetime(2026, 4, 23, tzinfo=UTC)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))  # noqa: DTZ001


def test_error_ids_are_short_and_unambiguous() -> None:
    ids = {new_error_id() for _ in range(200)}
    assert len(ids) > 190
    assert all(len(i) == 6 and not set(i) & set("01IO") for i in ids)


def test_logs_never_show_secrets_even_in_tracebacks() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    secret = "MTA5ODc2NTQzMjEwOTg3NjU0.GAbCdE.abcdefghijklmnop"
    handler = configure_logging("INFO", [secret], stream=stream)
    try:
        log = logging.getLogger("tandem.test")
        log.info("connecting with %s", secret)
        try:
            raise RuntimeError(f"bad token {secret}")
        except RuntimeError:
            log.exception("failed")
    finally:
        root.removeHandler(handler)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    output = stream.getvalue()
    assert "connecting with [redacted]" in output
    assert "RuntimeError: bad token [redacted]" in output
    assert secret not in output
