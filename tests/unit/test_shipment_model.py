"""A shipment is cancelled only before a courier has the goods, once."""

from __future__ import annotations

import datetime as dt

import pytest

from shequ.domain.errors import IllegalTransition
from shequ.domain.fulfilment.delivery import DeliveryStatus, DeliveryStatusChanged, Shipment
from shequ.domain.ids import CommunityId, OrderId

NOW = dt.datetime(2026, 12, 8, 2, 0, tzinfo=dt.UTC)
S = DeliveryStatus


def shipment() -> Shipment:
    return Shipment.create(
        order_id=OrderId("o1"),
        community_id=CommunityId("c1"),
        address_id="a1",
        window_start=NOW,
        window_end=NOW + dt.timedelta(hours=4),
        express=False,
        cold_chain=False,
        now=NOW,
        handover_code="123456",
    )


@pytest.mark.parametrize("taken", [False, True])
def test_a_shipment_no_courier_has_picked_up_is_cancelled_once(taken: bool) -> None:
    s = shipment()
    if taken:
        s.dispatched("sandbox", "sbx-1", 800, now=NOW)
    assert s.cancel(now=NOW, note="refunded") is True
    assert s.status is S.CANCELLED and s.timeline[-1].note == "refunded"
    changed = [e for e in s.events if isinstance(e, DeliveryStatusChanged)]
    assert changed[-1].new_status is S.CANCELLED
    version = s.version
    assert s.cancel(now=NOW, note="again") is False
    assert s.version == version
    # the courier's report that it was called off changes nothing; no other report is taken
    assert s.advance(S.FAILED, now=NOW, source="sandbox", note="cancelled") is False
    assert (s.status, s.version) == (S.CANCELLED, version)
    with pytest.raises(IllegalTransition):
        s.advance(S.PICKED_UP, now=NOW, source="sandbox")
    with pytest.raises(IllegalTransition):
        s.dispatched("city", "c-1", 900, now=NOW)


@pytest.mark.parametrize("status", [S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERED])
def test_a_shipment_whose_goods_left_is_not_cancelled(status: DeliveryStatus) -> None:
    s = shipment()
    s.dispatched("sandbox", "sbx-1", 800, now=NOW)
    s.advance(status, now=NOW, source="sandbox", proof="signed")
    with pytest.raises(IllegalTransition):
        s.cancel(now=NOW, note="refunded")
    assert s.status is status
