"""Settings from the environment.

Only the command-line entry point loads `.env`; this module reads the mapping it is given, so
importing it never touches the file system or the process environment.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import ConfigError
from bot.sharding import EVERY_GUILD, Shard

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite:///data/tandem.db"
DEFAULT_PROMPTS_DIR = PROJECT_ROOT / "prompts"

# A bot token is three base64url segments separated by dots. Checking the shape catches a
# pasted client secret or a stray quote before Discord does, without ever printing the value.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{10,}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Settings:
    discord_token: str | None
    database_url: str
    dev_guild_id: int | None
    log_level: str
    prompts_dir: Path
    shard: Shard = EVERY_GUILD

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, require_token: bool = True) -> Settings:
        """Read and validate every setting; raise ConfigError naming the first bad variable."""
        settings = cls(
            discord_token=_token(env.get("DISCORD_TOKEN", ""), required=require_token),
            database_url=_database_url(env.get("DATABASE_URL", "")),
            dev_guild_id=_snowflake("DEV_GUILD_ID", env.get("DEV_GUILD_ID", "")),
            log_level=_log_level(env.get("LOG_LEVEL", "")),
            prompts_dir=_prompts_dir(env.get("PROMPTS_DIR", "")),
            shard=_shard(env.get("SHARD_ID", ""), env.get("SHARD_COUNT", "")),
        )
        if not settings.shard.single and make_url(settings.database_url).get_backend_name() == "sqlite":
            # Each process would keep its own file (or fight over one): the shards must share PostgreSQL.
            raise ConfigError(
                "SHARD_COUNT", "above 1 needs DATABASE_URL to point at PostgreSQL, shared by every shard"
            )
        return settings

    def __repr__(self) -> str:  # the token must never reach a log line or a traceback
        token = "set" if self.discord_token else "unset"
        return (
            f"Settings(discord_token=<{token}>, database_url={redact_url(self.database_url)!r}, "
            f"dev_guild_id={self.dev_guild_id!r}, log_level={self.log_level!r}, "
            f"prompts_dir={str(self.prompts_dir)!r}, shard={self.shard!r})"
        )

    __str__ = __repr__

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in logs or error output."""
        found = [self.discord_token] if self.discord_token else []
        password = make_url(self.database_url).password
        if password:
            found.append(str(password))
        return tuple(found)


def _token(raw: str, *, required: bool) -> str | None:
    token = raw.strip()
    if not token:
        if required:
            raise ConfigError(
                "DISCORD_TOKEN",
                "is not set: copy your bot's token from the Discord developer portal "
                "(Applications → your app → Bot → Reset Token) into .env or the environment",
            )
        return None
    if token.lower().startswith("bot "):
        token = token[4:].strip()
    if not _TOKEN_SHAPE.match(token):
        raise ConfigError(
            "DISCORD_TOKEN",
            "does not look like a bot token (three dot-separated parts); "
            "copy it again from the Bot page of the developer portal",
        )
    return token


def _database_url(raw: str) -> str:
    value = raw.strip() or DEFAULT_DATABASE_URL
    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL",
            "is not a database URL; write it like sqlite:///data/tandem.db "
            "or postgresql://user:password@host/dbname",
        ) from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError("DATABASE_URL", f"uses {backend!r}; Tandem supports sqlite and postgresql")
    if backend == "sqlite" and url.database in (None, "", ":memory:"):
        raise ConfigError("DATABASE_URL", "must name a SQLite file, like sqlite:///data/tandem.db")
    if backend != "sqlite" and not url.database:
        raise ConfigError("DATABASE_URL", "must name the PostgreSQL database, like postgresql://host/tandem")
    return value


def _snowflake(variable: str, raw: str) -> int | None:
    value = raw.strip()
    if not value:
        return None
    if not value.isdigit() or not 15 <= len(value) <= 20:
        raise ConfigError(variable, f"must be a Discord id (a number of 15 to 20 digits), not {value!r}")
    return int(value)


def _log_level(raw: str) -> str:
    value = raw.strip().upper() or "INFO"
    if value not in _LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(_LOG_LEVELS)}, not {raw.strip()!r}")
    return value


def _shard(raw_id: str, raw_count: str) -> Shard:
    """SHARD_ID and SHARD_COUNT together, or neither (one process holding every guild)."""
    shard_id, count = raw_id.strip(), raw_count.strip()
    if not shard_id and not count:
        return Shard()
    if not count:
        raise ConfigError("SHARD_COUNT", "must be set with SHARD_ID: the number of shards, like 2")
    if not count.isdigit() or int(count) < 1:
        raise ConfigError("SHARD_COUNT", f"must be a whole number of shards (1 or more), not {count!r}")
    if not shard_id:
        raise ConfigError("SHARD_ID", "must be set with SHARD_COUNT: this process's shard, from 0")
    if not shard_id.isdigit() or int(shard_id) >= int(count):
        raise ConfigError(
            "SHARD_ID",
            f"must be a shard number from 0 to {int(count) - 1} (SHARD_COUNT - 1), not {shard_id!r}",
        )
    return Shard(int(shard_id), int(count))


def _prompts_dir(raw: str) -> Path:
    path = Path(raw.strip()).expanduser() if raw.strip() else DEFAULT_PROMPTS_DIR
    if not path.is_dir():
        raise ConfigError("PROMPTS_DIR", f"must be a folder of prompt files; {str(path)!r} is not one")
    return path


def redact_url(url: str) -> str:
    """The URL with any password hidden, for log lines."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<malformed url>"


def async_database_url(url: str) -> URL:
    """The SQLAlchemy URL with the async driver Tandem uses; users write plain URLs."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ConfigError("DATABASE_URL", f"uses {backend!r}; Tandem supports sqlite and postgresql")


def log_level_number(name: str) -> int:
    return logging.getLevelNamesMapping()[name]
