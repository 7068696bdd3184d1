"""The pure parts of spaces: channels or threads, categories, names, the intro card."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import UserFacingError
from bot.intro import IntroDetails, Partner, closing_note, intro_card, partner_left_note
from bot.space_plan import (
    ACTIVE_THREAD_LIMIT,
    AUTO,
    AUTO_CHANNEL_LIMIT,
    CATEGORY_LIMIT,
    CHANNEL,
    THREAD,
    categories_needed,
    category_index,
    category_name,
    channels_fit,
    intro_marker,
    plan_spaces,
    space_name,
    space_names,
)
from bot.topics.library import TopicText

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("spaces", "categories"), [(0, 0), (1, 1), (50, 1), (51, 2), (100, 2), (430, 9)])
def test_a_category_holds_fifty_channels(spaces: int, categories: int) -> None:
    assert categories_needed(spaces) == categories


def test_spaces_fill_categories_in_order() -> None:
    assert [category_index(i) for i in (0, 49, 50, 99, 100)] == [0, 0, 1, 1, 2]
    assert CATEGORY_LIMIT == 50


def test_small_rounds_get_channels_and_say_why() -> None:
    plan = plan_spaces(AUTO, 15, channels_in_guild=3, active_threads=0)
    assert (plan.kind, plan.categories) == (CHANNEL, 1)
    assert plan.description == "15 private channels in 1 category"
    assert "fit" in plan.reason


def test_rounds_that_do_not_fit_the_500_channels_go_to_threads() -> None:
    # 190 spaces + 4 categories + 10 headroom = 204: fits next to 296 channels, not next to 297.
    assert channels_fit(190, 296)
    assert not channels_fit(190, 297)
    assert plan_spaces(AUTO, 190, channels_in_guild=296, active_threads=0).kind == CHANNEL
    plan = plan_spaces(AUTO, 190, channels_in_guild=297, active_threads=0)
    assert plan.kind == THREAD
    assert plan.categories == 0
    assert "would not fit in the 203 channels the server has left" in plan.reason


def test_large_rounds_go_to_threads_even_when_channels_would_fit() -> None:
    assert channels_fit(430, 51)
    assert plan_spaces(AUTO, AUTO_CHANNEL_LIMIT, channels_in_guild=3, active_threads=0).kind == CHANNEL
    plan = plan_spaces(AUTO, 430, channels_in_guild=3, active_threads=0)
    assert plan.kind == THREAD
    assert "would crowd the server" in plan.reason
    assert plan_spaces(CHANNEL, 430, channels_in_guild=3, active_threads=0).kind == CHANNEL


def test_the_coordinator_can_ask_for_threads_or_channels() -> None:
    assert plan_spaces(THREAD, 4, 3, 0).kind == THREAD
    assert plan_spaces(CHANNEL, 4, 3, 0).kind == CHANNEL


def test_channels_that_cannot_fit_are_refused_with_the_numbers() -> None:
    with pytest.raises(UserFacingError, match="do not fit: the server has room for 100 more channels"):
        plan_spaces(CHANNEL, 95, channels_in_guild=400, active_threads=0)


def test_threads_beyond_the_active_thread_limit_are_refused() -> None:
    with pytest.raises(UserFacingError, match="1000"):
        plan_spaces(AUTO, 490, channels_in_guild=3, active_threads=ACTIVE_THREAD_LIMIT - 100)


def test_names_are_folded_to_channel_rules() -> None:
    assert space_name(["Ana María", "Kenji"]) == "ana-maria-kenji"
    assert space_name(["Zoë O'Brien", "Łukasz"]) == "zoe-o-brien-ukasz"
    assert space_name(["🦊🦊", "Kenji"]) == "partner-kenji"
    assert space_name(["李", "Ana"]) == "partner-ana"


def test_names_are_sorted_unique_and_at_most_100_characters() -> None:
    names = space_names(
        [["Kenji", "Ana"], ["Ana", "Kenji"], ["ana", "KENJI"], ["x" * 90, "y" * 90, "z" * 90]]
    )
    assert names[:3] == ["ana-kenji", "ana-kenji-2", "ana-kenji-3"]
    assert len(names[3]) <= 100
    assert names[3].startswith("x")
    assert "-y" in names[3]
    assert "-z" in names[3]
    long_twice = space_names([["a" * 100, "b" * 100], ["a" * 100, "b" * 100]])
    assert len(set(long_twice)) == 2
    assert all(len(n) <= 100 for n in long_twice)


def test_category_names_are_numbered_only_when_there_are_several() -> None:
    assert category_name("Spring 2026", 0, 1) == "Spring 2026 · spaces"
    assert category_name("Spring 2026", 1, 3) == "Spring 2026 · spaces 2"


ANA = Partner(1, "Ana", "CL", "America/Santiago")
KENJI = Partner(2, "Kenji", "JP", "Asia/Tokyo")


def test_the_intro_card_names_partners_times_reasons_steps_and_topic() -> None:
    card = intro_card(
        IntroDetails(
            7,
            "Spring 2026",
            [ANA, KENJI],
            ["you share: open access", "3 h of waking-hours overlap"],
            TopicText("en", "Getting to know you", "Tell each other about your library."),
        ),
        NOW,
    )
    assert card.mention_ids == (1, 2)
    assert card.content.startswith("<@1> <@2>")
    assert card.title == "Meet your partner"
    fields = dict(card.fields)
    assert fields["Ana"] == "Chile · 06:00 on Monday (America/Santiago)"
    assert fields["Kenji"] == "Japan · 18:00 on Monday (Asia/Tokyo)"
    assert "• you share: open access" in fields["Why you were matched"]
    assert "how you will meet" in fields["First steps"]
    assert "within a week" in fields["First steps"]
    assert fields["First topic: Getting to know you"] == "Tell each other about your library."
    assert "only you can read it" in card.description
    assert card.footer == card.marker == intro_marker(7)
    assert card.total_length < 6000


def test_the_intro_says_when_coordinators_can_read_the_space() -> None:
    card = intro_card(IntroDetails(1, "R", [ANA, KENJI], [], None, coordinators_can_see=True), NOW)
    assert "coordinators, who may read it" in card.description
    assert not any(name.startswith("First topic") for name, _ in card.fields)


def test_long_text_is_clipped_to_discord_limits() -> None:
    card = intro_card(
        IntroDetails(1, "R", [ANA, KENJI], ["x" * 3000], TopicText("en", "t" * 400, "b" * 3000)), NOW
    )
    assert all(len(name) <= 256 and len(value) <= 1024 for name, value in card.fields)


def test_notes_for_a_leaver_and_the_end() -> None:
    note = partner_left_note("Kenji", [ANA])
    assert note.mention_ids == (1,)
    assert "Kenji has left" in note.content
    assert "new partner" in note.content
    closing = closing_note("Spring 2026", [ANA, KENJI], "30d")
    assert "read-only" in closing.content
    assert "deleted in 30d" in closing.content
