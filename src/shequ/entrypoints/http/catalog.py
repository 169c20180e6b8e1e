"""``/v1`` catalog routes: communities, sellers, products, SKUs, stock and listings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from shequ.application.catalog.browse import BrowseProducts, BrowseProductsHandler
from shequ.application.catalog.communities import (
    CreateCommunity,
    CreateCommunityHandler,
    CreateSeller,
    CreateSellerHandler,
    EditCommunity,
    EditCommunityHandler,
    ListCommunitiesHandler,
    ListSellersHandler,
)
from shequ.application.catalog.products import (
    CreateProduct,
    CreateProductHandler,
    EditProduct,
    EditProductHandler,
    GetProductHandler,
)
from shequ.application.catalog.search import MAX_PAGE_SIZE, ProductFilter, ProductSort
from shequ.application.catalog.skus import (
    AddSku,
    AddSkuHandler,
    AdjustStock,
    AdjustStockHandler,
    ChangeSkuPrice,
    ChangeSkuPriceHandler,
    CountStock,
    CountStockHandler,
    GetSkuHandler,
    SetSkuListing,
    SetSkuListingHandler,
    SetSkuOnSale,
    SetSkuOnSaleHandler,
)
from shequ.application.media import UploadPhotoHandler
from shequ.domain.catalog import KEEP, SellerKind
from shequ.domain.errors import InvalidInput, InvalidPhoto
from shequ.domain.ids import CommunityId, ProductId, SellerId, SkuId
from shequ.domain.media import MAX_PHOTO_BYTES
from shequ.domain.money import Money
from shequ.entrypoints.http.deps import CurrentActor, resolve
from shequ.entrypoints.http.models import (
    CommunityIn,
    CommunityPatch,
    OnSaleIn,
    PriceIn,
    ProductIn,
    ProductPatch,
    SellerIn,
    SkuIn,
    StockIn,
    refuse_nulls,
)
from shequ.entrypoints.http.pickup_models import location
from shequ.entrypoints.schemas import CommunityOut, ProductOut, ProductPageOut, SellerOut, SkuOut

__all__ = ["router"]

router = APIRouter(prefix="/v1")


def _fen(value: int | None) -> Money | None:
    return None if value is None else Money(value)


@router.post("/communities", status_code=201, tags=["communities"])
def create_community(
    actor: CurrentActor,
    body: CommunityIn,
    create: Annotated[CreateCommunityHandler, Depends(resolve(CreateCommunityHandler))],
) -> CommunityOut:
    community = create(
        CreateCommunity(
            name=body.name,
            city=body.city,
            district=body.district,
            location=location(body.latitude, body.longitude),
        ),
        actor=actor,
    )
    return CommunityOut.of(community)


@router.patch("/communities/{community_id}", tags=["communities"])
def edit_community(
    actor: CurrentActor,
    community_id: str,
    body: CommunityPatch,
    edit: Annotated[EditCommunityHandler, Depends(resolve(EditCommunityHandler))],
) -> CommunityOut:
    """Change the fields present (platform admins): its name, city, district, or where
    it is (``latitude`` with ``longitude``), which route planning needs."""
    refuse_nulls(body)
    community = edit(
        EditCommunity(
            CommunityId(community_id),
            name=body.name,
            city=body.city,
            district=body.district,
            location=location(body.latitude, body.longitude),
        ),
        actor=actor,
    )
    return CommunityOut.of(community)


@router.get("/communities", tags=["communities"])
def list_communities(
    actor: CurrentActor,
    list_all: Annotated[ListCommunitiesHandler, Depends(resolve(ListCommunitiesHandler))],
) -> list[CommunityOut]:
    return [CommunityOut.of(c) for c in list_all(actor=actor)]


@router.post("/sellers", status_code=201, tags=["sellers"])
def create_seller(
    actor: CurrentActor,
    body: SellerIn,
    create: Annotated[CreateSellerHandler, Depends(resolve(CreateSellerHandler))],
) -> SellerOut:
    return SellerOut.of(
        create(
            CreateSeller(
                name=body.name,
                kind=SellerKind(body.kind),
                community_id=CommunityId(body.community_id) if body.community_id else None,
            ),
            actor=actor,
        )
    )


@router.get("/sellers", tags=["sellers"])
def list_sellers(
    actor: CurrentActor,
    list_sellers: Annotated[ListSellersHandler, Depends(resolve(ListSellersHandler))],
    community: str | None = None,
) -> list[SellerOut]:
    return [
        SellerOut.of(s)
        for s in list_sellers(CommunityId(community) if community else None, actor=actor)
    ]


@router.get("/products", tags=["products"])
def browse_products(
    actor: CurrentActor,
    browse: Annotated[BrowseProductsHandler, Depends(resolve(BrowseProductsHandler))],
    community: str | None = None,
    category: str | None = None,
    seller: str | None = None,
    min_price_fen: int | None = None,
    max_price_fen: int | None = None,
    in_stock: bool = False,
    on_sale: bool | None = None,
    sort: ProductSort = ProductSort.NEWEST,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> ProductPageOut:
    """Products with at least one SKU meeting every SKU filter (community, price, stock, sale),
    each with those SKUs. Pass ``next_cursor`` back as ``cursor`` for the next page."""
    return ProductPageOut.of(
        browse(
            BrowseProducts(
                filter=ProductFilter(
                    community_id=CommunityId(community) if community else None,
                    category=category,
                    seller_id=SellerId(seller) if seller else None,
                    min_price=_fen(min_price_fen),
                    max_price=_fen(max_price_fen),
                    in_stock=in_stock,
                    on_sale=on_sale,
                ),
                sort=sort,
                cursor=cursor,
                limit=limit,
            ),
            actor=actor,
        )
    )


@router.post("/products", status_code=201, tags=["products"])
def create_product(
    actor: CurrentActor,
    body: ProductIn,
    create: Annotated[CreateProductHandler, Depends(resolve(CreateProductHandler))],
) -> ProductOut:
    return ProductOut.of(
        create(
            CreateProduct(
                seller_id=SellerId(body.seller_id),
                name=body.name,
                category=body.category,
                brand=body.brand,
                origin=body.origin,
                description=body.description,
                media=tuple(m.to_domain() for m in body.media),
                fresh=body.fresh.to_domain() if body.fresh else None,
            ),
            actor=actor,
        )
    )


@router.get("/products/{product_id}", tags=["products"])
def get_product(
    actor: CurrentActor,
    product_id: str,
    get: Annotated[GetProductHandler, Depends(resolve(GetProductHandler))],
) -> ProductOut:
    return ProductOut.of_detail(get(ProductId(product_id), actor=actor))


@router.patch("/products/{product_id}", tags=["products"])
def edit_product(
    actor: CurrentActor,
    product_id: str,
    body: ProductPatch,
    edit: Annotated[EditProductHandler, Depends(resolve(EditProductHandler))],
    get: Annotated[GetProductHandler, Depends(resolve(GetProductHandler))],
) -> ProductOut:
    refuse_nulls(body, ("name", "category", "brand", "origin", "description", "media"))
    edit(
        EditProduct(
            product_id=ProductId(product_id),
            name=body.name if body.name is not None else KEEP,
            category=body.category if body.category is not None else KEEP,
            brand=body.brand if body.brand is not None else KEEP,
            origin=body.origin if body.origin is not None else KEEP,
            description=body.description if body.description is not None else KEEP,
            media=tuple(m.to_domain() for m in body.media) if body.media is not None else KEEP,
            fresh=(body.fresh.to_domain() if body.fresh else None)
            if "fresh" in body.model_fields_set
            else KEEP,
        ),
        actor=actor,
    )
    return ProductOut.of_detail(get(ProductId(product_id), actor=actor))


@router.post("/products/{product_id}/skus", status_code=201, tags=["skus"])
def add_sku(
    actor: CurrentActor,
    product_id: str,
    body: SkuIn,
    add: Annotated[AddSkuHandler, Depends(resolve(AddSkuHandler))],
) -> SkuOut:
    return SkuOut.of(
        add(
            AddSku(
                product_id=ProductId(product_id),
                spec=body.spec,
                price=Money(body.price_fen),
                list_price=_fen(body.list_price_fen),
                stock=body.stock,
                on_sale=body.on_sale,
                community_ids=tuple(CommunityId(c) for c in body.community_ids),
            ),
            actor=actor,
        )
    )


@router.get("/skus/{sku_id}", tags=["skus"])
def get_sku(
    actor: CurrentActor, sku_id: str, get: Annotated[GetSkuHandler, Depends(resolve(GetSkuHandler))]
) -> SkuOut:
    return SkuOut.of(get(SkuId(sku_id), actor=actor))


@router.put("/skus/{sku_id}/price", tags=["skus"])
def change_price(
    actor: CurrentActor,
    sku_id: str,
    body: PriceIn,
    change: Annotated[ChangeSkuPriceHandler, Depends(resolve(ChangeSkuPriceHandler))],
) -> SkuOut:
    return SkuOut.of(
        change(
            ChangeSkuPrice(
                sku_id=SkuId(sku_id),
                price=Money(body.price_fen),
                list_price=_fen(body.list_price_fen)
                if "list_price_fen" in body.model_fields_set
                else KEEP,
            ),
            actor=actor,
        )
    )


@router.put("/skus/{sku_id}/on-sale", tags=["skus"])
def set_on_sale(
    actor: CurrentActor,
    sku_id: str,
    body: OnSaleIn,
    change: Annotated[SetSkuOnSaleHandler, Depends(resolve(SetSkuOnSaleHandler))],
) -> SkuOut:
    return SkuOut.of(change(SetSkuOnSale(sku_id=SkuId(sku_id), on_sale=body.on_sale), actor=actor))


@router.post("/skus/{sku_id}/stock-adjustments", tags=["skus"])
def adjust_stock(
    actor: CurrentActor,
    sku_id: str,
    body: StockIn,
    adjust: Annotated[AdjustStockHandler, Depends(resolve(AdjustStockHandler))],
    count: Annotated[CountStockHandler, Depends(resolve(CountStockHandler))],
) -> SkuOut:
    """``{"delta": 10, "reason": "restock"}`` adds units; ``{"counted": 42}`` records a
    stocktake."""
    if body.counted is not None and body.delta is None:
        return SkuOut.of(
            count(
                CountStock(sku_id=SkuId(sku_id), counted=body.counted, note=body.note), actor=actor
            )
        )
    if body.delta is None or body.counted is not None:
        raise InvalidInput("give exactly one of delta or counted", field="delta")
    if body.reason is None:
        raise InvalidInput("a stock change by delta needs a reason", field="reason")
    return SkuOut.of(
        adjust(
            AdjustStock(sku_id=SkuId(sku_id), delta=body.delta, reason=body.reason, note=body.note),
            actor=actor,
        )
    )


@router.put("/skus/{sku_id}/listings/{community_id}", tags=["skus"])
def list_sku(
    actor: CurrentActor,
    sku_id: str,
    community_id: str,
    change: Annotated[SetSkuListingHandler, Depends(resolve(SetSkuListingHandler))],
) -> SkuOut:
    return SkuOut.of(
        change(SetSkuListing(SkuId(sku_id), CommunityId(community_id), True), actor=actor)
    )


@router.delete("/skus/{sku_id}/listings/{community_id}", tags=["skus"])
def unlist_sku(
    actor: CurrentActor,
    sku_id: str,
    community_id: str,
    change: Annotated[SetSkuListingHandler, Depends(resolve(SetSkuListingHandler))],
) -> SkuOut:
    return SkuOut.of(
        change(SetSkuListing(SkuId(sku_id), CommunityId(community_id), False), actor=actor)
    )


class PhotoOut(BaseModel):
    uri: str
    format: str
    width: int
    height: int
    bytes: int


@router.post(
    "/uploads/photos",
    status_code=201,
    tags=["uploads"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/webp": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def upload_photo(
    actor: CurrentActor,
    request: Request,
    upload: Annotated[UploadPhotoHandler, Depends(resolve(UploadPhotoHandler))],
) -> PhotoOut:
    """Send the image itself as the body. JPEG, PNG or WebP, judged by content; at most
    5 MiB and 8000 pixels a side. Use the returned ``uri`` in a product's media."""
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > MAX_PHOTO_BYTES:
            raise InvalidPhoto(f"a photo is at most {MAX_PHOTO_BYTES // 1024 // 1024} MiB")
    stored = await run_in_threadpool(upload, bytes(data), actor=actor)
    facts = stored.facts
    return PhotoOut(
        uri=stored.uri,
        format=facts.format,
        width=facts.width,
        height=facts.height,
        bytes=facts.size,
    )
