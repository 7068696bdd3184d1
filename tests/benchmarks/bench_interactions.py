"""How fast the bot acknowledges a burst of interactions (run by hand; not a test).

    python -m tests.benchmarks.bench_interactions                  # 200 at once, SQLite
    python -m tests.benchmarks.bench_interactions --count 400
    python -m tests.benchmarks.bench_interactions --database postgresql://postgres@127.0.0.1/bench

The real bot runs against the emulator with a programme of `--count` participants. Then `--count`
interactions arrive at the same moment, half of them `/signup` (the bot answers with a modal after
reading the member's profile) and half `/profile` (an embed built from the database). Discord
gives a bot 3 seconds to acknowledge an interaction; the report gives the latency from dispatch
to the bot's callback (median, 90th, 99th percentile, worst) and how many missed the deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):
    sys.path.insert(0, str(PROJECT))


async def burst(count: int, database_url: str | None) -> dict[str, float]:
    from bot.app import TandemBot, discover_extensions
    from bot.clock import ManualClock
    from bot.config import DEFAULT_PROMPTS_DIR, Settings
    from bot.db import Database
    from tests.e2e.conftest import START
    from tests.e2e.test_rounds import applicant
    from tests.emulator import Emulator

    emu = Emulator(interaction_deadline=None)  # measure every answer, late or not
    await emu.start()
    try:
        guild = emu.create_guild("Benchmark")
        members = [emu.add_member(guild.id, f"librarian{i}") for i in range(count)]
        with tempfile.TemporaryDirectory() as folder:
            url = database_url or f"sqlite:///{folder}/bench.db"
            settings = Settings(emu.bot_token, url, guild.id, "WARNING", DEFAULT_PROMPTS_DIR)
            bot = TandemBot(
                settings=settings,
                database=Database(url),
                clock=ManualClock(START),
                sync_commands=True,
                extensions=discover_extensions(),
                guild_ready_timeout=0.05,
            )
            async with emu.running(bot):
                await emu.wait_for_commands(guild.id)
                people = [applicant(member, index) for index, member in enumerate(members)]
                await bot.participants.import_applicants(guild.id, people)
                started = time.perf_counter()
                handles = await asyncio.gather(
                    *(
                        emu.slash(guild.id, member.id, "signup" if index % 2 else "profile")
                        for index, member in enumerate(members)
                    )
                )
                await asyncio.gather(*(handle.response(timeout=60) for handle in handles))
                elapsed = time.perf_counter() - started
                latencies = sorted(handle.response_latency or 0.0 for handle in handles)
    finally:
        await emu.stop()
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "interactions": count,
        "all answered in s": elapsed,
        "median s": statistics.median(latencies),
        "p90 s": quantiles[89],
        "p99 s": quantiles[98],
        "worst s": latencies[-1],
        "over 3 s": sum(1 for latency in latencies if latency > 3.0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--database", help="a database URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(burst(args.count, args.database))
    for name, value in result.items():
        print(f"{name:>18}: {value:.3f}" if isinstance(value, float) else f"{name:>18}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
