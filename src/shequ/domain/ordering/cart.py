"""The cart: one per resident per community, a list of SKUs and quantities.

The cart keeps what the resident put in, whatever becomes of the SKU; the cart view
flags lines that went off sale or out of stock instead of dropping them.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs

from shequ.domain.errors import InvalidInput, NotFound
from shequ.domain.ids import AccountId, CartId, CommunityId, SkuId
from shequ.domain.ordering.pricing import check_quantity

__all__ = ["MAX_CART_LINES", "Cart", "CartLine"]

MAX_CART_LINES: Final = 100


@attrs.define(slots=False, eq=False)
class CartLine:
    sku_id: SkuId
    quantity: int
    added_at: dt.datetime


@attrs.define(slots=False, eq=False)
class Cart:
    id: CartId
    resident_id: AccountId
    community_id: CommunityId
    updated_at: dt.datetime
    lines: list[CartLine] = attrs.Factory(list)
    version: int = 1

    def quantity_of(self, sku_id: SkuId) -> int:
        return next((line.quantity for line in self.lines if line.sku_id == sku_id), 0)

    def add(self, sku_id: SkuId, quantity: int, *, now: dt.datetime) -> None:
        """Put ``quantity`` more units in; a SKU already there gets its quantity raised."""
        check_quantity(quantity)
        held = self.quantity_of(sku_id)
        if held:
            self.set_quantity(sku_id, held + quantity, now=now)
            return
        if len(self.lines) >= MAX_CART_LINES:
            raise InvalidInput(f"a cart holds at most {MAX_CART_LINES} SKUs", field="sku_id")
        self.lines.append(CartLine(sku_id=sku_id, quantity=quantity, added_at=now))
        self._touch(now)

    def set_quantity(self, sku_id: SkuId, quantity: int, *, now: dt.datetime) -> None:
        check_quantity(quantity)
        line = self._line(sku_id)
        if line.quantity != quantity:
            line.quantity = quantity
            self._touch(now)

    def remove(self, sku_id: SkuId, *, now: dt.datetime) -> None:
        line = self._line(sku_id)
        self.lines = [other for other in self.lines if other is not line]
        self._touch(now)

    def take_out(self, sku_ids: set[SkuId], *, now: dt.datetime) -> None:
        """Remove the lines that were just ordered (if they are there)."""
        kept = [line for line in self.lines if line.sku_id not in sku_ids]
        if len(kept) != len(self.lines):
            self.lines = kept
            self._touch(now)

    def _line(self, sku_id: SkuId) -> CartLine:
        for line in self.lines:
            if line.sku_id == sku_id:
                return line
        raise NotFound(f"SKU {sku_id} is not in the cart", sku_id=sku_id)

    def _touch(self, now: dt.datetime) -> None:
        self.updated_at = now
        self.version += 1
