"""The BaseWorker loop with an injected clock, sleep and RNG: no real waiting, no timing."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from config.config import load
from workers import BaseWorker
from workers.base_worker import WorkerError

SETTINGS = load(
    {
        "WORKER_IDLE_INTERVAL": "30",
        "WORKER_ACTIVE_INTERVAL": "0",
        "BACKOFF_MIN_DELAY": "1",
        "BACKOFF_MAX_DELAY": "60",
        "WORKER_STALL_SECONDS": "10",
    },
    environ={},
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedWorker(BaseWorker):
    """Each batch takes the next step of a script: a count to return or an exception to raise."""

    def __init__(self, script: list[int | Exception], **kwargs: Any) -> None:
        self.clock_ = FakeClock()
        self.sleeps: list[float] = []
        self.events: list[str] = []
        super().__init__(
            worker_name="scripted",
            settings=SETTINGS,
            clock=self.clock_,
            sleep=self._sleep_fake,
            rng=random.Random(3),
            handle_signals=False,
            **kwargs,
        )
        self.script = list(script)

    def _sleep_fake(self, seconds: float) -> bool:
        self.sleeps.append(round(seconds, 6))
        self.clock_.now += seconds
        return False

    def process_batch(self) -> int:
        if not self.script:
            self.stop()
            return 0
        step = self.script.pop(0)
        self.events.append(f"batch:{step!r}" if isinstance(step, Exception) else f"batch:{step}")
        if isinstance(step, Exception):
            raise step
        return step

    def on_startup(self) -> None:
        self.events.append("startup")

    def on_shutdown(self) -> None:
        self.events.append("shutdown")

    def on_error(self, exc: Exception) -> None:
        self.events.append(f"error:{exc}")


def test_lifecycle_order_startup_batches_shutdown() -> None:
    worker = ScriptedWorker([2, 0])
    assert worker.run() == 0
    assert worker.events == ["startup", "batch:2", "batch:0", "shutdown"]


def test_idle_sleep_grows_from_the_active_interval_to_the_idle_interval() -> None:
    worker = ScriptedWorker([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0])
    worker.run()
    # No sleep after a batch that found work (active interval 0); back to 0.1 s after it.
    assert worker.sleeps == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30, 0.1]


def test_backoff_sequence_after_errors_and_reset_after_a_good_batch() -> None:
    boom = RuntimeError("database down")
    worker = ScriptedWorker([boom, boom, boom, boom, 1, boom])
    worker.run()
    rng = random.Random(3)  # the same draws the worker's Backoff makes
    expected = [rng.uniform(1, 1), rng.uniform(1, 2), rng.uniform(2, 4), rng.uniform(4, 8)]
    # Four growing delays with jitter; the good batch resets: the next error waits the minimum.
    assert worker.sleeps == [round(d, 6) for d in expected] + [1.0]
    assert worker.events.count("error:database down") == 5
    assert worker.status.errors_total == 5


def test_backoff_reports_itself_in_the_health_status() -> None:
    seen: list[tuple[str, int, bool]] = []
    boom = RuntimeError("down")
    worker = ScriptedWorker([boom, boom, 0])
    original = worker._sleep

    def recording_sleep(seconds: float) -> bool:
        seen.append((worker.status.state, worker.status.consecutive_errors, worker.status.is_ready()))
        return original(seconds)

    worker._sleep = recording_sleep
    worker.run()
    assert seen == [("backing_off", 1, False), ("backing_off", 2, False), ("idle", 0, True)]


def test_once_returns_zero_after_a_good_batch_and_one_after_an_error() -> None:
    assert ScriptedWorker([4], once=True).run() == 0
    failing = ScriptedWorker([RuntimeError("x")], once=True)
    assert failing.run() == 1
    assert failing.sleeps == []


def test_a_broken_on_error_hook_does_not_kill_the_loop() -> None:
    class Broken(ScriptedWorker):
        def on_error(self, exc: Exception) -> None:
            raise ValueError("hook bug")

    worker = Broken([RuntimeError("x"), 1])
    assert worker.run() == 0
    assert worker.events == ["startup", "batch:RuntimeError('x')", "batch:1", "shutdown"]


def test_wake_hint_shortens_the_next_sleep() -> None:
    class Hinting(ScriptedWorker):
        def process_batch(self) -> int:
            count = super().process_batch()
            if not self.stop_requested:
                self.request_wakeup(0.05)
            return count

    worker = Hinting([0, 0, 0])
    worker.run()
    assert worker.sleeps == [0.05, 0.05, 0.05]


def test_stall_detection_uses_the_promised_silence() -> None:
    worker = ScriptedWorker([])
    status, clock = worker.status, worker.clock_
    status.heartbeat(expect_silence=30)  # a chosen 30 s sleep is not a stall
    clock.now += 39
    assert status.is_alive()
    clock.now += 2
    assert not status.is_alive()
    assert status.snapshot()["status"] == "unhealthy"


def test_real_sleep_ends_at_once_on_stop_and_on_wake() -> None:
    class Idle(BaseWorker):
        batches = 0

        def process_batch(self) -> int:
            self.batches += 1
            return 0

    worker = Idle(worker_name="idle", settings=SETTINGS, idle_interval=3600, handle_signals=False)
    runner = threading.Thread(target=worker.run)
    runner.start()
    wait = _waiter(lambda: worker.status.state == "idle")
    wait()
    before = worker.batches
    worker.wake()  # ends the (first, 0.1 s) sleep; later sleeps are long
    _waiter(lambda: worker.batches > before)()
    worker.stop()
    runner.join(timeout=5)
    assert not runner.is_alive()
    assert worker.status.state == "stopped"


def test_stop_before_run_calls_on_shutdown_once() -> None:
    worker = ScriptedWorker([1])
    worker.stop()
    worker.stop()
    assert worker.events == ["shutdown"]
    assert worker.run() == 0


def test_negative_intervals_are_refused() -> None:
    with pytest.raises(WorkerError):
        ScriptedWorker([], idle_interval=-1)


def _waiter(condition: Callable[[], bool]) -> Callable[[], bool]:
    from tests.support.wait import wait_until

    return lambda: wait_until(condition, timeout=10)
