"""Settings, read from ``SHEQU_…`` environment variables by the composition root only."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["PaymentProvider", "Settings"]

PaymentProvider = Literal["sandbox", "wechat", "alipay", "stripe"]


_CATEGORY = "(product_quality|delivery|service|pickup_point|platform|suggestion)"


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
    notifier: Literal["none", "console", "webhook"] = Field(
        default="none",
        description="how sign-in and pickup codes are sent: `none` refuses to send (bind your "
        "own Notifier), `webhook` posts them, signed, to `notifier_webhook_url`, `console` "
        "writes them to the log (development only)",
    )
    notifier_webhook_url: str = Field(default="", description="where the webhook notifier posts")
    notifier_webhook_secret: SecretStr | None = Field(
        default=None, description="the key the webhook notifier signs with (16+ characters)"
    )
    password_profile: Literal["production", "cheap"] = Field(
        default="production", description="argon2id cost; `cheap` is for tests only"
    )
    payments: Annotated[tuple[PaymentProvider, ...], NoDecode] = Field(
        default=("sandbox",),
        description="the payment providers, comma-separated: `wechat`, `alipay`, `stripe` "
        "(bank cards), `sandbox` (in-process, for tests and demos)",
    )
    payment_notify_base_url: str = Field(
        default="http://localhost:8000",
        description="where providers reach this service: notifications go to "
        "<this>/v1/payments/<provider>/notify",
    )
    payment_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="how long a call to a provider may take"
    )
    wechat_mchid: str = Field(default="", description="WeChat Pay merchant id (商户号)")
    wechat_appid: str = Field(default="", description="the app id payments are made in")
    wechat_private_key_file: str = Field(
        default="", description="PEM file of the merchant API private key (apiclient_key.pem)"
    )
    wechat_cert_serial_no: str = Field(
        default="", description="serial number of the merchant API certificate"
    )
    wechat_apiv3_key: SecretStr | None = Field(
        default=None, description="the APIv3 key that decrypts notifications"
    )
    wechat_public_key_file: str = Field(
        default="", description="PEM file of the WeChat Pay public key (微信支付公钥)"
    )
    wechat_public_key_id: str = Field(default="", description="its id (PUB_KEY_ID_…)")
    wechat_base_url: str = Field(default="https://api.mch.weixin.qq.com")
    alipay_app_id: str = Field(default="", description="Alipay app id")
    alipay_private_key_file: str = Field(
        default="", description="PEM file of the app's RSA2 private key"
    )
    alipay_public_key_file: str = Field(
        default="", description="PEM file of the Alipay public key (支付宝公钥)"
    )
    alipay_return_url: str | None = Field(
        default=None, description="where a browser returns after paying"
    )
    alipay_base_url: str = Field(default="https://openapi.alipay.com/gateway.do")
    stripe_api_key: SecretStr | None = Field(default=None, description="Stripe secret key")
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, description="the signing secret of the Stripe webhook endpoint"
    )
    stripe_base_url: str = Field(default="https://api.stripe.com")
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
    couriers: Annotated[tuple[Literal["sandbox", "city", "team"], ...], NoDecode] = Field(
        default=("team", "sandbox"),
        description="the couriers a home delivery is offered to, in order, comma-separated: "
        "`team` (our own riders), `city` (a same-city courier over its signed API), "
        "`sandbox` (in-process)",
    )
    team_fee: str = Field(
        default="0.00",
        pattern=r"^[0-9]{1,6}(\.[0-9]{1,2})?$",
        description="yuan a delivery by our own team is booked at",
    )
    team_cold_chain: bool = Field(
        default=False, description="whether our own riders carry chilled and frozen goods"
    )
    delivery_slot_cutoff_minutes: int = Field(
        default=30, ge=0, le=1440, description="a delivery slot is chosen until this before it"
    )
    depot_location: str | None = Field(
        default=None,
        pattern=r"^-?[0-9]{1,2}(\.[0-9]+)?,-?[0-9]{1,3}(\.[0-9]+)?$",
        description="the warehouse as `LATITUDE,LONGITUDE`: where delivery routes start",
    )
    delivery_vehicles: str = Field(
        default="van-1:120,cold-1:60:cold",
        pattern=r"^[A-Za-z0-9_-]{1,64}:[0-9]{1,5}(:cold)?(,[A-Za-z0-9_-]{1,64}:[0-9]{1,5}(:cold)?)*$",
        description="the vans of a delivery day, `ID:CAPACITY[:cold]`, comma-separated",
    )
    delivery_shift: str = Field(
        default="06:30-21:30",
        pattern=r"^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$",
        description="when the vans may leave the warehouse and must be back, `HH:MM-HH:MM`",
    )
    route_speed_kmh: int = Field(default=25, ge=1, le=200, description="average speed in town")
    route_time_limit: float = Field(
        default=5.0, gt=0, le=600, description="seconds the route planner may search"
    )
    city_courier_base_url: str = Field(default="", description="the City courier's API")
    city_courier_app_id: str = Field(default="", description="our app id at the City courier")
    city_courier_app_secret: SecretStr | None = Field(
        default=None, description="the key requests to and callbacks from City are signed with"
    )
    city_courier_timeout: float = Field(default=5.0, gt=0, le=60, description="seconds")
    delivery_depot: str = Field(
        default="the shop's warehouse", description="where couriers collect the goods"
    )
    delivery_standard_hours: int = Field(
        default=4, ge=1, le=72, description="a standard home delivery arrives within"
    )
    delivery_express_minutes: int = Field(
        default=60, ge=10, le=720, description="an express (加急) delivery arrives within"
    )
    service_min_lead_minutes: int = Field(
        default=60,
        ge=0,
        le=7 * 24 * 60,
        description="a local service is booked this far ahead at least",
    )
    service_horizon_days: int = Field(
        default=30, ge=1, le=365, description="a local service is booked at most this far ahead"
    )
    service_slot_step_minutes: int = Field(
        default=30, ge=5, le=240, description="the grid free service time is shown on"
    )
    service_free_cancel_hours: int = Field(
        default=24,
        ge=0,
        le=30 * 24,
        description="a resident cancels a booking free until this before it starts",
    )
    service_remind_before_hours: int = Field(
        default=24, ge=1, le=7 * 24, description="a booking's reminder goes out this before it"
    )
    complaint_respond_hours: str = Field(
        default="product_quality:24,delivery:4,service:24,pickup_point:12,platform:48,suggestion:72",
        pattern=rf"^{_CATEGORY}:[0-9]{{1,3}}(,{_CATEGORY}:[0-9]{{1,3}})*$",
        description="hours a complaint of each category must be answered within, "
        "`CATEGORY:HOURS`, comma-separated (categories left out keep their default)",
    )
    forum_sensitive_words: FilePath | None = Field(
        default=None,
        description="a UTF-8 file of words (one a line, `#` for comments) that hold a forum "
        "post or comment for review, added to the built-in list",
    )
    forum_report_threshold: int = Field(
        default=3, ge=1, le=100, description="open reports that hold a forum post for review"
    )
    pickup_remind_after_days: int = Field(
        default=2,
        ge=1,
        le=60,
        description="days an order waits at its pickup point before "
        "its resident is reminded, once a day",
    )
    pickup_return_after_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="days an order waits at its pickup point before it is returned and refunded",
    )

    @field_validator("payments", "couriers", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("payments")
    @classmethod
    def _some_provider(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one payment provider")
        return tuple(dict.fromkeys(value))

    @field_validator("complaint_respond_hours")
    @classmethod
    def _hours_within_a_month(cls, value: str) -> str:
        for spec in value.split(","):
            if not 1 <= int(spec.split(":")[1]) <= 720:
                raise ValueError(f"{spec}: answer within 1 to 720 hours")
        return value

    @field_validator("free_delivery_from", mode="before")
    @classmethod
    def _empty_means_never(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> Settings:
        if (self.data_keys is None) != (self.lookup_key is None):
            raise ValueError("set both SHEQU_DATA_KEYS and SHEQU_LOOKUP_KEY, or neither")
        return self
