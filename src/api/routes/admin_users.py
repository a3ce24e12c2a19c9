"""/api/v1/admin/users: list, deactivate, activate and delete users (admins only).

A deactivated or deleted user's access tokens and API keys are refused at once, in every API
process: authentication reads the account on every request (see api.deps), nothing is cached.
An admin cannot deactivate or delete their own account here (``ctl users`` can), so that an API
caller never locks themselves out by mistake. Each change is in the audit log (``api.audit``),
refused ones too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from api.audit import Audit
from api.deps import AdminPrincipal, Principal, RequestDb
from api.errors import AUTH_ERROR_RESPONSES, ApiError, ErrorResponse, NotFound
from api.path_ids import id_path, plain_digits
from store import accounts
from store.models import User

router = APIRouter(prefix="/api/v1/admin/users", tags=["admin"], responses=AUTH_ERROR_RESPONSES)

UserId = Annotated[int, plain_digits("user"), id_path("user")]
NO_USER: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No such user"}}
NOT_YOURSELF: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "An admin cannot switch off their own account"}
}


class OwnAccount(ApiError):
    status_code = 409


class AccountOut(BaseModel):
    id: int
    email: str
    is_admin: bool
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> AccountOut:
        return cls(
            id=user.id,
            email=user.email,
            is_admin=user.is_admin,
            is_active=user.is_active,
            created_at=user.created_at,
        )


def _not_yourself(admin: Principal, user_id: int, action: str) -> None:
    if admin.user_id == user_id:
        raise OwnAccount(f"you cannot {action} your own account (another admin, or `ctl users`, can)")


@router.get("", response_model=list[AccountOut])
def list_accounts(_admin: AdminPrincipal, db: RequestDb) -> list[AccountOut]:
    """Every user, active or not."""
    with db.transaction() as session:
        return [AccountOut.of(u) for u in accounts.list_users(session)]


@router.post("/{user_id}/deactivate", response_model=AccountOut, responses={**NO_USER, **NOT_YOURSELF})
def deactivate_account(user_id: UserId, admin: AdminPrincipal, db: RequestDb, audit: Audit) -> AccountOut:
    """Switch the user off: their access tokens and API keys are refused from now on."""
    with audit.action("user.deactivate", f"user {user_id}") as note:
        _not_yourself(admin, user_id, "deactivate")
        with db.transaction() as session:
            user = accounts.deactivate_user(session, user_id=user_id)
            if user is None:
                raise NotFound(f"no user {user_id}")
            note.detail = user.email
            return AccountOut.of(user)


@router.post("/{user_id}/activate", response_model=AccountOut, responses=NO_USER)
def activate_account(user_id: UserId, db: RequestDb, audit: Audit) -> AccountOut:
    """Switch the user on again: API keys work again; access tokens from before do not (log in)."""
    with audit.action("user.activate", f"user {user_id}") as note, db.transaction() as session:
        user = accounts.activate_user(session, user_id=user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        note.detail = user.email
        return AccountOut.of(user)


@router.delete("/{user_id}", status_code=204, responses={**NO_USER, **NOT_YOURSELF})
def delete_account(user_id: UserId, admin: AdminPrincipal, db: RequestDb, audit: Audit) -> None:
    """Delete the user with their API keys, items and idempotency records. The id is never reused."""
    with audit.action("user.delete", f"user {user_id}") as note:
        _not_yourself(admin, user_id, "delete")
        with db.read() as conn:  # before the delete's transaction, which writes first (SQLite)
            note.detail = conn.execute(select(User.email).where(User.id == user_id)).scalar()
        with db.transaction() as session:
            if not accounts.delete_user(session, user_id=user_id):
                raise NotFound(f"no user {user_id}")
