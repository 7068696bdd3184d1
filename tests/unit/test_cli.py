"""The command line as a newcomer meets it: clear one-line errors, exit status 2, no traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB"


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    ours = {"DISCORD_TOKEN", "DATABASE_URL", "DEV_GUILD_ID", "LOG_LEVEL", "PROMPTS_DIR"}
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    return subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_a_token_the_bot_says_exactly_what_is_missing(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tandem: DISCORD_TOKEN is not set")
    assert "Traceback" not in result.stderr


def test_a_malformed_value_names_its_variable_and_never_echoes_the_token(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path, env={"DISCORD_TOKEN": TOKEN, "DEV_GUILD_ID": "guild"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tandem: DEV_GUILD_ID must be a Discord id (a number of 15 to 20 digits), not 'guild'"
    ]
    assert TOKEN not in result.stderr + result.stdout


def test_dotenv_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=mysql://localhost/tandem\n")
    result = run_cli("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 2
    assert "DATABASE_URL uses 'mysql'" in result.stderr


def test_db_upgrade_creates_the_default_sqlite_file(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "is at revision" in result.stdout
    with sqlite3.connect(tmp_path / "data" / "tandem.db") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master where type='table'")}
    assert {"alembic_version", "programme"} <= tables


def test_help_explains_every_command(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for word in ("run [--sync]", "db upgrade", "match FILE.csv", ".env"):
        assert word in result.stdout


def test_an_unreachable_database_at_start_is_said_plainly_without_the_password(tmp_path: Path) -> None:
    import socket

    import pytest

    pytest.importorskip("asyncpg")
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://tandem:hunter2-secret@127.0.0.1:{port}/tandem"
    result = run_cli("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": url})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]  # after the log line saying which database it opened
    assert last.startswith("tandem: can't reach the database (ConnectionRefusedError:"), result.stderr
    assert "hunter2-secret" not in result.stderr + result.stdout
