"""Fixtures of the integration tests that boot the whole stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The whole stack from the repository's supervisord.conf, every program RUNNING and answering
    its health check; shut down and checked gone after the module. One per module, not per run:
    the ops tests restart, stop and freeze its programs. A module's ``STACK_SETTINGS`` (a dict) are
    added to the stack's environment, its ``STACK_OPTIONS`` (a dict) to Stack's arguments (e.g.
    ``{"frontend": False}`` for a module that never touches the frontend); a module with extra
    programs defines its own ``stack``."""
    settings = getattr(request.module, "STACK_SETTINGS", None)
    options = getattr(request.module, "STACK_OPTIONS", {})
    home = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    with Stack(home, env=settings, **options) as running:
        running.wait_running()
        running.wait_healthy()  # RUNNING only means "alive for startsecs", not "listening"
        yield running
