from __future__ import annotations

import datetime as dt
import logging

import pytest

from shequ import DomainEvent, EventDispatcher, ProductId, SellerId
from shequ.domain.catalog import ProductCreated

EVENT = ProductCreated(
    occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    product_id=ProductId("p"),
    seller_id=SellerId("s"),
    name="n",
    category="c",
)


def test_a_failing_subscriber_does_not_stop_its_siblings(caplog: pytest.LogCaptureFixture) -> None:
    dispatcher, seen = EventDispatcher(), []

    def broken(_: DomainEvent) -> None:
        raise RuntimeError("boom")

    dispatcher.subscribe(ProductCreated, broken)
    dispatcher.subscribe(ProductCreated, seen.append)
    dispatcher.subscribe(DomainEvent, seen.append)
    with caplog.at_level(logging.ERROR):
        dispatcher.publish([EVENT])
    assert seen == [EVENT, EVENT]
    assert "ProductCreated" in caplog.text


def test_the_payload_is_plain_json_data() -> None:
    from shequ.domain.events import event_payload

    assert event_payload(EVENT) == {
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "product_id": "p",
        "seller_id": "s",
        "name": "n",
        "category": "c",
    }
