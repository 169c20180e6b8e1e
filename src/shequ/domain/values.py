"""Checks every context applies to what people type: text and times."""

from __future__ import annotations

import datetime as dt

from shequ.domain.errors import InvalidInput

__all__ = ["CHINA_STANDARD_TIME", "clean_text", "utc_time"]

CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "CST")  # 北京时间: no daylight saving


def clean_text(value: str, field: str, *, max_len: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(cleaned) > max_len:
        raise InvalidInput(f"{field} is longer than {max_len} characters", field=field)
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in cleaned):
        raise InvalidInput(f"{field} contains control characters", field=field)
    if any("\ud800" <= ch <= "\udfff" for ch in cleaned):
        raise InvalidInput(f"{field} is not valid Unicode text", field=field)
    return cleaned


def utc_time(moment: dt.datetime, field: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise InvalidInput(f"{field} must carry a time zone", field=field)
    if not 1900 < moment.year < 2200:
        raise InvalidInput(f"{field} {moment.isoformat()} is not a plausible time", field=field)
    return moment.astimezone(dt.UTC)
