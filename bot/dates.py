"""Dates people type: "2026-04-01" or "2w" for when a pause ends. Pure."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.durations import DurationError, parse_duration
from bot.errors import UserFacingError

MAX_PAUSE = timedelta(days=366)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_until(text: str, now: datetime, timezone: str) -> datetime:
    """When something typed as a date (local midnight at its start) or a duration from now ends."""
    value = text.strip()
    if not value:
        raise UserFacingError("Give a date like 2026-04-01, or a length like 2w or 10d.")
    if _ISO_DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise UserFacingError(f"“{value}” is not a real date; write it like 2026-04-01.") from None
        until = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
    else:
        try:
            until = now + parse_duration(value)
        except DurationError:
            raise UserFacingError(
                f"“{value[:40]}” is neither a date (2026-04-01) nor a length (2w, 10d)."
            ) from None
    if until <= now:
        raise UserFacingError("That date has already passed; give one in the future.")
    if until - now > MAX_PAUSE:
        raise UserFacingError("A pause can last a year at most.")
    return until
