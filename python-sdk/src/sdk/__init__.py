"""Python SDK of the API: a sync :class:`Client` and an :class:`AsyncClient` with the same methods.

    from sdk import Client

    with Client(base_url="http://localhost:8001", api_key="sk_...") as client:
        print(client.health().status)

Only httpx and the standard library are needed; nothing from the server side is imported.
"""

from sdk._logging import setup_logging
from sdk.async_client import AsyncClient
from sdk.client import Client
from sdk.exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AppError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)
from sdk.models import HealthStatus, Item, PaginatedResponse

__all__ = [
    "Client",
    "AsyncClient",
    "HealthStatus",
    "Item",
    "PaginatedResponse",
    "AppError",
    "APIError",
    "AuthenticationError",
    "PermissionError",
    "NotFoundError",
    "ConflictError",
    "ValidationError",
    "RateLimitError",
    "ServerError",
    "UnexpectedResponseError",
    "APIConnectionError",
    "APITimeoutError",
]

setup_logging()
