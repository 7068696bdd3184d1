"""Who may do what. Pure: the cogs pass in what Discord told them about the member."""

from __future__ import annotations

from collections.abc import Iterable


def is_coordinator(
    *,
    role_ids: Iterable[int],
    manage_guild: bool,
    coordinator_role_id: int | None,
) -> bool:
    """Coordinators hold the programme's coordinator role, or Manage Server (admins have it)."""
    if manage_guild:
        return True
    return coordinator_role_id is not None and coordinator_role_id in set(role_ids)
