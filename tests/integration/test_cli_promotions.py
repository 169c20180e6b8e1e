"""Promotions from the console on every backend: published for a merchant, listed,
a resident's voucher redeemed for its code, the rest expired and refunded by the
scheduler's command, withdrawn; refusals with their codes."""

from __future__ import annotations

import datetime as dt
import uuid

import injector
import pytest

from shequ.adapters.clock import FixedClock
from shequ.application.ordering.checkout import OrderItem, PlaceOrder, PlaceOrderHandler
from shequ.application.services.promotions import MyVouchers, MyVouchersHandler
from shequ.domain.ordering import Delivery, Fulfilment
from shequ.domain.promotions import VoucherStatus
from tests.integration.test_cli_ordering import data, refused, run
from tests.services_support import housekeeping
from tests.support import Shop


@pytest.fixture
def shop(app: injector.Injector, clock: FixedClock) -> Shop:
    return Shop(app, clock)


def test_a_promotion_from_the_console(
    app: injector.Injector, shop: Shop, clock: FixedClock
) -> None:
    here = shop.community()
    hk = housekeeping(app, here)
    offer = data(
        app, "promotions", "publish", "--merchant", hk.provider.id, "--kind", "discount",
        "--title", "100元保洁代金券", "--terms", "周一至周五可用", "--price", "79.00",
        "--value", "100.00", "--quantity", "30", "--per-resident", "2",
        "--until", "2026-12-01", "--use-until", "2026-12-31",
    )  # fmt: skip
    assert (offer["price_fen"], offer["value_fen"]) == (7900, 10000)
    listed = data(app, "promotions", "list", "--community", here.id)
    assert [p["id"] for p in listed] == [offer["id"]]
    assert "100元保洁代金券" in run(app, "promotions", "list", "--merchant", hk.provider.id).stdout
    _, resident = shop.resident(here)
    order = app.get(PlaceOrderHandler)(
        PlaceOrder(
            resident_id=resident.account_id or "",  # type: ignore[arg-type]
            community_id=here.id,
            delivery=Delivery(Fulfilment.VOUCHER),
            idempotency_key=uuid.uuid4().hex,
            items=(OrderItem(offer["sku_id"], 2),),
        ),
        actor=resident,
    )
    shop.pay(order)
    mine = MyVouchers(resident.account_id or "")  # type: ignore[arg-type]
    first, _ = app.get(MyVouchersHandler)(mine, actor=resident)
    used = run(app, "promotions", "redeem", "--merchant", hk.provider.id, "--code", first.code)
    assert used.exit_code == 0 and order.id in used.stdout
    refused(
        run(app, "promotions", "redeem", "--merchant", hk.provider.id, "--code", "1234567890"),
        65,
        "voucher-code-invalid",
    )
    assert data(app, "promotions", "expire") == {"expired": 0}
    clock.advance(dt.timedelta(days=40))
    assert data(app, "promotions", "expire") == {"expired": 1}
    statuses = [v.status for v in app.get(MyVouchersHandler)(mine, actor=resident)]
    assert sorted(statuses) == sorted([VoucherStatus.REDEEMED, VoucherStatus.EXPIRED])
    order_now = data(app, "orders", "show", order.id)
    assert (order_now["status"], order_now["refunded_fen"]) == ("completed", 7900)
    assert run(app, "promotions", "withdraw", offer["id"]).exit_code == 0
    refused(run(app, "promotions", "withdraw", offer["id"]), 65, "illegal-transition")
    refused(run(app, "promotions", "withdraw", "nope"), 66, "promotion-not-found")
    refused(run(app, "promotions", "list"), 65, "invalid-input")
