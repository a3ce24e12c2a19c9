"""A program's log for admins: the last lines, and a live follow that streams each new line once.

Both read what ``ctl logs tail [-f]`` reads (``ops.logs``: supervisord's log tail over XML-RPC,
every line once across rotations and restarts).

- ``GET /api/v1/admin/services/{name}/log?lines=N``: the last N lines (N ≤ ``MAX_LOG_LINES``).
- ``GET /api/v1/admin/services/{name}/log/follow?lines=N``: newline-delimited JSON, one object a
  line. First ``{"heartbeat": true, "interval": S}`` (S: ``API_LOG_HEARTBEAT_SECONDS``), then the
  last N lines ``{"process", "line", "position"}``, then ``{"process", "position"}`` for each
  process (where it is now, even if it wrote nothing), then each new line as it is written, and the
  heartbeat again every S seconds while nothing is written: a client that hears nothing for two
  of them knows the stream is dead (a proxy may keep a dead one open).
- ``...&after=PROCESS@POSITION`` (one per process, from the lines or marks already received):
  resume. Every line written since comes once, instead of the last N; when more than
  ``MAX_LOG_LINES`` lines (or ``MAX_RESUME_BYTES``) were written meanwhile, the oldest are left out
  and ``{"process", "skipped": K}`` says how many.

The stream ends when the client goes away, when the caller is no longer an active admin (checked
again every ``API_LOG_RECHECK_SECONDS``: deactivated, deleted, demoted, token or key revoked; then
``{"error": ..., "status": 401}``), when this API process shuts down (``api.draining``: a restart
does not wait for open logs), or after ``MAX_FOLLOW_SECONDS``; the page follows again from where it
was. A ``fetch`` stream, not ``EventSource``: the request carries the admin's Authorization header.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api import draining
from api.deps import AdminPrincipal, Principal, SettingsDep, still_admin
from api.errors import AUTH_ERROR_RESPONSES, ApiError, ErrorResponse, NotFound
from api.supervisors import HostLabel, client_for
from config.config import Settings

if TYPE_CHECKING:
    from ops.logs import LogCursor, LogPosition, LogReader, PositionedLine
    from ops.status import ProcessStatus

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=AUTH_ERROR_RESPONSES)

MAX_LOG_LINES = 1000
DEFAULT_LOG_LINES = 200
POLL_SECONDS = 0.5
MAX_FOLLOW_SECONDS = 3600.0
RPC_TIMEOUT_SECONDS = 5.0
NDJSON = "application/x-ndjson"
MAX_RESUMED_PROCESSES = 64
# A resume far behind reads at most this much of each log (then at most MAX_LOG_LINES lines are sent).
MAX_RESUME_BYTES = 1024 * 1024

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
ResumeAfter = Annotated[
    list[str] | None,
    Query(
        max_length=MAX_RESUMED_PROCESSES,
        description="Resume: `PROCESS@POSITION` for each process, the `position` of the last line "
        "(or mark) received; every line written since is sent once, instead of the last `lines`.",
    ),
]


class LogUnavailable(ApiError):
    status_code = 503


class BadResume(ApiError):
    status_code = 422


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


def _parse_after(after: list[str] | None) -> dict[str, LogPosition]:
    from ops.logs import LogPosition

    positions: dict[str, LogPosition] = {}
    for item in after or []:
        process, sep, position = item.rpartition("@")
        try:
            if not sep or not process:
                raise ValueError(item)
            positions[process] = LogPosition.parse(position)
        except ValueError:
            raise BadResume(f"after={item[:200]!r}: expected PROCESS@INODE:OFFSET") from None
    return positions


class _Follower:
    """The cursors of one request: at the end of each log (after its last lines), or where a
    previous stream left off."""

    def __init__(
        self, settings: Settings, name: str, resume: dict[str, LogPosition], host: str | None = None
    ) -> None:
        from ops import control
        from ops.errors import SupervisorUnreachable, UnknownProgram
        from ops.logs import LogReader
        from ops.status import collect_status

        client = client_for(settings, host, timeout=RPC_TIMEOUT_SECONDS)
        self.processes: list[ProcessStatus] = []
        try:
            processes = self.processes = control.resolve(
                collect_status(client, settings, probe=False), [name]
            )
        except UnknownProgram:
            raise NotFound(f"no program or process named {name}") from None
        except SupervisorUnreachable as exc:
            raise LogUnavailable(f"supervisord unreachable: {exc}") from None
        self.reader: LogReader = LogReader(client, base_dir=settings.APP_HOME)
        self.cursors: list[LogCursor] = [
            self.reader.resume(p, resume[p.full_name]) if p.full_name in resume else self.reader.open(p)
            for p in processes
        ]
        self.resumed = {p.full_name for p in processes if p.full_name in resume}

    def start(self, count: int) -> list[dict[str, Any]]:
        """What a stream begins with: the last ``count`` lines (or, resuming, every line since),
        then each process's position."""
        out: list[dict[str, Any]] = []
        for cursor in self.cursors:
            if cursor.name in self.resumed:
                skipped = self.reader.skip_backlog(cursor, MAX_RESUME_BYTES)
                lines = self.reader.poll_lines(cursor)
                if len(lines) > MAX_LOG_LINES:
                    skipped += len(lines) - MAX_LOG_LINES
                    lines = lines[-MAX_LOG_LINES:]
                if skipped:
                    out.append({"process": cursor.name, "skipped": skipped})
                out.extend(_entry(cursor.name, line) for line in lines)
            else:
                out.extend(
                    {"process": cursor.name, "line": line} for line in self.reader.last_lines(cursor, count)
                )
        out.extend({"process": c.name, "position": str(self.reader.position(c))} for c in self.cursors)
        return out

    def last_lines(self, count: int) -> list[LogLine]:
        return [
            LogLine(process=cursor.name, line=line)
            for cursor in self.cursors
            for line in self.reader.last_lines(cursor, count)
        ]

    def poll(self) -> list[dict[str, Any]]:
        return [
            _entry(cursor.name, line) for cursor in self.cursors for line in self.reader.poll_lines(cursor)
        ]


def _entry(process: str, line: PositionedLine) -> dict[str, Any]:
    return {"process": process, "line": line.text, "position": str(line.position)}


def _follower(
    settings: Settings, name: str, resume: dict[str, LogPosition], host: str | None = None
) -> _Follower:
    from ops.errors import OpsError

    try:
        return _Follower(settings, name, resume, host)
    except OpsError as exc:
        raise LogUnavailable(f"cannot read the log of {name}: {exc}") from None


def _read(settings: Settings, name: str, count: int, host: str | None = None) -> list[LogLine]:
    from ops.errors import OpsError

    follower = _follower(settings, name, {}, host)
    try:
        return follower.last_lines(count)
    except OpsError as exc:
        raise LogUnavailable(f"cannot read the log of {name}: {exc}") from None


def _start(
    settings: Settings, name: str, count: int, resume: dict[str, LogPosition], host: str | None = None
) -> tuple[_Follower, list[dict[str, Any]]]:
    from ops.errors import OpsError

    follower = _follower(settings, name, resume, host)
    try:
        return follower, follower.start(count)
    except OpsError as exc:
        raise LogUnavailable(f"cannot read the log of {name}: {exc}") from None


@router.get("/services/{name}/log", response_model=LogOut, responses=ERRORS)
async def read_log(
    name: ProgramName,
    _admin: AdminPrincipal,
    settings: SettingsDep,
    lines: LineCount = DEFAULT_LOG_LINES,
    host: HostLabel = None,
) -> LogOut:
    """The last ``lines`` lines of a program's log (each process's, for a group); ``host``: on that
    host of SUPERVISOR_SERVERS."""
    found = await anyio.to_thread.run_sync(_read, settings, name, lines, host)
    return LogOut(name=name, lines=found)


def _ndjson(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload, ensure_ascii=False) + "\n").encode()


class _Access:
    """Asks again, every ``API_LOG_RECHECK_SECONDS``, whether the caller is still an active admin."""

    def __init__(self, request: Request, admin: Principal, every: float) -> None:
        self.request, self.admin, self.every = request, admin, every
        self.checked = self.confirmed = time.monotonic()

    async def revoked(self) -> str | None:
        """None while the caller may go on reading; else why not."""
        from store.db import unavailable_reason

        now = time.monotonic()
        if now - self.checked < self.every:
            return None
        self.checked = now
        try:
            ok = await anyio.to_thread.run_sync(still_admin, self.request, self.admin)
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                raise
            # The database did not answer: go on for one more interval, never longer unconfirmed.
            if now - self.confirmed < 2 * self.every:
                return None
            return f"cannot check your access: the database is unavailable ({reason})"
        if not ok:
            return "your access to this log has ended: sign in again as an active admin"
        self.confirmed = now
        return None


async def _stream(
    request: Request, follower: _Follower, first: list[dict[str, Any]], access: _Access, heartbeat: float
) -> AsyncIterator[bytes]:
    from ops.errors import OpsError

    yield _ndjson({"heartbeat": True, "interval": heartbeat})
    for entry in first:
        yield _ndjson(entry)
    started = last_sent = time.monotonic()
    while time.monotonic() - started < MAX_FOLLOW_SECONDS and not draining.draining():
        if await request.is_disconnected():
            return
        ended = await access.revoked()
        if ended is not None:
            yield _ndjson({"error": ended, "status": 401})
            return
        try:
            new = await anyio.to_thread.run_sync(follower.poll)
        except OpsError as exc:  # supervisord went away: say so, end the stream; the page retries
            yield _ndjson({"error": f"log unavailable: {exc}"})
            return
        for entry in new:
            yield _ndjson(entry)
        now = time.monotonic()
        if new:
            last_sent = now
        elif now - last_sent >= heartbeat:
            yield _ndjson({"heartbeat": True, "interval": heartbeat})
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
    admin: AdminPrincipal,
    settings: SettingsDep,
    lines: LineCount = DEFAULT_LOG_LINES,
    after: ResumeAfter = None,
    host: HostLabel = None,
) -> StreamingResponse:
    """Stream the last ``lines`` lines (or, with ``after``, every line since), then every new line
    once, as newline-delimited JSON; ``host``: on that host of SUPERVISOR_SERVERS."""
    resume = _parse_after(after)
    follower, first = await anyio.to_thread.run_sync(_start, settings, name, lines, resume, host)
    access = _Access(request, admin, settings.API_LOG_RECHECK_SECONDS)
    return StreamingResponse(
        _stream(request, follower, first, access, settings.API_LOG_HEARTBEAT_SECONDS),
        media_type=NDJSON,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


DOWNLOAD_CHUNK = 1024 * 1024


class NotOneProcess(ApiError):
    status_code = 422


def _download_range(settings: Settings, name: str, host: str | None) -> tuple[_Follower, str, int, int]:
    """(the follower, the process, where to start, where to end): the last API_LOG_DOWNLOAD_MAX_BYTES."""
    from ops.errors import OpsError

    follower = _follower(settings, name, {}, host)
    if len(follower.processes) != 1:
        names = ", ".join(p.full_name for p in follower.processes)
        raise NotOneProcess(f"{name} has several processes: download the log of one ({names})")
    process = follower.processes[0].full_name
    try:
        _, size, _ = follower.reader.client.tail(process, 0, 1)
    except OpsError as exc:
        raise LogUnavailable(f"cannot read the log of {name}: {exc}") from None
    return follower, process, max(0, size - settings.API_LOG_DOWNLOAD_MAX_BYTES), size


async def _chunks(follower: _Follower, process: str, start: int, end: int) -> AsyncIterator[bytes]:
    from ops.errors import OpsError

    offset = start
    while offset < end:
        length = min(DOWNLOAD_CHUNK, end - offset)
        try:
            data = await anyio.to_thread.run_sync(follower.reader.client.read, process, offset, length)
        except OpsError as exc:  # the headers are out: the file ends with why
            yield f"\n[download interrupted: {exc}]\n".encode()
            return
        if not data:
            return
        yield data
        offset += length


@router.get(
    "/services/{name}/log/download",
    response_class=StreamingResponse,
    responses={
        **ERRORS,
        200: {
            "content": {"text/plain": {}},
            "description": "the log file (its tail when larger than the cap)",
        },
        422: {"model": ErrorResponse, "description": "a group of several processes: name one"},
    },
)
async def download_log(
    name: ProgramName, _admin: AdminPrincipal, settings: SettingsDep, host: HostLabel = None
) -> StreamingResponse:
    """A process's current log file as an attachment: its last ``API_LOG_DOWNLOAD_MAX_BYTES`` bytes
    when it is larger (``X-Log-Truncated: true`` then; ``X-Log-Size``: the whole file's size)."""
    follower, process, start, end = await anyio.to_thread.run_sync(_download_range, settings, name, host)
    filename = process.replace(":", "_") + ".log"
    return StreamingResponse(
        _chunks(follower, process, start, end),
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Log-Size": str(end),
            "X-Log-Truncated": "true" if start > 0 else "false",
        },
    )
