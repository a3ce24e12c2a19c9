"""The health listener's decisions over statuses and a clock we move by hand."""

from __future__ import annotations

from ops.policy import HealthPolicy, Limits
from ops.probe import ProbeResult
from ops.status import ProcessStatus, StackStatus

LIMITS = Limits(failures=3, grace=30, max_restarts=2, window=600, backoff_min=5, backoff_max=40)


def stack(
    state: str = "RUNNING",
    *,
    ok: bool | None = True,
    uptime: int = 100,
    name: str = "api",
    now: int = 10_000,
    ready: bool | None = None,
    newest_process_age: float | None = None,
) -> StackStatus:
    """``ok``: its liveness probe (and its health probe, unless ``ready`` says otherwise)."""
    p = ProcessStatus(
        name=name,
        group=name,
        state=state,
        pid=42 if state == "RUNNING" else 0,
        started_at=now - uptime,
        now=now,
        exitstatus=0,
        spawnerr="",
        description="",
        health_url="http://x/health",
    )
    if ok is not None and state == "RUNNING":
        p.liveness = ProbeResult("http://x/livez", ok, 200 if ok else None, 1.0, None if ok else "timed out")
        healthy = ok if ready is None else ready
        p.health = ProbeResult("http://x/health", healthy, 200 if healthy else 503, 1.0)
        p.newest_process_age = newest_process_age
    return StackStatus("RUNNING", [p])


def ticks(policy: HealthPolicy, status: StackStatus, count: int, start: float = 0.0) -> list[list[str]]:
    return [[d.action for d in policy.decide(status, start + 5 * i)] for i in range(count)]


def test_restart_only_after_k_consecutive_failures() -> None:
    policy = HealthPolicy(LIMITS)
    assert ticks(policy, stack(ok=False), 3) == [[], [], ["restart"]]


def test_a_success_resets_the_count() -> None:
    policy = HealthPolicy(LIMITS)
    policy.decide(stack(ok=False), 0)
    policy.decide(stack(ok=False), 5)
    policy.decide(stack(ok=True), 10)
    assert ticks(policy, stack(ok=False), 3, start=15) == [[], [], ["restart"]]


def test_never_within_the_grace_period_after_start() -> None:
    policy = HealthPolicy(LIMITS)
    assert ticks(policy, stack(ok=False, uptime=10), 6) == [[]] * 6


def test_restart_limit_per_window_then_gives_up_once() -> None:
    policy = HealthPolicy(LIMITS)
    actions = [a for tick in ticks(policy, stack(ok=False), 15) for a in tick]
    assert actions == ["restart", "restart", "give-up"]


def test_once_the_window_passes_a_program_still_failing_is_restarted_at_once() -> None:
    policy = HealthPolicy(LIMITS)
    ticks(policy, stack(ok=False), 15)
    assert ticks(policy, stack(ok=False), 4, start=10_000) == [["restart"], [], [], ["restart"]]


def test_fatal_is_started_again_with_exponential_backoff() -> None:
    policy = HealthPolicy(LIMITS)
    fatal = stack("FATAL", ok=None)
    starts = [t for t in range(0, 200) if policy.decide(fatal, float(t))]
    # 5 s, then 10 s after the next FATAL is seen, then 20, then 40 (the cap), then 40.
    assert starts == [5, 16, 37, 78, 119, 160]


def test_backoff_resets_once_the_program_has_run_healthy() -> None:
    policy = HealthPolicy(LIMITS)
    fatal = stack("FATAL", ok=None)
    assert [t for t in range(0, 20) if policy.decide(fatal, float(t))] == [5, 16]
    policy.decide(stack(ok=True, uptime=60), 30.0)
    assert [t for t in range(40, 60) if policy.decide(fatal, float(t))] == [45, 56]


def test_programs_without_a_health_check_are_only_watched_for_fatal() -> None:
    policy = HealthPolicy(LIMITS)
    assert ticks(policy, stack(ok=None, name="healthcheck"), 5) == [[]] * 5
    assert ticks(policy, stack(ok=None, name="other"), 5) == [[]] * 5


def test_a_program_that_never_answered_since_its_start_gets_twice_the_grace() -> None:
    policy = HealthPolicy(LIMITS)  # grace 30, failures 3
    assert ticks(policy, stack(ok=False, uptime=45), 4) == [[]] * 4  # still booting
    policy.decide(stack(ok=True, uptime=45), 20)  # answered once: this run is up
    assert ticks(policy, stack(ok=False, uptime=45), 3, start=25) == [[], [], ["restart"]]


def test_a_program_alive_but_not_ready_is_never_restarted() -> None:
    # The API with its database away: /health 503, /livez 200. A restart cannot bring it back.
    policy = HealthPolicy(LIMITS)
    assert ticks(policy, stack(ok=True, ready=False), 20) == [[]] * 20


def test_a_failing_liveness_while_a_process_of_it_is_young_is_not_counted() -> None:
    # A reload forked new workers 3 s ago: the probe timing out means "reloading", not "hung".
    policy = HealthPolicy(LIMITS)
    assert ticks(policy, stack(ok=False, newest_process_age=3), 10) == [[]] * 10
    # Past twice the grace, failures count again even though it never answered since.
    assert ticks(policy, stack(ok=False, newest_process_age=61), 3, start=100) == [[], [], ["restart"]]


def test_new_workers_that_answered_once_get_the_grace_only() -> None:
    policy = HealthPolicy(LIMITS)
    policy.decide(stack(ok=True), 1000)  # answered after its newest process started (35 s ago)
    assert ticks(policy, stack(ok=False, newest_process_age=40), 3, start=1005) == [[], [], ["restart"]]
