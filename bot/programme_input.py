"""What /setup accepts for the programme's lists, and how a list is shown back. Pure.

A list is typed as one `;`-separated text. Its items become the choices of `/signup`'s select
menus (a menu holds 25) and the values a spreadsheet import is checked against, so each item must
survive both: interests are split at commas in a spreadsheet cell and `parse_interests` accepts at
most `MAX_INTEREST_LENGTH` characters; a sector or career stage is stored in a 40-character column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.validation import MAX_INTEREST_LENGTH, ValidationError, parse_name

MAX_LIST_ITEMS = 25  # one Discord select menu
MAX_CHOICE_LENGTH = 40  # participant.sector and participant.career_stage are VARCHAR(40)

# field: (fewest items, most items, longest item)
LIST_RULES: dict[str, tuple[int, int, int]] = {
    "interests": (1, MAX_LIST_ITEMS, MAX_INTEREST_LENGTH),
    "sectors": (2, MAX_LIST_ITEMS, MAX_CHOICE_LENGTH),
    "career_stages": (2, MAX_LIST_ITEMS, MAX_CHOICE_LENGTH),
}


def _key(item: str) -> str:
    """Items that differ only in case, accents or punctuation are the same choice to the parsers."""
    text = unicodedata.normalize("NFKD", item)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"['’`.]", "", text.replace("&", " and "))
    return re.sub(r"[\W_]+", " ", text).strip()


def parse_programme_list(text: str, field: str) -> tuple[str, ...]:
    """A `;`-separated list for `field` (interests, sectors or career_stages), in the order typed.

    Raises `ValidationError` naming the field and the item at fault."""
    fewest, most, longest = LIST_RULES[field]
    raw_items = (text or "").strip().split(";")
    if raw_items and not raw_items[-1].strip():
        raw_items.pop()  # a trailing ";" is harmless
    if not any(item.strip() for item in raw_items):
        raise ValidationError(field, "is empty: give the items separated by ;")
    items: list[str] = []
    seen: dict[str, str] = {}
    for position, raw in enumerate(raw_items, start=1):
        if not raw.strip():
            raise ValidationError(field, f"item {position} is empty (two ; in a row?)")
        item = parse_name(raw, field=field, max_length=longest)
        if field == "interests" and "," in item:
            raise ValidationError(
                field, "an interest cannot contain a comma (spreadsheets split lists at commas); use ;", item
            )
        key = _key(item)
        if not key:
            raise ValidationError(field, "needs letters or digits", item)
        if key in seen:
            raise ValidationError(field, f"appears twice (also as “{seen[key]}”)", item)
        seen[key] = item
        items.append(item)
    if not fewest <= len(items) <= most:
        bounds = f"at least {fewest} and at most {most}" if fewest > 1 else f"at most {most}"
        raise ValidationError(field, f"needs {bounds} items (got {len(items)})")
    return tuple(items)


def join_within(items: Iterable[str], limit: int = 1024, separator: str = "; ") -> str:
    """Items joined; if that is longer than `limit`, cut at a whole item and say how many are left."""
    items = list(items)
    if not items:
        return "none"
    for count in range(len(items), -1, -1):
        text = separator.join(items[:count])
        if count < len(items):
            text = f"{text} (+{len(items) - count} more)".lstrip()
        if len(text) <= limit:
            return text
    return f"{len(items)} items"
