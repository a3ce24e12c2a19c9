"""Headers every response carries, whatever answered it (route, error handler, static files).

``X-Content-Type-Options: nosniff``: browsers take the declared Content-Type as it is, so a JSON
answer that echoes user input is never sniffed into HTML or script. (``Server`` is not sent at all:
see ``api.http_limits.BoundedUvicornWorker``.) Pure ASGI, like ``api.middleware``: no body buffering,
little cost per request.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = ((b"x-content-type-options", b"nosniff"),)
_NAMES = {name for name, _ in SECURITY_HEADERS}


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every HTTP response (replacing any an inner layer set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() not in _NAMES]
                message["headers"] = [*headers, *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
