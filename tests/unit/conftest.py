from __future__ import annotations

import injector
import pytest

from shequ.adapters.clock import FixedClock
from tests.support import Catalog, container, settings


@pytest.fixture
def app(clock: FixedClock) -> injector.Injector:
    return container(settings(storage="memory"), clock)


@pytest.fixture
def catalog(app: injector.Injector, clock: FixedClock) -> Catalog:
    return Catalog(app, clock)
