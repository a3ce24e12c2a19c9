"""POST /api/v1/auth/login and GET /api/v1/auth/me."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import update

from api.deps import CurrentPrincipal, DatabaseDep, LimiterDep, SettingsDep, client_ip
from api.errors import AUTH_ERROR_RESPONSES, Unauthorized
from api.schemas import LoginIn, TokenOut, UserOut
from api.security import burn_password_check, create_access_token, verify_password
from store.accounts import get_user_by_email
from store.models import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut, responses={401: AUTH_ERROR_RESPONSES[401]})
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    database: DatabaseDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> TokenOut:
    """Exchange email and password for a JWT access token."""
    state = limiter.hit("login", f"ip:{client_ip(request)}")
    if state is not None:
        response.headers.update(state.headers())
    with database.session() as session:
        user = get_user_by_email(session, body.email)
    # Hash outside any transaction (it is slow), and hash even for unknown emails so that the
    # response time does not tell which emails exist.
    if user is None:
        burn_password_check(body.password)
        raise Unauthorized("invalid email or password")
    matches, upgraded = verify_password(body.password, user.password_hash)
    if not matches or not user.is_active:
        raise Unauthorized("invalid email or password")
    if upgraded is not None:
        # Only if nobody changed the hash meanwhile (e.g. a password reset).
        with database.session() as session:
            session.execute(
                update(User)
                .where(User.id == user.id, User.password_hash == user.password_hash)
                .values(password_hash=upgraded)
            )
    token = create_access_token(
        user.id,
        token_version=user.token_version,
        secret=settings.JWT_SECRET,
        expires_in=settings.JWT_EXPIRES_SECONDS,
    )
    # A credential: no cache (browser, proxy) may keep it (RFC 6749 section 5.1).
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return TokenOut(access_token=token, expires_in=settings.JWT_EXPIRES_SECONDS)


@router.get("/me", response_model=UserOut, responses=AUTH_ERROR_RESPONSES)
async def read_me(principal: CurrentPrincipal) -> UserOut:  # no I/O: no thread hop
    """The authenticated user."""
    return UserOut(
        id=principal.user_id,
        email=principal.email,
        is_admin=principal.is_admin,
        created_at=principal.created_at,
    )
