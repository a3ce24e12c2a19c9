"""The FastAPI application factory.

``create_app(settings)`` builds everything (settings, database, routes); nothing happens at import.
gunicorn loads ``api.app:app``, which is created on first access.
"""
from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI

from api.db import Database
from api.routes import health
from config.config import Settings, get_settings


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Service Stack API", version="0.1.0")
    app.state.settings = settings
    app.state.db = database or Database.from_settings(settings, application_name="api")
    app.state.started_at = time.monotonic()
    app.include_router(health.router)
    return app


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    # `api.app:app` for gunicorn and uvicorn, built on first access instead of at import.
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module 'api.app' has no attribute {name!r}")
