"""BaseWorker: the generic loop every background worker runs. A plain library (no database, no API).

    class MyWorker(BaseWorker):
        worker_name = "my_worker"   # names it in logs, claims and metrics

        def process_batch(self) -> int:
            return count            # items handled; 0 means "nothing to do"

    python -m workers run mypkg.mymod:MyWorker --once    # the command (workers.cli); --help lists
                                                         # every Option of the class as a flag
    if __name__ == "__main__":
        sys.exit(MyWorker.main())   # the same command for ``python -m mypkg.mymod``

    code = MyWorker.run_cli(["--once"])   # the same from a library: returns the exit code

Options are declared once, as class attributes (``workers.options.Option``): each is a setting's
default, a constructor keyword and a flag, with its help. This class is the loop only: the
command line, logging set-up and process exit are ``workers.cli``'s.

The loop (modelled on rq's ``Worker.work``): ``on_startup()``, then until stopped: heartbeat,
``process_batch()``, then sleep — the active interval while batches find work, doubling up to the
idle interval while they find none; an error goes to ``on_error()`` and the sleep becomes an
exponential backoff with jitter, reset by the next good batch. ``finally``: ``on_shutdown()``.
A ``process_batch()`` that returns anything but an int counts as a failed batch (a TypeError
naming the method and the value goes through ``on_error()`` and the backoff).

Every sleep ends at once on ``stop()``, on a signal, or on ``wake()`` (used by database listeners
to say "new work"). The first SIGTERM/SIGINT is a warm stop: the current batch finishes,
``on_shutdown()`` runs and the process exits 0. A long batch checks ``stop_overdue`` (true once
``stop_timeout``, WORKER_STOP_TIMEOUT, has passed since the stop) to give back work it has not
started. A second is a cold stop: exit at once with
128 + the signal number; claimed work comes back to others when its lease expires.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, MutableMapping
from types import FrameType
from typing import Any

from config.config import Settings, load
from workers.backoff import Backoff
from workers.health import BACKING_OFF, DRAINING, IDLE, RUNNING, STARTING, STOPPED, HealthServer, HealthStatus
from workers.options import Option, WorkerError, non_negative_seconds, options_of
from workers.wakeup import Wakeup

__all__ = ["BaseWorker", "Option", "WorkerError", "non_negative_seconds"]

FIRST_IDLE_STEP = 0.1  # seconds: the first sleep after an empty batch, doubled up to the idle interval


class _PrefixAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        worker = self.extra["worker"] if self.extra else ""
        kwargs["extra"] = {"worker": worker, **kwargs.get("extra", {})}  # a field of its own in JSON
        return f"[{worker}] {msg}", kwargs


def _health_port_arg(value: str) -> int | str:
    if value == "auto":
        return "auto"
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number or 'auto', got {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {port}")
    return port


class BaseWorker(ABC):
    """The loop, signals, backoff and health server; subclasses implement ``process_batch()``.

    A subclass names itself with the class attribute ``worker_name`` (or the ``worker_name``
    argument). Its options are the ``Option`` attributes below (each a keyword argument, a flag
    and, where it names one, a setting's default): ``worker_id``, ``health_port`` (int,
    ``"auto"`` = WORKER_HEALTH_PORT + worker id, 0 = any free port, None = no server),
    ``health_host``, ``once``, ``idle_interval``, ``active_interval``, ``stall_seconds``,
    ``backoff_min``, ``backoff_max``, ``stop_timeout``; a subclass adds its own the same way.
    ``settings`` (default: loaded). For tests: ``clock`` (monotonic seconds), ``sleep``
    (``sleep(seconds) -> woken_early``), ``rng`` (a ``random.Random`` for the backoff jitter),
    ``handle_signals`` (False leaves the process's signal handlers alone).
    """

    worker_name: str = "worker"

    worker_id = Option(
        default=0, parse=int, minimum=0, metavar="N", help="this worker's number; names it in logs and claims"
    )
    health_port = Option(
        parse=_health_port_arg,
        metavar="N|auto",
        help="serve /health /livez /readyz /metrics on this port; 'auto' = WORKER_HEALTH_PORT + "
        "worker id; 0 = any free port (default: off)",
    )
    health_host = Option("WORKER_HEALTH_HOST", metavar="HOST")
    once = Option(
        flag=True, default=False, help="run one batch and exit (0 on success, 1 if the batch failed)"
    )
    idle_interval = Option("WORKER_IDLE_INTERVAL", parse=non_negative_seconds, minimum=0, metavar="SECONDS")
    active_interval = Option(
        "WORKER_ACTIVE_INTERVAL", parse=non_negative_seconds, minimum=0, metavar="SECONDS"
    )
    stall_seconds = Option("WORKER_STALL_SECONDS", parse=non_negative_seconds, minimum=0, metavar="SECONDS")
    backoff_min = Option("BACKOFF_MIN_DELAY", parse=non_negative_seconds, minimum=0, metavar="SECONDS")
    backoff_max = Option("BACKOFF_MAX_DELAY", parse=non_negative_seconds, minimum=0, metavar="SECONDS")
    stop_timeout = Option("WORKER_STOP_TIMEOUT", parse=non_negative_seconds, minimum=0, metavar="SECONDS")

    @classmethod
    def options(cls) -> dict[str, Option]:
        """Every option of this class, by name (``workers.options.options_of``)."""
        return options_of(cls)

    def __init__(
        self,
        worker_name: str | None = None,
        *,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], bool] | None = None,
        rng: random.Random | None = None,
        handle_signals: bool = True,
        **options: Any,
    ) -> None:
        self.settings = settings if settings is not None else load()
        s = self.settings
        declared = type(self).options()
        unknown = sorted(set(options) - set(declared))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword argument(s): {', '.join(unknown)}"
            )
        for name, option in declared.items():
            setattr(self, name, option.resolve(options.get(name), s))
        worker_name = worker_name or type(self).worker_name
        self.worker_name = worker_name
        self.worker_id = int(self.worker_id)
        self.clock = clock
        self.backoff = Backoff(min_delay=self.backoff_min, max_delay=self.backoff_max, rng=rng)
        self.status = HealthStatus(worker_name, self.worker_id, clock=clock, stall_seconds=self.stall_seconds)
        if self.health_port == "auto":
            self.health_port = s.worker_health_port(self.worker_id)
        if self.health_port is not None:
            self.health_port = int(self.health_port)
        self.health_server: HealthServer | None = None
        self.handle_signals = handle_signals
        self.log = _PrefixAdapter(
            logging.getLogger(f"workers.{worker_name}"), {"worker": f"{worker_name}-{self.worker_id}"}
        )
        self._wakeup = Wakeup()
        self._sleep = sleep or self._wakeup.wait
        self._stop_requested = False
        self._stop_requested_at: float | None = None
        self._stop_reason = ""
        self._running = False
        self._shut_down = False
        self._interval = self.active_interval
        self._wake_hint: float | None = None
        self._old_handlers: dict[int, Any] = {}

    # ----- the subclass's part -------------------------------------------------------------
    @abstractmethod
    def process_batch(self) -> int:
        """Do one batch of work; return how many items it handled (0 = nothing to do)."""

    def on_startup(self) -> None:  # noqa: B027 - optional hook
        """Called once before the first batch."""

    def on_shutdown(self) -> None:  # noqa: B027 - optional hook
        """Called once when the worker stops (also from ``stop()`` when the loop never ran)."""

    def on_error(self, exc: Exception) -> None:
        """Called with the exception of a failed batch, before the backoff sleep."""
        self.log.error(
            "batch failed: %s: %s", type(exc).__name__, exc, exc_info=self.log.isEnabledFor(logging.DEBUG)
        )

    # ----- controls ------------------------------------------------------------------------
    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def stop_overdue(self) -> bool:
        """True once ``stop_timeout`` seconds have passed since a warm stop was requested: a batch
        gives back the work it has not started (the item in progress still finishes)."""
        at = self._stop_requested_at
        return at is not None and self.clock() - at >= self.stop_timeout

    def stop(self) -> None:
        """Warm stop: the loop finishes its batch and exits. Safe from any thread."""
        if self._stop_requested_at is None:
            self._stop_requested_at = self.clock()
        self._stop_requested = True
        self._stop_reason = self._stop_reason or "stop()"
        if self._running:
            self.status.set_state(DRAINING)
        self._wakeup.set()
        if not self._running:
            self._shutdown_once()

    def wake(self) -> None:
        """End the current sleep now (new work arrived). Safe from any thread or signal handler."""
        self._wakeup.set()

    def heartbeat(self) -> None:
        """Tell the health probes the loop is alive (call it between items of a long batch)."""
        self.status.heartbeat()

    def request_wakeup(self, seconds: float) -> None:
        """Sleep at most ``seconds`` after this batch (e.g. until a retry becomes due)."""
        seconds = max(0.0, seconds)
        self._wake_hint = seconds if self._wake_hint is None else min(self._wake_hint, seconds)

    # ----- the loop ------------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped; the process exit code (0, or 1 when ``once`` and the batch raised)."""
        if self._stop_requested:
            return 0
        self._running = True
        self._install_signal_handlers()
        try:
            self._start_health_server()
            self.status.set_state(STARTING)
            self.status.heartbeat()
            self.on_startup()
            self.log.info(
                "started (pid %d, idle interval %gs%s)",
                os.getpid(),
                self.idle_interval,
                f", health on port {self.health_server.port}" if self.health_server else "",
            )
            return self._loop()
        finally:
            self.status.set_state(DRAINING)
            self._running = False
            self._shutdown_once()
            self.status.set_state(STOPPED)
            if self.health_server is not None:
                self.health_server.stop()
            self._restore_signal_handlers()
            self.log.info("stopped%s", f" ({self._stop_reason})" if self._stop_reason else "")

    def _loop(self) -> int:
        while not self._stop_requested:
            self.status.set_state(RUNNING)
            if self._stop_requested:  # a signal between the check and the line above
                self.status.set_state(DRAINING)
            self.status.heartbeat()
            self._wake_hint = None
            started = self.clock()
            try:
                processed = self.process_batch()
                if not isinstance(processed, int) or isinstance(processed, bool):
                    raise TypeError(
                        f"{type(self).__name__}.process_batch() must return an int (the number of "
                        f"items handled, 0 for none), it returned {processed!r}"
                    )
            except Exception as exc:  # noqa: BLE001 - any batch error: report, back off, go on
                self.status.record_error(exc, self.clock() - started)
                self._call_on_error(exc)
                if self.once:
                    return 1
                delay = self.backoff.next_delay()
                self.log.warning(
                    "backing off %.2fs after %d consecutive error(s)", delay, self.backoff.failures
                )
                self._pause(BACKING_OFF, delay)
                continue
            self.status.record_batch(processed, self.clock() - started)
            if self.backoff.failures:
                self.log.info("recovered after %d error(s)", self.backoff.failures)
            self.backoff.reset()
            if self.once:
                return 0
            self._pause(IDLE, self._next_interval(processed))
        return 0

    def _next_interval(self, processed: int) -> float:
        if processed > 0:
            self._interval = self.active_interval
        else:
            grown = max(self.active_interval, FIRST_IDLE_STEP, self._interval * 2)
            self._interval = min(self.idle_interval, grown)
        if self._wake_hint is not None:
            return min(self._interval, self._wake_hint)
        return self._interval

    def _pause(self, state: str, seconds: float) -> None:
        if self._stop_requested:
            return
        self.status.set_state(state)
        self.status.heartbeat(expect_silence=seconds)
        if seconds > 0:
            self._sleep(seconds)

    def _call_on_error(self, exc: Exception) -> None:
        try:
            self.on_error(exc)
        except Exception as hook_exc:  # noqa: BLE001 - a broken hook must not kill the loop
            self.log.error("on_error raised %s: %s", type(hook_exc).__name__, hook_exc)

    def _shutdown_once(self) -> None:
        if self._shut_down:
            return
        self._shut_down = True
        try:
            self.on_shutdown()
        finally:
            self._wakeup.close()

    # ----- health server -------------------------------------------------------------------
    def _start_health_server(self) -> None:
        if self.health_port is None:
            return
        server = HealthServer(self.status, host=self.health_host, port=self.health_port)
        try:
            self.health_server = server.start()
        except OSError as exc:
            raise WorkerError(
                f"cannot serve health on {self.health_host}:{self.health_port}: {exc.strerror or exc}"
            ) from exc

    # ----- signals -------------------------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._old_handlers[signum] = signal.signal(signum, self._on_signal)

    def _restore_signal_handlers(self) -> None:
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        self._old_handlers.clear()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Runs between bytecodes of the main thread: no locks here (no logging, no Event.set).
        name = signal.Signals(signum).name
        if self._stop_requested:
            os.write(2, f"[{self.worker_name}-{self.worker_id}] second {name}: cold stop\n".encode())
            os._exit(128 + signum)
        self._stop_requested_at = self.clock()
        self._stop_requested = True
        self._stop_reason = f"warm stop on {name}"
        self.status.state = DRAINING
        self._wakeup.set()

    # ----- the command (workers.cli) ---------------------------------------------------------
    @classmethod  # noqa: B027 - optional hook
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Flags beyond the declared options (rarely needed: declare an ``Option`` instead)."""

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        """Constructor keywords from ``add_arguments``' flags (the declared options need none)."""
        return {}

    @classmethod
    def run_cli(cls, argv: list[str] | None = None) -> int:
        """``python -m workers run`` for this class: the exit code, the process left running."""
        from workers.cli import run_worker

        return run_worker(cls, argv)

    @classmethod
    def main(cls, argv: list[str] | None = None) -> int:
        """``run_cli()``, then end the process with its exit code: for ``if __name__ == "__main__"``."""
        from workers.cli import exit_now

        exit_now(cls.run_cli(argv))
        return 0  # not reached
