"""A resident's delivery addresses: only their owner adds, reads or removes them."""

from __future__ import annotations

import attrs

from shequ.application.audit import audit
from shequ.application.identity.privacy import own_account_id
from shequ.application.policy import Actor
from shequ.application.ports import Clock, UnitOfWork
from shequ.domain.errors import InvalidInput, NotFound
from shequ.domain.identity import Address
from shequ.domain.ids import AccountId, CommunityId, new_id

__all__ = [
    "AddAddress",
    "AddAddressHandler",
    "ListMyAddressesHandler",
    "RemoveAddressHandler",
    "owned_address",
]

MAX_ADDRESSES = 20


def owned_address(uow: UnitOfWork, owner: AccountId, address_id: str) -> Address:
    """``owner``'s address with that id; anyone else's, or a removed one, does not exist
    for them (:class:`NotFound`), so an id tells nothing."""
    address = uow.addresses.find(address_id)
    if address is None or address.account_id != owner or address.removed:
        raise NotFound(f"you have no address with id {address_id!r}", id=address_id)
    return address


@attrs.frozen
class AddAddress:
    recipient: str = attrs.field(repr=False)
    phone: str = attrs.field(repr=False)
    detail: str = attrs.field(repr=False)
    label: str = ""
    community_id: CommunityId | None = None


class AddAddressHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    def __call__(self, cmd: AddAddress, *, actor: Actor) -> Address:
        owner, now = own_account_id(actor), self._clock.now()
        address = Address.create(
            id=new_id(),
            account_id=owner,
            recipient=cmd.recipient,
            phone=cmd.phone,
            detail=cmd.detail,
            label=cmd.label,
            community_id=cmd.community_id,
            now=now,
        )
        with self._uow as uow:
            if cmd.community_id is not None:
                uow.communities.get(cmd.community_id)
            if len(uow.addresses.of_account(owner)) >= MAX_ADDRESSES:
                raise InvalidInput(f"an account keeps at most {MAX_ADDRESSES} addresses")
            uow.addresses.add(address)
            audit(uow, actor, "address.added", f"account:{owner}", now, address_id=address.id)
            uow.commit()
        return address


class ListMyAddressesHandler:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def __call__(self, *, actor: Actor) -> list[Address]:
        with self._uow as uow:
            return uow.addresses.of_account(own_account_id(actor))


class RemoveAddressHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    def __call__(self, address_id: str, *, actor: Actor) -> None:
        owner = own_account_id(actor)
        with self._uow as uow:
            try:
                address = owned_address(uow, owner, address_id)
            except NotFound:
                raise NotFound("no such address") from None
            address.remove()
            audit(
                uow,
                actor,
                "address.removed",
                f"account:{owner}",
                self._clock.now(),
                address_id=address_id,
            )
            uow.commit()
