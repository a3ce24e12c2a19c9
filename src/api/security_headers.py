"""Headers every response carries, whatever answered it (route, error handler, static files).

- ``X-Content-Type-Options: nosniff``: browsers take the declared Content-Type as it is, so a JSON
  answer that echoes user input is never sniffed into HTML or script.
- No framing, anywhere: ``X-Frame-Options: DENY`` (older browsers) and a ``Content-Security-Policy``
  with ``frame-ancestors 'none'``, so no other site can frame a page (clickjacking the admin
  Services page's restart buttons). A response that sets its own policy keeps it (the built app's
  pages: ``APP_CSP`` in api.static); any other gets ``frame-ancestors 'none'`` (HTML: the API docs,
  whose inline scripts a stricter policy would break) or ``default-src 'none'; frame-ancestors
  'none'`` (JSON and everything else: nothing in it may load or run anything). A 304 gets no policy
  of its own: a browser would put it on the stored response it revalidates.

(``Server`` is not sent at all: see ``api.http_limits.BoundedUvicornWorker``.) Pure ASGI, like
``api.middleware``: no body buffering, little cost per request.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)
_NAMES = {name for name, _ in SECURITY_HEADERS}
CSP = b"content-security-policy"
HTML_CSP = b"frame-ancestors 'none'"
OTHER_CSP = b"default-src 'none'; frame-ancestors 'none'"


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every HTTP response (replacing any an inner layer set), and a
    Content-Security-Policy to those without one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() not in _NAMES]
                extra = list(SECURITY_HEADERS)
                # A 304 gets none: its headers replace the stored response's, whose policy stands.
                if message.get("status") != 304 and not any(name.lower() == CSP for name, _ in headers):
                    html = any(
                        name.lower() == b"content-type" and value.lower().startswith(b"text/html")
                        for name, value in headers
                    )
                    extra.append((CSP, HTML_CSP if html else OTHER_CSP))
                message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
