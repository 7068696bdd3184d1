"""The nudge sweep and a topic fan-out on a launched round of 10,000 participants (run by hand; not
a test). The round is written straight into the database (5,000 matches with their spaces and
intros recorded); Discord is a fake outlet that answers at once, so the figures are Tandem's own
work: database time (time inside the driver's execute, summed over the concurrent workers, so it
can exceed the total), total time and the process's peak RSS (`--tracemalloc` adds Python's peak
allocations, at several times the run time).

    python -m tests.benchmarks.bench_sweep_fanout                          # SQLite, 10,000 people
    python -m tests.benchmarks.bench_sweep_fanout --people 2000
    python -m tests.benchmarks.bench_sweep_fanout --database postgresql://postgres@127.0.0.1/bench

The PostgreSQL database is emptied first (DROP SCHEMA public): give it one of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):
    sys.path.insert(0, str(PROJECT))

GUILD = 1000
TRACE = False  # --tracemalloc: peak Python allocations too (slows Python several times)


class DatabaseTimer:
    """Sums the time spent in cursor executes (the driver and the database, not the ORM)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.seconds = 0.0
        self.statements = 0
        sync = engine.sync_engine

        @event.listens_for(sync, "before_cursor_execute")
        def before(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any) -> None:
            conn.info.setdefault("started", []).append(time.perf_counter())

        @event.listens_for(sync, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any) -> None:
            self.seconds += time.perf_counter() - conn.info["started"].pop()
            self.statements += 1


async def build_round(database: Any, clock: Any, people: int) -> int:
    from sqlalchemy import insert, update

    from bot.models import Enrolment, Match, MatchMember, Participant, Round

    now = clock.now()
    async with database.session() as session:
        row = Round(
            guild_id=GUILD,
            name="Benchmark",
            status="launched",
            starts_at=now,
            ends_at=now + timedelta(weeks=16),
            cadence_seconds=14 * 86400,
            created_at=now,
            launched_at=now,
            space_kind="thread",
        )
        session.add(row)
        await session.flush()
        round_id = row.id
        await session.execute(
            insert(Participant),
            [
                {
                    "guild_id": GUILD,
                    "member_id": 10_000_000 + i,
                    "display_name": f"Librarian {i}",
                    "country": "KE",
                    "timezone": "Africa/Nairobi",
                    "languages": ["en"],
                    "sector": "public",
                    "career_stage": "mid",
                    "interests": ["open access"],
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(people)
            ],
        )
        await session.execute(
            insert(Enrolment),
            [
                {"round_id": round_id, "participant_id": i + 1, "created_at": now, "updated_at": now}
                for i in range(people)
            ],
        )
        await session.execute(
            insert(Match),
            [
                {
                    "round_id": round_id,
                    "status": "active",
                    "reasons": ["you share: open access"],
                    "space_name": f"space-{m}",
                    "space_status": "created",
                    "space_id": 20_000_000 + m,
                    "container_id": 30_000_000,
                    "intro_status": "posted",
                    "intro_message_id": 40_000_000 + m,
                    "created_at": now,
                    "space_created_at": now,
                }
                for m in range(people // 2)
            ],
        )
        await session.execute(
            insert(MatchMember),
            [
                {
                    "match_id": i // 2 + 1,
                    "participant_id": i + 1,
                    "member_id": 10_000_000 + i,
                    "joined_at": now,
                }
                for i in range(people // 2 * 2)
            ],
        )
        await session.execute(update(Round).where(Round.id == round_id).values(status="launched"))
    return round_id


async def measure(label: str, timer: DatabaseTimer, work: Callable[[], Awaitable[Any]]) -> Any:
    if TRACE:
        tracemalloc.start()
    db_before, statements_before = timer.seconds, timer.statements
    started = time.perf_counter()
    result = await work()
    total = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if TRACE else 0
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  {label:<34} total {total:7.2f} s   database {timer.seconds - db_before:6.2f} s "
        f"({timer.statements - statements_before} statements)   peak RSS {rss:5.0f} MiB"
        + (f", peak traced {peak / 2**20:.1f} MiB" if TRACE else "")
    )
    return result


async def run(people: int, url: str) -> None:
    from bot.clock import ManualClock
    from bot.config import DEFAULT_PROMPTS_DIR
    from bot.db import Database
    from bot.engagement import EngagementService
    from bot.participants import ParticipantService
    from bot.programmes import ProgrammeService
    from bot.rounds import RoundService
    from bot.topic_posts import TopicPostService
    from tests.e2e.conftest import START
    from tests.support.databases import fresh_database_url
    from tests.unit.test_engagement import FakeOutlet
    from tests.unit.test_topic_posts import FakeTopicSpaces

    if url.startswith("postgres"):
        import tests.support.databases as databases

        databases.POSTGRES_URL = url
        url = await fresh_database_url("postgresql", Path("."))
    database = Database(url)
    await database.open()
    await database.upgrade()
    clock = ManualClock(START)
    timer = DatabaseTimer(database.engine)
    built = time.perf_counter()
    round_id = await build_round(database, clock, people)
    print(
        f"{people} participants, {people // 2} matches on {database.dialect} "
        f"(built in {time.perf_counter() - built:.1f} s)"
    )
    programmes = ProgrammeService(database, clock)
    participants = ParticipantService(database, clock)
    spaces = FakeTopicSpaces()
    spaces.messages = defaultdict(list)  # the spaces were made "before": any space id takes posts
    rounds = RoundService(database, clock, participants, programmes, spaces=spaces)
    topics = TopicPostService(database, clock, topics_dir=DEFAULT_PROMPTS_DIR / "topics", spaces=spaces)
    outlet = FakeOutlet()
    engagement = EngagementService(
        database, clock, rounds, programmes, topics_dir=DEFAULT_PROMPTS_DIR / "topics", outlet=outlet
    )
    await engagement.update_settings(GUILD, quiet_after=timedelta(hours=1), grace=timedelta(0))
    await measure("topic fan-out, release 1", timer, lambda: topics.post_due_topics(round_id))
    await measure("topic fan-out again (all claimed)", timer, lambda: topics.post_due_topics(round_id))
    clock.advance(timedelta(hours=2))
    await measure("nudge sweep, every space quiet", timer, lambda: engagement.sweep(GUILD))
    await measure("nudge sweep again (all nudged)", timer, lambda: engagement.sweep(GUILD))
    print(
        f"  posts made: {sum(len(m) for m in spaces.messages.values())} topic, "
        f"{len(outlet.posts)} space nudges, {len(outlet.dms)} DMs; "
        f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--database", default="", help="a PostgreSQL URL (emptied first); default SQLite")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slow)")
    args = parser.parse_args()
    global TRACE
    TRACE = args.tracemalloc
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args.people, args.database or f"sqlite:///{folder}/bench.db"))


if __name__ == "__main__":
    main()
