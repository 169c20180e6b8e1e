"""The composition root: one injector module per adapter family.

``bootstrap(settings, *overrides)`` returns the wired application. Embedding teams pass
their own modules as ``overrides``; a later binding wins::

    class MyClock(injector.Module):
        @injector.provider
        def clock(self) -> Clock:
            return FixedClock(at)

    container = shequ.bootstrap(Settings(storage="memory"), MyClock())
    product = container.get(CreateProductHandler)(CreateProduct(...))
"""

from __future__ import annotations

from injector import Binder, Injector, Module, inject, provider, singleton

from shequ.adapters.clock import SystemClock
from shequ.adapters.storage.memory import (
    InMemoryHealthCheck,
    InMemorySchemaMigrations,
    InMemoryStore,
    InMemoryUnitOfWork,
)
from shequ.adapters.storage.sqlalchemy import (
    Database,
    SqlHealthCheck,
    SqlSchemaMigrations,
    SqlUnitOfWork,
)
from shequ.application.catalog.browse import BrowseProductsHandler
from shequ.application.catalog.communities import (
    CreateCommunityHandler,
    CreateSellerHandler,
    ListCommunitiesHandler,
    ListSellersHandler,
)
from shequ.application.catalog.demo import SeedDemoHandler
from shequ.application.catalog.importing import ImportCatalogHandler
from shequ.application.catalog.products import (
    CreateProductHandler,
    EditProductHandler,
    GetProductHandler,
)
from shequ.application.catalog.skus import (
    AddSkuHandler,
    AdjustStockHandler,
    ChangeSkuPriceHandler,
    CountStockHandler,
    GetSkuHandler,
    SetSkuListingHandler,
    SetSkuOnSaleHandler,
)
from shequ.application.events import EventDispatcher
from shequ.application.ports import (
    Clock,
    EventPublisher,
    HealthCheck,
    SchemaMigrations,
    UnitOfWork,
)
from shequ.settings import Settings

__all__ = [
    "HANDLERS",
    "ClockModule",
    "EventsModule",
    "HandlersModule",
    "MemoryStorageModule",
    "SqlStorageModule",
    "bootstrap",
    "storage_module",
]

HANDLERS: tuple[type, ...] = (
    AddSkuHandler,
    AdjustStockHandler,
    BrowseProductsHandler,
    ChangeSkuPriceHandler,
    CountStockHandler,
    CreateCommunityHandler,
    CreateProductHandler,
    CreateSellerHandler,
    EditProductHandler,
    GetProductHandler,
    GetSkuHandler,
    ImportCatalogHandler,
    ListCommunitiesHandler,
    ListSellersHandler,
    SeedDemoHandler,
    SetSkuListingHandler,
    SetSkuOnSaleHandler,
)


class ClockModule(Module):
    @singleton
    @provider
    def clock(self) -> Clock:
        return SystemClock()


class EventsModule(Module):
    @singleton
    @provider
    def dispatcher(self) -> EventDispatcher:
        return EventDispatcher()

    @provider
    def publisher(self, dispatcher: EventDispatcher) -> EventPublisher:
        return dispatcher


class MemoryStorageModule(Module):
    """Everything in one process's memory: for tests, demos and embedding teams' own tests."""

    @singleton
    @provider
    def store(self) -> InMemoryStore:
        return InMemoryStore()

    @provider
    def unit_of_work(self, store: InMemoryStore, publisher: EventPublisher) -> UnitOfWork:
        return InMemoryUnitOfWork(store, publisher)

    @singleton
    @provider
    def migrations(self) -> SchemaMigrations:
        return InMemorySchemaMigrations()

    @singleton
    @provider
    def health(self) -> HealthCheck:
        return InMemoryHealthCheck()


class SqlStorageModule(Module):
    """SQLite or PostgreSQL through SQLAlchemy. Builds the engine lazily; connects on use."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self._url, self._echo = url, echo

    @singleton
    @provider
    def database(self) -> Database:
        return Database.from_url(self._url, echo=self._echo)

    @provider
    def unit_of_work(self, database: Database, publisher: EventPublisher) -> UnitOfWork:
        return SqlUnitOfWork(database.sessions, publisher)

    @singleton
    @provider
    def migrations(self, database: Database) -> SchemaMigrations:
        return SqlSchemaMigrations(database.engine)

    @singleton
    @provider
    def health(self, database: Database) -> HealthCheck:
        return SqlHealthCheck(SqlSchemaMigrations(database.engine))


class HandlersModule(Module):
    """Every use case, built with its ports injected; unscoped, so each is fresh."""

    def configure(self, binder: Binder) -> None:
        for handler in HANDLERS:
            binder.bind(handler, to=inject(handler))


def storage_module(settings: Settings) -> Module:
    if settings.storage == "memory":
        return MemoryStorageModule()
    return SqlStorageModule(settings.database_url, echo=settings.database_echo)


def bootstrap(settings: Settings | None = None, *overrides: Module) -> Injector:
    """The wired application. Reads the environment only when ``settings`` is not given."""
    settings = settings if settings is not None else Settings()
    modules: list[Module] = [
        ClockModule(),
        EventsModule(),
        storage_module(settings),
        HandlersModule(),
        *overrides,
    ]
    return Injector(modules, auto_bind=False)
