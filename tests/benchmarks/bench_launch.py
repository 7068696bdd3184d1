"""How long a launch takes against the emulator's rate limits (run by hand; not a test).

    python -m tests.benchmarks.bench_launch                          # 900 people, threads
    python -m tests.benchmarks.bench_launch --people 300 --spaces channels
    python -m tests.benchmarks.bench_launch --limit "POST /channels/{channel_id}/threads=10/1"
    python -m tests.benchmarks.bench_launch --workers 1 8            # compare pool sizes

The emulator answers like Discord: fixed-window buckets per route and major parameter (channel,
guild), 50 requests a second by default, 429 with `retry_after` beyond that; discord.py waits on
the 429s. A launch makes, per space: one create (all threads share the parent channel's bucket;
all channels share the guild's), one intro message (the space's own bucket) and, for threads, one
thread-member call per partner (the thread's own bucket). So the create route's bucket bounds the
launch: 450 threads at 50/s take at least 9 s, whatever the pool size. The report prints the
elapsed time, the requests per route and the 429s answered.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):
    sys.path.insert(0, str(PROJECT))


async def launch_once(people: int, spaces: str, workers: int, limits: list[str]) -> dict[str, object]:
    from bot.app import TandemBot, discover_extensions
    from bot.clock import ManualClock
    from bot.config import DEFAULT_PROMPTS_DIR, Settings
    from bot.db import Database
    from tests.e2e.conftest import START
    from tests.e2e.test_rounds import applicant
    from tests.emulator import Emulator

    emu = Emulator()
    await emu.start()
    try:
        for spec in limits:
            route, _, rate = spec.rpartition("=")
            count, _, per = rate.partition("/")
            emu.set_rate_limit(route, int(count), float(per or 1))
        guild = emu.create_guild("Benchmark")
        members = [emu.add_member(guild.id, f"librarian{i}") for i in range(people)]
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            settings = Settings(emu.bot_token, url, guild.id, "WARNING", DEFAULT_PROMPTS_DIR)
            bot = TandemBot(
                settings=settings,
                database=Database(url),
                clock=ManualClock(START),
                extensions=discover_extensions(),
                guild_ready_timeout=0.05,
            )
            bot.rounds.workers = workers
            async with emu.running(bot):
                await bot.rounds.create_round(guild.id, "Benchmark", START)
                await bot.participants.import_applicants(
                    guild.id, [applicant(m, i) for i, m in enumerate(members)]
                )
                await bot.rounds.preview(guild.id)
                check = await bot.rounds.check_launch(guild.id, spaces)
                before = len(emu.rest_log)
                started = time.monotonic()
                await bot.rounds.start_launch(check.round.id, check.plan.kind)
                report = await bot.rounds.run_launch(check.round.id)
                elapsed = time.monotonic() - started
                calls = emu.rest_log[before:]
        routes = Counter(f"{c.method} {c.route}" for c in calls)
        limited = Counter(f"{c.method} {c.route}" for c in calls if c.status == 429)
        return {
            "people": people,
            "kind": check.plan.kind,
            "spaces": report.total,
            "ready": report.ready,
            "workers": workers,
            "seconds": round(elapsed, 2),
            "requests": dict(routes.most_common()),
            "429s": dict(limited.most_common()),
        }
    finally:
        await emu.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=900)
    parser.add_argument("--spaces", choices=("auto", "channel", "thread"), default="auto")
    parser.add_argument("--workers", type=int, nargs="+", default=[4])
    parser.add_argument("--limit", action="append", default=[], help='"METHOD /route=count/seconds"')
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for workers in args.workers:
        result = asyncio.run(launch_once(args.people, args.spaces, workers, args.limit))
        print(
            f"{result['people']} people -> {result['spaces']} {result['kind']}s "
            f"({result['ready']} ready), {workers} workers: {result['seconds']} s"
        )
        for route, count in result["requests"].items():  # type: ignore[attr-defined]
            print(f"    {count:5d}  {route}  (429s: {result['429s'].get(route, 0)})")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
