"""Fail a test when discord.py, aiohttp or the emulator logged an error during it.

A payload the real client could not parse, or a handler that raised, shows up only as a log line;
without this check such a test could pass while the bot was quietly broken.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

WATCHED_LOGGERS = ("discord", "tests.emulator", "aiohttp")


def logged_errors(caplog: pytest.LogCaptureFixture, loggers: tuple[str, ...] = WATCHED_LOGGERS) -> list[str]:
    return [
        f"{record.name}: {record.getMessage()}"
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)  # type: ignore[arg-type]
        if record.levelno >= logging.ERROR and record.name.startswith(loggers)
    ]


def check_no_logged_errors(
    caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("client_errors_expected"):
        return
    problems = logged_errors(caplog)
    assert not problems, "discord.py or the emulator logged errors:\n" + "\n".join(problems)
