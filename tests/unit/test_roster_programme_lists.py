"""The programme's lists as /setup takes them (bot/programme_input.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.programme_input import join_within, parse_programme_list
from bot.programmes import DEFAULT_INTERESTS
from bot.validation import FieldOptions, ValidationError, parse_career_stage, parse_interests, parse_sector


def problem(text: str, field: str) -> str:
    with pytest.raises(ValidationError) as refused:
        parse_programme_list(text, field)
    assert refused.value.field == field
    return str(refused.value)


def test_items_keep_their_order_and_spelling_with_spaces_tidied() -> None:
    assert parse_programme_list("  Oral   history; zines ;open access;", "interests") == (
        "Oral history",
        "zines",
        "open access",
    )


def test_the_default_interests_are_a_valid_list() -> None:
    assert parse_programme_list("; ".join(DEFAULT_INTERESTS), "interests") == DEFAULT_INTERESTS


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("", "interests", "interests: is empty"),
        (";", "sectors", "sectors: is empty"),
        ("a;;b", "interests", "interests: item 2 is empty (two ; in a row?)"),
        ("a; ; b", "sectors", "sectors: item 2 is empty"),
        (
            "open access; Open Access",
            "interests",
            'interests "Open Access": appears twice (also as “open access”)',
        ),
        ("público; publico", "sectors", 'sectors "publico": appears twice'),
        ("early-career; early career", "career_stages", 'career_stages "early career": appears twice'),
        ("arts & crafts; Arts and Crafts", "interests", 'interests "Arts and Crafts": appears twice'),
        ("St. Mary's; st marys", "sectors", 'sectors "st marys": appears twice'),
        ("kids, teens", "interests", 'interests "kids, teens": an interest cannot contain a comma'),
        ("x" * 41, "interests", "must be at most 40 characters (got 41)"),
        ("a; " + "b" * 41, "sectors", "must be at most 40 characters"),
        ("a;b\u0007", "sectors", "contains characters that cannot be shown"),
        ("???; a", "sectors", 'sectors "???": needs letters or digits'),
        ("public", "sectors", "sectors: needs at least 2 and at most 25 items (got 1)"),
        (";".join(f"i{n}" for n in range(26)), "interests", "interests: needs at most 25 items (got 26)"),
        (";".join(f"s{n}" for n in range(26)), "career_stages", "at least 2 and at most 25 items (got 26)"),
    ],
)
def test_bad_lists_are_refused_naming_the_field_and_item(text: str, field: str, expected: str) -> None:
    assert expected in problem(text, field)


def test_a_comma_is_fine_in_a_sector_which_is_never_split() -> None:
    sectors = parse_programme_list("libraries, archives and museums; public", "sectors")
    assert parse_sector("Libraries, archives and museums", sectors) == "libraries, archives and museums"


def test_one_interest_and_a_full_select_menu_are_both_fine() -> None:
    assert parse_programme_list("zines", "interests") == ("zines",)
    assert len(parse_programme_list(";".join(f"topic {n}" for n in range(25)), "interests")) == 25


@given(
    st.lists(
        st.text(alphabet=st.characters(categories=("L", "N"), max_codepoint=0x2FF), min_size=1, max_size=40),
        min_size=2,
        max_size=25,
        unique_by=lambda s: s.casefold(),
    )
)
def test_whatever_setup_accepts_the_profile_parsers_accept(items: list[str]) -> None:
    """An item /setup lets through can be chosen in /signup and in an import, as itself."""
    try:
        interests = parse_programme_list(";".join(items), "interests")
        stages = parse_programme_list(";".join(items), "career_stages")
    except ValidationError:
        return  # refused as a duplicate after folding accents: nothing to check
    options = FieldOptions(interests=interests, career_stages=stages)
    for item in interests:
        assert parse_interests(item, options.interests) == {item}
    for stage in stages:
        assert parse_career_stage(stage, options.career_stages) == stage


def test_join_within_fits_the_limit_and_says_what_was_left_out() -> None:
    assert join_within([]) == "none"
    assert join_within(["a", "b"]) == "a; b"
    assert join_within(["aaaa", "bbbb", "cccc"], limit=14) == "aaaa (+2 more)"
    assert join_within(["a" * 50], limit=10) == "(+1 more)"


@given(st.lists(st.text(min_size=1, max_size=40), max_size=25), st.integers(min_value=20, max_value=1024))
def test_join_within_never_exceeds_the_limit(items: list[str], limit: int) -> None:
    assert len(join_within(items, limit)) <= limit
