"""Profile field validation: canonical values out, clear messages (with a suggestion) for typos."""

from __future__ import annotations

import pytest

from bot.validation import (
    FieldOptions,
    ValidationError,
    country_in_sentence,
    country_name,
    escape_csv_cell,
    language_name,
    parse_career_stage,
    parse_country,
    parse_discord_id,
    parse_goals,
    parse_interests,
    parse_languages,
    parse_match_preference,
    parse_member_ids,
    parse_name,
    parse_sector,
    parse_timezone,
)


def message(excinfo: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Chile", "CL"),
        ("chile", "CL"),
        ("CL", "CL"),
        ("cl", "CL"),
        ("CHL", "CL"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("Russia", "RU"),
        ("South Korea", "KR"),
        ("Côte d'Ivoire", "CI"),
        ("Cote d’Ivoire", "CI"),
        ("Ivory Coast", "CI"),
        ("Bolivia", "BO"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("  the Netherlands ", "NL"),
        ("St. Lucia", "LC"),
        ("Kosovo", "XK"),
    ],
)
def test_countries_are_accepted_by_name_or_code_in_any_case(text: str, code: str) -> None:
    assert parse_country(text) == code


def test_a_misspelt_country_gets_the_closest_suggestion() -> None:
    with pytest.raises(ValidationError) as excinfo:
        parse_country("Chle")
    assert message(excinfo) == 'country "Chle": did you mean Chile?'
    assert excinfo.value.field == "country"


def test_an_unknown_country_says_what_is_expected() -> None:
    with pytest.raises(ValidationError, match=r"not a country name or ISO 3166 code"):
        parse_country("Atlantis Prime Xyz")
    with pytest.raises(ValidationError, match="is required"):
        parse_country("  ")


def test_country_names_read_well_in_sentences() -> None:
    assert country_name("BO") == "Bolivia"
    assert country_name("RU") == "Russia"
    assert country_in_sentence("PH") == "the Philippines"
    assert country_in_sentence("CL") == "Chile"


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Europe/London", "Europe/London"),
        ("europe/london", "Europe/London"),
        ("America/New York", "America/New_York"),
        ("UTC", "UTC"),
        ("asia/kolkata", "Asia/Kolkata"),
    ],
)
def test_timezones_are_canonical_iana_names(text: str, zone: str) -> None:
    assert parse_timezone(text) == zone


def test_a_misspelt_timezone_gets_the_closest_suggestion() -> None:
    with pytest.raises(ValidationError) as excinfo:
        parse_timezone("Europe/Londn")
    assert message(excinfo) == 'timezone "Europe/Londn": did you mean Europe/London?'


def test_a_bare_city_suggests_its_zone() -> None:
    with pytest.raises(ValidationError, match="did you mean Africa/Nairobi"):
        parse_timezone("Nairobi")


def test_a_meaningless_timezone_is_refused() -> None:
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        parse_timezone("GMT+25:00 somewhere")
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        parse_timezone("Factory")


def test_languages_accept_codes_and_english_names() -> None:
    assert parse_languages("en; Spanish;FRENCH") == {"en", "es", "fr"}
    assert parse_languages(["Mandarin", "zh"]) == {"zh"}
    assert parse_languages("Greek, Farsi, Swahili") == {"el", "fa", "sw"}
    assert parse_languages("Filipino; Cantonese") == {"fil", "yue"}
    assert parse_languages("cmn;spa") == {"zh", "es"}


def test_a_misspelt_language_gets_a_suggestion_and_none_is_refused() -> None:
    with pytest.raises(ValidationError) as excinfo:
        parse_languages("English; Portugese")
    assert message(excinfo) == 'languages "Portugese": did you mean Portuguese?'
    with pytest.raises(ValidationError, match="at least one language"):
        parse_languages(" ; ")


def test_language_names_are_plain_english() -> None:
    assert language_name("es") == "Spanish"
    assert language_name("el") == "Greek"
    assert language_name("sw") == "Swahili"
    assert language_name("yue") == "Cantonese"


def test_sector_and_career_stage_come_from_the_programme_lists() -> None:
    assert parse_sector("Academic") == "academic"
    assert parse_sector("public library") == "public"
    assert parse_career_stage("Early career") == "early"
    assert parse_career_stage("mid-career") == "mid"
    assert parse_sector("Museum", allowed=("library", "museum", "archive")) == "museum"
    with pytest.raises(ValidationError) as excinfo:
        parse_sector("acadmic")
    assert message(excinfo).startswith('sector "acadmic": did you mean academic?')
    with pytest.raises(ValidationError, match="must be one of student, early, mid, senior"):
        parse_career_stage("wizard")


def test_match_preference_defaults_to_interests() -> None:
    assert parse_match_preference("") == "interests"
    assert parse_match_preference("Career stage") == "career_stage"
    assert parse_match_preference("open") == "open"
    assert parse_match_preference("no preference") == "open"
    with pytest.raises(ValidationError, match="match_preference"):
        parse_match_preference("astrology")


def test_interests_keep_the_programme_spelling_and_catch_near_misses() -> None:
    listed = ("Open access", "Digital preservation")
    assert parse_interests("open ACCESS;  zines ", listed) == {"Open access", "zines"}
    with pytest.raises(ValidationError) as excinfo:
        parse_interests("Open acess", listed)
    assert message(excinfo) == 'interests "Open acess": did you mean Open access?'
    assert parse_interests("") == frozenset()


def test_interest_limits() -> None:
    with pytest.raises(ValidationError, match="at most 3 interests"):
        parse_interests("a1;b2;c3;d4", max_count=3)
    with pytest.raises(ValidationError, match="at most 40 characters"):
        parse_interests("x" * 41)
    options = FieldOptions(interests=("Open access",), max_interests=2)
    assert options.max_interests == 2


def test_goals_are_limited_to_500_characters() -> None:
    assert parse_goals("  Learn.  ") == "Learn."
    assert parse_goals(None) == ""
    with pytest.raises(ValidationError) as excinfo:
        parse_goals("x" * 501)
    assert message(excinfo) == "goals: must be at most 500 characters (got 501)"


def test_names_are_required_and_limited() -> None:
    assert parse_name("  Ana   Silva ") == "Ana Silva"
    with pytest.raises(ValidationError, match="name: is required"):
        parse_name("")
    with pytest.raises(ValidationError, match="at most 80 characters"):
        parse_name("a" * 81)
    with pytest.raises(ValidationError, match="cannot be shown"):
        parse_name("Ana\x00")


def test_discord_ids_are_snowflakes() -> None:
    assert parse_discord_id("301000000000000001") == 301000000000000001
    assert parse_discord_id("<@!301000000000000001>") == 301000000000000001
    for bad in ("12345", "abc", "-301000000000000001", "99999999999999999999999"):
        with pytest.raises(ValidationError, match="not a Discord user id"):
            parse_discord_id(bad)
    with pytest.raises(ValidationError, match="format the column as text"):
        parse_discord_id("3.01E+17")
    assert parse_member_ids("301000000000000001; 301000000000000002") == {
        301000000000000001,
        301000000000000002,
    }
    assert parse_member_ids("") == frozenset()


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ana", "Ana"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(cell: object, safe: str) -> None:
    assert escape_csv_cell(cell) == safe
