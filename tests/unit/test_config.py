from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import DEFAULT_DATABASE_URL, Settings, async_database_url, redact_url
from bot.errors import ConfigError
from bot.sharding import Shard, shard_of

TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB"


def settings(**env: str) -> Settings:
    return Settings.from_env({"DISCORD_TOKEN": TOKEN, **env})


def test_defaults() -> None:
    s = settings()
    assert s.discord_token == TOKEN
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.dev_guild_id is None
    assert s.log_level == "INFO"
    assert s.prompts_dir.name == "prompts"


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({})
    assert raised.value.variable == "DISCORD_TOKEN"
    assert "not set" in str(raised.value)


def test_token_not_required_for_maintenance_commands() -> None:
    assert Settings.from_env({}, require_token=False).discord_token is None


@pytest.mark.parametrize("token", ["abc", "a.b.c", "has space.in it.here1234567", '"' + TOKEN + '"'])
def test_malformed_token_is_refused_without_echoing_it(token: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(DISCORD_TOKEN=token)
    assert raised.value.variable == "DISCORD_TOKEN"
    assert token not in str(raised.value)


def test_bot_prefix_is_accepted() -> None:
    assert settings(DISCORD_TOKEN=f"Bot {TOKEN}").discord_token == TOKEN


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("mysql://root@localhost/tandem", "supports sqlite and postgresql"),
        ("not a url", "not a database URL"),
        ("sqlite://", "must name a SQLite file"),
        ("sqlite:///:memory:", "must name a SQLite file"),
        ("postgresql://localhost", "must name the PostgreSQL database"),
    ],
)
def test_bad_database_url(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(DATABASE_URL=value)
    assert raised.value.variable == "DATABASE_URL"
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("plain", "driver"),
    [
        ("sqlite:///data/tandem.db", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_the_bot_picks_its_own_async_driver(plain: str, driver: str) -> None:
    assert async_database_url(plain).drivername == driver


@pytest.mark.parametrize("value", ["abc", "12", "-123456789012345678", "1234567890123456789012"])
def test_bad_dev_guild_id(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(DEV_GUILD_ID=value)
    assert raised.value.variable == "DEV_GUILD_ID"


def test_dev_guild_id() -> None:
    assert settings(DEV_GUILD_ID=" 123456789012345678 ").dev_guild_id == 123456789012345678


def test_log_level() -> None:
    assert settings(LOG_LEVEL="debug").log_level == "DEBUG"
    with pytest.raises(ConfigError) as raised:
        settings(LOG_LEVEL="loud")
    assert raised.value.variable == "LOG_LEVEL"


def test_prompts_dir(tmp_path: Path) -> None:
    assert settings(PROMPTS_DIR=str(tmp_path)).prompts_dir == tmp_path
    with pytest.raises(ConfigError) as raised:
        settings(PROMPTS_DIR=str(tmp_path / "missing"))
    assert raised.value.variable == "PROMPTS_DIR"


def test_repr_and_secrets_hide_the_token_and_password() -> None:
    s = settings(DATABASE_URL="postgresql://tandem:hunter2secret@db.internal/tandem")
    shown = repr(s) + str(s)
    assert TOKEN not in shown
    assert "hunter2secret" not in shown
    assert set(s.secrets) == {TOKEN, "hunter2secret"}
    assert "hunter2secret" not in redact_url(s.database_url)


@given(st.dictionaries(st.sampled_from(["DATABASE_URL", "DEV_GUILD_ID", "LOG_LEVEL"]), st.text(max_size=40)))
def test_any_environment_gives_settings_or_one_config_error(env: dict[str, str]) -> None:
    try:
        result = Settings.from_env({"DISCORD_TOKEN": TOKEN, **env})
    except ConfigError as error:
        assert error.variable in env
    else:
        assert result.discord_token == TOKEN


PG = "postgresql://tandem@127.0.0.1/tandem"


def test_one_process_holds_every_shard_by_default() -> None:
    assert settings().shard == Shard(0, 1)
    assert settings(SHARD_ID="", SHARD_COUNT=" ").shard.single


def test_shard_settings() -> None:
    assert settings(SHARD_ID="1", SHARD_COUNT="3", DATABASE_URL=PG).shard == Shard(1, 3)
    assert "shard=Shard(shard_id=1, shard_count=3)" in repr(
        settings(SHARD_ID="1", SHARD_COUNT="3", DATABASE_URL=PG)
    )


@pytest.mark.parametrize(
    ("shard_id", "count", "variable"),
    [
        ("0", "", "SHARD_COUNT"),
        ("", "2", "SHARD_ID"),
        ("2", "2", "SHARD_ID"),
        ("-1", "2", "SHARD_ID"),
        ("0", "0", "SHARD_COUNT"),
        ("0", "two", "SHARD_COUNT"),
        ("x", "2", "SHARD_ID"),
    ],
)
def test_bad_shard_settings_name_the_variable(shard_id: str, count: str, variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(SHARD_ID=shard_id, SHARD_COUNT=count, DATABASE_URL=PG)
    assert raised.value.variable == variable


def test_several_shards_need_postgresql() -> None:
    with pytest.raises(ConfigError) as raised:
        settings(SHARD_ID="0", SHARD_COUNT="2")
    assert raised.value.variable == "SHARD_COUNT"
    assert "PostgreSQL" in str(raised.value)
    assert settings(SHARD_ID="0", SHARD_COUNT="1").shard.single  # one shard: SQLite is fine


@given(st.integers(min_value=0, max_value=2**63 - 1), st.integers(min_value=1, max_value=64))
def test_each_guild_belongs_to_exactly_one_shard(guild_id: int, count: int) -> None:
    holders = [n for n in range(count) if Shard(n, count).holds(guild_id)]
    assert holders == [(guild_id >> 22) % count]
    assert shard_of(guild_id, count) == holders[0]


def test_shards_that_do_not_exist_are_refused() -> None:
    for shard_id, count in ((1, 1), (-1, 2), (0, 0)):
        with pytest.raises(ValueError, match="does not exist"):
            Shard(shard_id, count)
