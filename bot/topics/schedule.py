"""When each topic of a round is released: pure arithmetic on times, no clock and no database.

Topic k (0-based) of a round is due `k × cadence` after the round starts. With a cadence of a day or
more, releases are aligned to the programme's posting hour: take the date, on the programme's local
calendar, that lies `k × cadence` after the start, and release at the posting hour on that date. The
arithmetic is done on the local wall clock, so "every 14 days at 09:00" stays 14 calendar days apart
and at 09:00 across daylight-saving changes. A cadence shorter than a day (used for trial runs and
tests: `30m`, `45s`) is not aligned: topic k is released exactly `k × cadence` after the start.

Further rules:
- no release comes before the round's start: if the posting hour on the first date has already
  passed when the round starts, the first topic is released at the start;
- a posting hour that does not exist on a date (a daylight-saving gap, like 02:30 on a
  spring-forward day) resolves to the first moment after it that does (03:00 there); a posting
  hour that happens twice (a fold) takes the first occurrence;
- a release at or after the round's end is not scheduled, and neither is any after it.

All results are timezone-aware datetimes in UTC.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo

ONE_DAY = timedelta(days=1)


class Release(NamedTuple):
    """One scheduled topic release: the topic's index in the library order, and when it is due."""

    index: int
    at: datetime


def release_times(
    start: datetime,
    end: datetime,
    cadence: timedelta,
    count: int,
    timezone: str | tzinfo,
    posting_hour: time,
) -> list[datetime]:
    """The release time of topics 0, 1, … of a round, at most `count` of them, all before `end`.

    Strictly increasing, each within [start, end). See the module docstring for the rules.
    """
    _require_aware("start", start)
    _require_aware("end", end)
    if count < 0:
        raise ValueError(f"count must not be negative, not {count}")
    zone = _zone(timezone)
    releases: list[datetime] = []
    for index in range(count):
        at = release_time(start, index, cadence, zone, posting_hour)
        if at >= end:
            break
        releases.append(at)
    return releases


def release_time(
    start: datetime,
    index: int,
    cadence: timedelta,
    timezone: str | tzinfo,
    posting_hour: time,
) -> datetime:
    """When topic `index` (0-based) of a round that starts at `start` is due, ignoring the round's end."""
    _require_aware("start", start)
    if cadence <= timedelta(0):
        raise ValueError(f"cadence must be positive, not {cadence}")
    if index < 0:
        raise ValueError(f"index must not be negative, not {index}")
    if posting_hour.tzinfo is not None:
        raise ValueError("posting_hour is a local wall-clock time and must not carry a timezone")
    start = start.astimezone(UTC)
    if cadence < ONE_DAY:
        return start + index * cadence
    zone = _zone(timezone)
    # Wall-clock arithmetic: adding days to the local time keeps calendar days whole across
    # daylight-saving changes, so dates of successive releases are always distinct and increasing.
    local_start = start.astimezone(zone).replace(tzinfo=None)
    release_date = (local_start + index * cadence).date()
    return max(local_moment(release_date, posting_hour, zone), start)


def due_releases(schedule: Sequence[datetime], now: datetime, posted: Collection[int] = ()) -> list[int]:
    """Indices of the releases due at `now` (at or before it) that are not in `posted`, in order."""
    _require_aware("now", now)
    return [index for index, at in enumerate(schedule) if at <= now and index not in posted]


def next_release(schedule: Sequence[datetime], now: datetime) -> Release | None:
    """The first release strictly after `now`, or None when the schedule has no more."""
    _require_aware("now", now)
    for index, at in enumerate(schedule):
        if at > now:
            return Release(index, at)
    return None


def local_moment(day: date, wall_time: time, zone: tzinfo) -> datetime:
    """The UTC instant when clocks in `zone` show `wall_time` on `day`.

    In a fold (the time happens twice) the first occurrence; in a gap (the time never happens) the
    first moment after it, which is the instant the clocks jumped.
    """
    wanted = datetime.combine(day, wall_time)
    first = wanted.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wanted:
        return first
    # `wanted` is in a gap. fold=1 reads it with the offset after the jump, fold=0 with the offset
    # before it; the jump lies between the two readings. Find it to the second by bisection: every
    # instant before the jump shows a wall time before the gap, every instant from it on after.
    low = int(wanted.replace(tzinfo=zone, fold=1).timestamp())
    high = int(first.timestamp()) + 1
    low, high = min(low, high), max(low, high)
    while low < high:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) > wanted:
            high = middle
        else:
            low = middle + 1
    return datetime.fromtimestamp(low, UTC)


def _zone(timezone: str | tzinfo) -> tzinfo:
    return ZoneInfo(timezone) if isinstance(timezone, str) else timezone


def _require_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not {moment!r}")
