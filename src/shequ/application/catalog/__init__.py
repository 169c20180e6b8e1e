"""Catalog use cases: communities, sellers, products, SKUs, stock, browsing and bulk import.

Import the use cases from their modules (``shequ.application.catalog.products`` …) or, more
simply, from ``shequ``.
"""
