"""The real entry point (`python -m bot run`) against the emulator: what a newcomer meets when the
token is wrong, when the Server Members intent is off, and a first start with --sync."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from bot.__main__ import _run
from bot.config import DEFAULT_PROMPTS_DIR, Settings
from tests.emulator import Emulator, patch_discord


def settings_for(token: str, tmp_path: Path, guild_id: int | None = None) -> Settings:
    return Settings(
        discord_token=token,
        database_url=f"sqlite:///{tmp_path / 'tandem.db'}",
        dev_guild_id=guild_id,
        log_level="INFO",
        prompts_dir=DEFAULT_PROMPTS_DIR,
    )


async def test_a_refused_token_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with Emulator() as emu, asyncio.timeout(30):
        with patch_discord(emu):
            status = await _run(settings_for("MTIzNDU2Nzg5MDEy.wrong.tokentokentoken", tmp_path), sync=False)
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        "tandem: DISCORD_TOKEN was refused by Discord; reset it in the developer portal"
    )


async def test_a_missing_members_intent_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Emulator(privileged_intents=0) as emu, asyncio.timeout(30):
        with patch_discord(emu):
            status = await _run(settings_for(emu.bot_token, tmp_path), sync=False)
    assert status == 2
    assert "enable it on the Bot page of the developer portal" in capsys.readouterr().err


async def test_a_first_start_with_sync_publishes_the_commands_to_the_dev_guild(tmp_path: Path) -> None:
    async with Emulator() as emu:
        guild = emu.create_guild("Librarians")
        with patch_discord(emu):
            running = asyncio.create_task(_run(settings_for(emu.bot_token, tmp_path, guild.id), sync=True))
            try:
                commands = await emu.wait_for_commands(guild.id, timeout=20)
                assert {"help", "signup", "round", "setup", "participants", "topic", "nudge"} <= {
                    command.name for command in commands
                }
                assert emu.commands() == []
                assert (tmp_path / "tandem.db").exists()
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
