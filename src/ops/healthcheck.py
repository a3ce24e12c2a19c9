"""The health listener: a supervisord event listener run as ``python -m ops.healthcheck``.

supervisord sends it a TICK_5 event every 5 seconds. It answers at once and checks the stack on a
background thread (one check at a time: a tick that arrives during a slow check is skipped), so a
hanging health URL never holds up supervisord's event queue. What it decides comes from
:class:`ops.policy.HealthPolicy`; every decision is logged to stderr (stdout is the protocol).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from ops.control import restart
from ops.errors import OpsError
from ops.policy import Decision, HealthPolicy, Limits
from ops.rpc import SupervisorClient
from ops.status import StackStatus, collect_status

log = logging.getLogger("healthcheck")


def parse_header(line: bytes) -> dict[str, str]:
    return dict(token.split(":", 1) for token in line.decode().split() if ":" in token)


def serve(stdin: BinaryIO, stdout: BinaryIO, on_event: Callable[[dict[str, str], bytes], None]) -> None:
    """Speak supervisord's event listener protocol until stdin closes."""
    while True:
        stdout.write(b"READY\n")
        stdout.flush()
        line = stdin.readline()
        if not line:
            return
        headers = parse_header(line)
        payload = stdin.read(int(headers.get("len", "0")))
        try:
            on_event(headers, payload)
        finally:
            stdout.write(b"RESULT 2\nOK")
            stdout.flush()


class HealthListener:
    """Runs a check per tick on a background thread and carries out the policy's decisions."""

    def __init__(
        self,
        client: SupervisorClient,
        settings: Any,
        policy: HealthPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.settings = settings
        self.policy = policy
        self.clock = clock
        self._check: threading.Thread | None = None
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def on_event(self, headers: dict[str, str], payload: bytes) -> None:
        if not headers.get("eventname", "").startswith("TICK"):
            return
        if self._check is not None and self._check.is_alive():
            log.warning("previous check still running; skipping this tick")
            return
        self._check = threading.Thread(target=self.check_once, name="check", daemon=True)
        self._check.start()

    def check_once(self) -> list[Decision]:
        try:
            status = collect_status(self.client, self.settings)
        except OpsError as exc:
            log.warning("cannot read the stack's status: %s", exc)
            return []
        self._log_failures(status)
        decisions = self.policy.decide(status, self.clock())
        for decision in decisions:
            self.carry_out(decision, status)
        return decisions

    def _log_failures(self, status: StackStatus) -> None:
        for p in status.processes:
            if p.state == "RUNNING" and p.health is not None and not p.health.ok:
                log.info("%s health check failed: %s (%s)", p.name, p.health.summary(), p.health_url)

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

    def _act(self, decision: Decision, process: Any) -> None:
        try:
            if decision.action == "restart":
                restart(self.client, self.settings, [process])
            else:
                self.client.start(decision.name, wait=False)
            log.info("%s: %s requested", decision.name, decision.action)
        except OpsError as exc:
            log.error("%s: %s failed: %s", decision.name, decision.action, exc)
        finally:
            with self._lock:
                self._busy.discard(decision.name)


def main(argv: list[str] | None = None) -> int:
    from config.config import ConfigError, load

    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s healthcheck: %(message)s"
    )
    try:
        settings = load()
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    limits = Limits.from_settings(settings)
    log.info(
        "started: restart after %d failures, grace %gs, at most %d restarts per %gs; "
        "FATAL retried after %g..%gs",
        limits.failures,
        limits.grace,
        limits.max_restarts,
        limits.window,
        limits.backoff_min,
        limits.backoff_max,
    )
    client = SupervisorClient.from_settings(settings)
    listener = HealthListener(client, settings, HealthPolicy(limits))
    serve(sys.stdin.buffer, sys.stdout.buffer, listener.on_event)
    return 0


if __name__ == "__main__":
    sys.exit(main())
