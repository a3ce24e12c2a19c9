"""Defaults of the SDK in one place: timeouts, retry limits, paths and environment variable names."""

from __future__ import annotations

import httpx

# The SDK is a client library, not part of the server: like openai-python it reads a few environment
# variables of its own as fallbacks for its constructor arguments (the server-side rule "only
# config/config.py reads the environment" is about the stack's settings, which the SDK never touches).
BASE_URL_ENV = "APP_BASE_URL"
API_KEY_ENV = "APP_API_KEY"
LOG_ENV = "APP_SDK_LOG"  # "debug" or "info": log to stderr; unset: quiet

DEFAULT_BASE_URL = "http://localhost:8001"
API_PREFIX = "/api/v1"

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
DEFAULT_CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

# The most one call waits, in total, between its attempts. A wait that would not fit in what is
# left (e.g. a Retry-After of 56 s with 4 s left) is not started: the error is raised at once.
# 60 s lets one call sit out one window of a per-minute rate limit, never two.
DEFAULT_RETRY_BUDGET = 60.0

INITIAL_RETRY_DELAY = 0.5  # seconds before the first retry; doubles each attempt
MAX_RETRY_DELAY = 8.0
RETRY_JITTER = 0.25  # the backoff delay is reduced by up to this fraction, at random

# Statuses that say the request was not carried out (so any request may be sent again) ...
NOT_PROCESSED_STATUS_CODES = frozenset({408, 429})
# ... and the server failures (every 5xx), retried only for requests that are safe to send twice.

# Requests that have the same effect sent twice as once (RFC 9110, 9.2.2). Other requests are sent
# again after a failure only when they carry an Idempotency-Key, or when nothing was sent at all.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

DEFAULT_PAGE_SIZE = 50

USER_AGENT = "svcstack-sdk/0.1"

# A wait between retries longer than this (e.g. a rate limit's Retry-After) is announced by one INFO
# line even when logging is not configured: a call blocked that long should not look hung.
LONG_WAIT_SECONDS = 10.0

# create_items: the API takes at most this many items a request; longer lists are split.
MAX_BATCH_ITEMS = 1_000
# ... and bodies up to API_MAX_BODY_BYTES (1 MiB by default): a chunk is closed before its JSON
# would pass this many bytes, so items with large metadata go in smaller requests.
MAX_BATCH_BYTES = 1_000_000

DEFAULT_WAIT_TIMEOUT = 60.0  # wait_for: seconds before WaitTimeoutError
DEFAULT_WAIT_POLL = 1.0  # wait_for: seconds between reads of the item
