"""Free ports for the servers tests boot: never handed out twice, and each pytest-xdist worker draws
from its own slice below the kernel's ephemeral range, so parallel workers cannot collide."""

from __future__ import annotations

import itertools
import socket

import pytest

from tests.support.net import RANGE, free_port, port_is_free, worker_slice


def test_each_worker_has_its_own_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
    slices = []
    for n in range(3):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{n}")
        slices.append(worker_slice())
    assert [low for low, _ in slices] == sorted(low for low, _ in slices)
    assert all(high <= next_low for (_, high), (next_low, _) in itertools.pairwise(slices))
    assert slices[0][0] >= RANGE[0] and slices[-1][1] <= RANGE[1]
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert worker_slice() == RANGE  # one process: all of it


def test_a_port_is_free_and_never_handed_out_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    low, high = worker_slice()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50 and all(low <= p < high and port_is_free(p) for p in ports)
    run = free_port(count=5)
    assert all(port_is_free(p) for p in range(run, run + 5)) and not set(ports) & set(range(run, run + 5))


def test_a_taken_port_is_not_free() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        assert not port_is_free(taken.getsockname()[1])
