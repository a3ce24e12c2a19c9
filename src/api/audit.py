"""Recording an admin action in the audit log: one call in the route, whatever its outcome.

    @router.post("/things/{name}/poke")
    def poke(name: str, audit: Audit) -> ThingOut:
        with audit.action("thing.poke", name) as note:      # host="..." for a remote host
            out = poke_it(name)                               # an ApiError raised here is recorded
            if not out.healthy:                               # as "failed" with its message, then
                note.failed(out.problem)                      # answered as before
            return out

``Audit`` is a dependency for admins only (it depends on ``AdminPrincipal``), so a route that
takes it is admin-only too. The entry is written when the block ends, in its own transaction
(``store.audit.record``, which also prunes to AUDIT_KEEP_DAYS / AUDIT_MAX_ROWS). A failure to
write it is logged and never turns the action's answer into an error: the action has happened.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.exc import SQLAlchemyError

from api.deps import AdminPrincipal, Principal, RequestDb, SettingsDep
from api.errors import ApiError
from config.config import Settings
from store import audit
from store.db import RequestScope

log = logging.getLogger("api.audit")


def retention(settings: Settings) -> audit.Retention:
    return audit.Retention(days=settings.AUDIT_KEEP_DAYS, rows=settings.AUDIT_MAX_ROWS)


@dataclass
class Note:
    """What a route says about its action's outcome (ok unless it says otherwise)."""

    outcome: str = audit.OK
    error: str | None = None
    detail: str | None = None

    def failed(self, error: str) -> None:
        self.outcome, self.error = audit.FAILED, error


@dataclass(frozen=True)
class Auditor:
    db: RequestScope
    settings: Settings
    actor: audit.Actor

    @classmethod
    def of(cls, db: RequestScope, settings: Settings, principal: Principal) -> Auditor:
        """For a route open to everyone that audits what an admin does there (key revocation)."""
        return cls(db=db, settings=settings, actor=audit.Actor.of_user(principal.user_id, principal.email))

    @contextmanager
    def action(self, action: str, target: str, *, host: str | None = None) -> Iterator[Note]:
        """Run the block and record its outcome: an exception is a failed action (an ApiError's
        message, else its type), recorded before it propagates."""
        note = Note()
        try:
            yield note
        except ApiError as exc:
            note.failed(exc.message)
            raise
        except Exception as exc:
            note.failed(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self.record(action, target, note, host=host)

    def record(self, action: str, target: str, note: Note, *, host: str | None = None) -> None:
        try:
            audit.record(
                self.db.database.engine,
                self.actor,
                action,
                target,
                outcome=note.outcome,
                error=note.error,
                detail=note.detail,
                host=host,
                keep=retention(self.settings),
            )
        except SQLAlchemyError as exc:
            log.error(
                "audit entry not written (%s %s by %s, %s): %s",
                action,
                target,
                self.actor.name,
                note.outcome,
                str(getattr(exc, "orig", None) or exc).strip().splitlines()[0],
            )


async def get_auditor(admin: AdminPrincipal, db: RequestDb, settings: SettingsDep) -> Auditor:
    return Auditor.of(db, settings, admin)


Audit = Annotated[Auditor, Depends(get_auditor)]
