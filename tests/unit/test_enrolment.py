from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from bot.enrolment import ENROLLED, WAITLISTED, Place, admits, country_limit, promotions


def test_without_a_cap_everyone_fits() -> None:
    assert admits(Counter({"AU": 500}), 500, "AU", None)


def test_the_floor_lets_the_first_members_of_a_country_in() -> None:
    assert admits(Counter(), 0, "CL", 20)
    assert admits(Counter({"CL": 1}), 1, "CL", 20)
    assert not admits(Counter({"CL": 2}), 2, "CL", 20)


def test_twenty_percent_of_a_growing_round() -> None:
    # 40 enrolled, 8 from Australia: the 41st place would allow floor(0.2 * 41) = 8.
    assert not admits(Counter({"AU": 8}), 40, "AU", 20)
    assert admits(Counter({"AU": 8}), 44, "AU", 20)  # floor(0.2 * 45) = 9


def test_waiting_list_moves_up_in_arrival_order_as_the_round_grows() -> None:
    places = [Place(i, "AU", ENROLLED) for i in range(2)]
    places += [Place(10, "AU", WAITLISTED), Place(11, "AU", WAITLISTED)]
    places += [Place(100 + i, f"C{i}", ENROLLED) for i in range(13)]  # 15 enrolled: limit 3
    assert promotions(places, 20) == [10]


@given(
    st.lists(st.tuples(st.sampled_from("ABCDE"), st.booleans()), max_size=60),
    st.integers(min_value=5, max_value=100),
)
def test_promotions_respect_the_cap_and_arrival_order(entries: list[tuple[str, bool]], percent: int) -> None:
    places = [
        Place(i, country, ENROLLED if enrolled else WAITLISTED)
        for i, (country, enrolled) in enumerate(entries)
    ]
    promoted = promotions(places, percent)
    # Each promotion fitted under the cap as it was when it happened.
    counts = Counter(p.country for p in places if p.status == ENROLLED)
    total = sum(counts.values())
    by_id = {p.participant_id: p for p in places}
    for participant_id in promoted:
        place = by_id[participant_id]
        assert place.status == WAITLISTED
        assert counts[place.country] + 1 <= country_limit(percent, total)
        counts[place.country] += 1
        total += 1
    # Nobody left waiting would fit now, and within a country the earlier arrival goes first.
    left = [p for p in places if p.status == WAITLISTED and p.participant_id not in promoted]
    assert not any(admits(counts, total, p.country, percent) for p in left)
    for country in "ABCDE":
        mine = [p.participant_id for p in places if p.country == country and p.status == WAITLISTED]
        moved = [i for i in promoted if by_id[i].country == country]
        assert moved == mine[: len(moved)]
