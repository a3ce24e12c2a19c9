"""Many items fast: one INSERT ... SELECT per call (used by the query-plan test and bin/bench api)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

_STATUS = "CASE {n} % 4 WHEN 0 THEN 'pending' WHEN 1 THEN 'processing' WHEN 2 THEN 'done' ELSE 'failed' END"


def bulk_insert_items(engine: Engine, *, user_id: int, count: int, title: str = "bulk item") -> None:
    columns = "user_id, title, description, status, metadata, attempts, available_at, created_at, updated_at"
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    f"INSERT INTO items ({columns}) SELECT :uid, :title || ' ' || g, '', "
                    f"{_STATUS.format(n='g')}, '{{}}', 0, now(), now(), now() "
                    "FROM generate_series(1, :count) AS g"
                ),
                {"uid": user_id, "title": title, "count": count},
            )
        else:
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            conn.execute(
                text(
                    "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count) "
                    f"INSERT INTO items ({columns}) SELECT :uid, :title || ' ' || n, '', "
                    f"{_STATUS.format(n='n')}, '{{}}', 0, :now, :now, :now FROM seq"
                ),
                {"uid": user_id, "title": title, "count": count, "now": now},
            )


def analyze(engine: Engine) -> None:
    """Fresh planner statistics, as autovacuum / a periodic ANALYZE would give a live database."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE items"))
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
