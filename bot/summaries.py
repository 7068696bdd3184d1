"""Replies that list what went wrong: a headline, the first few problems, how many more, what to do."""

from __future__ import annotations

from collections.abc import Sequence

SHOWN = 10  # more would not fit a Discord message, and nobody reads past it


def problem_lines(headline: str, problems: Sequence[str], hint: str, shown: int = SHOWN) -> list[str]:
    lines = [headline, *(f"• {problem}" for problem in problems[:shown])]
    if len(problems) > shown:
        lines.append(f"• … and {len(problems) - shown} more")
    if problems:
        lines.append(hint)
    return lines
