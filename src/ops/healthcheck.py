"""The health listener: a supervisord event listener run as ``python -m ops.healthcheck``.

It keeps its own timer: every HEALTHCHECK_INTERVAL seconds (2 by default) a background thread reads
the stack's status, probes every declared health URL and carries out what
:class:`ops.policy.HealthPolicy` decides. The events supervisord sends (TICK_5) are answered at once
through ``supervisor.childutils.listener``; each one also makes sure the timer thread is alive. So a
hanging health URL or supervisord call never holds up supervisord's event queue, and a hung program
is noticed within seconds rather than at the next tick. Every decision is logged to stderr (stdout
is the protocol).

A second thread samples the queue history (``ops.queue_sampler``), apart from the checks: a database
fault there is logged and never reaches healing.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from supervisor.childutils import listener as protocol

from ops.control import restart
from ops.errors import OpsError
from ops.policy import Decision, HealthPolicy, Limits
from ops.proctree import newest_process_age
from ops.queue_sampler import QueueSampler
from ops.rpc import SupervisorClient
from ops.status import ProcessStatus, StackStatus, collect_status

if TYPE_CHECKING:
    from config.config import Settings

log = logging.getLogger("healthcheck")

EventHandler = Callable[[dict[str, str], str], None]


def serve(stdin: TextIO, stdout: TextIO, on_event: EventHandler) -> None:
    """Speak supervisord's event listener protocol (``childutils.listener``) until stdin closes."""
    while True:
        try:
            headers, payload = protocol.wait(stdin, stdout)
        except KeyError:  # no header line: stdin closed, supervisord is stopping us
            return
        try:
            on_event(headers, payload)
        finally:
            protocol.ok(stdout)


class HealthListener:
    """Checks the stack on its own timer thread and carries out the policy's decisions."""

    def __init__(
        self,
        client: SupervisorClient,
        settings: Settings,
        policy: HealthPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.settings = settings
        self.policy = policy
        self.clock = clock
        self._timer: threading.Thread | None = None
        self._stop = threading.Event()
        self._busy: set[str] = set()
        self._reported: set[str] = set()
        self._lock = threading.Lock()

    def on_event(self, headers: dict[str, str], payload: str) -> None:
        self.ensure_timer()

    def ensure_timer(self) -> None:
        """Start the timer thread, or start it again if it died."""
        if self._timer is not None and self._timer.is_alive():
            return
        if self._timer is not None:
            log.error("the check timer had stopped; starting it again")
        self._timer = threading.Thread(target=self._run_timer, name="checks", daemon=True)
        self._timer.start()

    def stop(self) -> None:
        self._stop.set()

    def _run_timer(self) -> None:
        while not self._stop.is_set():
            started = self.clock()
            self.check_once()
            self._stop.wait(max(0.0, self.policy.limits.interval - (self.clock() - started)))

    def check_once(self) -> list[Decision]:
        try:
            # Liveness only: what it acts on (a readiness probe would only add load on a busy machine).
            status = collect_status(self.client, self.settings, liveness_only=True)
        except OpsError as exc:
            log.warning("cannot read the stack's status: %s", exc)
            return []
        self._note_reloads(status)
        self._log_failures(status)
        decisions = self.policy.decide(status, self.clock())
        for decision in decisions:
            self.carry_out(decision, status)
        return decisions

    def _note_reloads(self, status: StackStatus) -> None:
        """For each process whose liveness fails: how young its youngest process is (a reload)."""
        for p in status.processes:
            if p.state == "RUNNING" and p.liveness is not None and not p.liveness.ok and p.pid:
                p.newest_process_age = newest_process_age(p.pid)

    def _log_failures(self, status: StackStatus) -> None:
        grace = self.policy.limits.grace
        for p in status.processes:
            if p.state != "RUNNING":
                continue
            if p.check_error is not None and p.check_error not in self._reported:
                self._reported.add(p.check_error)  # once: it stays until the conf file is fixed
                log.warning("%s: %s", p.name, p.check_error)
            if p.liveness is not None and not p.liveness.ok:
                age = p.newest_process_age
                note = (
                    f"; starting or reloading (a process of it started {age:.0f}s ago): not counted"
                    if (age is not None and age < grace)
                    else ""
                )
                log.info(
                    "%s liveness check failed: %s (%s)%s", p.name, p.liveness.summary(), p.liveness_url, note
                )

    def carry_out(self, decision: Decision, status: StackStatus) -> None:
        if decision.action == "give-up":
            log.error("%s: %s", decision.name, decision.reason)
            return
        with self._lock:
            if decision.name in self._busy:
                log.info("%s: %s already in progress", decision.name, decision.action)
                return
            self._busy.add(decision.name)
        log.warning("%s: %s: %s", decision.action, decision.name, decision.reason)
        process = next(p for p in status.processes if p.full_name == decision.name)
        threading.Thread(
            target=self._act, args=(decision, process), name=f"act-{decision.name}", daemon=True
        ).start()

    def _act(self, decision: Decision, process: ProcessStatus) -> None:
        try:
            if decision.action == "restart":
                restart(self.client, [process])
            else:
                self.client.start(decision.name, wait=False)
            log.info("%s: %s requested", decision.name, decision.action)
        except OpsError as exc:
            log.error("%s: %s failed: %s", decision.name, decision.action, exc)
        finally:
            with self._lock:
                self._busy.discard(decision.name)


def main(argv: list[str] | None = None) -> int:
    from config.config import ConfigError, get_settings
    from config.logsetup import configure

    try:
        settings = get_settings()
    except ConfigError as exc:
        logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(levelname)s healthcheck: %(message)s")
        log.error("%s", exc)
        return 2
    # stderr only (every handler of config.logsetup): stdout is supervisord's event protocol.
    configure(settings, program="healthcheck", level="INFO")
    try:
        limits = Limits.from_settings(settings)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    log.info(
        "started: a check every %gs; restart after %d failures, grace %gs, at most %d restarts per %gs; "
        "FATAL retried after %g..%gs",
        limits.interval,
        limits.failures,
        limits.grace,
        limits.max_restarts,
        limits.window,
        limits.backoff_min,
        limits.backoff_max,
    )
    client = SupervisorClient.from_settings(settings)
    listener = HealthListener(client, settings, HealthPolicy(limits))
    listener.ensure_timer()
    # The queue history (ops.queue_sampler): its own thread and engine, apart from the checks.
    sampler = QueueSampler(settings)
    sampler.ensure_running()

    def on_event(headers: dict[str, str], payload: str) -> None:
        listener.on_event(headers, payload)
        sampler.ensure_running()

    serve(sys.stdin, sys.stdout, on_event)
    return 0


if __name__ == "__main__":
    sys.exit(main())
