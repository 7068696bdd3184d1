from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.durations import MAX_DURATION, DurationError, format_duration, parse_duration
from bot.errors import UserFacingError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16w", timedelta(weeks=16)),
        ("14d", timedelta(days=14)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1d 12h", timedelta(days=1, hours=12)),
        ("  1D12H ", timedelta(days=1, hours=12)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("30m 1h", timedelta(hours=1, minutes=30)),
        ("2w3d4h5m6s", timedelta(weeks=2, days=3, hours=4, minutes=5, seconds=6)),
        ("14 d", timedelta(days=14)),
        ("2 weeks", timedelta(weeks=2)),
        ("1 day 12 hours", timedelta(days=1, hours=12)),
        ("90 min", timedelta(minutes=90)),
        ("007d", timedelta(days=7)),
        ("260w", MAX_DURATION),
    ],
)
def test_parses(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("14x", '"14x" is not a duration: write it like 14d, 12h, 30m or 16w'),
        ("", "Write a duration like 14d, 12h, 30m or 16w."),
        ("   ", "Write a duration like 14d, 12h, 30m or 16w."),
        ("0d", '"0d" is zero'),
        ("0w0s", '"0w0s" is zero'),
        ("-1d", "is not a duration"),
        ("1.5d", "is not a duration"),
        ("14", "is not a duration"),
        ("d", "is not a duration"),
        ("1mo", "is not a duration"),
        ("1d,2h", "is not a duration"),
        ("١٤d", "is not a duration"),  # Arabic-Indic digits are not accepted silently
        ("1d1d", "names the same unit twice"),
        ("1h 2hours", "names the same unit twice"),
        ("261w", "is too long: the longest duration Tandem accepts is 260w (5 years)"),
        ("1827d", "is too long"),
        ("9" * 5000 + "s", "is too long"),
    ],
)
def test_refuses_with_a_message_for_the_user(text: str, message: str) -> None:
    with pytest.raises(DurationError) as raised:
        parse_duration(text)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, UserFacingError)
    assert raised.value.message == str(raised.value)


def test_long_input_is_not_echoed_whole() -> None:
    with pytest.raises(DurationError) as raised:
        parse_duration("x" * 500)
    assert len(str(raised.value)) < 120


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=14), "2w"),
        (timedelta(weeks=16), "16w"),
        (timedelta(days=15), "15d"),
        (timedelta(days=1, hours=12), "1d12h"),
        (timedelta(days=14, hours=12), "14d12h"),
        (timedelta(hours=36), "1d12h"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(seconds=3661), "1h1m1s"),
        (timedelta(0), "0s"),
        (timedelta(seconds=45, microseconds=900_000), "45s"),
    ],
)
def test_formats_canonically(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text


def test_format_refuses_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))


@given(st.text())
def test_any_text_parses_or_raises_the_documented_error(text: str) -> None:
    try:
        duration = parse_duration(text)
    except DurationError as error:
        assert str(error)
    else:
        assert timedelta(0) < duration <= MAX_DURATION
        assert duration == timedelta(seconds=int(duration.total_seconds()))


_UNIT_NAMES = st.sampled_from(["w", "W", "week", "weeks", "d", "days", "h", "hr", "m", "min", "s", "sec"])


@given(st.lists(st.tuples(st.integers(0, 10**6), _UNIT_NAMES, st.sampled_from(["", " ", "  "])), max_size=6))
def test_written_combinations_parse_or_raise(parts: list[tuple[int, str, str]]) -> None:
    text = "".join(f"{number}{space}{unit}{space}" for number, unit, space in parts)
    try:
        duration = parse_duration(text)
    except DurationError:
        return
    assert parse_duration(format_duration(duration)) == duration


@given(st.integers(1, int(MAX_DURATION.total_seconds())))
def test_format_round_trips_whole_seconds(seconds: int) -> None:
    duration = timedelta(seconds=seconds)
    text = format_duration(duration)
    assert parse_duration(text) == duration
    assert format_duration(parse_duration(text)) == text
