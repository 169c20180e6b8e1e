"""Settings, read from ``SHEQU_…`` environment variables by the composition root only."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """How shequ is wired. Every field reads ``SHEQU_<NAME>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="SHEQU_", extra="ignore", frozen=True)

    storage: Literal["memory", "sql"] = Field(
        default="sql", description="`sql` (SQLite or PostgreSQL) or `memory` (tests, demos)"
    )
    database_url: str = Field(
        default="sqlite:///./shequ.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql://user@host/db",
    )
    database_echo: bool = Field(default=False, description="log every SQL statement")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
