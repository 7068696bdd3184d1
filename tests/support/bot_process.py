"""A Tandem bot in an OS process of its own, for trials that stop it for real (SIGKILL).

The runner, ``python -m tests.support.bot_process --api-url URL --gateway-url URL --database-url URL
--guild-id ID --now ISO-TIME`` (the emulator's token in ``TANDEM_EMULATOR_TOKEN``), builds the bot
as tests/support/bots.py ``make_bot`` does: the real TandemBot on the real discord.py, pointed at an
emulator that lives in another process (the test's), its clock fixed at ``--now``. Its start-up does
whatever the database says is unfinished; it runs until it is killed, so exiting on its own is a
failure (status 1).

Importing the bot takes seconds (discord.py, SQLAlchemy, Alembic, numpy...), more than a small trial
does, so a test may start one ``ForkServer``, ``python -m tests.support.bot_process --fork-server``,
which imports all that once and then forks a child per bot that runs the same ``main(argv)``. A
child is a process of its own all the same: it opens its own database connections and sockets
after the fork, and when it is killed the kernel drops its file locks and connections. Without a
fork server, every bot is a fresh ``python -m`` interpreter.

``BotProcesses`` is the test's side: it starts bots with their output in files, kills them with
SIGKILL, and kills and reaps every one it started when its block ends, however the test ends; a
bot also dies with the fork server that forked it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import select
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.emulator import Emulator

TOKEN_ENV = "TANDEM_EMULATOR_TOKEN"  # in the environment: a token on a command line shows in `ps`
REPOSITORY = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1  # linux/prctl.h
REAP_TIMEOUT = 30  # seconds; a killed process is reaped in milliseconds, unless its reaper is gone


@dataclass(frozen=True)
class EmulatorAddress:
    """Where the emulator listens: what tests/emulator/patch.py `install_patch` needs."""

    api_url: str
    gateway_url: str


# -- the runner (in the bot's process) ------------------------------------------------------------


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.bot_process",
        description="A Tandem bot against an emulator in another process; runs until killed.",
    )
    parser.add_argument("--api-url", required=True, help="the emulator's REST base, .../api/v10")
    parser.add_argument("--gateway-url", required=True, help="the emulator's gateway, ws://.../ws")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--guild-id", required=True, type=int, help="the guild commands are synced to")
    parser.add_argument("--now", required=True, type=datetime.fromisoformat, help="the bot's fixed time")
    return parser.parse_args(argv)


async def _run(options: argparse.Namespace, token: str) -> int:
    from bot.clock import ManualClock
    from tests.support.bots import build_bot

    bot = build_bot(token, options.database_url, options.guild_id, ManualClock(options.now))
    async with bot:
        await bot.start(token)
    print("bot_process: the bot stopped on its own", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--fork-server"]:
        return fork_server()
    options = _arguments(args)
    token = os.environ[TOKEN_ENV]
    _die_with_parent()

    from bot.logs import configure_logging
    from tests.emulator.patch import install_patch

    configure_logging("INFO", [token])
    install_patch(EmulatorAddress(options.api_url, options.gateway_url))
    return asyncio.run(_run(options, token))


def _die_with_parent() -> None:
    """Have the kernel kill this bot when its parent (the test, or the fork server) ends, so that
    no bot outlives a test that died (Linux; elsewhere the test's own clean-up has to do)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


# -- the fork server ------------------------------------------------------------------------------


PRELOAD = (
    "aiosqlite",
    "alembic.command",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "bot.app",
    "bot.logs",
    "tests.emulator.patch",
    "tests.support.bots",
)
PRELOAD_IF_INSTALLED = ("asyncpg", "sqlalchemy.dialects.postgresql.asyncpg")  # PostgreSQL is optional


def _preload() -> None:
    """Import what a bot needs, and set up what its libraries set up lazily (pycountry's
    tables, SQLAlchemy's mappers, matplotlib's fonts), so that a forked child starts connecting
    at once. None of the bot's own state is made here: no bot, no database connection, no event
    loop, no thread."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    from bot.app import discover_extensions

    for name in discover_extensions():
        importlib.import_module(name)
    for name in PRELOAD_IF_INSTALLED:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)

    import pycountry
    from sqlalchemy.orm import configure_mappers

    from bot.charts import warm_up

    for table in (pycountry.countries, pycountry.languages, pycountry.subdivisions):
        len(table)  # each table is read from its JSON file on first use
    configure_mappers()  # the models' mappers, otherwise set up by the first query
    warm_up()  # the engagement cog does this in every bot's start-up, in a thread


def fork_server() -> int:
    """Read one JSON request a line on stdin ({"argv", "env", "stdout", "stderr"}), fork a child
    running `main(argv)` for each, answer `started PID`; report `exited PID STATUS` (negative: the
    signal) for each child that ends. At the end of stdin, kill and reap the children and exit."""
    _preload()
    children: set[int] = set()
    pending = b""
    while True:
        _reap(children, block=False)
        ready, _, _ = select.select([0], [], [], 0.02)
        if not ready:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            pid = os.fork()
            if pid == 0:
                _child(json.loads(line))  # never returns
            children.add(pid)
            os.write(1, f"started {pid}\n".encode())
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap(children, block=True)
    return 0


def _reap(children: set[int], *, block: bool) -> None:
    for pid in list(children):
        done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        if done:
            children.discard(pid)
            os.write(1, f"exited {pid} {os.waitstatus_to_exitcode(status)}\n".encode())


def _child(request: dict[str, Any]) -> None:
    status = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(target, fd)
            os.close(target)
        os.environ.update(request["env"])
        status = main(request["argv"])
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


# -- the test's side ------------------------------------------------------------------------------


class BotProcess:
    """One bot process; its stdout and stderr go to `<name>.out` and `<name>.err`."""

    def __init__(self, name: str, pid: int, stderr: Path, statuses: dict[int, int]) -> None:
        self.name = name
        self.pid = pid
        self.stderr = stderr
        self._statuses = statuses  # filled when the process ends and is reaped
        self.killed = False

    @property
    def returncode(self) -> int | None:
        return self._statuses.get(self.pid)

    @property
    def exited(self) -> bool:
        """True once the process has ended without being killed by the test."""
        return self.returncode is not None and not self.killed

    def kill_now(self) -> None:
        """SIGKILL, synchronously: safe to call from inside the emulator's request handling."""
        if not self.killed and self.returncode is None:
            self.killed = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    async def kill(self) -> None:
        """SIGKILL (if still running) and wait until the process is reaped."""
        self.kill_now()
        async with asyncio.timeout(REAP_TIMEOUT):
            while self.returncode is None:  # noqa: ASYNC110 (the reaper fills the status)
                await asyncio.sleep(0.01)

    def log(self) -> str:
        return self.stderr.read_text(errors="replace") if self.stderr.exists() else ""

    def errors(self) -> list[str]:
        """The ERROR and CRITICAL lines, and tracebacks, in the process's log."""
        return [
            line
            for line in self.log().splitlines()
            if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
        ]

    def describe(self, why: str, tail: int = 60) -> str:
        """`why`, with the exit status and the end of the process's log: for a failing assertion."""
        lines = self.log().splitlines()[-tail:]
        return (
            f"{self.name} (pid {self.pid}, exit status {self.returncode}): {why}\n"
            "--- its stderr ---\n" + "\n".join(lines)
        )


class ForkServer:
    """`python -m tests.support.bot_process --fork-server`: started once, it forks the bots."""

    def __init__(self, server: asyncio.subprocess.Process, stderr: Path) -> None:
        self.server = server
        self.stderr = stderr
        #: Exit statuses of the children that ended, by pid (negative: killed by that signal).
        self.statuses: dict[int, int] = {}
        self._pids: asyncio.Queue[int] = asyncio.Queue()
        self._listener = asyncio.create_task(self._listen())

    @classmethod
    async def start(cls, stderr: Path) -> ForkServer:
        with stderr.open("wb") as err:
            server = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "tests.support.bot_process", "--fork-server"),
                cwd=REPOSITORY,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
            )
        return cls(server, stderr)

    async def fork(self, argv: list[str], env: dict[str, str], stdout: Path, stderr: Path) -> int:
        request = {"argv": argv, "env": env, "stdout": str(stdout), "stderr": str(stderr)}
        assert self.server.stdin is not None
        self.server.stdin.write(json.dumps(request).encode() + b"\n")
        await self.server.stdin.drain()
        try:
            return await asyncio.wait_for(self._pids.get(), timeout=120)  # the first waits for imports
        except TimeoutError:
            raise AssertionError(f"the fork server did not fork; see {self.stderr}") from None

    async def _listen(self) -> None:
        assert self.server.stdout is not None
        async for line in self.server.stdout:
            word, *numbers = line.decode().split()
            if word == "started":
                self._pids.put_nowait(int(numbers[0]))
            elif word == "exited":
                self.statuses[int(numbers[0])] = int(numbers[1])

    async def close(self) -> None:
        assert self.server.stdin is not None
        self.server.stdin.close()  # the server kills and reaps any child left, then exits
        await self.server.wait()
        await self._listener


class BotProcesses:
    """Starts bot processes against one emulator and database, forked by `server` or, without
    one, as fresh interpreters; kills and reaps all of them on leaving the block."""

    def __init__(
        self, emu: Emulator, database_url: str, guild_id: int, folder: Path, server: ForkServer | None
    ) -> None:
        self.emu = emu
        self.database_url = database_url
        self.guild_id = guild_id
        self.folder = folder
        self.server = server
        self.started: list[BotProcess] = []
        self._statuses: dict[int, int] = server.statuses if server is not None else {}
        self._waits: list[asyncio.Task[None]] = []

    async def start(self, now: datetime) -> BotProcess:
        name = f"bot-{len(self.started) + 1}"
        stdout, stderr = self.folder / f"{name}.out", self.folder / f"{name}.err"
        argv = [
            *("--api-url", self.emu.api_url, "--gateway-url", self.emu.gateway_url),
            *("--database-url", self.database_url, "--guild-id", str(self.guild_id)),
            *("--now", now.isoformat()),
        ]
        env = {TOKEN_ENV: self.emu.bot_token}
        if self.server is not None:
            pid = await self.server.fork(argv, env, stdout, stderr)
        else:
            pid = await self._exec(argv, env, stdout, stderr)
        bot = BotProcess(name, pid, stderr, self._statuses)
        self.started.append(bot)
        return bot

    async def _exec(self, argv: list[str], env: dict[str, str], stdout: Path, stderr: Path) -> int:
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "tests.support.bot_process", *argv),
                cwd=REPOSITORY,
                env={**os.environ, **env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        self._waits.append(asyncio.create_task(self._note_exit(process)))
        return process.pid

    async def _note_exit(self, process: asyncio.subprocess.Process) -> None:
        self._statuses[process.pid] = await process.wait()

    async def close(self) -> None:
        # Every bot is signalled before the first wait, so even a cancelled wait leaves none
        # running (or holding the database).
        for bot in self.started:
            bot.kill_now()
        for bot in self.started:
            await bot.kill()
        for wait in self._waits:
            await wait

    async def __aenter__(self) -> BotProcesses:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()


if __name__ == "__main__":
    sys.exit(main())
