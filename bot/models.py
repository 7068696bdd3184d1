"""The tables. Discord ids are 64-bit, so they are BigInteger everywhere."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime


def snowflake_column(*, primary_key: bool = False, nullable: bool = True) -> Column:
    return Column(BigInteger, primary_key=primary_key, nullable=nullable, autoincrement=False)


class Programme(SQLModel, table=True):
    """One guild's programme settings."""

    __tablename__ = "programme"

    guild_id: int = Field(sa_column=snowflake_column(primary_key=True, nullable=False))
    coordinator_role_id: int | None = Field(default=None, sa_column=snowflake_column())
    alerts_channel_id: int | None = Field(default=None, sa_column=snowflake_column())
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
