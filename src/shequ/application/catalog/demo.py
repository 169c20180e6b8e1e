"""A demo community with two sellers and about thirty products, for a first look around.

Ids are derived from names, so seeding twice finds the first seeding and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

import attrs

from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import Clock, PasswordHasher, UnitOfWork
from shequ.domain.catalog import (
    Community,
    FreshFacts,
    Media,
    Product,
    Seller,
    SellerKind,
    Sku,
    StorageMethod,
)
from shequ.domain.identity import Account, Membership, Role
from shequ.domain.ids import AccountId, CommunityId, ProductId, SellerId, SkuId
from shequ.domain.money import Money
from shequ.domain.routing import GeoPoint

__all__ = [
    "DEMO_RESIDENT_PHONE",
    "DEMO_RIDER_PHONE",
    "DemoAccount",
    "DemoCatalog",
    "SeedDemoHandler",
    "demo_sku_id",
]

DEMO_RESIDENT_PHONE = "13800000004"
DEMO_RIDER_PHONE = "13800000008"

_NAMESPACE = uuid.UUID("6f1c2a9e-0d1b-4c39-9a53-2f7b0e5d8c41")
A, C, F = StorageMethod.AMBIENT, StorageMethod.CHILLED, StorageMethod.FROZEN

# name, category, brand, origin, storage, shelf life (days), [(spec, price, list price, stock)]
_Specs = list[tuple[str, str, str | None, int]]
_PRODUCTS: list[tuple[str, str, str, str, StorageMethod, int | None, _Specs]] = [
    (
        "赣南脐橙",
        "生鲜/水果",
        "",
        "江西赣州",
        C,
        20,
        [("5斤/箱", "29.90", "39.90", 120), ("10斤/箱", "55.00", "69.90", 60)],
    ),
    ("烟台红富士苹果", "生鲜/水果", "", "山东烟台", C, 30, [("3斤/袋", "19.80", None, 80)]),
    ("海南香蕉", "生鲜/水果", "", "海南", A, 5, [("1把约2斤", "9.90", None, 50)]),
    ("阳光玫瑰葡萄", "生鲜/水果", "", "云南建水", C, 7, [("1.5斤/盒", "35.80", "45.00", 30)]),
    ("丹东草莓", "生鲜/水果", "", "辽宁丹东", C, 3, [("500g/盒", "39.90", None, 0)]),
    ("本地小青菜", "生鲜/蔬菜", "", "本地基地", C, 3, [("500g/把", "3.50", None, 200)]),
    ("西红柿", "生鲜/蔬菜", "", "山东寿光", C, 7, [("1kg/袋", "8.80", None, 150)]),
    ("土豆", "生鲜/蔬菜", "", "内蒙古", A, 30, [("2.5kg/袋", "9.90", None, 90)]),
    ("有机胡萝卜", "生鲜/蔬菜", "", "河北张北", C, 14, [("1kg/袋", "7.50", "9.00", 70)]),
    (
        "散养土鸡蛋",
        "生鲜/蛋品",
        "农家",
        "湖北恩施",
        C,
        30,
        [("30枚/盒", "32.80", None, 40), ("10枚/盒", "12.80", None, 100)],
    ),
    ("黑猪五花肉", "生鲜/肉禽", "", "浙江金华", C, 3, [("500g/盒", "36.90", None, 45)]),
    ("冷鲜鸡腿", "生鲜/肉禽", "", "山东", C, 3, [("1kg/袋", "25.80", None, 60)]),
    (
        "内蒙古羔羊肉卷",
        "生鲜/肉禽",
        "",
        "内蒙古锡林郭勒",
        F,
        180,
        [("500g/袋", "49.90", "59.90", 35)],
    ),
    ("舟山带鱼", "生鲜/水产", "", "浙江舟山", F, 180, [("1kg/袋", "59.00", None, 25)]),
    ("活冻大虾", "生鲜/水产", "", "广东湛江", F, 180, [("1kg/盒", "79.00", "99.00", 20)]),
    (
        "五常大米",
        "粮油/米面",
        "五常",
        "黑龙江五常",
        A,
        365,
        [("5kg/袋", "69.90", None, 50), ("10kg/袋", "129.00", None, 20)],
    ),
    ("东北珍珠米", "粮油/米面", "北大荒", "黑龙江", A, 365, [("10kg/袋", "59.90", None, 40)]),
    ("特一级面粉", "粮油/米面", "金龙鱼", "河南", A, 270, [("5kg/袋", "29.90", None, 35)]),
    ("手工挂面", "粮油/米面", "陈克明", "湖南", A, 365, [("1kg/袋", "12.50", None, 80)]),
    ("压榨花生油", "粮油/食用油", "鲁花", "山东莱阳", A, 540, [("5L/桶", "139.90", "159.90", 25)]),
    ("非转基因大豆油", "粮油/食用油", "福临门", "黑龙江", A, 540, [("5L/桶", "69.90", None, 30)]),
    (
        "特级初榨橄榄油",
        "粮油/食用油",
        "欧丽薇兰",
        "西班牙",
        A,
        720,
        [("750ml/瓶", "89.00", None, 15)],
    ),
    ("头道生抽酱油", "粮油/调味品", "海天", "广东佛山", A, 720, [("1.9L/瓶", "22.90", None, 60)]),
    (
        "洗衣液",
        "日用品/清洁",
        "蓝月亮",
        "广东广州",
        A,
        None,
        [("3kg/瓶", "49.90", "59.90", 40), ("1kg/瓶", "19.90", None, 70)],
    ),
    ("洗洁精", "日用品/清洁", "立白", "广东广州", A, None, [("1.5kg/瓶", "15.90", None, 90)]),
    ("卷纸", "日用品/纸品", "维达", "广东江门", A, None, [("10卷/提", "29.90", None, 100)]),
    ("抽纸", "日用品/纸品", "清风", "福建", A, None, [("6包/提", "21.90", None, 100)]),
    ("牙膏", "日用品/个护", "云南白药", "云南昆明", A, None, [("120g/支", "26.00", None, 50)]),
    ("垃圾袋", "日用品/家居", "妙洁", "浙江", A, None, [("3卷/包", "12.90", None, 120)]),
    ("保鲜膜", "日用品/家居", "妙洁", "浙江", A, None, [("30cm×20m/卷", "9.90", None, 0)]),
]


def _demo_id(*names: str) -> str:
    return uuid.uuid5(_NAMESPACE, "/".join(names)).hex


def demo_sku_id(product: str, spec: str) -> SkuId:
    """The id of a demo SKU, such as ``demo_sku_id("赣南脐橙", "5斤/箱")``."""
    return SkuId(_demo_id("sku", product, spec))


@attrs.frozen
class DemoAccount:
    """A demo account; its password is known only to the seeding that made it."""

    role: Role
    phone: str
    password: str | None = attrs.field(repr=False)


@attrs.frozen
class DemoCatalog:
    """What the demo holds; ``created`` is false when it was already there (then the
    passwords are ``None``: they were shown once, when the demo was made)."""

    created: bool
    community: Community
    sellers: tuple[Seller, ...]
    products: int
    skus: int
    accounts: tuple[DemoAccount, ...] = ()


class SeedDemoHandler:
    def __init__(
        self, uow: UnitOfWork, clock: Clock, policy: Policy, passwords: PasswordHasher
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._passwords = passwords

    def __call__(self, *, actor: Actor) -> DemoCatalog:
        self._policy.require(actor, Permission.CONSOLE)
        community_id = CommunityId(_demo_id("community", "阳光花园"))
        with self._uow as uow:
            existing = uow.communities.find(community_id)
            if existing is not None:
                sellers = tuple(uow.sellers.list(community_id))
                return DemoCatalog(
                    created=False,
                    community=existing,
                    sellers=sellers,
                    products=len(_PRODUCTS),
                    skus=sum(len(p[-1]) for p in _PRODUCTS),
                    accounts=tuple(
                        DemoAccount(role, phone, None)
                        for role, phone, _ in self._people(
                            community_id, SellerId(_demo_id("seller", "老王生鲜铺"))
                        )
                    ),
                )
            now = self._clock.now()
            community = Community(
                id=community_id,
                name="阳光花园",
                city="杭州",
                district="西湖区",
                created_at=now,
                location=GeoPoint(30.2776, 120.1502),  # its gate
            )
            platform = Seller(
                id=SellerId(_demo_id("seller", "邻里优选")),
                name="邻里优选",
                kind=SellerKind.PLATFORM,
                created_at=now,
            )
            grocer = Seller(
                id=SellerId(_demo_id("seller", "老王生鲜铺")),
                name="老王生鲜铺",
                kind=SellerKind.MERCHANT,
                community_id=community_id,
                created_at=now,
            )
            uow.communities.add(community)
            uow.sellers.add(platform)
            uow.sellers.add(grocer)
            skus = 0
            for index, (name, category, brand, origin, storage, days, specs) in enumerate(
                _PRODUCTS
            ):
                seller = grocer if category.startswith("生鲜") else platform
                product = Product.create(
                    id=ProductId(_demo_id("product", name)),
                    seller_id=seller.id,
                    name=name,
                    category=category,
                    brand=brand,
                    origin=origin,
                    description=f"{origin}{name}，{seller.name}每日精选。",
                    media=(
                        Media(
                            uri=f"https://img.example.com/demo/{index + 1:02d}.jpg", alt_text=name
                        ),
                    ),
                    fresh=FreshFacts(storage=storage, shelf_life_days=days) if days else None,
                    # a minute apart, so "newest" has a stable order
                    now=now - dt.timedelta(minutes=len(_PRODUCTS) - index),
                )
                uow.products.add(product)
                for spec, price, list_price, stock in specs:
                    uow.skus.add(
                        Sku.create(
                            id=demo_sku_id(name, spec),
                            product_id=product.id,
                            spec=spec,
                            price=Money.parse(price),
                            list_price=Money.parse(list_price) if list_price else None,
                            stock=stock,
                            on_sale=True,
                            community_ids=(community_id,),
                            now=now,
                        )
                    )
                    skus += 1
            people = []
            for role, phone, membership in self._people(community_id, grocer.id):
                password = secrets.token_urlsafe(9)
                uow.accounts.add(
                    Account.open(
                        id=AccountId(_demo_id("account", phone)),
                        phone=phone,
                        name=f"演示{role.value}",
                        password_hash=self._passwords.hash(password),
                        memberships=(membership,),
                        now=now,
                    )
                )
                people.append(DemoAccount(role, phone, password))
            uow.commit()
        return DemoCatalog(
            created=True,
            community=community,
            sellers=(platform, grocer),
            products=len(_PRODUCTS),
            skus=skus,
            accounts=tuple(people),
        )

    @staticmethod
    def _people(
        community_id: CommunityId, grocer_id: SellerId
    ) -> list[tuple[Role, str, Membership]]:
        return [
            (Role.ADMIN, "13800000001", Membership(Role.ADMIN)),
            (Role.OPERATOR, "13800000002", Membership(Role.OPERATOR, community_id)),
            (Role.MERCHANT, "13800000003", Membership(Role.MERCHANT, community_id, grocer_id)),
            (Role.RESIDENT, DEMO_RESIDENT_PHONE, Membership(Role.RESIDENT, community_id)),
            (Role.RIDER, DEMO_RIDER_PHONE, Membership(Role.RIDER, community_id)),
        ]
