"""BaseWorker: the generic loop every background worker runs. A plain library (no database, no API).

    class MyWorker(BaseWorker):
        worker_name = "my_worker"   # names it in logs, claims and metrics

        def process_batch(self) -> int:
            return count            # items handled; 0 means "nothing to do"

    if __name__ == "__main__":
        sys.exit(MyWorker.main())   # --once, --health-port N|auto, --worker-id, ... (see --help)

    code = MyWorker.run_cli(["--once"])   # the same from a library: returns the exit code

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
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, MutableMapping
from types import FrameType
from typing import Any

from config.checks import problems as refusals
from config.config import ConfigError, Settings, get_settings, load
from config.logsetup import configure as configure_logging
from workers.backoff import Backoff
from workers.health import BACKING_OFF, DRAINING, IDLE, RUNNING, STARTING, STOPPED, HealthServer, HealthStatus
from workers.wakeup import Wakeup

FIRST_IDLE_STEP = 0.1  # seconds: the first sleep after an empty batch, doubled up to the idle interval


class WorkerError(Exception):
    """Root of this package's errors: a worker that cannot start (bad option, health port taken)."""


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


def non_negative_seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return number


def program_name() -> str:
    """How this process was started, for ``--help``: ``python -m pkg.mod``, ``python my_worker.py``
    or a console script's name."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        name = spec.name.removesuffix(".__main__")
        return f"python -m {name}"
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "worker"
    return f"python {script}" if script.endswith(".py") else script


class BaseWorker(ABC):
    """The loop, signals, backoff and health server; subclasses implement ``process_batch()``.

    A subclass names itself with the class attribute ``worker_name`` (or the ``worker_name``
    argument). Keyword options (each defaults to the matching setting in ``config``): ``worker_id``,
    ``settings``, ``idle_interval``, ``active_interval``, ``stall_seconds``, ``backoff_min``,
    ``backoff_max``, ``stop_timeout``, ``health_port`` (int, ``"auto"`` = WORKER_HEALTH_PORT +
    worker id, 0 = any free port, None = no server), ``health_host``, ``once``. For tests:
    ``clock`` (monotonic seconds), ``sleep`` (``sleep(seconds) -> woken_early``), ``rng`` (a
    ``random.Random`` for the backoff jitter), ``handle_signals`` (False leaves the process's
    signal handlers alone).
    """

    worker_name: str = "worker"

    def __init__(
        self,
        worker_name: str | None = None,
        *,
        worker_id: int = 0,
        settings: Settings | None = None,
        idle_interval: float | None = None,
        active_interval: float | None = None,
        stall_seconds: float | None = None,
        backoff_min: float | None = None,
        backoff_max: float | None = None,
        stop_timeout: float | None = None,
        health_port: int | str | None = None,
        health_host: str | None = None,
        once: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], bool] | None = None,
        rng: random.Random | None = None,
        handle_signals: bool = True,
    ) -> None:
        self.settings = settings if settings is not None else load()
        s = self.settings
        worker_name = worker_name or type(self).worker_name
        self.worker_name = worker_name
        self.worker_id = int(worker_id)
        self.idle_interval = s.WORKER_IDLE_INTERVAL if idle_interval is None else idle_interval
        self.active_interval = s.WORKER_ACTIVE_INTERVAL if active_interval is None else active_interval
        if self.idle_interval < 0 or self.active_interval < 0:
            raise WorkerError("idle and active intervals must not be negative")
        self.stop_timeout = s.WORKER_STOP_TIMEOUT if stop_timeout is None else stop_timeout
        if self.stop_timeout < 0:
            raise WorkerError("the stop timeout must not be negative")
        self.once = once
        self.clock = clock
        self.backoff = Backoff(
            min_delay=s.BACKOFF_MIN_DELAY if backoff_min is None else backoff_min,
            max_delay=s.BACKOFF_MAX_DELAY if backoff_max is None else backoff_max,
            rng=rng,
        )
        self.status = HealthStatus(
            worker_name,
            self.worker_id,
            clock=clock,
            stall_seconds=s.WORKER_STALL_SECONDS if stall_seconds is None else stall_seconds,
        )
        if health_port == "auto":
            health_port = s.worker_health_port(self.worker_id)
        self.health_port: int | None = None if health_port is None else int(health_port)
        self.health_host = health_host or s.WORKER_HEALTH_HOST
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

    # ----- command line --------------------------------------------------------------------
    @classmethod  # noqa: B027 - optional hook
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Subclasses add their own flags here (call super)."""

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        """Constructor keyword arguments from parsed flags; None means "use config"."""
        return {
            "worker_id": args.worker_id,
            "health_port": args.health_port,
            "once": args.once,
            "idle_interval": args.idle_interval,
            "active_interval": args.active_interval,
        }

    @classmethod
    def build_parser(cls) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(
            prog=program_name(),
            description=(cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else None,
            epilog="Settings come from the environment and .env (see config/config.py); flags win. "
            "SIGTERM/SIGINT: warm stop (finish the batch, exit 0; work not started by "
            "WORKER_STOP_TIMEOUT is given back); a second one: exit at once.",
        )
        parser.add_argument(
            "--worker-id",
            type=int,
            default=0,
            metavar="N",
            help="this worker's number; names it in logs and claims (default 0)",
        )
        parser.add_argument(
            "--health-port",
            type=_health_port_arg,
            default=None,
            metavar="N|auto",
            help="serve /health /livez /readyz /metrics on this port; 'auto' = "
            "WORKER_HEALTH_PORT + worker id; 0 = any free port (default: off)",
        )
        parser.add_argument(
            "--once", action="store_true", help="run one batch and exit (0 on success, 1 if the batch failed)"
        )
        parser.add_argument(
            "--idle-interval",
            type=non_negative_seconds,
            default=None,
            metavar="SECONDS",
            help="longest sleep when there is no work (WORKER_IDLE_INTERVAL)",
        )
        parser.add_argument(
            "--active-interval",
            type=non_negative_seconds,
            default=None,
            metavar="SECONDS",
            help="sleep between batches while there is work (WORKER_ACTIVE_INTERVAL)",
        )
        parser.add_argument(
            "--log-level",
            default=None,
            choices=["DEBUG", "INFO", "WARNING", "ERROR"],
            help="log level (LOG_LEVEL)",
        )
        cls.add_arguments(parser)
        return parser

    @classmethod
    def run_cli(cls, argv: list[str] | None = None) -> int:
        """Parse flags, configure logging, run the worker; the exit code (2 for bad flags or
        settings). For library users and tests: it returns, and leaves the process running."""
        try:
            args = cls.build_parser().parse_args(argv)
        except SystemExit as exc:  # --help (0) or a bad flag (2, after argparse's one-line message)
            return exc.code if isinstance(exc.code, int) else 2
        try:
            settings = get_settings()
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if refused := refusals(settings):  # what `python -m config check` reports, e.g. no JWT_SECRET
            print("\n".join(f"error: {line}" for line in refused), file=sys.stderr)
            return 2
        level = logging.getLevelName((args.log_level or settings.LOG_LEVEL).upper())
        if not isinstance(level, int):
            print(f"error: unknown log level {settings.LOG_LEVEL!r}", file=sys.stderr)
            return 2
        # DEBUG is for our own loggers; libraries (SQLAlchemy would log every statement) stay at INFO.
        configure_logging(
            settings,
            program="worker",
            level=logging.getLevelName(max(level, logging.INFO)),
            levels={"workers": logging.getLevelName(level)},
        )
        try:
            worker = cls(
                settings=settings, **{k: v for k, v in cls.options_from_args(args).items() if v is not None}
            )
            return worker.run()
        except WorkerError as exc:
            logging.getLogger(f"workers.{cls.worker_name}").error("%s", exc)
            return 2

    @classmethod
    def main(cls, argv: list[str] | None = None) -> int:
        """``run_cli()``, then end the process with its exit code: for ``if __name__ == "__main__"``."""
        code = cls.run_cli(argv)
        # The worker has shut down cleanly (connections closed, threads joined, logs written).
        # Tearing down the interpreter's modules would only add up to a second before a stop
        # completes (measured under load); exit now instead.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
