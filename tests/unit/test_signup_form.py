from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dates import parse_until
from bot.errors import UserFacingError
from bot.programmes import DEFAULT_INTERESTS
from bot.signup import (
    FormProblems,
    StepOne,
    StepTwo,
    build_applicant,
    check_step_one,
    check_step_two,
    choose_timezone,
    prefill_step_one,
    prefill_step_two,
)
from bot.timezones import country_zones, local_time_text
from bot.validation import FieldOptions

OPTIONS = FieldOptions(interests=DEFAULT_INTERESTS)
ME = 111111111111111111
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_country_with_one_zone_needs_no_choice() -> None:
    answers = check_step_one(StepOne(country="Ghana", languages="en"), ME)
    assert answers.timezone == "Africa/Accra"
    assert answers.zone_choices == ()


def test_a_country_with_several_zones_offers_them() -> None:
    answers = check_step_one(StepOne(country="CL", languages="Spanish"), ME)
    assert answers.timezone is None
    assert "America/Santiago" in answers.zone_choices
    picked = choose_timezone(answers, "America/Punta_Arenas")
    assert picked.timezone == "America/Punta_Arenas"
    with pytest.raises(FormProblems, match="not one of Chile's time zones"):
        choose_timezone(answers, "Europe/London")


def test_a_country_with_too_many_zones_for_a_menu_asks_to_type_it() -> None:
    with pytest.raises(FormProblems, match="has many time zones; type yours"):
        check_step_one(StepOne(country="United States", languages="en"), ME)
    assert check_step_one(StepOne(country="US", timezone="america/chicago", languages="en"), ME).timezone == (
        "America/Chicago"
    )


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(FormProblems) as raised:
        check_step_one(
            StepOne(country="Atlantis", timezone="Mars/Base", languages="", do_not_match=frozenset({ME})), ME
        )
    fields = [problem.split(" ")[0].rstrip(":") for problem in raised.value.problems]
    assert fields == ["country", "timezone", "languages", "do_not_match"]


def test_step_two_takes_listed_and_own_interests() -> None:
    chosen = check_step_two(
        StepTwo("public", "early", "career_stage", ("advocacy",), "zines, oral history"), OPTIONS
    )
    assert chosen == ("public", "early", "career_stage", frozenset({"advocacy", "zines", "oral history"}))


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        (StepTwo("public", "early", "interests", (), ""), "pick at least one"),
        (StepTwo("public", "early", "interests", ("astrology",), ""), "from the programme's list"),
        (StepTwo("public", "early", "interests", ("advocacy",), "a, b, c, d"), "at most 3 of your own"),
        (StepTwo("pirate", "early", "interests", ("advocacy",), ""), "sector"),
    ],
)
def test_step_two_problems(typed: StepTwo, problem: str) -> None:
    with pytest.raises(FormProblems, match=problem):
        check_step_two(typed, OPTIONS)


def test_a_profile_prefills_both_steps_and_round_trips() -> None:
    one = check_step_one(StepOne(country="Kenya", languages="Swahili, en", goals="Mentoring"), ME)
    two = check_step_two(StepTwo("school", "senior", "open", ("reading promotion",), "storytelling"), OPTIONS)
    applicant = build_applicant(ME, "Wanjiru", one, two)
    refilled = check_step_one(prefill_step_one(applicant), ME)
    assert refilled == one
    assert check_step_two(prefill_step_two(applicant, OPTIONS), OPTIONS) == two


@given(st.text(max_size=80), st.text(max_size=80), st.text(max_size=120), st.text(max_size=600))
def test_step_one_never_fails_with_anything_but_form_problems(
    country: str, zone: str, langs: str, goals: str
) -> None:
    try:
        answers = check_step_one(StepOne(country, zone, langs, goals), ME)
    except FormProblems as problems:
        assert problems.problems
    else:
        assert len(answers.country) == 2
        assert answers.languages


def test_parse_until() -> None:
    assert parse_until("2w", NOW, "UTC") == NOW + timedelta(weeks=2)
    assert parse_until("2026-04-01", NOW, "America/Santiago") == datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
    for text, message in [
        ("2026-02-30", "not a real date"),
        ("2026-01-01", "already passed"),
        ("soon", "neither a date"),
        ("2y", "neither a date"),
        ("60w", "a year at most"),
    ]:
        with pytest.raises(UserFacingError, match=message):
            parse_until(text, NOW, "UTC")


def test_time_zone_helpers() -> None:
    assert country_zones("es") == ("Europe/Madrid", "Africa/Ceuta", "Atlantic/Canary")
    assert country_zones("XX") == ()
    assert local_time_text("Asia/Tokyo", NOW) == "18:00 on Monday"
