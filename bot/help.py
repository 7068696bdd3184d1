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
    sections = _fields("Your commands", everyone)
    if coordinators:
        sections += _fields("Coordinator commands", coordinators)
    return sections


FIELD_LIMIT = 1024  # what one embed field holds


def _fields(heading: str, entries: list[CommandEntry]) -> list[tuple[str, str]]:
    """One section, split into fields of at most FIELD_LIMIT characters at line boundaries."""
    chunks: list[list[str]] = [[]]
    for line in (f"`/{e.name}` — {e.description}"[:FIELD_LIMIT] for e in entries):
        if chunks[-1] and len("\n".join([*chunks[-1], line])) > FIELD_LIMIT:
            chunks.append([])
        chunks[-1].append(line)
    bodies = ["\n".join(chunk) for chunk in chunks if chunk] or ["None yet."]
    return [(heading if i == 0 else f"{heading} (continued)", body) for i, body in enumerate(bodies)]
