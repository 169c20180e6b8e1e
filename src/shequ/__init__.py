"""shequ (社区): the core of community e-commerce."""

__version__ = "0.1.0"
