"""shequ (社区): the core of community e-commerce.

Build the application with :func:`bootstrap`, then ask it for a use case::

    import shequ

    app = shequ.bootstrap(shequ.Settings(storage="memory"))
    community = app.get(shequ.CreateCommunityHandler)(shequ.CreateCommunity(name="阳光花园"))

Every name below is public; everything else may change without notice.
"""

from shequ.adapters.clock import FixedClock, SystemClock
from shequ.adapters.storage.memory import InMemoryStore, InMemoryUnitOfWork
from shequ.application.catalog.browse import BrowseProducts, BrowseProductsHandler, ProductPage
from shequ.application.catalog.communities import (
    CreateCommunity,
    CreateCommunityHandler,
    CreateSeller,
    CreateSellerHandler,
    ListCommunitiesHandler,
    ListSellersHandler,
)
from shequ.application.catalog.demo import DemoCatalog, SeedDemoHandler
from shequ.application.catalog.importing import (
    ImportCatalog,
    ImportCatalogHandler,
    ImportReport,
    ImportRow,
    RowProblem,
)
from shequ.application.catalog.products import (
    CreateProduct,
    CreateProductHandler,
    EditProduct,
    EditProductHandler,
    GetProductHandler,
    ProductDetail,
)
from shequ.application.catalog.search import ProductFilter, ProductSort
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
from shequ.application.events import EventDispatcher
from shequ.application.ports import (
    Clock,
    EventPublisher,
    HealthCheck,
    OutboxMessage,
    SchemaMigrations,
    UnitOfWork,
)
from shequ.bootstrap import bootstrap
from shequ.domain.catalog import (
    KEEP,
    Community,
    FreshFacts,
    Listing,
    Media,
    MediaKind,
    Product,
    ProductCreated,
    ProductEdited,
    Seller,
    SellerKind,
    Sku,
    SkuAdded,
    SkuListed,
    SkuPriceChanged,
    SkuPutOnSale,
    SkuTakenOffSale,
    SkuUnlisted,
    StockAdjusted,
    StockReason,
    StorageMethod,
)
from shequ.domain.events import DomainEvent
from shequ.domain.ids import CommunityId, ProductId, SellerId, SkuId
from shequ.domain.money import Money
from shequ.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "KEEP",
    "AddSku",
    "AddSkuHandler",
    "AdjustStock",
    "AdjustStockHandler",
    "BrowseProducts",
    "BrowseProductsHandler",
    "ChangeSkuPrice",
    "ChangeSkuPriceHandler",
    "Clock",
    "Community",
    "CommunityId",
    "CountStock",
    "CountStockHandler",
    "CreateCommunity",
    "CreateCommunityHandler",
    "CreateProduct",
    "CreateProductHandler",
    "CreateSeller",
    "CreateSellerHandler",
    "DemoCatalog",
    "DomainEvent",
    "EditProduct",
    "EditProductHandler",
    "EventDispatcher",
    "EventPublisher",
    "FixedClock",
    "FreshFacts",
    "GetProductHandler",
    "GetSkuHandler",
    "HealthCheck",
    "ImportCatalog",
    "ImportCatalogHandler",
    "ImportReport",
    "ImportRow",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "ListCommunitiesHandler",
    "ListSellersHandler",
    "Listing",
    "Media",
    "MediaKind",
    "Money",
    "OutboxMessage",
    "Product",
    "ProductCreated",
    "ProductDetail",
    "ProductEdited",
    "ProductFilter",
    "ProductId",
    "ProductPage",
    "ProductSort",
    "RowProblem",
    "SchemaMigrations",
    "SeedDemoHandler",
    "Seller",
    "SellerId",
    "SellerKind",
    "SetSkuListing",
    "SetSkuListingHandler",
    "SetSkuOnSale",
    "SetSkuOnSaleHandler",
    "Settings",
    "Sku",
    "SkuAdded",
    "SkuId",
    "SkuListed",
    "SkuPriceChanged",
    "SkuPutOnSale",
    "SkuTakenOffSale",
    "SkuUnlisted",
    "StockAdjusted",
    "StockReason",
    "StorageMethod",
    "SystemClock",
    "UnitOfWork",
    "__version__",
    "bootstrap",
]
