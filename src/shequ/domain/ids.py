"""Typed identifiers. Ids are opaque strings: 32 hex digits of a random UUID."""

from __future__ import annotations

import uuid
from typing import NewType

__all__ = ["CommunityId", "ProductId", "SellerId", "SkuId", "new_id"]

CommunityId = NewType("CommunityId", str)
SellerId = NewType("SellerId", str)
ProductId = NewType("ProductId", str)
SkuId = NewType("SkuId", str)


def new_id() -> str:
    return uuid.uuid4().hex
