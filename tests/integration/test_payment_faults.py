"""Payments through the application when something is wrong: notifications that must not
be believed (forged, tampered, replayed, misdirected, stale) and providers that time out
or fail while a payment is created, a refund is sent or a bill is downloaded. Each runs
against the app bootstrapped with WeChat Pay, Alipay or Stripe pointing at its stub."""

from __future__ import annotations

import pytest

from shequ.application.payments.start import payment_id_for
from shequ.domain.ids import OrderId
from shequ.domain.payments import Channel
from tests.integration.payment_world import (  # noqa: F401 -- the *_fixture are fixtures
    ALL_PROVIDERS,
    MEMORY_AND_SQLITE,
    UNKNOWN_PAYMENT,
    Side,
    World,
    alipay_stub_fixture,
    keys_fixture,
    kinds,
    side_fixture,
    stripe_server_fixture,
    w_fixture,
    wechat_stub_fixture,
)
from tests.integration.test_http import is_problem

MEMORY = pytest.mark.parametrize("backend", ["memory"], indirect=True)

# What each stub can forge (Alipay's notifications carry no signed time), on memory, and
# WeChat Pay's on SQLite too.
SIGNED = ("bad_signature", "other_key", "tampered_amount", "unknown_payment")
FORGERIES = [
    *(
        pytest.param("wechat", how, backend)
        for how in (*SIGNED, "stale")
        for backend in ("memory", "sqlite")
    ),
    *(pytest.param("alipay", how, "memory") for how in SIGNED),
    *(pytest.param("stripe", how, "memory") for how in (*SIGNED, "stale")),
]


def assert_nothing_paid(w: World, order: dict[str, object], payment_id: str) -> dict[str, object]:
    assert w.order_of(str(order["id"]))["status"] == "pending_payment"
    assert w.events("OrderPaid", str(order["id"])) == 0
    payment = w.payment(payment_id)
    assert (payment["status"], payment["charged_fen"], payment["paid_at"]) == ("created", 0, None)
    assert "charged" not in kinds(payment)
    return payment


# ---------------------------------------------------------------- notifications


@pytest.mark.parametrize(("side", "how", "backend"), FORGERIES, indirect=["side", "backend"])
def test_a_notification_that_must_not_be_believed_is_refused_and_recorded(
    w: World, side: Side, how: str
) -> None:
    order = w.order()
    intent = w.start_payment(order)

    answer = w.notify(side.forge(how, intent))

    if how == "unknown_payment":
        side.assert_refused(answer, 404, "payment-not-found")
    else:
        side.assert_refused(answer, 422, "payment-notification-invalid")
    payment = assert_nothing_paid(w, order, intent["payment_id"])
    assert (kinds(payment), payment["flag"]) == (["created"], "")
    [rejected] = w.rejections(side.name)
    assert (rejected.actor_id, rejected.client) == (None, f"{side.name} notification")
    assert rejected.detail["reason"]
    if how == "unknown_payment":
        assert rejected.detail["payment_id"] == UNKNOWN_PAYMENT
    if how == "stale" and side.name == "wechat":  # Stripe's SDK refuses it first
        assert rejected.detail == {"reason": "stale timestamp", "payment_id": intent["payment_id"]}
    assert w.payments_of(order["id"], flagged=True) == []


@MEMORY_AND_SQLITE
@pytest.mark.parametrize("side", ["wechat", "alipay"], indirect=True)
def test_a_notification_for_another_merchant_is_not_applied_and_flags_the_payment(
    w: World, side: Side
) -> None:
    order = w.order()
    intent = w.start_payment(order)

    forged = side.forge("other_merchant", intent)

    side.assert_accepted(w.notify(forged), "flagged")  # acknowledged, so the provider stops
    payment = assert_nothing_paid(w, order, intent["payment_id"])
    assert kinds(payment) == ["created", "flagged"]
    assert "merchant" in str(payment["flag"])
    assert [p["id"] for p in w.payments_of(order["id"], flagged=True)] == [intent["payment_id"]]
    listed = w.admin.get("/v1/payments", params={"flagged": "true"})
    assert [p["id"] for p in listed.json()] == [intent["payment_id"]]
    assert [p["id"] for p in w.data("payments", "list", "--flagged")] == [intent["payment_id"]]

    side.assert_accepted(w.notify(forged), "flagged")  # again: one flag, nothing more
    assert kinds(w.payment(intent["payment_id"])).count("flagged") == 1


@MEMORY
@pytest.mark.parametrize("side", ["wechat", "stripe"], indirect=True)
def test_a_validly_signed_notification_for_another_amount_is_flagged_not_applied(
    w: World, side: Side
) -> None:
    order = w.order()
    intent = w.start_payment(order)

    side.assert_accepted(w.notify(side.forge("signed_other_amount", intent)), "flagged")

    payment = assert_nothing_paid(w, order, intent["payment_id"])
    assert kinds(payment) == ["created", "flagged"]
    assert "¥0.01" in str(payment["flag"])
    assert [p["id"] for p in w.payments_of(order["id"], flagged=True)] == [intent["payment_id"]]


@MEMORY
@ALL_PROVIDERS
def test_a_replayed_notification_is_applied_once(w: World, side: Side) -> None:
    order = w.order()
    intent = w.start_payment(order)
    notice = side.pay(intent)

    answers = [w.notify(notice) for _ in range(3)]

    side.assert_accepted(answers[0], "paid")
    for answer in answers[1:]:
        side.assert_accepted(answer, "already_applied")
    payment = w.payment(intent["payment_id"])
    assert (payment["status"], payment["charged_fen"]) == ("paid", order["total_fen"])
    assert kinds(payment) == ["created", "charged"]
    assert w.events("OrderPaid", order["id"]) == 1
    assert w.order_of(order["id"])["paid_fen"] == order["total_fen"]
    assert w.rejections(side.name) == []


@MEMORY
@ALL_PROVIDERS
def test_a_notification_larger_than_any_provider_sends_is_refused_unread(
    w: World, side: Side
) -> None:
    order = w.order()
    intent = w.start_payment(order)
    body, headers = side.pay(intent)
    padded = body + b" " * (64 * 1024)

    side.assert_refused(w.notify((padded, headers)), 422, "payment-notification-invalid")

    assert w.payment(intent["payment_id"])["status"] == "created"
    assert w.rejections(side.name) == []  # refused before anything was read or recorded
    side.assert_accepted(w.notify((body, headers)), "paid")


# ---------------------------------------------------------------- providers failing


@MEMORY_AND_SQLITE
@pytest.mark.parametrize("fault", ["timeout", 503])
@pytest.mark.parametrize("side", ["wechat", "stripe"], indirect=True)
def test_a_provider_down_while_a_payment_is_created_leaves_nothing_and_a_retry_pays_once(
    w: World, side: Side, fault: str | int
) -> None:
    order = w.order()
    side.server.fail_next(side.create_path, fault, delay=1.0)

    failed = w.ask_to_pay(order, key="pay-1")

    is_problem(failed, 502, "payment-unavailable")
    assert w.payments_of(order["id"]) == []
    assert w.order_of(order["id"])["status"] == "pending_payment"

    retried = w.start_payment(order, key="pay-1")
    again = w.start_payment(order, key="pay-1")

    expected = payment_id_for(OrderId(order["id"]), Channel(side.channel), "pay-1")
    assert retried["payment_id"] == again["payment_id"] == expected
    assert [p["id"] for p in w.payments_of(order["id"])] == [expected]
    assert side.payments_at_provider(expected) == 1
    side.assert_accepted(w.notify(side.pay(retried)), "paid")
    assert w.order_of(order["id"])["status"] == "paid"


@MEMORY_AND_SQLITE
@ALL_PROVIDERS
def test_a_provider_down_while_a_refund_is_sent_keeps_it_to_send_until_retried(
    w: World, side: Side
) -> None:
    order = w.order()
    intent = w.start_payment(order)
    side.assert_accepted(w.notify(side.pay(intent)), "paid")
    side.server.fail_next(side.refund_path, 503)

    cancelled = w.resident.post(f"/v1/orders/{order['id']}/cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["order"]["status"] == "cancelled"
    refund_id = cancelled.json()["refund"]["id"]
    waiting = w.payment(intent["payment_id"])
    [refund] = waiting["refunds"]
    assert (refund["id"], refund["status"], refund["attempts"]) == (refund_id, "to_send", 1)
    assert refund["last_error"]
    assert (waiting["status"], waiting["refund_pending_fen"], waiting["refunded_fen"]) == (
        "paid",
        order["total_fen"],
        0,
    )
    assert side.refunds_at_provider(refund_id) == 0

    retried = w.data("payments", "retry-refunds")

    if side.refunds_at_once:
        assert retried == {"sent": 0, "confirmed": 1, "failed": 0, "waiting": 0}
    else:
        assert retried == {"sent": 1, "confirmed": 0, "failed": 0, "waiting": 0}
    assert side.refunds_at_provider(refund_id) == 1
    sent = w.payment(intent["payment_id"])
    assert sent["refunds"][0]["status"] == ("succeeded" if side.refunds_at_once else "sent")
    assert w.data("payments", "retry-refunds") == (
        {"sent": 0, "confirmed": 0, "failed": 0, "waiting": 0}
        if side.refunds_at_once
        else {"sent": 1, "confirmed": 0, "failed": 0, "waiting": 0}  # not yet confirmed
    )
    assert side.refunds_at_provider(refund_id) == 1

    w.notify(side.refund_notification(refund_id))

    done = w.payment(intent["payment_id"])
    assert (done["status"], done["refunded_fen"], done["refund_pending_fen"]) == (
        "refunded",
        order["total_fen"],
        0,
    )
    assert done["refunds"][0]["status"] == "succeeded"
    assert w.data("payments", "retry-refunds") == {
        "sent": 0,
        "confirmed": 0,
        "failed": 0,
        "waiting": 0,
    }


@MEMORY
@pytest.mark.parametrize("fault", ["timeout", 503])
@ALL_PROVIDERS
def test_a_provider_down_while_its_bill_is_downloaded_fails_the_reconciliation_clearly(
    w: World, side: Side, fault: str | int
) -> None:
    day = w.clock.now().date()
    side.server.fail_next(side.bill_path, fault, delay=1.0)

    result = w.reconcile(day, side.name)

    assert (result.exit_code, result.stdout) == (69, ""), result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error[payment-unavailable]: "), result.stderr
    assert "Traceback" not in result.stderr
