"""httpx for the suite's own plain-HTTP servers, without a TLS set-up for every client.

    plain_http.get(api.url + "/health", timeout=2)          # as httpx.get
    with plain_http.client(base_url=api.url) as http: ...   # as httpx.Client

Each ``httpx.Client`` (and so each ``httpx.get``) loads the CA bundle into a new SSL context when
it is made: about 20 ms of CPU, though an http:// URL never uses it. A wait polling every 50 ms with
``httpx.get`` spent a third of a core on that while a server booted, and tests that open a fresh
connection per request (to reach every API worker) as much again. One context, made once per
process, serves them all; every call still makes its own client and its own connection.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def client(**kwargs: Any) -> httpx.Client:
    """``httpx.Client(**kwargs)`` with the process's one SSL context."""
    return httpx.Client(verify=tls_context(), **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.get``: a client of its own, one request, closed."""
    with client() as http:
        return http.get(url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.post``: a client of its own, one request, closed."""
    with client() as http:
        return http.post(url, **kwargs)
