from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.topics.schedule import Release, due_releases, local_moment, next_release, release_time, release_times

NINE = time(9)
SIXTEEN_WEEKS = timedelta(weeks=16)
FORTNIGHT = timedelta(days=14)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        pytest.param(
            "Europe/London",
            "2024-03-04 08:00",  # 08:00 GMT; clocks go forward on 31 March
            [
                "2024-03-04 09:00",
                "2024-03-18 09:00",
                "2024-04-01 08:00",
                "2024-04-15 08:00",
                "2024-04-29 08:00",
                "2024-05-13 08:00",
                "2024-05-27 08:00",
                "2024-06-10 08:00",
            ],
            id="london-spring",
        ),
        pytest.param(
            "Europe/London",
            "2024-09-23 07:00",  # 08:00 BST; clocks go back on 27 October
            [
                "2024-09-23 08:00",
                "2024-10-07 08:00",
                "2024-10-21 08:00",
                "2024-11-04 09:00",
                "2024-11-18 09:00",
                "2024-12-02 09:00",
                "2024-12-16 09:00",
                "2024-12-30 09:00",
            ],
            id="london-autumn",
        ),
        pytest.param(
            "America/New_York",
            "2024-10-07 12:00",  # 08:00 EDT; clocks go back on 3 November
            [
                "2024-10-07 13:00",
                "2024-10-21 13:00",
                "2024-11-04 14:00",
                "2024-11-18 14:00",
                "2024-12-02 14:00",
                "2024-12-16 14:00",
                "2024-12-30 14:00",
                "2025-01-13 14:00",
            ],
            id="new-york-autumn",
        ),
        pytest.param(
            "America/New_York",
            "2025-02-24 13:00",  # 08:00 EST; clocks go forward on 9 March
            [
                "2025-02-24 14:00",
                "2025-03-10 13:00",
                "2025-03-24 13:00",
                "2025-04-07 13:00",
                "2025-04-21 13:00",
                "2025-05-05 13:00",
                "2025-05-19 13:00",
                "2025-06-02 13:00",
            ],
            id="new-york-spring",
        ),
        pytest.param(
            "Australia/Sydney",
            "2024-09-15 22:00",  # Monday 16 September 08:00 AEST; clocks go forward on 6 October
            [
                "2024-09-15 23:00",
                "2024-09-29 23:00",
                "2024-10-13 22:00",
                "2024-10-27 22:00",
                "2024-11-10 22:00",
                "2024-11-24 22:00",
                "2024-12-08 22:00",
                "2024-12-22 22:00",
                # 6 January 09:00 AEDT is 2025-01-05 22:00 UTC: exactly the round's end, so not scheduled
            ],
            id="sydney-spring",
        ),
        pytest.param(
            "Australia/Sydney",
            "2025-03-16 21:00",  # Monday 17 March 08:00 AEDT; clocks go back on 6 April
            [
                "2025-03-16 22:00",
                "2025-03-30 22:00",
                "2025-04-13 23:00",
                "2025-04-27 23:00",
                "2025-05-11 23:00",
                "2025-05-25 23:00",
                "2025-06-08 23:00",
                "2025-06-22 23:00",
            ],
            id="sydney-autumn",
        ),
    ],
)
def test_sixteen_week_round_keeps_nine_local_across_dst(zone: str, start: str, expected: list[str]) -> None:
    begins = utc(start)
    releases = release_times(begins, begins + SIXTEEN_WEEKS, FORTNIGHT, 10, zone, NINE)
    assert releases == [utc(moment) for moment in expected]
    assert all(moment.tzinfo is UTC for moment in releases)
    assert {moment.astimezone(ZoneInfo(zone)).time() for moment in releases} == {NINE}


def test_first_release_is_the_start_when_the_posting_hour_has_passed() -> None:
    start = utc("2024-03-04 15:27")  # 15:27 in London
    releases = release_times(start, start + SIXTEEN_WEEKS, FORTNIGHT, 8, "Europe/London", NINE)
    assert releases[0] == start
    assert releases[1] == utc("2024-03-18 09:00")


def test_count_limits_the_releases() -> None:
    start = utc("2024-03-04 08:00")
    assert len(release_times(start, start + SIXTEEN_WEEKS, FORTNIGHT, 3, "UTC", NINE)) == 3
    assert release_times(start, start + SIXTEEN_WEEKS, FORTNIGHT, 0, "UTC", NINE) == []


def test_releases_stop_before_the_end() -> None:
    start = utc("2024-03-04 08:00")
    end = utc("2024-03-18 09:00")  # exactly the second release
    assert release_times(start, end, FORTNIGHT, 8, "UTC", NINE) == [utc("2024-03-04 09:00")]
    assert release_times(start, end + timedelta(seconds=1), FORTNIGHT, 8, "UTC", NINE) == [
        utc("2024-03-04 09:00"),
        utc("2024-03-18 09:00"),
    ]
    assert release_times(start, start, FORTNIGHT, 8, "UTC", NINE) == []


@pytest.mark.parametrize("cadence", [timedelta(seconds=45), timedelta(minutes=30), timedelta(hours=23)])
def test_short_cadences_are_not_aligned(cadence: timedelta) -> None:
    start = datetime(2024, 3, 31, 0, 59, 13, tzinfo=UTC)  # across London's spring-forward
    releases = release_times(start, start + 20 * cadence, cadence, 8, "Europe/London", NINE)
    assert releases == [start + k * cadence for k in range(8)]


def test_a_day_is_aligned() -> None:
    start = utc("2024-03-29 10:00")
    releases = release_times(start, start + timedelta(days=4), timedelta(days=1), 8, "Europe/London", NINE)
    assert releases == [
        start,
        utc("2024-03-30 09:00"),
        utc("2024-03-31 08:00"),  # 09:00 BST from the day the clocks go forward
        utc("2024-04-01 08:00"),
        utc("2024-04-02 08:00"),
    ]


def test_posting_hour_in_a_gap_moves_to_the_end_of_the_gap() -> None:
    # New York, 10 March 2024: clocks jump from 02:00 EST to 03:00 EDT, so 02:30 never happens.
    start = utc("2024-03-09 06:00")  # 01:00 EST
    releases = release_times(
        start, start + timedelta(days=3), timedelta(days=1), 3, "America/New_York", time(2, 30)
    )
    assert releases == [utc("2024-03-09 07:30"), utc("2024-03-10 07:00"), utc("2024-03-11 06:30")]
    assert releases[1].astimezone(ZoneInfo("America/New_York")).time() == time(3)


def test_posting_hour_in_a_fold_takes_the_first_occurrence() -> None:
    # New York, 3 November 2024: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    start = utc("2024-11-02 04:00")  # midnight EDT
    releases = release_times(
        start, start + timedelta(days=3), timedelta(days=1), 3, "America/New_York", time(1, 30)
    )
    assert releases == [utc("2024-11-02 05:30"), utc("2024-11-03 05:30"), utc("2024-11-04 06:30")]


@pytest.mark.parametrize(
    ("zone", "day", "wall", "expected"),
    [
        ("Europe/London", date(2024, 3, 31), time(1, 30), "2024-03-31 01:00"),  # gap → 02:00 BST
        ("Europe/London", date(2024, 10, 27), time(1, 30), "2024-10-27 00:30"),  # fold → BST
        ("Australia/Sydney", date(2024, 10, 6), time(2, 30), "2024-10-05 16:00"),  # gap → 03:00 AEDT
        ("Australia/Sydney", date(2025, 4, 6), time(2, 30), "2025-04-05 15:30"),  # fold → AEDT
        ("Australia/Lord_Howe", date(2024, 10, 6), time(2, 15), "2024-10-05 15:30"),  # half-hour gap
        ("America/Santiago", date(2024, 9, 8), time(0, 0), "2024-09-08 04:00"),  # midnight gap → 01:00
        ("Pacific/Apia", date(2011, 12, 30), NINE, "2011-12-30 10:00"),  # a skipped day → 31 Dec 00:00
    ],
)
def test_local_moment(zone: str, day: date, wall: time, expected: str) -> None:
    assert local_moment(day, wall, ZoneInfo(zone)) == utc(expected)


def test_release_time_for_one_topic() -> None:
    start = utc("2024-03-04 08:00")
    assert release_time(start, 2, FORTNIGHT, "Europe/London", NINE) == utc("2024-04-01 08:00")
    assert release_time(start, 2, FORTNIGHT, ZoneInfo("Europe/London"), NINE) == utc("2024-04-01 08:00")


def test_times_in_other_zones_are_returned_in_utc() -> None:
    start = datetime(2024, 3, 4, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 09:00 UTC
    assert release_times(start, start + FORTNIGHT, timedelta(minutes=30), 1, "UTC", NINE) == [
        utc("2024-03-04 09:00")
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": datetime(2024, 1, 1)}, "start must be timezone-aware"),  # noqa: DTZ001
        ({"end": datetime(2024, 6, 1)}, "end must be timezone-aware"),  # noqa: DTZ001
        ({"cadence": timedelta(0)}, "cadence must be positive"),
        ({"count": -1}, "count must not be negative"),
        ({"posting_hour": time(9, tzinfo=UTC)}, "posting_hour is a local wall-clock time"),
    ],
)
def test_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "start": utc("2024-01-01 00:00"),
        "end": utc("2024-06-01 00:00"),
        "cadence": FORTNIGHT,
        "count": 8,
        "timezone": "UTC",
        "posting_hour": NINE,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        release_times(**arguments)  # type: ignore[arg-type]


SCHEDULE = [utc("2024-03-04 09:00"), utc("2024-03-18 09:00"), utc("2024-04-01 08:00")]


@pytest.mark.parametrize(
    ("now", "posted", "due"),
    [
        ("2024-03-04 08:59", (), []),
        ("2024-03-04 09:00", (), [0]),
        ("2024-03-20 00:00", (), [0, 1]),
        ("2024-03-20 00:00", (0,), [1]),
        ("2025-01-01 00:00", (0, 1), [2]),
        ("2025-01-01 00:00", (0, 1, 2), []),
    ],
)
def test_due_releases(now: str, posted: tuple[int, ...], due: list[int]) -> None:
    assert due_releases(SCHEDULE, utc(now), posted) == due


def test_next_release() -> None:
    assert next_release(SCHEDULE, utc("2024-01-01 00:00")) == Release(0, SCHEDULE[0])
    assert next_release(SCHEDULE, utc("2024-03-04 09:00")) == Release(1, SCHEDULE[1])
    assert next_release(SCHEDULE, utc("2024-04-01 08:00")) is None
    assert next_release([], utc("2024-04-01 08:00")) is None


ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Tehran",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Africa/Casablanca",
]
# Hypothesis takes naive bounds and attaches the zone itself.
EARLIEST = datetime(2005, 1, 1)  # noqa: DTZ001
LATEST = datetime(2036, 1, 1)  # noqa: DTZ001
CADENCES = st.one_of(
    st.sampled_from([timedelta(days=14), timedelta(days=7), timedelta(days=1), timedelta(seconds=45)]),
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=30)).map(
        lambda d: timedelta(seconds=max(1, int(d.total_seconds())))
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC)),
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    cadence=CADENCES,
    count=st.integers(0, 40),
    zone=st.sampled_from(ZONES),
    posting_hour=st.times(),
)
def test_releases_increase_strictly_within_the_round(
    start: datetime, length: timedelta, cadence: timedelta, count: int, zone: str, posting_hour: time
) -> None:
    end = start + length
    releases = release_times(start, end, cadence, count, zone, posting_hour)
    assert len(releases) <= count
    assert all(start <= moment < end for moment in releases)
    assert all(earlier < later for earlier, later in pairwise(releases))
    if cadence < timedelta(days=1):
        assert releases == [start + k * cadence for k in range(len(releases))]
        return
    tz = ZoneInfo(zone)
    for moment in releases[1:]:
        wall = moment.astimezone(tz)
        exists = local_moment(wall.date(), posting_hour, tz).astimezone(tz).time() == posting_hour
        # A release meant for a day the zone skipped (Apia left out 30 December 2011) comes at the
        # moment the clocks jumped, which falls on the next local day.
        from_skipped_day = local_moment(wall.date() - timedelta(days=1), posting_hour, tz) == moment
        assert wall.time() == posting_hour or not exists or from_skipped_day


def test_a_release_on_a_day_the_zone_skipped_comes_when_the_clocks_jumped() -> None:
    # Samoa moved across the date line: 29 December 2011 was followed by 31 December.
    start = datetime(2011, 12, 16, 19, 0, tzinfo=UTC)  # 16 December, 09:00 in Apia (UTC-10 then)
    apia = ZoneInfo("Pacific/Apia")
    releases = release_times(start, start + timedelta(weeks=6), timedelta(days=14), 3, apia, time(9))
    assert releases == [
        datetime(2011, 12, 16, 9, 0, tzinfo=apia),
        datetime(2011, 12, 31, 0, 0, tzinfo=apia),  # 30 December never happened there
        datetime(2012, 1, 13, 9, 0, tzinfo=apia),
    ]
