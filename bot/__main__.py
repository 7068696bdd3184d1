"""Command line: `python -m bot [run] [--sync]`, `python -m bot db upgrade`, `python -m bot match ...`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings

DESCRIPTION = """\
Tandem runs a cross-border peer-mentoring programme on Discord.

commands:
  run [--sync]      start the bot (the default); --sync publishes the slash commands,
                    to DEV_GUILD_ID only when it is set
  db upgrade        apply the database migrations (the bot also does this when it starts)
  match FILE.csv    match applicants from a spreadsheet, offline, with no Discord token
                    (python -m bot match --help for its options)

Settings come from the environment and from a .env file in the working directory;
.env.example lists them all.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", metavar="{run,db,match}")
    run = commands.add_parser("run", help="start the bot")
    run.add_argument("--sync", action="store_true", help="publish the slash commands on start-up")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="{upgrade}", required=True)
    db_commands.add_parser("upgrade", help="apply every pending migration")
    commands.add_parser("match", help="match applicants from a CSV file, offline", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "match":
        from bot.offline_match import main as match_main

        return match_main(args[1:])
    if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help")):
        args = ["run", *args]
    options = _parser().parse_args(args)

    from dotenv import load_dotenv

    load_dotenv(Path.cwd() / ".env")

    from bot.config import Settings
    from bot.errors import ConfigError

    try:
        settings = Settings.from_env(os.environ, require_token=options.command == "run")
    except ConfigError as error:
        print(f"tandem: {error}", file=sys.stderr)
        return 2

    from bot.logs import configure_logging

    configure_logging(settings.log_level, settings.secrets)
    from bot.db import describe_transient, is_transient

    try:
        if options.command == "db":
            return asyncio.run(_upgrade(settings))
        return asyncio.run(_run(settings, sync=options.sync))
    except Exception as error:
        if not is_transient(error):
            raise
        # The migrations run before anything else: a database that is away stops the start, and a
        # process manager's restart brings the bot up once it is back.
        print(
            f"tandem: can't reach the database ({describe_transient(error)}); try again when it is up",
            file=sys.stderr,
        )
        return 1


async def _upgrade(settings: Settings) -> int:
    from bot.config import redact_url
    from bot.db import Database

    database = Database(settings.database_url)
    await database.open()
    try:
        await database.upgrade()
        revision = await database.current_revision()
    finally:
        await database.close()
    print(f"Database {redact_url(settings.database_url)} is at revision {revision}.")
    return 0


async def _run(settings: Settings, *, sync: bool) -> int:
    import discord

    from bot.app import TandemBot
    from bot.db import Database

    assert settings.discord_token is not None  # required for `run` by Settings.from_env
    bot = TandemBot(settings=settings, database=Database(settings.database_url), sync_commands=sync)
    try:
        async with bot:
            await _until_stopped(bot, settings.discord_token)
    except discord.LoginFailure:
        print(
            "tandem: DISCORD_TOKEN was refused by Discord; reset it in the developer portal",
            file=sys.stderr,
        )
        return 2
    except discord.PrivilegedIntentsRequired:
        print(
            "tandem: Discord refused the Server Members intent; enable it on the Bot page of the "
            "developer portal (see README)",
            file=sys.stderr,
        )
        return 2
    return 0


async def _until_stopped(bot: Any, token: str) -> None:
    """Run the bot until it stops or this task is cancelled (Ctrl-C). The cancellation is taken
    here and the bot closed, rather than sent into discord.py: on Python 3.11 a cancel that lands as
    the gateway connects can be swallowed by `asyncio.wait_for`, and the process would run on."""
    running = asyncio.ensure_future(bot.start(token))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        await bot.close()  # ends `start` cleanly: background work stopped, the database closed
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running
        raise


if __name__ == "__main__":
    sys.exit(main())
