"""The HTTP API (FastAPI). ``create_app(container)`` builds it from the wired application."""

from shequ.entrypoints.http.app import create_app

__all__ = ["create_app"]
