"""A wake-up signal that is safe to set from a signal handler: the self-pipe trick.

``threading.Event.set()`` takes a lock; called from a signal handler while the main thread is
inside ``Event.wait()`` holding that same lock, it deadlocks. Writing one byte to a pipe takes no
lock, so the signal handler, the health thread and the database listener threads can all end
the loop's sleep at once.

    wakeup = Wakeup()
    woken = wakeup.wait(30.0)   # True as soon as someone calls wakeup.set()
"""

from __future__ import annotations

import os
import select


class Wakeup:
    """``set()`` from anywhere (any thread, a signal handler); ``wait(timeout)`` from one thread."""

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._closed = False

    def set(self) -> None:
        if self._closed:
            return
        try:
            os.write(self._write_fd, b"!")
        except (BlockingIOError, OSError):
            pass  # the pipe is full (a wake-up is already pending) or closed at shutdown

    def clear(self) -> None:
        """Forget wake-ups that arrived so far."""
        try:
            while os.read(self._read_fd, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def wait(self, timeout: float | None) -> bool:
        """Sleep up to ``timeout`` seconds; True when woken early (the wake-up is consumed)."""
        if timeout is not None and timeout <= 0:
            ready = select.select([self._read_fd], [], [], 0)[0]
        else:
            ready = select.select([self._read_fd], [], [], timeout)[0]
        if ready:
            self.clear()
            return True
        return False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._read_fd)
            os.close(self._write_fd)
