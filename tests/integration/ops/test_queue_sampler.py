"""The health listener's queue sampler (ops.queue_sampler) on both backends: a database without the
table (or down) costs nothing but one warning, said once, and sampling resumes by itself when the
table is there; it writes one row per queue table."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from config.config import load
from ops.queue_sampler import QueueSampler
from store.migrate import upgrade
from store.models import QueueSample


def test_a_database_fault_is_logged_once_and_sampling_resumes(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load({"APP_HOME": str(tmp_path), "APP_ENV": "test", "DATABASE_URL": database_url})
    sampler = QueueSampler(settings)
    with caplog.at_level(logging.WARNING, logger="healthcheck.queue_history"):
        assert sampler.sample_once() == 0  # no queue_history table yet
        assert sampler.sample_once() == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "healthcheck.queue_history"]
    assert len(warnings) == 1 and warnings[0].startswith("queue history sample failed")

    upgrade(database_url)
    assert sampler.sample_once() >= 1  # the items table at least
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(QueueSample)).scalar_one() >= 1
    finally:
        engine.dispose()
        sampler._engine.dispose()
