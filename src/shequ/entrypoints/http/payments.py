"""``/v1`` payment routes: paying for an order, reading payments, and each provider's
notification endpoint, which answers in the form that provider expects."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from shequ.application.payments.notifications import (
    MAX_NOTIFICATION_BYTES,
    ConfirmPayment,
    ConfirmPaymentHandler,
)
from shequ.application.payments.queries import (
    ClearPaymentFlag,
    ClearPaymentFlagHandler,
    GetPaymentHandler,
    ListPayments,
    ListPaymentsHandler,
)
from shequ.application.payments.start import StartPayment, StartPaymentHandler
from shequ.application.ports import PaymentIntent, PaymentQuery
from shequ.domain.errors import PaymentNotificationInvalid, PaymentProviderNotFound, ShequError
from shequ.domain.ids import OrderId, PaymentId
from shequ.domain.payments import Channel, Payment, PaymentStatus
from shequ.entrypoints.http.deps import CurrentActor, Output, body_within, resolve
from shequ.entrypoints.http.ordering_models import amount
from shequ.entrypoints.http.problems import status_for

__all__ = ["PaymentIntentOut", "PaymentOut", "PaymentStartIn", "router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1")


class PaymentStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = Channel.SANDBOX
    payer_id: StrictStr | None = Field(
        default=None, max_length=128, description="WeChat JSAPI: the payer's openid"
    )


class PaymentIntentOut(Output):
    """Hand ``params`` to the payer's app; the provider then notifies the payment."""

    payment_id: str
    provider: str
    channel: str
    amount_fen: int
    amount: str
    params: dict[str, str]

    @classmethod
    def of(cls, intent: PaymentIntent) -> PaymentIntentOut:
        return cls(
            payment_id=intent.payment_id,
            provider=intent.provider,
            channel=intent.channel.value,
            **amount("amount", intent.amount),
            params=dict(intent.params),
        )


class PaymentEntryOut(Output):
    kind: str
    key: str
    amount_fen: int
    amount: str
    at: dt.datetime
    recorded_at: dt.datetime
    note: str


class PaymentRefundOut(Output):
    id: str
    amount_fen: int
    amount: str
    status: str
    reason: str
    order_refund_id: str | None
    provider_ref: str | None
    attempts: int
    last_error: str
    requested_at: dt.datetime


class PaymentOut(Output):
    id: str
    order_id: str
    provider: str
    channel: str
    status: str
    provider_ref: str | None
    amount_fen: int
    amount: str
    authorised_fen: int
    authorised: str
    charged_fen: int
    charged: str
    refunded_fen: int
    refunded: str
    refund_pending_fen: int
    refund_pending: str
    created_at: dt.datetime
    paid_at: dt.datetime | None
    flag: str
    refunds: list[PaymentRefundOut]
    entries: list[PaymentEntryOut]

    @classmethod
    def of(cls, p: Payment) -> PaymentOut:
        return cls(
            id=p.id,
            order_id=p.order_id,
            provider=p.provider,
            channel=p.channel.value,
            status=p.status.value,
            provider_ref=p.provider_ref,
            **amount("amount", p.amount),
            **amount("authorised", p.authorised),
            **amount("charged", p.charged),
            **amount("refunded", p.refunded),
            **amount("refund_pending", p.refund_pending),
            created_at=p.created_at,
            paid_at=p.paid_at,
            flag=p.flag,
            refunds=[
                PaymentRefundOut(
                    id=r.id,
                    **amount("amount", r.amount),
                    status=r.status.value,
                    reason=r.reason,
                    order_refund_id=r.order_refund_id,
                    provider_ref=r.provider_ref,
                    attempts=r.attempts,
                    last_error=r.last_error,
                    requested_at=r.requested_at,
                )
                for r in p.refunds
            ],
            entries=[
                PaymentEntryOut(
                    kind=e.kind.value,
                    key=e.key,
                    **amount("amount", e.amount),
                    at=e.at,
                    recorded_at=e.recorded_at,
                    note=e.note,
                )
                for e in p.entries
            ],
        )


@router.post("/orders/{order_id}/payment", tags=["payments"])
def start_payment(
    actor: CurrentActor,
    order_id: str,
    request: Request,
    start: Annotated[StartPaymentHandler, Depends(resolve(StartPaymentHandler))],
    body: PaymentStartIn | None = None,
    idempotency_key: Annotated[
        str, Header(max_length=64, description="the same key names the same payment")
    ] = "",
) -> PaymentIntentOut:
    """Ask the channel's provider to take the order's total. Asking again with the same
    channel and ``Idempotency-Key`` answers the same payment, so a timed-out request is
    safe to send again."""
    body = body or PaymentStartIn()
    command = StartPayment(
        OrderId(order_id),
        channel=body.channel,
        idempotency_key=idempotency_key,
        payer_id=body.payer_id,
        client_ip=request.client.host if request.client else None,
    )
    return PaymentIntentOut.of(start(command, actor=actor))


@router.get("/payments", tags=["payments"])
def list_payments(
    actor: CurrentActor,
    listing: Annotated[ListPaymentsHandler, Depends(resolve(ListPaymentsHandler))],
    order_id: str | None = None,
    status: PaymentStatus | None = None,
    provider: str | None = None,
    flagged: bool = False,
    limit: Annotated[int, Field(ge=1, le=500)] = 100,
) -> list[PaymentOut]:
    """Payments, newest first; ``flagged`` lists those an operator must look at."""
    query = PaymentQuery(
        order_id=None if order_id is None else OrderId(order_id),
        status=status,
        provider=provider,
        flagged=flagged,
        limit=limit,
    )
    return [PaymentOut.of(p) for p in listing(ListPayments(query), actor=actor)]


@router.get("/payments/{payment_id}", tags=["payments"])
def get_payment(
    actor: CurrentActor,
    payment_id: str,
    get: Annotated[GetPaymentHandler, Depends(resolve(GetPaymentHandler))],
) -> PaymentOut:
    """A payment with its amounts, its refunds and its log."""
    return PaymentOut.of(get(PaymentId(payment_id), actor=actor))


class ClearFlagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: StrictStr = Field(min_length=1, max_length=200, description="how it was dealt with")


@router.post("/payments/{payment_id}/clear-flag", tags=["payments"])
def clear_payment_flag(
    actor: CurrentActor,
    payment_id: str,
    body: ClearFlagIn,
    clear: Annotated[ClearPaymentFlagHandler, Depends(resolve(ClearPaymentFlagHandler))],
) -> PaymentOut:
    """Record that a flagged payment was dealt with (platform operators); the log keeps
    the flag and the note."""
    return PaymentOut.of(clear(ClearPaymentFlag(PaymentId(payment_id), body.note), actor=actor))


Provider = Literal["wechat", "alipay", "stripe", "sandbox"]


@router.post(
    "/payments/{provider}/notify",
    tags=["payments"],
    responses={200: {"description": "accepted, in the provider's own form"}},
)
async def payment_notification(
    provider: Provider,
    request: Request,
    confirm: Annotated[ConfirmPaymentHandler, Depends(resolve(ConfirmPaymentHandler))],
) -> Response:
    """A provider's notification, sent as the provider sends it. Its signature
    authenticates it; no token. The answer is the one each provider expects: WeChat Pay
    an empty 200 (or a ``{"code": "FAIL"}`` error), Alipay the text ``success`` (or
    ``fail``), Stripe and the sandbox JSON (problem+json when refused). A notification
    that cannot be applied (a mismatch flagged for an operator) is acknowledged, so the
    provider stops repeating it."""
    try:
        body = await body_within(
            request, MAX_NOTIFICATION_BYTES, PaymentNotificationInvalid, "a notification"
        )
        done = await run_in_threadpool(
            confirm, ConfirmPayment(provider, body, dict(request.headers))
        )
    except PaymentProviderNotFound:
        raise
    except ShequError as e:
        log.warning("%s notification refused (%s): %s", provider, e.code, e)
        if provider == "alipay":
            return Response("fail", status_code=status_for(e), media_type="text/plain")
        if provider == "wechat":
            failure = {"code": "FAIL", "message": f"{e.code}: {e}"[:200]}
            return Response(json.dumps(failure), status_code=status_for(e), media_type=_JSON)
        raise  # problem+json
    if provider == "alipay":
        return Response("success", media_type="text/plain")
    if provider == "wechat":
        return Response(status_code=200)
    answer = {"outcome": done.outcome.value, "payment_id": done.payment.id}
    if done.order is not None:
        answer["order_id"] = done.order.id
    return Response(json.dumps(answer), media_type=_JSON)


_JSON = "application/json"
