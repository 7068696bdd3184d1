"""Which guilds this process looks after, when Tandem runs as several processes (Discord shards).

Discord gives each guild to one shard: `(guild_id >> 22) % shard_count`. A process connected as
one shard gets that shard's guilds only (their events, commands and cache), so the work the
process starts on its own (resuming launches, topic releases, check-ins, deletions) is limited
to those guilds too. Run as one process, the shard is 0 of 1 and holds every guild.
"""

from __future__ import annotations

from dataclasses import dataclass


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a guild's events to (the formula of Discord's gateway docs)."""
    if shard_count < 1:
        raise ValueError("shard_count must be at least 1")
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True)
class Shard:
    shard_id: int = 0
    shard_count: int = 1

    def __post_init__(self) -> None:
        if self.shard_count < 1 or not 0 <= self.shard_id < self.shard_count:
            raise ValueError(f"shard {self.shard_id} of {self.shard_count} does not exist")

    @property
    def single(self) -> bool:
        return self.shard_count == 1

    def holds(self, guild_id: int) -> bool:
        return shard_of(guild_id, self.shard_count) == self.shard_id

    def __str__(self) -> str:
        return f"shard {self.shard_id} of {self.shard_count}"


# One process, every guild: the default wherever a shard is not given.
EVERY_GUILD = Shard()
