from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequ import (
    KEEP,
    FreshFacts,
    Media,
    Money,
    Product,
    ProductCreated,
    ProductEdited,
    ProductId,
    SellerId,
    Sku,
    SkuAdded,
    SkuId,
    SkuListed,
    SkuPriceChanged,
    StockAdjusted,
    StockReason,
    StorageMethod,
)
from shequ.domain.catalog import MAX_STOCK, Seller, SellerKind, normalise_category
from shequ.domain.ids import CommunityId
from shequ.errors import InsufficientStock, InvalidAmount, InvalidInput

NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)


def a_product(**changes: object) -> Product:
    fields: dict[str, object] = {
        "id": ProductId("p1"),
        "seller_id": SellerId("s1"),
        "name": "赣南脐橙",
        "category": "生鲜/水果",
        "now": NOW,
    }
    fields.update(changes)
    return Product.create(**fields)  # type: ignore[arg-type]


def a_sku(price: str = "29.90", stock: int = 10, **changes: object) -> Sku:
    fields: dict[str, object] = {
        "id": SkuId("k1"),
        "product_id": ProductId("p1"),
        "spec": "5斤/箱",
        "price": Money.parse(price),
        "stock": stock,
        "now": NOW,
    }
    fields.update(changes)
    return Sku.create(**fields)  # type: ignore[arg-type]


def test_a_new_product_records_that_it_was_created() -> None:
    product = a_product(name="  赣南脐橙 ", category=" 生鲜 / 水果 ")
    assert (product.name, product.category, product.version) == ("赣南脐橙", "生鲜/水果", 1)
    assert product.events == [
        ProductCreated(
            occurred_at=NOW,
            product_id=ProductId("p1"),
            seller_id=SellerId("s1"),
            name="赣南脐橙",
            category="生鲜/水果",
        )
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "   "),
        ("name", "x" * 121),
        ("category", "生鲜//水果"),
        ("category", "a/b/c/d"),
        ("category", ""),
        ("brand", "b" * 61),
        ("name", "bad\x00name"),
    ],
)
def test_a_product_refuses_bad_text(field: str, value: str) -> None:
    with pytest.raises(InvalidInput):
        a_product(**{field: value})


def test_editing_changes_only_what_differs_and_says_what() -> None:
    product = a_product()
    product.events.clear()
    changed = product.edit(now=LATER, name="赣南脐橙", origin="江西赣州", brand=KEEP)
    assert changed == ("origin",)
    assert (product.origin, product.updated_at, product.version) == ("江西赣州", LATER, 2)
    assert product.events == [
        ProductEdited(occurred_at=LATER, product_id=ProductId("p1"), fields=("origin",))
    ]


def test_an_edit_that_changes_nothing_records_nothing() -> None:
    product = a_product(origin="江西")
    product.events.clear()
    assert product.edit(now=LATER, origin="江西", name=KEEP) == ()
    assert (product.events, product.version, product.updated_at) == ([], 1, NOW)


def test_a_failed_edit_leaves_the_product_as_it_was() -> None:
    product = a_product()
    with pytest.raises(InvalidInput):
        product.edit(now=LATER, origin="江西", name="")
    assert (product.origin, product.version) == ("", 1)


def test_media_keep_their_order_and_refuse_spaces_in_uris() -> None:
    media = (Media("https://img/2.jpg"), Media("https://img/1.jpg", alt_text="橙子"))
    assert a_product(media=media).media == media
    with pytest.raises(InvalidInput):
        Media("https://img/a b.jpg")
    with pytest.raises(InvalidInput):
        a_product(media=tuple(Media(f"https://img/{i}.jpg") for i in range(21)))


def test_fresh_facts_are_checked() -> None:
    with pytest.raises(InvalidInput):
        FreshFacts(shelf_life_days=0)
    with pytest.raises(InvalidInput):
        FreshFacts(harvested_at=dt.datetime(2026, 11, 1))
    facts = FreshFacts(
        StorageMethod.CHILLED,
        7,
        dt.datetime(2026, 11, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    )
    assert facts.harvested_at == dt.datetime(2026, 11, 1, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("冷藏", StorageMethod.CHILLED),
        ("frozen", StorageMethod.FROZEN),
        ("Ambient", StorageMethod.AMBIENT),
    ],
)
def test_storage_reads_english_or_chinese(text: str, method: StorageMethod) -> None:
    assert StorageMethod.parse(text) is method


def test_unknown_storage_is_refused() -> None:
    with pytest.raises(InvalidInput, match="冷冻"):
        StorageMethod.parse("warm")


def test_categories_are_paths() -> None:
    assert normalise_category("日用品 / 清洁") == "日用品/清洁"


def test_a_merchant_belongs_to_a_community() -> None:
    with pytest.raises(InvalidInput):
        Seller(id=SellerId("s"), name="老王", kind=SellerKind.MERCHANT, created_at=NOW)


def test_a_new_sku_records_its_addition_and_listings() -> None:
    sku = a_sku(community_ids=(CommunityId("c1"), CommunityId("c1"), CommunityId("c2")))
    assert sku.community_ids == {"c1", "c2"}
    assert sku.events == [
        SkuAdded(
            occurred_at=NOW,
            sku_id=SkuId("k1"),
            product_id=ProductId("p1"),
            spec="5斤/箱",
            price=Money(2990),
            stock=10,
        ),
        SkuListed(occurred_at=NOW, sku_id=SkuId("k1"), community_id=CommunityId("c1")),
        SkuListed(occurred_at=NOW, sku_id=SkuId("k1"), community_id=CommunityId("c2")),
    ]


@pytest.mark.parametrize(
    ("price", "list_price"),
    [
        (Money(0), None),
        (Money(-1), None),
        (Money(100_000_001), None),
        (Money(500), Money(499)),
    ],
)
def test_a_sku_refuses_a_bad_price(price: Money, list_price: Money | None) -> None:
    with pytest.raises(InvalidAmount):
        Sku.create(
            id=SkuId("k"),
            product_id=ProductId("p"),
            spec="s",
            price=price,
            list_price=list_price,
            now=NOW,
        )


@pytest.mark.parametrize("stock", [-1, MAX_STOCK + 1])
def test_a_sku_refuses_impossible_stock(stock: int) -> None:
    with pytest.raises(InvalidInput):
        a_sku(stock=stock)


def test_changing_the_price_records_old_and_new() -> None:
    sku = a_sku()
    sku.events.clear()
    sku.change_price(Money(2500), Money(2990), now=LATER)
    assert sku.events == [
        SkuPriceChanged(
            occurred_at=LATER,
            sku_id=SkuId("k1"),
            old_price=Money(2990),
            new_price=Money(2500),
            list_price=Money(2990),
        )
    ]
    assert sku.version == 2
    sku.change_price(Money(2500), Money(2990), now=LATER)
    assert (len(sku.events), sku.version) == (1, 2)


def test_putting_on_sale_twice_is_one_change() -> None:
    sku = a_sku(on_sale=False)
    sku.put_on_sale(now=LATER)
    sku.put_on_sale(now=LATER)
    assert sku.on_sale and sku.version == 2
    sku.take_off_sale(now=LATER)
    assert not sku.on_sale and sku.version == 3


def test_removing_more_than_is_on_hand_is_refused_and_changes_nothing() -> None:
    sku = a_sku(stock=3)
    with pytest.raises(InsufficientStock) as caught:
        sku.adjust_stock(-4, StockReason.DAMAGE, now=LATER)
    assert caught.value.code == "out-of-stock"
    assert (sku.stock, sku.version) == (3, 1)


@pytest.mark.parametrize("delta", [0, MAX_STOCK + 1, -(MAX_STOCK + 1)])
def test_a_stock_change_must_be_a_real_change(delta: int) -> None:
    with pytest.raises(InvalidInput):
        a_sku().adjust_stock(delta, StockReason.RESTOCK, now=LATER)


def test_a_stocktake_records_the_difference() -> None:
    sku = a_sku(stock=10)
    sku.events.clear()
    sku.count_stock(7, now=LATER, note="月底盘点")
    assert sku.stock == 7
    assert sku.events == [
        StockAdjusted(
            occurred_at=LATER,
            sku_id=SkuId("k1"),
            delta=-3,
            stock=7,
            reason=StockReason.STOCKTAKE,
            note="月底盘点",
        )
    ]


@given(initial=st.integers(0, 100), deltas=st.lists(st.integers(-60, 60), max_size=40))
def test_stock_never_goes_negative_and_events_add_up(initial: int, deltas: list[int]) -> None:
    sku = a_sku(stock=initial)
    sku.events.clear()
    for delta in deltas:
        try:
            sku.adjust_stock(delta, StockReason.CORRECTION, now=LATER)
        except (InsufficientStock, InvalidInput):
            continue
    assert sku.stock >= 0
    recorded = [e for e in sku.events if isinstance(e, StockAdjusted)]
    assert initial + sum(e.delta for e in recorded) == sku.stock
    assert sku.version == 1 + len(recorded)


def test_listing_and_unlisting_are_idempotent() -> None:
    sku = a_sku()
    sku.events.clear()
    sku.list_in(CommunityId("c1"), now=LATER)
    sku.list_in(CommunityId("c1"), now=LATER)
    sku.unlist(CommunityId("c2"), now=LATER)
    assert sku.community_ids == {"c1"} and len(sku.events) == 1
    sku.unlist(CommunityId("c1"), now=LATER)
    assert sku.community_ids == frozenset() and len(sku.events) == 2


def test_a_price_change_keeps_the_list_price_unless_told() -> None:
    sku = a_sku(list_price=Money(3990))
    sku.change_price(Money(2500), now=LATER)
    assert (sku.price, sku.list_price) == (Money(2500), Money(3990))
    sku.change_price(Money(2400), None, now=LATER)
    assert (sku.price, sku.list_price) == (Money(2400), None)
    with pytest.raises(InvalidAmount):
        a_sku(list_price=Money(3000)).change_price(Money(3500), now=LATER)


@pytest.mark.parametrize("bad_id", ["", "a b", "x" * 33, "中文", "a\x00b", "a/b"])
def test_ids_chosen_by_callers_are_plain(bad_id: str) -> None:
    with pytest.raises(InvalidInput, match="id"):
        a_product(id=ProductId(bad_id))
    with pytest.raises(InvalidInput, match="id"):
        a_sku(id=SkuId(bad_id))
