"""``shequ delivery``: handing packed orders to couriers, assigning our own riders,
tracking deliveries, and playing the sandbox courier. Slots and route planning are in
:mod:`shequ.entrypoints.cli.delivery_days`."""

from __future__ import annotations

from typing import Any, Protocol, cast

import click

from shequ.application.fulfilment.delivery import (
    ApplyCourierCallback,
    ApplyCourierCallbackHandler,
    Couriers,
    DispatchDelivery,
    DispatchDeliveryHandler,
    DispatchWaiting,
    DispatchWaitingHandler,
    TrackDelivery,
    TrackDeliveryHandler,
)
from shequ.application.fulfilment.riders import AssignRider, AssignRiderHandler
from shequ.application.policy import CONSOLE
from shequ.domain.errors import AdapterError, NotFound
from shequ.domain.fulfilment.delivery import TEAM, DeliveryStatus, Shipment
from shequ.domain.ids import AccountId, OrderId
from shequ.domain.money import Money
from shequ.entrypoints.cli.main import emit_data, get, json_option, table

__all__ = ["delivery", "shipment_data"]

# what a courier reports after it took a delivery
REPORTED = (
    DeliveryStatus.PICKED_UP,
    DeliveryStatus.OUT_FOR_DELIVERY,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.RETURNED,
)


@click.group()
def delivery() -> None:
    """Home delivery (配送): slots, dispatching to couriers and our own riders, tracking,
    the day's route plan, the sandbox courier."""


def shipment_data(s: Shipment) -> dict[str, Any]:
    return {
        "order_id": s.id,
        "community_id": s.community_id,
        "status": s.status.value,
        "courier": s.courier,
        "courier_ref": s.courier_ref,
        "fee_fen": s.fee_fen,
        "express": s.express,
        "cold_chain": s.cold_chain,
        "window_start": s.window_start.isoformat(),
        "window_end": s.window_end.isoformat(),
        "created_at": s.created_at.isoformat(),
        "pending_reason": s.pending_reason,
        "attempts": s.attempts,
        "proof": s.proof,
        "slot_id": s.slot_id,
        "rider_id": s.rider_id,
        "rider_accepted_at": None
        if s.rider_accepted_at is None
        else s.rider_accepted_at.isoformat(),
        "timeline": [
            {"at": e.at.isoformat(), "status": e.status.value, "note": e.note, "source": e.source}
            for e in s.timeline
        ],
    }


def _line(s: Shipment) -> str:
    if s.courier is None:
        why = f": {s.pending_reason}" if s.pending_reason else ""
        return f"order {s.id}: no courier has it yet{why}"
    fee = Money(s.fee_fen).format()
    line = (
        f"order {s.id}: {s.status.value.replace('_', ' ')} with {s.courier} {s.courier_ref} ({fee})"
    )
    if s.courier == TEAM:
        line += f", rider {s.rider_id}" if s.rider_id else ", in the team's queue"
    return line


@delivery.command("dispatch")
@click.argument("order_id", required=False)
@click.option("--waiting", is_flag=True, help="try again every delivery no courier has taken")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@json_option
@click.pass_context
def dispatch(
    ctx: click.Context, order_id: str | None, waiting: bool, limit: int, as_json: bool
) -> None:
    """Give a packed home-delivery order to the first courier that takes it.

    With --waiting (a scheduler's job), offer again every delivery nobody took yet.
    """
    if waiting == (order_id is not None):
        raise click.UsageError("give an ORDER_ID or --waiting, not both")
    if order_id is not None:
        shipment = get(ctx, DispatchDeliveryHandler)(
            DispatchDelivery(OrderId(order_id)), actor=CONSOLE
        )
        if as_json:
            emit_data(shipment_data(shipment))
        else:
            click.echo(_line(shipment))
        return
    shipments = get(ctx, DispatchWaitingHandler)(DispatchWaiting(limit), actor=CONSOLE)
    if as_json:
        emit_data([shipment_data(s) for s in shipments])
        return
    for s in shipments:
        click.echo(_line(s))
    taken = sum(s.courier is not None for s in shipments)
    click.echo(f"{taken} of {len(shipments)} waiting delivery(ies) taken by a courier")


@delivery.command("assign")
@click.argument("order_id")
@click.option("--rider", help="The rider's account id.")
@click.option("--queue", is_flag=True, help="Back to the team's queue, for any rider.")
@json_option
@click.pass_context
def assign(
    ctx: click.Context, order_id: str, rider: str | None, queue: bool, as_json: bool
) -> None:
    """Give our own team's delivery to one of the community's riders (until picked up)."""
    if queue == (rider is not None):
        raise click.UsageError("give --rider ACCOUNT_ID or --queue")
    shipment = get(ctx, AssignRiderHandler)(
        AssignRider(OrderId(order_id), AccountId(rider) if rider else None), actor=CONSOLE
    )
    if as_json:
        emit_data(shipment_data(shipment))
    else:
        click.echo(_line(shipment))


@delivery.command("track")
@click.argument("order_id")
@json_option
@click.pass_context
def track(ctx: click.Context, order_id: str, as_json: bool) -> None:
    """An order's delivery and its timeline."""
    shipment = get(ctx, TrackDeliveryHandler)(TrackDelivery(OrderId(order_id)), actor=CONSOLE)
    if as_json:
        emit_data(shipment_data(shipment))
        return
    click.echo(_line(shipment))
    if shipment.proof:
        click.echo(f"proof: {shipment.proof}")
    table(
        ["at", "status", "source", "note"],
        [[e.at.isoformat(), e.status.value, e.source, e.note] for e in shipment.timeline],
    )


class _SandboxCourier(Protocol):
    def advance(
        self, courier_ref: str, status: DeliveryStatus, note: str = "", proof: str = ""
    ) -> tuple[bytes, dict[str, str]]: ...


@delivery.command("simulate")
@click.argument("order_id")
@click.argument("status", metavar="STATUS", type=click.Choice([s.value for s in REPORTED]))
@click.option("--note", default="", help="the rider's note (a failure needs one)")
@click.option("--proof", default="", help="delivered: the proof (a signature, a photo's URI)")
@json_option
@click.pass_context
def simulate(
    ctx: click.Context, order_id: str, status: str, note: str, proof: str, as_json: bool
) -> None:
    """Play the sandbox courier's rider reporting STATUS for an order's delivery.

    The sandbox's signed callback is then received as it would be over HTTP.
    """
    shipment = get(ctx, TrackDeliveryHandler)(TrackDelivery(OrderId(order_id)), actor=CONSOLE)
    rider = _sandbox(get(ctx, Couriers))
    if shipment.courier != "sandbox" or shipment.courier_ref is None:
        raise NotFound(
            f"order {order_id} is not with the sandbox courier "
            f"({shipment.courier or 'no courier has it yet'})",
            order_id=order_id,
        )
    body, headers = rider.advance(shipment.courier_ref, DeliveryStatus(status), note, proof)
    done = get(ctx, ApplyCourierCallbackHandler)(ApplyCourierCallback("sandbox", headers, body))
    if as_json:
        emit_data(shipment_data(done))
    else:
        click.echo(_line(done))


def _sandbox(couriers: Couriers) -> _SandboxCourier:
    found = next((c for c in couriers.in_order if c.name == "sandbox"), None)
    if found is None:
        raise AdapterError(
            "delivery simulate needs the sandbox courier (SHEQU_COURIERS=sandbox); this "
            f"installation uses {', '.join(c.name for c in couriers.in_order) or 'none'}"
        )
    inner = getattr(found, "wrapped", found)  # the retrying wrapper around it
    return cast(_SandboxCourier, inner)
