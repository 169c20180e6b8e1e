"""Settings, read from ``SHEQU_…`` environment variables by the composition root only."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
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
    database_pre_ping: bool = Field(
        default=False,
        description="test each pooled PostgreSQL connection before use (a round trip per "
        "transaction); without it the first request after a database restart fails",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    data_keys: SecretStr | None = Field(
        default=None,
        description="keys that seal personal data: 'k2:BASE64,k1:BASE64', the first seals; "
        "each is 32 random bytes in base64 (`shequ keys generate` prints a set)",
    )
    lookup_key: SecretStr | None = Field(
        default=None, description="base64 of 32 random bytes: the key of phone-number lookups"
    )
    key_file: str | None = Field(
        default=None,
        description="where keys live when SHEQU_DATA_KEYS is not set; made on first use. "
        "Default: beside a SQLite database file (shequ.db -> shequ.keys)",
    )
    media_dir: str | None = Field(
        default=None,
        description="where uploaded photos are stored. Default: beside a SQLite database file "
        "(shequ.db -> shequ-media/), else ./shequ-media",
    )
    media_base_url: str = Field(default="/media/", description="where they are served from")
    notifier: Literal["none", "console"] = Field(
        default="none",
        description="how sign-in codes are sent: `none` refuses to send (bind your own SMS "
        "Notifier), `console` writes them to the log (development only)",
    )
    password_profile: Literal["production", "cheap"] = Field(
        default="production", description="argon2id cost; `cheap` is for tests only"
    )
    payments: Literal["sandbox"] = Field(
        default="sandbox",
        description="the payment provider: `sandbox` is in-process, for tests and demos",
    )
    sandbox_secret: SecretStr | None = Field(
        default=None,
        description="the key the sandbox signs its notifications with; random per process "
        "when unset",
    )
    order_pay_minutes: int = Field(
        default=15, ge=1, le=1440, description="how long an unpaid order keeps its stock"
    )
    delivery_fee: str = Field(
        default="5.00", pattern=r"^[0-9]{1,6}(\.[0-9]{1,2})?$", description="yuan, home delivery"
    )
    free_delivery_from: str | None = Field(
        default="59.00",
        pattern=r"^[0-9]{1,6}(\.[0-9]{1,2})?$",
        description="yuan of goods (before discounts) from which delivery is free; unset: never",
    )
    express_surcharge: str = Field(
        default="8.00", pattern=r"^[0-9]{1,6}(\.[0-9]{1,2})?$", description="yuan, for 加急"
    )

    @field_validator("free_delivery_from", mode="before")
    @classmethod
    def _empty_means_never(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> Settings:
        if (self.data_keys is None) != (self.lookup_key is None):
            raise ValueError("set both SHEQU_DATA_KEYS and SHEQU_LOOKUP_KEY, or neither")
        return self
