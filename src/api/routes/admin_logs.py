"""A program's log for admins: the last lines, and a live follow that streams each new line once.

Both read what ``ctl logs tail [-f]`` reads (``ops.logs``: supervisord's log tail over XML-RPC,
every line once across rotations and restarts).

- ``GET /api/v1/admin/services/{name}/log?lines=N``: the last N lines (N ≤ ``MAX_LOG_LINES``).
- ``GET /api/v1/admin/services/{name}/log/follow?lines=N``: newline-delimited JSON, one object a
  line: first the last N lines, then each new one as it is written, ``{"heartbeat": true}`` every
  ``HEARTBEAT_SECONDS`` while nothing is written (so proxies keep the connection), until the
  client goes away or ``MAX_FOLLOW_SECONDS`` pass (the page then follows again from where it was).
  A ``fetch`` stream, not ``EventSource``: the request carries the admin's Authorization header.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.deps import AdminPrincipal, SettingsDep
from api.errors import AUTH_ERROR_RESPONSES, ApiError, ErrorResponse, NotFound

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)

MAX_LOG_LINES = 1000
DEFAULT_LOG_LINES = 200
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
MAX_FOLLOW_SECONDS = 3600.0
RPC_TIMEOUT_SECONDS = 5.0
NDJSON = "application/x-ndjson"

ProgramName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="A program, `group:name`, or a group",
    ),
]
LineCount = Annotated[int, Query(ge=0, le=MAX_LOG_LINES, description="Lines from the end of the log.")]


class LogUnavailable(ApiError):
    status_code = 503


class LogLine(BaseModel):
    process: str
    line: str


class LogOut(BaseModel):
    name: str
    lines: list[LogLine]


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "supervisord has no program or process by that name"},
    503: {"model": ErrorResponse, "description": "supervisord unreachable"},
}


class _Follower:
    """The cursors of one request, opened at the end of each log (after its last lines)."""

    def __init__(self, settings: Any, name: str) -> None:
        from ops import control
        from ops.errors import SupervisorUnreachable, UnknownProgram
        from ops.logs import LogReader
        from ops.rpc import SupervisorClient
        from ops.status import collect_status

        client = SupervisorClient.from_settings(settings, timeout=RPC_TIMEOUT_SECONDS)
        try:
            processes = control.resolve(collect_status(client, settings, probe=False), [name])
        except UnknownProgram:
            raise NotFound(f"no program or process named {name}") from None
        except SupervisorUnreachable as exc:
            raise LogUnavailable(f"supervisord unreachable: {exc}") from None
        self.reader = LogReader(client, base_dir=settings.APP_HOME)
        self.cursors = [self.reader.open(p) for p in processes]

    def last_lines(self, count: int) -> list[LogLine]:
        return [
            LogLine(process=cursor.name, line=line)
            for cursor in self.cursors
            for line in self.reader.last_lines(cursor, count)
        ]

    def poll(self) -> list[LogLine]:
        return [
            LogLine(process=cursor.name, line=line)
            for cursor in self.cursors
            for line in self.reader.poll(cursor)
        ]


def _open(settings: Any, name: str, count: int) -> tuple[_Follower, list[LogLine]]:
    from ops.errors import OpsError

    follower = _Follower(settings, name)
    try:
        return follower, follower.last_lines(count)
    except OpsError as exc:
        raise LogUnavailable(f"cannot read the log of {name}: {exc}") from None


@router.get("/services/{name}/log", response_model=LogOut, responses=ERRORS)
async def read_log(
    name: ProgramName, _admin: AdminPrincipal, settings: SettingsDep, lines: LineCount = DEFAULT_LOG_LINES
) -> LogOut:
    """The last ``lines`` lines of a program's log (each process's, for a group)."""
    _, found = await anyio.to_thread.run_sync(_open, settings, name, lines)
    return LogOut(name=name, lines=found)


def _ndjson(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload, ensure_ascii=False) + "\n").encode()


async def _stream(request: Request, follower: _Follower, first: list[LogLine]) -> AsyncIterator[bytes]:
    from ops.errors import OpsError

    for entry in first:
        yield _ndjson(entry.model_dump())
    started = last_sent = time.monotonic()
    while time.monotonic() - started < MAX_FOLLOW_SECONDS:
        if await request.is_disconnected():
            return
        try:
            new = await anyio.to_thread.run_sync(follower.poll)
        except OpsError as exc:  # supervisord went away: say so, end the stream; the page retries
            yield _ndjson({"error": f"log unavailable: {exc}"})
            return
        for entry in new:
            yield _ndjson(entry.model_dump())
        now = time.monotonic()
        if new:
            last_sent = now
        elif now - last_sent >= HEARTBEAT_SECONDS:
            yield _ndjson({"heartbeat": True})
            last_sent = now
        await anyio.sleep(POLL_SECONDS)


@router.get(
    "/services/{name}/log/follow",
    response_class=StreamingResponse,
    responses={**ERRORS, 200: {"content": {NDJSON: {}}, "description": "one JSON object a line"}},
)
async def follow_log(
    name: ProgramName,
    request: Request,
    _admin: AdminPrincipal,
    settings: SettingsDep,
    lines: LineCount = DEFAULT_LOG_LINES,
) -> StreamingResponse:
    """Stream the last ``lines`` lines, then every new line once, as newline-delimited JSON."""
    follower, first = await anyio.to_thread.run_sync(_open, settings, name, lines)
    return StreamingResponse(
        _stream(request, follower, first),
        media_type=NDJSON,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
