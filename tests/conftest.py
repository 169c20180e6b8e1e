from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, settings

from shequ.adapters.clock import FixedClock

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("default")

NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)
