"""What a production server needs beyond settings that parse: one line per problem.

    from config.deployment import deployment_problems
    for line in deployment_problems(settings):   # [] when the stack may start
        print(f"error: {line}")

``python -m config check`` prints them and ``bin/run`` refuses to start on any. Nothing is checked
outside ``APP_ENV=production``: a development stack runs Vite and needs no built app.
"""

from __future__ import annotations

from pathlib import Path

from config.config import Settings


def _built_app_problem(settings: Settings) -> str | None:
    index = Path(settings.STATIC_DIR) / "index.html"
    if index.is_file():
        return None
    return (
        f"STATIC_DIR={settings.STATIC_DIR} has no index.html: APP_ENV=production serves the built app "
        "from the API (bin/run builds it into src/frontend/dist; or run `npm run build` there)"
    )


def _trusted_proxy_problem(settings: Settings) -> str | None:
    # The reverse proxy in front (conf/nginx/) connects from loopback; unless the API believes its
    # X-Forwarded-For, every client shares the proxy's address (and its per-IP rate limit).
    if settings.API_TRUSTED_PROXIES.strip():
        return None
    return (
        "API_TRUSTED_PROXIES is empty with APP_ENV=production: set it to the reverse proxy's "
        "address (127.0.0.1 for conf/nginx/svcstack.conf on this host)"
    )


def deployment_problems(settings: Settings) -> list[str]:
    """Every reason a production stack must not start yet (nothing outside production)."""
    if not settings.is_production:
        return []
    found = (_built_app_problem(settings), _trusted_proxy_problem(settings))
    return [line for line in found if line is not None]
