"""Fulfilment use cases: pickup points, arrivals with pickup codes, handing orders over,
and orders nobody collects."""
