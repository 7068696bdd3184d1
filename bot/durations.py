"""Durations as people write them: `16w`, `14d`, `12h`, `30m`, `45s`, or combined like `1d12h`.

Units are weeks, days, hours, minutes and seconds; `m` is always minutes (months have no fixed
length). Each unit may appear once, in any order, with spaces anywhere between the parts, and the
long names work too (`2 weeks`, `1 day 12 hours`). Only whole, positive durations up to
`MAX_DURATION` are accepted.

`format_duration` writes the canonical form: weeks alone when the duration is a whole number of
weeks (`2w`), otherwise days, hours, minutes and seconds with the zero parts left out (`1d12h`).
`parse_duration(format_duration(x)) == x` for every accepted `x`.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import UserFacingError

MAX_DURATION = timedelta(weeks=260)  # five years; a longer programme period is a typo
_MAX_DIGITS = 9  # per number; longer numbers are over the cap anyway, and int() of them is wasted work
_EXAMPLES = "14d, 12h, 30m or 16w"
_ECHO_LIMIT = 40  # how much of the user's text an error message repeats

_UNITS: dict[str, str] = {}
for _unit, _names in {
    "w": ("w", "wk", "wks", "week", "weeks"),
    "d": ("d", "day", "days"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "m": ("m", "min", "mins", "minute", "minutes"),
    "s": ("s", "sec", "secs", "second", "seconds"),
}.items():
    for _name in _names:
        _UNITS[_name] = _unit

_SECONDS = {"w": 7 * 86_400, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
# One part: ASCII digits, optional spaces, a unit name. `\d` would also match other scripts' digits.
_PART = re.compile(r"\s*([0-9]+)\s*([a-z]+)\s*", re.ASCII)


class DurationError(UserFacingError, ValueError):
    """A duration the user wrote that Tandem cannot accept; the message says why, for the user."""


def parse_duration(text: str) -> timedelta:
    """The duration written in `text`, or DurationError with a message meant for the user."""
    source = text.strip().lower()
    if not source:
        raise DurationError(f"Write a duration like {_EXAMPLES}.")
    seen: set[str] = set()
    seconds = 0
    position = 0
    while position < len(source):
        part = _PART.match(source, position)
        if part is None:
            raise _not_a_duration(text)
        digits, name = part.groups()
        unit = _UNITS.get(name)
        if unit is None:
            raise _not_a_duration(text)
        if unit in seen:
            raise DurationError(f"{_echo(text)} names the same unit twice: write it like 1d12h")
        seen.add(unit)
        if len(digits.lstrip("0")) > _MAX_DIGITS:
            raise _too_long(text)
        seconds += int(digits) * _SECONDS[unit]
        position = part.end()
    if seconds == 0:
        raise DurationError(f"{_echo(text)} is zero: a duration must be longer than that")
    if seconds > MAX_DURATION.total_seconds():
        raise _too_long(text)
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """The canonical short form, like `2w`, `14d12h` or `45s`; fractions of a second are dropped."""
    if duration < timedelta(0):
        raise ValueError(f"cannot format a negative duration: {duration!r}")
    # Integer arithmetic: total_seconds() is a float and loses precision for long spans.
    seconds = duration.days * 86_400 + duration.seconds
    if seconds == 0:
        return "0s"
    if seconds % _SECONDS["w"] == 0:
        return f"{seconds // _SECONDS['w']}w"
    parts = []
    for unit in "dhms":
        amount, seconds = divmod(seconds, _SECONDS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


def _echo(text: str) -> str:
    shown = " ".join(text.split())
    if len(shown) > _ECHO_LIMIT:
        shown = shown[: _ECHO_LIMIT - 1] + "…"
    return f'"{shown}"'


def _not_a_duration(text: str) -> DurationError:
    return DurationError(f"{_echo(text)} is not a duration: write it like {_EXAMPLES}")


def _too_long(text: str) -> DurationError:
    return DurationError(
        f"{_echo(text)} is too long: the longest duration Tandem accepts is "
        f"{format_duration(MAX_DURATION)} (5 years)"
    )
