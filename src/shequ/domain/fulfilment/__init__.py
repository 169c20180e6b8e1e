"""Fulfilment: pickup points (自提点) with their pickup codes (核销码), and deliveries (配送)."""

from shequ.domain.fulfilment.pickup import (
    CODE_DIGITS,
    WEEKDAYS,
    Hours,
    OpeningHours,
    OrderArrivedAtPickupPoint,
    OrderPickedUp,
    PickupCodeIssued,
    PickupOverdue,
    PickupPoint,
    PickupPointCapacityReached,
    PickupTicket,
    PointKind,
    PointStatus,
    TicketStatus,
)

__all__ = [
    "CODE_DIGITS",
    "WEEKDAYS",
    "Hours",
    "OpeningHours",
    "OrderArrivedAtPickupPoint",
    "OrderPickedUp",
    "PickupCodeIssued",
    "PickupOverdue",
    "PickupPoint",
    "PickupPointCapacityReached",
    "PickupTicket",
    "PointKind",
    "PointStatus",
    "TicketStatus",
]
