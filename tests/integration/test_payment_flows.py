"""Payments end to end, through the application: the app bootstrapped with WeChat Pay,
Alipay or Stripe pointing at a local stub of that provider, driven over HTTP and the CLI,
with each provider's real SDK on the wire. A resident pays, the provider notifies, the
order is cancelled and refunded, and the day's bill reconciles.

Notifications that must not be believed and providers that fail are in
``test_payment_faults.py``; the machinery both share is in ``payment_world.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from shequ.application.payments.providers import PaymentProviders
from shequ.domain.ids import PaymentId
from shequ.domain.money import Money
from shequ.domain.payments import PaymentState
from tests.integration.payment_world import (  # noqa: F401 -- the *_fixture are fixtures
    ALL_PROVIDERS,
    AND_THE_SANDBOX,
    EVERY_BACKEND,
    MEMORY_AND_SQLITE,
    Side,
    World,
    alipay_stub_fixture,
    bill_day,
    keys_fixture,
    kinds,
    side_fixture,
    stripe_server_fixture,
    w_fixture,
    wechat_stub_fixture,
)


@EVERY_BACKEND
@AND_THE_SANDBOX
def test_a_resident_pays_cancels_is_refunded_and_the_day_reconciles(w: World, side: Side) -> None:
    order = w.order()
    assert order["status"] == "pending_payment"

    intent = w.start_payment(order, key="pay-1")
    assert (intent["provider"], intent["channel"], intent["amount_fen"]) == (
        side.name,
        side.channel,
        order["total_fen"],
    )
    started = w.payment(intent["payment_id"])
    assert (started["status"], started["order_id"], started["charged_fen"]) == (
        "created",
        order["id"],
        0,
    )
    assert kinds(started) == ["created"]

    notice = side.pay(intent)
    side.assert_accepted(w.notify(notice), "paid")

    paid = w.payment(intent["payment_id"])
    assert (paid["status"], paid["charged_fen"], paid["amount_fen"]) == (
        "paid",
        order["total_fen"],
        order["total_fen"],
    )
    assert kinds(paid) == ["created", "charged"]
    charged = paid["entries"][1]
    assert (charged["key"], charged["amount_fen"]) == (paid["provider_ref"], order["total_fen"])
    assert paid["provider_ref"] and paid["paid_at"] is not None
    after_payment = w.order_of(order["id"])
    assert (after_payment["status"], after_payment["paid_fen"]) == ("paid", order["total_fen"])
    assert after_payment["payment_ref"] == intent["payment_id"]

    side.assert_accepted(w.notify(notice), "already_applied")
    assert w.payment(intent["payment_id"])["entries"] == paid["entries"]
    assert w.events("OrderPaid", order["id"]) == 1

    asked = w.app.get(PaymentProviders).get(side.name)
    told = asked.query(PaymentId(intent["payment_id"]), paid["provider_ref"])
    assert (told.state, told.amount) == (PaymentState.SUCCEEDED, Money(order["total_fen"]))

    cancelled = w.resident.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "买错了"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["order"]["status"] == "cancelled"
    refund = cancelled.json()["refund"]
    assert (refund["amount_fen"], refund["paid_out"]) == (order["total_fen"], True)

    sent = w.payment(intent["payment_id"])
    [payment_refund] = sent["refunds"]
    assert (payment_refund["id"], payment_refund["amount_fen"]) == (
        refund["id"],
        order["total_fen"],
    )
    assert side.refunds_at_provider(refund["id"]) == 1
    if side.refunds_at_once:  # Alipay answers a refund done, at once
        assert (payment_refund["status"], sent["refund_pending_fen"]) == ("succeeded", 0)
        assert (sent["status"], sent["refunded_fen"]) == ("refunded", order["total_fen"])
    else:
        assert (payment_refund["status"], payment_refund["last_error"]) == ("sent", "")
        assert (sent["status"], sent["refund_pending_fen"], sent["refunded_fen"]) == (
            "paid",
            order["total_fen"],
            0,
        )
        assert payment_refund["provider_ref"] and kinds(sent)[-1] == "refund_sent"

    side.assert_accepted(
        w.notify(side.refund_notification(refund["id"])),
        "already_applied" if side.refunds_at_once else "applied",
    )
    refunded = w.payment(intent["payment_id"])
    assert refunded["refunds"][0]["status"] == "succeeded"
    assert (
        refunded["status"],
        refunded["charged_fen"],
        refunded["refunded_fen"],
        refunded["refund_pending_fen"],
    ) == ("refunded", order["total_fen"], order["total_fen"], 0)
    assert kinds(refunded).count("refund_succeeded") == 1
    assert w.order_of(order["id"])["status"] == "cancelled"
    shown = w.shown_payment(intent["payment_id"])  # the CLI tells the same
    assert (shown["status"], shown["refunded_fen"]) == ("refunded", order["total_fen"])
    assert [(e["kind"], e["key"], e["amount_fen"]) for e in shown["entries"]] == [
        (e["kind"], e["key"], e["amount_fen"]) for e in refunded["entries"]
    ]

    reconciled = w.reconcile(bill_day(refunded), side.name)
    assert reconciled.exit_code == 0, reconciled.output + reconciled.stderr
    report = w.json(reconciled)
    assert report["providers"] == [side.name]
    assert report["counts"]["matched"] == 2
    assert sum(report["counts"].values()) == 2
    assert sorted((line["kind"], line["refund_id"] or "") for line in report["lines"]) == [
        ("payment", ""),
        ("refund", refund["id"]),
    ]
    assert {(line["ours_fen"], line["theirs_fen"]) for line in report["lines"]} == {
        (order["total_fen"], order["total_fen"])
    }
    assert {line["payment_id"] for line in report["lines"]} == {intent["payment_id"]}
    assert {line["match"] for line in report["lines"]} == {"matched"}


@MEMORY_AND_SQLITE
@AND_THE_SANDBOX
def test_an_after_sale_refund_of_part_of_an_order_leaves_the_payment_partly_refunded(
    w: World, side: Side
) -> None:
    order = w.order(quantity=3)
    intent = w.start_payment(order)
    side.assert_accepted(w.notify(side.pay(intent)), "paid")
    w.advance(order["id"], "pack")
    w.collect(order["id"])
    asked = w.resident.post(
        f"/v1/orders/{order['id']}/refunds",
        json={"reason": "quality", "items": [{"sku_id": w.apples, "quantity": 1}]},
    )
    assert asked.status_code == 201, asked.text
    approved = w.operator.post(f"/v1/refunds/{asked.json()['id']}/approve", json={"note": "已核实"})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["paid_out"]) == ("approved", True)
    part = approved.json()["amount_fen"]
    assert 0 < part < order["total_fen"]

    side.assert_accepted(
        w.notify(side.refund_notification(asked.json()["id"])),
        "already_applied" if side.refunds_at_once else "applied",
    )

    payment = w.payment(intent["payment_id"])
    assert (
        payment["status"],
        payment["charged_fen"],
        payment["refunded_fen"],
        payment["refund_pending_fen"],
    ) == ("partly_refunded", order["total_fen"], part, 0)
    assert [(r["id"], r["status"], r["amount_fen"]) for r in payment["refunds"]] == [
        (asked.json()["id"], "succeeded", part)
    ]
    assert w.order_of(order["id"])["refunded_fen"] == part
    reconciled = w.reconcile(bill_day(payment), side.name)
    assert reconciled.exit_code == 0, reconciled.output + reconciled.stderr
    assert w.json(reconciled)["counts"]["matched"] == 2


@MEMORY_AND_SQLITE
@AND_THE_SANDBOX
def test_a_payment_for_an_order_that_expired_meanwhile_is_refunded_automatically(
    w: World, side: Side
) -> None:
    """The payer paid just before the deadline; the provider's notification came after
    the order expired (and after the shop tried to close the payment: too late)."""
    order = w.order()
    intent = w.start_payment(order)
    notice = side.pay(intent)  # the notification is delayed
    # The residents' access tokens expire meanwhile: records are read with the CLI.
    deadline = dt.datetime.fromisoformat(order["expires_at"])
    w.clock.advance(deadline - w.clock.now() + dt.timedelta(minutes=1))
    assert w.data("orders", "expire") == {"expired": 1}
    assert w.shown_order(order["id"])["status"] == "expired"
    assert w.shown_payment(intent["payment_id"])["status"] == "created"

    answer = w.notify(side.sent_again(notice))

    side.assert_accepted(answer, "refunding")
    assert w.shown_order(order["id"])["status"] == "expired"
    assert w.events("OrderPaid", order["id"]) == 0
    payment = w.shown_payment(intent["payment_id"])
    [refund] = payment["refunds"]
    assert (refund["amount_fen"], refund["order_refund_id"]) == (order["total_fen"], None)
    assert "expired before it was paid" in refund["reason"]
    assert side.refunds_at_provider(refund["id"]) == 1
    assert payment["charged_fen"] == order["total_fen"]
    if side.refunds_at_once:
        assert (refund["status"], payment["status"]) == ("succeeded", "refunded")
    else:
        assert (refund["status"], payment["status"]) == ("sent", "paid")
        assert payment["refund_pending_fen"] == order["total_fen"]

    side.assert_accepted(
        w.notify(side.refund_notification(refund["id"])),
        "already_applied" if side.refunds_at_once else "applied",
    )

    done = w.shown_payment(intent["payment_id"])
    assert (done["status"], done["refunded_fen"], done["refund_pending_fen"]) == (
        "refunded",
        order["total_fen"],
        0,
    )
    assert done["refunds"][0]["status"] == "succeeded"
    assert w.shown_order(order["id"])["status"] == "expired"
    reconciled = w.reconcile(bill_day(done), side.name)
    assert reconciled.exit_code == 0, reconciled.output + reconciled.stderr


@MEMORY_AND_SQLITE
@AND_THE_SANDBOX
def test_a_payment_notification_delivered_again_after_its_refund_changes_nothing(
    w: World, side: Side
) -> None:
    order = w.order()
    intent = w.start_payment(order)
    notice = side.pay(intent)
    side.assert_accepted(w.notify(notice), "paid")
    cancelled = w.resident.post(f"/v1/orders/{order['id']}/cancel").json()
    refund_id = cancelled["refund"]["id"]
    w.notify(side.refund_notification(refund_id))
    refunded = w.payment(intent["payment_id"])
    assert refunded["status"] == "refunded"

    side.assert_accepted(w.notify(notice), "already_applied")
    side.assert_accepted(w.notify(side.refund_notification(refund_id)), "already_applied")

    again = w.payment(intent["payment_id"])
    assert again["entries"] == refunded["entries"]
    assert (again["status"], again["charged_fen"], again["refunded_fen"]) == (
        "refunded",
        order["total_fen"],
        order["total_fen"],
    )
    assert (kinds(again).count("charged"), again["refund_pending_fen"]) == (1, 0)
    assert w.order_of(order["id"])["status"] == "cancelled"
    assert w.events("OrderPaid", order["id"]) == 1


@MEMORY_AND_SQLITE
@pytest.mark.parametrize("side", ["wechat", "alipay"], indirect=True)
def test_a_refund_reported_before_its_payment_keeps_the_amounts_straight(
    w: World, side: Side
) -> None:
    """The payer paid, the notification is late, and meanwhile the money went back from
    the provider's console: the refund arrives first, then the payment."""
    order = w.order()
    intent = w.start_payment(order)
    notice = side.pay(intent)
    console = w.app.get(PaymentProviders).get(side.name)
    total = Money(order["total_fen"])
    console.refund(PaymentId(intent["payment_id"]), "console-refund-1", total, total)

    side.assert_accepted(w.notify(side.refund_notification("console-refund-1")), "applied")

    early = w.payment(intent["payment_id"])
    assert (early["status"], early["charged_fen"], early["refunded_fen"]) == (
        "created",
        0,
        order["total_fen"],
    )
    assert [(r["id"], r["status"]) for r in early["refunds"]] == [("console-refund-1", "succeeded")]
    assert "did not ask for" in early["flag"]

    side.assert_accepted(w.notify(notice), "applied")
    side.assert_accepted(w.notify(notice), "already_applied")

    late = w.payment(intent["payment_id"])
    assert (
        late["status"],
        late["charged_fen"],
        late["refunded_fen"],
        late["refund_pending_fen"],
    ) == ("refunded", order["total_fen"], order["total_fen"], 0)
    assert kinds(late).count("charged") == 1
    assert kinds(late).count("refund_succeeded") == 1
    assert w.order_of(order["id"])["status"] == "pending_payment"  # the money went back
    assert w.events("OrderPaid", order["id"]) == 0
    reconciled = w.reconcile(bill_day(late), side.name)
    assert reconciled.exit_code == 0, reconciled.output + reconciled.stderr
    assert w.json(reconciled)["counts"]["matched"] == 2


@MEMORY_AND_SQLITE
@pytest.mark.parametrize("side", ["wechat", "stripe"], indirect=True)
def test_a_refund_confirmed_the_next_day_reconciles_on_the_day_the_provider_took_it(
    w: World, side: Side
) -> None:
    """Card and bank refunds take days to confirm; the provider's bill books a refund the
    day it accepted it."""
    order = w.order()
    intent = w.start_payment(order)
    side.assert_accepted(w.notify(side.pay(intent)), "paid")
    refund_id = w.resident.post(f"/v1/orders/{order['id']}/cancel").json()["refund"]["id"]
    day = bill_day(w.payment(intent["payment_id"]))

    # The residents' access tokens expire meanwhile: records are read with the CLI.
    w.clock.advance(dt.timedelta(days=1))
    side.assert_accepted(w.notify(side.refund_notification(refund_id)), "applied")
    assert w.shown_payment(intent["payment_id"])["status"] == "refunded"

    that_day = w.reconcile(day, side.name)
    assert that_day.exit_code == 0, that_day.output + that_day.stderr
    assert w.json(that_day)["counts"]["matched"] == 2
    next_day = w.reconcile(day + dt.timedelta(days=1), side.name)
    assert next_day.exit_code == 0, next_day.output + next_day.stderr
    assert w.json(next_day)["lines"] == []
