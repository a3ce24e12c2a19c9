"""Program logs by lines through supervisord's XML-RPC tail, and following them without repeats.

supervisord's ``tailProcessStdoutLog(name, offset, length)`` has three traps, handled here:

* when fewer than ``length`` new bytes exist it returns the last ``length`` bytes anyway, so bytes
  already seen come back (supervisor issue #583): only the last ``new_offset - offset`` are new;
* when more than ``length`` new bytes exist it sets ``overflow`` and skips to the end: the gap is
  read with ``readProcessStdoutLog`` instead of being lost;
* after a size rotation the file is new (another inode) and the offset starts again near 0: the
  unread end of the old file is read from its backup (``name.log.1``, found by inode), then the new
  file from its start. Restarts of a program append to the same file and need nothing special.

Every line read by ``poll_lines`` comes with its ``LogPosition`` (the file, by inode, and the byte
offset just after the line): a follower that lost its connection opens a cursor again with
``resume(process, position)`` and reads from there, each line once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ops.rpc import SupervisorClient
from ops.status import ProcessStatus

CHUNK = 64 * 1024
MAX_BACKSCAN = 8 * 1024 * 1024
ROTATION_GAP = "[log rotated more than once between reads: some lines were skipped]"


@dataclass(frozen=True)
class LogPosition:
    """Just after a line: the byte ``offset`` in the file with this ``inode`` (0: not known here).

    ``str()`` gives ``"inode:offset"``, which ``parse`` reads back (a follower's resume token)."""

    inode: int
    offset: int

    def __str__(self) -> str:
        return f"{self.inode}:{self.offset}"

    @classmethod
    def parse(cls, text: str) -> LogPosition:
        """``"inode:offset"`` (two whole numbers); ValueError otherwise."""
        inode, sep, offset = text.partition(":")
        if not sep or not inode.isdigit() or not offset.isdigit():
            raise ValueError(f"not a log position: {text!r} (expected inode:offset)")
        return cls(int(inode), int(offset))


@dataclass(frozen=True)
class PositionedLine:
    text: str
    position: LogPosition


@dataclass
class LogCursor:
    """Where a follower is in one process's log."""

    name: str
    channel: str
    logfile: str
    offset: int = 0
    inode: int | None = None
    partial: bytes = b""


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _split(cursor: LogCursor, data: bytes, end: int, inode: int | None) -> list[PositionedLine]:
    """Complete lines from ``partial + data``; an unfinished last line waits in the cursor.
    ``end`` is the offset of the end of ``data`` in the file with ``inode``."""
    if not data:
        return []
    *lines, cursor.partial = (cursor.partial + data).split(b"\n")
    # Counted back from the end: a line begun in a rotated file still ends in this one.
    after = end - len(cursor.partial)
    out: list[PositionedLine] = []
    for line in reversed(lines):
        out.append(
            PositionedLine(line.decode("utf-8", "replace").rstrip("\r"), LogPosition(inode or 0, after))
        )
        after -= len(line) + 1
    out.reverse()
    return out


class LogReader:
    """Reads the logs of supervisord processes; see the module docstring for the traps."""

    def __init__(self, client: SupervisorClient, *, chunk: int = CHUNK, base_dir: str = ".") -> None:
        """``base_dir``: supervisord's working directory, which relative log paths are relative to."""
        self.client = client
        self.chunk = chunk
        self.base_dir = Path(base_dir)

    def open(self, process: ProcessStatus) -> LogCursor:
        channel = "stdout" if process.stdout_logfile or not process.stderr_logfile else "stderr"
        logfile = process.stdout_logfile if channel == "stdout" else process.stderr_logfile
        path = self.base_dir / logfile if logfile else None
        # Without the log's directory here (supervisord on another file system) we follow by
        # offsets alone: a rotation is then seen as the offset going backwards.
        local = str(path) if path is not None and path.parent.is_dir() else ""
        return LogCursor(process.full_name, channel, local)

    def resume(self, process: ProcessStatus, position: LogPosition) -> LogCursor:
        """A cursor just after ``position``: its first ``poll`` reads every line written since (from
        the rotated file first when the log rotated meanwhile)."""
        cursor = self.open(process)
        cursor.offset = position.offset
        cursor.inode = position.inode or None
        return cursor

    def position(self, cursor: LogCursor) -> LogPosition:
        """Where the cursor is: just after the last complete line it read."""
        return LogPosition(cursor.inode or 0, max(0, cursor.offset - len(cursor.partial)))

    def skip_backlog(self, cursor: LogCursor, keep: int) -> int:
        """When more than ``keep`` bytes were written after the cursor in its file, move it on to the
        line in which the last ``keep`` bytes begin (so a resume far behind never reads a whole log
        into memory); returns how many complete lines it skipped (0: nothing moved).
        Rotated since: nothing moved (``poll`` reads the backups)."""
        if cursor.logfile and _inode(cursor.logfile) != cursor.inode:
            return 0
        _, size, _ = self.client.tail(cursor.name, 0, 1, channel=cursor.channel)
        cut = size - keep
        if cut <= cursor.offset:
            return 0
        lines, last_newline, start = 0, -1, cursor.offset + len(cursor.partial)
        for at, piece in self._pieces(cursor, start, cut):
            count = piece.count(b"\n")
            if count:
                lines += count
                last_newline = at + piece.rindex(b"\n")
        if last_newline < 0:
            return 0  # one line longer than the backlog: read on as usual
        cursor.offset, cursor.partial = last_newline + 1, b""
        return lines

    def _pieces(self, cursor: LogCursor, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """(offset, bytes) of ``[start, end)`` a chunk at a time: from the file when it is here."""
        if cursor.logfile:
            with open(cursor.logfile, "rb") as f:
                f.seek(start)
                while start < end and (piece := f.read(min(self.chunk, end - start))):
                    yield start, piece
                    start += len(piece)
            return
        while start < end:
            piece = self.client.read(cursor.name, start, min(self.chunk, end - start), channel=cursor.channel)
            if not piece:
                return
            yield start, piece
            start += len(piece)

    def last_lines(self, cursor: LogCursor, count: int) -> list[str]:
        """The last ``count`` complete lines; the cursor is left at the end of the log."""
        cursor.inode = _inode(cursor.logfile)
        length = max(self.chunk, count * 200)
        while True:
            data, size, _overflow = self.client.tail(cursor.name, 0, length, channel=cursor.channel)
            cursor.offset = size
            lines = data.split(b"\n")
            cursor.partial = lines.pop()
            if len(data) < size and lines:
                lines = lines[1:]  # the first line was cut by the byte window
            if len(lines) >= count or len(data) >= size or length >= MAX_BACKSCAN:
                break
            length *= 4
        picked = lines[-count:] if count > 0 else []
        return [line.decode("utf-8", "replace").rstrip("\r") for line in picked]

    def poll(self, cursor: LogCursor) -> list[str]:
        """Every complete line written since the last call, each exactly once, in order."""
        return [line.text for line in self.poll_lines(cursor)]

    def poll_lines(self, cursor: LogCursor) -> list[PositionedLine]:
        """``poll``, each line with the position to resume from after it."""
        out: list[PositionedLine] = []
        inode = _inode(cursor.logfile)
        if cursor.logfile and inode is None:
            return out  # between the rename and the new file of a rotation: try again soon
        if cursor.inode is None:
            cursor.inode = inode  # the file did not exist when we started following
        elif inode != cursor.inode:
            out.extend(self._drain_rotated(cursor))
            cursor.inode, cursor.offset = inode, 0
        data, new_offset, overflow = self.client.tail(
            cursor.name, cursor.offset, self.chunk, channel=cursor.channel
        )
        if cursor.logfile and _inode(cursor.logfile) != inode:
            return out  # rotated while we read: the data may be from either file; the next poll drains
        if new_offset < cursor.offset:
            # Shrunk without a visible rotation (no local file to compare): start over from the top.
            out.append(PositionedLine(ROTATION_GAP, LogPosition(inode or 0, 0)))
            cursor.offset = 0
            data, new_offset, overflow = self.client.tail(cursor.name, 0, self.chunk, channel=cursor.channel)
        gap = new_offset - cursor.offset
        if overflow or gap > len(data):
            data = self._read_range(cursor, cursor.offset, new_offset)
        else:
            data = data[len(data) - gap :] if gap > 0 else b""
        cursor.offset = new_offset
        out.extend(_split(cursor, data, new_offset, inode))
        return out

    def _read_range(self, cursor: LogCursor, start: int, end: int) -> bytes:
        parts = []
        while start < end:
            piece = self.client.read(cursor.name, start, min(self.chunk, end - start), channel=cursor.channel)
            if not piece:
                break
            parts.append(piece)
            start += len(piece)
        return b"".join(parts)

    def _drain_rotated(self, cursor: LogCursor) -> list[PositionedLine]:
        """The unread end of the rotated-away file, then any newer backups, oldest first."""
        base = Path(cursor.logfile)
        backups = sorted(
            base.parent.glob(base.name + ".*"),
            key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0,
        )
        backups = [p for p in backups if p.suffix[1:].isdigit()]
        index = next((i for i, p in enumerate(backups) if _inode(str(p)) == cursor.inode), None)
        if index is None:
            cursor.partial = b""
            return [PositionedLine(ROTATION_GAP, LogPosition(_inode(cursor.logfile) or 0, 0))]
        out: list[PositionedLine] = []
        for i in range(index, -1, -1):
            with open(backups[i], "rb") as f:
                f.seek(cursor.offset if i == index else 0)
                data = f.read()
                out.extend(_split(cursor, data, f.tell(), _inode(str(backups[i]))))
        return out


def follow(
    reader: LogReader,
    cursors: Iterable[LogCursor],
    emit: Callable[[LogCursor, str], None],
    *,
    sleep: Callable[[float], None],
    interval: float = 0.2,
    keep_going: Callable[[], bool] = lambda: True,
) -> None:
    """Poll every cursor until ``keep_going()`` is false, emitting each new line once."""
    cursors = list(cursors)
    while keep_going():
        got = False
        for cursor in cursors:
            for line in reader.poll(cursor):
                emit(cursor, line)
                got = True
        if not got:
            sleep(interval)
