"""What the health listener decides on each tick: pure logic over a status, with the clock passed in.

* A RUNNING program with a liveness check (its ``liveness_check``, else its ``health_check``) is
  restarted after ``failures`` (at least 2) consecutive failed liveness probes, so one missed probe
  never restarts anything; a failing readiness (``health_check`` of a program that declares a
  ``liveness_check``: the API with its database away) never restarts it. Never within ``grace``
  seconds of its start, nor while a process of its tree is younger than ``grace`` (a reload forks
  new workers: it is reloading, not hung), at most ``max_restarts`` times per ``window`` seconds
  (then it is left alone and that is logged once per window). A program that has not answered once
  since its start is still booting: it gets twice ``grace`` (probes come every few seconds, and a
  slow boot on a busy machine must not be taken for a hang).
* A FATAL program is started again after ``backoff_min`` seconds, doubling up to ``backoff_max``;
  the delay resets once it has been RUNNING and healthy.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ops.status import RUNNING, StackStatus

if TYPE_CHECKING:
    from config.config import Settings

MIN_FAILURES = 2


@dataclass(frozen=True)
class Limits:
    """The listener's settings; ``interval`` is the seconds between two checks of the stack."""

    failures: int = 2
    grace: float = 30.0
    max_restarts: int = 3
    window: float = 3600.0
    backoff_min: float = 5.0
    backoff_max: float = 300.0
    interval: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits configured; ConfigError for a value that would restart on one missed probe."""
        from config.config import ConfigError

        if settings.HEALTHCHECK_FAILURES < MIN_FAILURES:
            raise ConfigError(
                f"setting HEALTHCHECK_FAILURES={settings.HEALTHCHECK_FAILURES}: must be at least "
                f"{MIN_FAILURES} (one missed probe must never restart a program)"
            )
        if settings.HEALTHCHECK_INTERVAL <= 0:
            raise ConfigError(
                f"setting HEALTHCHECK_INTERVAL={settings.HEALTHCHECK_INTERVAL:g}: must be above 0"
            )
        return cls(
            failures=settings.HEALTHCHECK_FAILURES,
            grace=settings.HEALTHCHECK_GRACE_SECONDS,
            max_restarts=settings.HEALTHCHECK_MAX_RESTARTS,
            window=settings.HEALTHCHECK_WINDOW_SECONDS,
            backoff_min=settings.HEALTHCHECK_BACKOFF_MIN,
            backoff_max=settings.HEALTHCHECK_BACKOFF_MAX,
            interval=settings.HEALTHCHECK_INTERVAL,
        )


@dataclass(frozen=True)
class Decision:
    """``action`` is "restart", "start" or "give-up"; ``reason`` is logged as is."""

    action: str
    name: str
    reason: str


@dataclass
class _Track:
    failures: int = 0
    restarts: deque[float] = field(default_factory=deque)
    gave_up_at: float | None = None
    fatal_attempts: int = 0
    next_start_at: float | None = None
    healthy_run: int | None = None  # the start time of the run that last answered its probe
    answered_at: float | None = None  # the clock when its liveness probe last answered


class HealthPolicy:
    """Remembers failures, restarts and backoff per process between ticks."""

    def __init__(self, limits: Limits, *, self_name: str = "healthcheck") -> None:
        self.limits = limits
        self.self_name = self_name
        self._tracks: dict[str, _Track] = {}

    def backoff_delay(self, attempts: int) -> float:
        return min(self.limits.backoff_max, self.limits.backoff_min * float(2**attempts))

    def decide(self, status: StackStatus, now: float) -> list[Decision]:
        decisions: list[Decision] = []
        for p in status.processes:
            if p.name == self.self_name:
                continue
            track = self._tracks.setdefault(p.full_name, _Track())
            if p.state == "FATAL":
                decisions.extend(self._fatal(p.full_name, track, now))
                continue
            track.next_start_at = None
            if p.state != RUNNING:
                track.failures = 0
                continue
            if p.live and (p.uptime_seconds or 0) >= self.limits.grace:
                track.fatal_attempts = 0  # it recovered: the next FATAL starts again from the short delay
            if p.liveness is None:
                continue
            if p.liveness.ok:
                track.failures = 0
                track.healthy_run = p.started_at
                track.answered_at = now
                continue
            if self._reloading(p.newest_process_age, track, now):
                track.failures = 0  # reloading (new workers forked): not counted, like a start
                continue
            why = p.liveness.summary()
            grace = self.limits.grace if track.healthy_run == p.started_at else 2 * self.limits.grace
            decisions.extend(self._unhealthy(p.full_name, p.uptime_seconds or 0, grace, why, track, now))
        return decisions

    def _reloading(self, age: float | None, track: _Track, now: float) -> bool:
        """A process of its tree started less than ``grace`` ago, or less than twice that when the
        program has not answered since (new workers still booting on a busy machine)."""
        if age is None:
            return False
        if age < self.limits.grace:
            return True
        not_answered_since = track.answered_at is None or track.answered_at < now - age
        return not_answered_since and age < 2 * self.limits.grace

    def _unhealthy(
        self, name: str, uptime: int, grace: float, why: str, track: _Track, now: float
    ) -> list[Decision]:
        if uptime < grace:
            track.failures = 0
            return []
        track.failures += 1
        if track.failures < self.limits.failures:
            return []
        while track.restarts and now - track.restarts[0] > self.limits.window:
            track.restarts.popleft()
        if len(track.restarts) >= self.limits.max_restarts:
            if track.gave_up_at is None or now - track.gave_up_at > self.limits.window:
                track.gave_up_at = now
                return [
                    Decision(
                        "give-up",
                        name,
                        f"health check failing ({why}) but already restarted "
                        f"{len(track.restarts)} times in {self.limits.window:g}s: leaving it alone",
                    )
                ]
            return []
        track.failures = 0
        track.gave_up_at = None
        track.restarts.append(now)
        return [
            Decision(
                "restart",
                name,
                f"{self.limits.failures} consecutive failed liveness checks ({why}); "
                f"restart {len(track.restarts)} of {self.limits.max_restarts} "
                f"in {self.limits.window:g}s",
            )
        ]

    def _fatal(self, name: str, track: _Track, now: float) -> list[Decision]:
        if track.next_start_at is None:
            track.next_start_at = now + self.backoff_delay(track.fatal_attempts)
        if now < track.next_start_at:
            return []
        track.fatal_attempts += 1
        delay = self.backoff_delay(track.fatal_attempts)
        track.next_start_at = None
        return [
            Decision(
                "start",
                name,
                f"FATAL; starting it again (attempt {track.fatal_attempts}, "
                f"next delay {delay:g}s if it fails again)",
            )
        ]
