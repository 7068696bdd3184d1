"""Waking hours across time zones.

Each person's day is the same local window (08:00 to 22:00 by default). The window is placed on the
24-hour UTC clock with the zone's UTC offset on a reference date (the round's start, so DST is
decided once), and partners' windows are intersected on that clock, wrapping at midnight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

DAY = 24 * 60
Interval = tuple[int, int]  # [start, end) in minutes after 00:00 UTC, 0 <= start < end <= 1440

# Any fixed year serves to find a zone's standard time: January and July cover both hemispheres.
_STANDARD_PROBES = (date(2025, 1, 15), date(2025, 7, 15))


@lru_cache(maxsize=4096)
def utc_offset_minutes(zone: str, on: date | None = None) -> int:
    """The zone's UTC offset in minutes at noon on `on`, or its standard (non-DST) offset."""
    tz = ZoneInfo(zone)
    if on is None:
        return min(_offset(tz, probe) for probe in _STANDARD_PROBES)
    return _offset(tz, on)


def _offset(tz: ZoneInfo, on: date) -> int:
    offset = datetime.combine(on, time(12), tzinfo=tz).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)


def day_window(offset: int, start_hour: int, end_hour: int) -> tuple[Interval, ...]:
    """A local [start, end) window as pieces of the UTC day."""
    length = (end_hour - start_hour) * 60
    if length >= DAY:
        return ((0, DAY),)
    start = (start_hour * 60 - offset) % DAY
    end = start + length
    if end <= DAY:
        return ((start, end),)
    return ((start, DAY), (0, end - DAY))


def _intersect(xs: Iterable[Interval], ys: Iterable[Interval]) -> tuple[Interval, ...]:
    ys = tuple(ys)
    out = []
    for a, b in xs:
        for c, d in ys:
            lo, hi = max(a, c), min(b, d)
            if lo < hi:
                out.append((lo, hi))
    return tuple(sorted(out))


@lru_cache(maxsize=65536)
def common_hours(offsets: tuple[int, ...], start_hour: int, end_hour: int) -> tuple[Interval, ...]:
    """The UTC minutes in which every offset's local window is open (pieces, sorted)."""
    window = day_window(offsets[0], start_hour, end_hour)
    for offset in offsets[1:]:
        window = _intersect(window, day_window(offset, start_hour, end_hour))
    return window


def minutes(pieces: Iterable[Interval]) -> int:
    return sum(end - start for start, end in pieces)


def _clock(minute: int) -> str:
    minute %= DAY
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_hours(pieces: Sequence[Interval]) -> str:
    """ "09:00 to 12:00 UTC"; a window across midnight reads "22:00 to 02:00 UTC"."""
    spans = list(pieces)
    if len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == DAY:
        first = spans.pop(0)
        last = spans.pop()
        spans.append((last[0], first[1] + DAY))
        spans.sort()
    if len(spans) == 1 and spans[0][1] - spans[0][0] >= DAY:
        return "all day"
    text = " and ".join(f"{_clock(start)} to {_clock(end)}" for start, end in spans)
    return f"{text} UTC"
