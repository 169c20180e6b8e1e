"""Merchants' promotions (商家优惠): a local merchant publishes an offer to its
communities; residents buy it as an order (fulfilment ``voucher``) through the ordering
flow, get one voucher a unit when the payment arrives, and show its code at the
merchant, who redeems it (到店核销). Unused vouchers are refunded whenever the resident
asks (随时退) and when they expire (过期退).

Each promotion is sold as a SKU of the merchant's seller (one seller a merchant, made
with its first promotion, of the same id), so stock, checkout, payment and refunds are
those of every order. Vouchers are issued in the transaction that records the payment.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections import Counter
from collections.abc import Sequence

import attrs

from shequ.application.payments.refunds import RefundPayer
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, OrderQuery, UnitOfWork
from shequ.application.retry import retry_on_conflict
from shequ.domain.auth import Throttle
from shequ.domain.catalog import Product, Seller, SellerKind, Sku
from shequ.domain.errors import IllegalTransition, InvalidInput, VoucherCodeInvalid
from shequ.domain.ids import (
    AccountId,
    CommunityId,
    OrderId,
    ProductId,
    PromotionId,
    ProviderId,
    RefundId,
    SellerId,
    SkuId,
    VoucherId,
    new_id,
)
from shequ.domain.money import Money
from shequ.domain.ordering import Fulfilment, Order, OrderStatus, Refund
from shequ.domain.promotions import Promotion, PromotionKind, Voucher, VoucherStatus

__all__ = [
    "ExpireVouchers",
    "ExpireVouchersHandler",
    "ListPromotions",
    "ListPromotionsHandler",
    "MyVouchers",
    "MyVouchersHandler",
    "PublishPromotion",
    "PublishPromotionHandler",
    "RedeemVoucher",
    "RedeemVoucherHandler",
    "RefundVouchers",
    "RefundVouchersHandler",
    "WithdrawPromotion",
    "WithdrawPromotionHandler",
    "check_voucher_order",
    "issue_vouchers",
]

CODE_DIGITS = 10
_CATEGORY = "本地生活/{label}"
_LIVE = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.COMPLETED})


def _code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


# ---------------------------------------------------------------- the ordering flow's hooks


def check_voucher_order(
    uow: UnitOfWork,
    resident_id: AccountId,
    community_id: CommunityId,
    fulfilment: Fulfilment,
    units: dict[SkuId, int],
    now: dt.datetime,
) -> None:
    """At checkout: vouchers are ordered on their own (fulfilment ``voucher``), on sale in
    the resident's community, within what a resident may buy. Locks each promotion's row,
    so a resident's orders of it are counted one at a time."""
    promotions = uow.promotions.for_skus(units)
    if fulfilment is not Fulfilment.VOUCHER:
        if promotions:
            raise InvalidInput(
                "vouchers are ordered on their own, with the fulfilment voucher",
                field="fulfilment",
            )
        return
    if set(promotions) != set(units):
        raise InvalidInput("a voucher order holds merchants' promotions only", field="items")
    for sku_id in sorted(units):
        promotion = uow.promotions.get_for_update(promotions[sku_id].id)
        promotion.check_sale(community_id, now)
        bought = _bought(uow, resident_id, promotion)
        if bought + units[sku_id] > promotion.per_resident:
            raise InvalidInput(
                f"{promotion.title}: at most {promotion.per_resident} a resident "
                f"({bought} bought already)",
                field="items",
            )


def _bought(uow: UnitOfWork, resident_id: AccountId, promotion: Promotion) -> int:
    """Units of the promotion in the resident's orders that are waiting for payment, paid
    or done, less those refunded."""
    seller_id = SellerId(promotion.provider_id)
    total = 0
    after = None
    while True:
        page = uow.orders.search(
            OrderQuery(resident_id=resident_id, seller_id=seller_id, after=after, limit=200)
        )
        for order in page:
            if order.status in _LIVE:
                for line in order.lines:
                    if line.sku_id == promotion.sku_id:
                        total += line.quantity - line.refunded_quantity
        if len(page) < 200:
            return total
        after = (page[-1].placed_at, page[-1].id)


def issue_vouchers(uow: UnitOfWork, order: Order, now: dt.datetime) -> list[Voucher]:
    """The payment of a voucher order arrived: one voucher a unit, each with a code
    unique at its merchant."""
    if order.delivery.kind is not Fulfilment.VOUCHER or uow.vouchers.of_order(order.id):
        return []
    promotions = uow.promotions.for_skus(line.sku_id for line in order.lines)
    issued = []
    for line in order.lines:
        promotion = promotions[line.sku_id]
        for _ in range(line.quantity):
            code = _code()
            while uow.vouchers.find_code(promotion.provider_id, code) is not None:
                code = _code()
            voucher = Voucher.issue(
                id=VoucherId(new_id()),
                promotion=promotion,
                order_id=order.id,
                resident_id=order.resident_id,
                code=code,
                now=now,
            )
            uow.vouchers.add(voucher)
            issued.append(voucher)
    return issued


def _settle_order(
    uow: UnitOfWork, order: Order, vouchers: Sequence[Voucher], now: dt.datetime
) -> Refund | None:
    """Refund the vouchers given back (the refund, to pay out once committed) and close
    the order once none is valid."""
    back = [v for v in vouchers if v.status in (VoucherStatus.REFUNDED, VoucherStatus.EXPIRED)]
    counted = Counter(v.sku_id for v in back)
    for line in order.lines:
        counted[line.sku_id] -= line.refunded_quantity
    due = {sku: n for sku, n in counted.items() if n > 0}
    refund = None
    if due:
        refund = order.refund_vouchers(
            RefundId(new_id()), due, now=now, note="vouchers refunded unused"
        )
        uow.refunds.add(refund)
        if refund.restocked:
            uow.skus.return_stock({item.sku_id: item.quantity for item in refund.items})
    if all(v.status is not VoucherStatus.VALID for v in vouchers):
        redeemed = sum(v.status is VoucherStatus.REDEEMED for v in vouchers)
        order.vouchers_settled(redeemed=redeemed, now=now)
    return refund


# ---------------------------------------------------------------- merchants


@attrs.frozen
class PublishPromotion:
    """An offer of a local merchant to some of its communities (all of them when none is
    given). Times are timezone-aware; ``value`` is what it is worth at the merchant."""

    provider_id: ProviderId
    kind: PromotionKind
    title: str
    terms: str
    price: Money
    quantity: int
    sale_ends_at: dt.datetime
    use_until: dt.datetime
    value: Money | None = None
    description: str = ""
    per_resident: int = 1
    sale_starts_at: dt.datetime | None = None  # default: now
    community_ids: tuple[CommunityId, ...] = ()
    photos: tuple[str, ...] = ()


class PublishPromotionHandler:
    """The merchant (its staff) or its communities' operators publish it; it is on sale
    from ``sale_starts_at`` as a SKU in the catalog of each community it targets."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: PublishPromotion, *, actor: Actor) -> Promotion:
        now = self._clock.now()
        with self._uow as uow:
            provider = uow.providers.get(cmd.provider_id)
            self._policy.require(actor, Permission.MANAGE_SERVICES, provider=provider)
            communities = cmd.community_ids or provider.community_ids
            strangers = set(communities) - set(provider.community_ids)
            if strangers:
                raise InvalidInput(
                    f"{provider.name} does not serve {', '.join(sorted(strangers))}",
                    field="community_ids",
                )
            kind = PromotionKind(cmd.kind)
            sku_id, product_id = SkuId(new_id()), ProductId(new_id())
            promotion = Promotion.publish(
                id=PromotionId(new_id()),
                provider_id=provider.id,
                community_ids=communities,
                kind=kind,
                title=cmd.title,
                description=cmd.description,
                terms=cmd.terms,
                price=cmd.price,
                value=cmd.value,
                quantity=cmd.quantity,
                per_resident=cmd.per_resident,
                sale_starts_at=cmd.sale_starts_at or now,
                sale_ends_at=cmd.sale_ends_at,
                use_until=cmd.use_until,
                sku_id=sku_id,
                photo_urls=cmd.photos,
                now=now,
            )
            seller_id = SellerId(provider.id)
            if uow.sellers.find(seller_id) is None:
                uow.sellers.add(
                    Seller(
                        id=seller_id,
                        name=provider.name,
                        kind=SellerKind.MERCHANT,
                        created_at=now,
                        community_id=provider.community_ids[0],
                    )
                )
            uow.products.add(
                Product.create(
                    id=product_id,
                    seller_id=seller_id,
                    name=promotion.title,
                    category=_CATEGORY.format(label=kind.label),
                    description=promotion.description,
                    now=now,
                )
            )
            uow.skus.add(
                Sku.create(
                    id=sku_id,
                    product_id=product_id,
                    spec=kind.label,
                    price=promotion.price,
                    list_price=promotion.value,
                    stock=promotion.quantity,
                    on_sale=True,
                    community_ids=promotion.community_ids,
                    now=now,
                )
            )
            uow.promotions.add(promotion)
            uow.commit()
        return promotion


@attrs.frozen
class WithdrawPromotion:
    promotion_id: PromotionId


class WithdrawPromotionHandler:
    """Off sale for good; vouchers sold stay valid until they expire."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: WithdrawPromotion, *, actor: Actor) -> Promotion:
        def attempt() -> Promotion:
            now = self._clock.now()
            with self._uow as uow:
                promotion = uow.promotions.get_for_update(cmd.promotion_id)
                provider = uow.providers.get(promotion.provider_id)
                self._policy.require(actor, Permission.MANAGE_SERVICES, provider=provider)
                promotion.withdraw(now=now)
                uow.skus.get_for_update(promotion.sku_id).take_off_sale(now=now)
                uow.commit()
            return promotion

        return retry_on_conflict(attempt)


@attrs.frozen
class ListPromotions:
    """What is on sale in a community now (``community_id``), or every promotion of a
    merchant (``provider_id``)."""

    community_id: CommunityId | None = None
    provider_id: ProviderId | None = None


class ListPromotionsHandler:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, query: ListPromotions, *, actor: Actor) -> list[Promotion]:
        self._policy.require(actor, Permission.BROWSE)
        if (query.community_id is None) == (query.provider_id is None):
            raise InvalidInput(
                "ask for a community's promotions or a merchant's", field="community_id"
            )
        with self._uow as uow:
            if query.community_id is not None:
                return uow.promotions.in_community(query.community_id, self._clock.now())
            uow.providers.get(query.provider_id or ProviderId(""))
            return uow.promotions.of_provider(query.provider_id or ProviderId(""))


# ---------------------------------------------------------------- vouchers


@attrs.frozen
class RedeemVoucher:
    """The code a resident shows at the merchant."""

    provider_id: ProviderId
    code: str


class RedeemVoucherHandler:
    """The merchant's staff redeem a voucher of theirs (核销); when it was its order's last
    valid one, the order completes. Wrong codes count against the merchant: five in 15
    minutes lock its redemption for a while (``rate-limited``)."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy

    def __call__(self, cmd: RedeemVoucher, *, actor: Actor) -> Voucher:
        code = cmd.code.strip() if isinstance(cmd.code, str) else ""

        def attempt() -> Voucher:
            now = self._clock.now()
            with self._uow as uow:
                provider = uow.providers.get(cmd.provider_id)
                self._policy.require(actor, Permission.MANAGE_SERVICES, provider=provider)
                key = f"voucher:{provider.id}"
                throttle = uow.throttles.find(key)
                if throttle is None:
                    throttle = Throttle(id=key, window_started_at=now)
                    uow.throttles.add(throttle)
                throttle.check(now)
                found = uow.vouchers.find_code(provider.id, code) if code.isdigit() else None
                if found is None:
                    throttle.failed(now)
                    uow.commit()  # the failure counts even though the call fails
                    raise VoucherCodeInvalid("no voucher of this merchant has that code")
                order = uow.orders.get_for_update(found.order_id)  # its order, then the voucher
                voucher = uow.vouchers.get_for_update(found.id)
                voucher.redeem(by=actor.account_id, now=now)
                throttle.succeeded()
                _settle_order(uow, order, uow.vouchers.of_order(order.id), now)
                uow.commit()
            return voucher

        return retry_on_conflict(attempt)


@attrs.frozen
class MyVouchers:
    resident_id: AccountId


class MyVouchersHandler:
    """A resident's vouchers with their codes, newest first (theirs alone)."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self._uow, self._policy = uow, policy

    def __call__(self, query: MyVouchers, *, actor: Actor) -> list[Voucher]:
        if actor.account_id != query.resident_id:  # not even an admin reads the codes
            self._policy.require(actor, Permission.CONSOLE)
        with self._uow as uow:
            return uow.vouchers.of_resident(query.resident_id)


@attrs.frozen
class RefundVouchers:
    """Give back ``count`` valid vouchers of an order (all of them when ``None``)."""

    order_id: OrderId
    count: int | None = None


class RefundVouchersHandler:
    """The resident refunds unused vouchers whenever they like (随时退): their share of
    the payment comes back, approved at once and paid out; with none left valid the order
    completes (or is cancelled when none was ever redeemed). Returns the vouchers
    refunded."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, payer: RefundPayer) -> None:
        self._uow, self._clock, self._policy, self._payer = uow, clock, policy, payer

    def __call__(self, cmd: RefundVouchers, *, actor: Actor) -> list[Voucher]:
        if cmd.count is not None and (type(cmd.count) is not int or cmd.count < 1):
            raise InvalidInput("refund one voucher at least", field="count")

        def attempt() -> tuple[list[Voucher], Refund | None]:
            now = self._clock.now()
            with self._uow as uow:
                order = uow.orders.get_for_update(cmd.order_id)
                self._policy.require(actor, Permission.OWN_ORDER, owner=order.resident_id)
                every = _locked_vouchers(uow, order.id)
                valid = [v for v in every if v.status is VoucherStatus.VALID]
                if not valid:
                    raise IllegalTransition(
                        f"order {order.id} has no unused vouchers",
                        status=order.status.value,
                        action="refund",
                    )
                count = len(valid) if cmd.count is None else cmd.count
                if count > len(valid):
                    raise InvalidInput(
                        f"order {order.id} has {len(valid)} unused voucher(s)", field="count"
                    )
                back = valid[:count]
                for voucher in back:
                    voucher.refund(now=now)
                refund = _settle_order(uow, order, every, now)
                uow.commit()
            return back, refund

        back, refund = retry_on_conflict(attempt)
        if refund is not None:
            self._payer.pay_out(refund.id)
        return back


def _locked_vouchers(uow: UnitOfWork, order_id: OrderId) -> list[Voucher]:
    return [uow.vouchers.get_for_update(v.id) for v in uow.vouchers.of_order(order_id)]


@attrs.frozen
class ExpireVouchers:
    limit: int = 500


class ExpireVouchersHandler:
    """For a scheduler: vouchers past their use period expire and are refunded (过期退),
    order by order, each refund paid out. Returns how many expired."""

    def __init__(self, uow: UnitOfWork, clock: Clock, policy: Policy, payer: RefundPayer) -> None:
        self._uow, self._clock, self._policy, self._payer = uow, clock, policy, payer

    def __call__(self, cmd: ExpireVouchers, *, actor: Actor) -> int:
        self._policy.require(actor, Permission.MANAGE_PAYMENTS)
        if type(cmd.limit) is not int or not 1 <= cmd.limit <= 10_000:
            raise InvalidInput("expire 1 to 10,000 vouchers at a time", field="limit")
        now = self._clock.now()
        with self._uow as uow:
            due = uow.vouchers.to_expire(now, cmd.limit)
        expired = 0
        for order_id in dict.fromkeys(v.order_id for v in due):
            count, refund = retry_on_conflict(functools.partial(self._expire, order_id, now))
            if refund is not None:
                self._payer.pay_out(refund.id)
            expired += count
        return expired

    def _expire(self, order_id: OrderId, now: dt.datetime) -> tuple[int, Refund | None]:
        with self._uow as uow:
            order = uow.orders.get_for_update(order_id)
            every = _locked_vouchers(uow, order.id)
            due = [v for v in every if v.status is VoucherStatus.VALID and v.expires_at <= now]
            for voucher in due:
                voucher.expire(now=now)
            refund = _settle_order(uow, order, every, now)
            uow.commit()
        return len(due), refund
