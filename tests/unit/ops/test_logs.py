"""Following a log exactly once, with supervisord's own tail/read functions over real files.

The stand-in client calls ``supervisor.options.tailFile``/``readFile`` (what supervisord's
XML-RPC methods call) on a real file that really rotates, so its quirks are the real ones. The
real XML-RPC path is covered by tests/integration/ops/test_logs_follow.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from supervisor.options import readFile, tailFile

from ops.logs import LogCursor, LogPosition, LogReader
from ops.status import ProcessStatus


class FileClient:
    def __init__(self, path: Path) -> None:
        self.path = path

    def tail(
        self, name: str, offset: int, length: int, *, channel: str = "stdout"
    ) -> tuple[bytes, int, bool]:
        if not self.path.exists():
            return b"", 0, False
        data, new_offset, overflow = tailFile(str(self.path), offset, length)
        return data.encode(), new_offset, overflow

    def read(self, name: str, offset: int, length: int, *, channel: str = "stdout") -> bytes:
        return readFile(str(self.path), offset, length)  # bytes; the RPC method decodes them


class Log:
    """A log that rotates like supervisord's: past max_bytes, .N -> .N+1, file -> .1, new file."""

    def __init__(self, path: Path, max_bytes: int, backups: int = 3) -> None:
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        path.touch()

    def write(self, text: str) -> None:
        with open(self.path, "a") as f:
            f.write(text)
        if self.path.stat().st_size > self.max_bytes:
            for i in range(self.backups - 1, 0, -1):
                older = Path(f"{self.path}.{i}")
                if older.exists():
                    os.replace(older, f"{self.path}.{i + 1}")
            os.replace(self.path, f"{self.path}.1")
            self.path.touch()


def process_of(log: Log) -> ProcessStatus:
    return ProcessStatus(
        name="p",
        group="p",
        state="RUNNING",
        pid=1,
        started_at=0,
        now=0,
        exitstatus=0,
        spawnerr="",
        description="",
        stdout_logfile=str(log.path),
    )


def reader_for(log: Log, chunk: int = 64) -> tuple[LogReader, LogCursor]:
    reader = LogReader(FileClient(log.path), chunk=chunk)  # type: ignore[arg-type]
    cursor = reader.open(process_of(log))
    return reader, cursor


def test_last_lines_by_lines_not_bytes(tmp_path: Path) -> None:
    log = Log(tmp_path / "p.log", max_bytes=10**9)
    log.write("".join(f"line {i}\n" for i in range(1000)))
    reader, cursor = reader_for(log)
    assert reader.last_lines(cursor, 3) == ["line 997", "line 998", "line 999"]
    assert reader.last_lines(cursor, 0) == []
    assert len(reader.last_lines(cursor, 500)) == 500


def test_little_new_data_is_not_repeated(tmp_path: Path) -> None:
    log = Log(tmp_path / "p.log", max_bytes=10**9)
    log.write("".join(f"old {i}\n" for i in range(50)))
    reader, cursor = reader_for(log)
    reader.last_lines(cursor, 0)
    log.write("new 1\n")
    assert reader.poll(cursor) == ["new 1"]  # tailFile returned 64 bytes; only 6 are new
    assert reader.poll(cursor) == []


def test_a_burst_bigger_than_the_chunk_is_not_lost(tmp_path: Path) -> None:
    log = Log(tmp_path / "p.log", max_bytes=10**9)
    reader, cursor = reader_for(log, chunk=64)
    reader.last_lines(cursor, 0)
    log.write("".join(f"burst {i}\n" for i in range(300)))  # overflow: tailFile skips to the end
    assert reader.poll(cursor) == [f"burst {i}" for i in range(300)]


def test_partial_lines_wait_for_their_end(tmp_path: Path) -> None:
    log = Log(tmp_path / "p.log", max_bytes=10**9)
    reader, cursor = reader_for(log)
    reader.last_lines(cursor, 0)
    log.write("hal")
    assert reader.poll(cursor) == []
    log.write("f\nnext\n")
    assert reader.poll(cursor) == ["half", "next"]


def test_every_line_exactly_once_across_rotations(tmp_path: Path) -> None:
    log = Log(tmp_path / "p.log", max_bytes=2000, backups=3)
    reader, cursor = reader_for(log, chunk=256)
    reader.last_lines(cursor, 0)
    seen: list[str] = []
    for i in range(3000):
        log.write(f"line {i:05d} {'x' * (i % 40)}\n")
        if i % 37 == 0:  # polls at odd moments, sometimes after a rotation or two
            seen.extend(reader.poll(cursor))
    seen.extend(reader.poll(cursor))
    assert [line.split()[1] for line in seen] == [f"{i:05d}" for i in range(3000)]


def test_a_follower_resumes_from_a_position_each_line_once_across_rotations(tmp_path: Path) -> None:
    """A follower that lost its connection opens again at the last line's position: the lines
    written meanwhile (some in files rotated away since) come once, none twice, none missing."""
    log = Log(tmp_path / "p.log", max_bytes=2000, backups=3)
    log.write("".join(f"before {i}\n" for i in range(10)))
    reader, cursor = reader_for(log, chunk=256)
    reader.last_lines(cursor, 0)
    log.write("seen 1\nseen 2\nhal")
    got = reader.poll_lines(cursor)
    assert [line.text for line in got] == ["seen 1", "seen 2"]
    position = got[-1].position
    assert position == reader.position(cursor)  # the unfinished "hal" is not counted as read
    assert LogPosition.parse(str(position)) == position
    # The connection is lost; meanwhile the line ends and the log rotates (not more than it keeps).
    log.write("f\n" + "".join(f"meanwhile {i:03d} {'y' * 30}\n" for i in range(80)))
    again = reader.resume(process_of(log), position)
    texts = reader.poll(again)
    assert texts == ["half"] + [f"meanwhile {i:03d} {'y' * 30}" for i in range(80)]
    assert reader.poll(again) == []


def test_a_log_position_is_two_whole_numbers() -> None:
    assert LogPosition.parse("12:345") == LogPosition(12, 345)
    for bad in ("", "12", "a:1", "1:-2", "1:2:3"):
        with pytest.raises(ValueError, match="not a log position"):
            LogPosition.parse(bad)


def test_a_resume_far_behind_skips_what_it_cannot_send_and_counts_it(tmp_path: Path) -> None:
    log = Log(tmp_path / "p.log", max_bytes=10**9)
    log.write("old\n")
    reader, cursor = reader_for(log, chunk=64)
    reader.last_lines(cursor, 0)
    position = reader.position(cursor)
    log.write("".join(f"line {i:04d}\n" for i in range(1000)))  # 10 bytes a line
    behind = reader.resume(process_of(log), position)
    # The last 105 bytes are 10 lines and a half: the line they begin in is kept whole.
    assert reader.skip_backlog(behind, keep=105) == 989
    assert reader.poll(behind) == [f"line {i:04d}" for i in range(989, 1000)]
    assert reader.skip_backlog(behind, keep=105) == 0  # nothing behind any more
    near = reader.resume(process_of(log), position)
    assert reader.skip_backlog(near, keep=10**6) == 0
    assert len(reader.poll(near)) == 1000
