"""What /help shows: the commands a caller may use, each with one line. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CommandEntry:
    name: str  # the full name as typed, without the slash: "round create"
    description: str
    coordinator_only: bool


def visible_commands(entries: Iterable[CommandEntry], *, caller_is_coordinator: bool) -> list[CommandEntry]:
    return sorted(
        (e for e in entries if caller_is_coordinator or not e.coordinator_only), key=lambda e: e.name
    )


def render_help(entries: Iterable[CommandEntry], *, caller_is_coordinator: bool) -> list[tuple[str, str]]:
    """Sections of the help text as (heading, body) pairs, in the order they are shown."""
    shown = visible_commands(entries, caller_is_coordinator=caller_is_coordinator)
    everyone = [e for e in shown if not e.coordinator_only]
    coordinators = [e for e in shown if e.coordinator_only]
    sections = [("Your commands", _lines(everyone))]
    if coordinators:
        sections.append(("Coordinator commands", _lines(coordinators)))
    return sections


def _lines(entries: list[CommandEntry]) -> str:
    return "\n".join(f"`/{e.name}` — {e.description}" for e in entries) or "None yet."
