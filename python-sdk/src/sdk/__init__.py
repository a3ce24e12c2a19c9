"""Python SDK of the API: a sync :class:`Client` and an :class:`AsyncClient` with the same methods.

    from sdk import Client

    with Client(base_url="http://localhost:8001", api_key="sk_...") as client:
        print(client.health().status)

Only httpx and the standard library are needed; nothing from the server side is imported. It is
its own distribution (``pip install ./python-sdk`` in the repository) and ships ``py.typed``.
"""

from sdk._iteration import AsyncItemIterator, ItemIterator
from sdk._logging import setup_logging
from sdk._raw import RawResponse
from sdk._types import NOT_GIVEN, NotGiven
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
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
    WaitTimeoutError,
)
from sdk.exceptions import PermissionError as PermissionError  # the old name: importable, not in __all__  # noqa: A004 - the old name stays importable
from sdk.models import ApiKey, ApiKeyPage, HealthStatus, Item, ItemStatus, PaginatedResponse

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "ApiKey",
    "ApiKeyPage",
    "AppError",
    "AsyncClient",
    "AsyncItemIterator",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "HealthStatus",
    "Item",
    "ItemIterator",
    "ItemStatus",
    "NotFoundError",
    "NotGiven",
    "PaginatedResponse",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "ServerError",
    "UnexpectedResponseError",
    "ValidationError",
    "WaitTimeoutError",
]

setup_logging()
