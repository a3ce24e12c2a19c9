"""``ctl users`` and ``ctl apikeys``: accounts straight in the database (src/store/accounts.py)."""

from __future__ import annotations

import click

from cli.context import Ctl, CtlError, pass_ctl


@click.group()
def users() -> None:
    """Users: create, list, deactivate, activate, delete, set-password."""


password_option = click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="CTL_PASSWORD",
    show_envvar=True,
    help="Prompted for (twice) when not given; scripts set CTL_PASSWORD (ps shows a command line).",
)


@users.command("create")
@click.option("--email", required=True)
@password_option
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
@pass_ctl
def users_create(ctl: Ctl, email: str, password: str, admin: bool) -> None:
    """Create a user."""
    from store import accounts

    try:
        with ctl.session() as session:
            user = accounts.create_user(session, email=email, password=password, is_admin=admin)
            click.echo(f"created user {user.id} {user.email}{' (admin)' if user.is_admin else ''}")
    except accounts.AccountError as exc:
        raise CtlError(str(exc)) from None


@users.command("list")
@pass_ctl
def users_list(ctl: Ctl) -> None:
    """Every user."""
    from store import accounts

    with ctl.session() as session:
        found = accounts.list_users(session)
        click.echo(f"{'ID':>5}  {'EMAIL':<32} {'ADMIN':<5}  {'STATE':<8} CREATED")
        for u in found:
            admin = "yes" if u.is_admin else "no"
            state = "active" if u.is_active else "inactive"
            click.echo(f"{u.id:>5}  {u.email:<32} {admin:<5}  {state:<8} {u.created_at:%Y-%m-%d %H:%M}")


def _resolve_user(ctl: Ctl, reference: str) -> tuple[int, str]:
    """(id, email) of the user named by id or email; its own transaction, so that the change
    that follows writes first (SQLite)."""
    from store import accounts

    with ctl.session() as session:
        user = accounts.find_user(session, reference)
        if user is None:
            raise CtlError(f"no user {reference!r} (give an id or an email; see `ctl users list`)")
        return user.id, user.email


USER_ARGUMENT_HELP = "USER is an id or an email address."


@users.command("deactivate", epilog=USER_ARGUMENT_HELP)
@click.argument("user")
@pass_ctl
def users_deactivate(ctl: Ctl, user: str) -> None:
    """Switch USER off: their tokens and API keys are refused at once, in every API process."""
    from store import accounts

    user_id, email = _resolve_user(ctl, user)
    with ctl.session() as session:
        if accounts.deactivate_user(session, user_id=user_id) is None:
            raise CtlError(f"no user {user!r}")
    click.echo(f"deactivated user {user_id} {email}")


@users.command("activate", epilog=USER_ARGUMENT_HELP)
@click.argument("user")
@pass_ctl
def users_activate(ctl: Ctl, user: str) -> None:
    """Switch USER on again (API keys work again; tokens from before must be renewed by a login)."""
    from store import accounts

    user_id, email = _resolve_user(ctl, user)
    with ctl.session() as session:
        if accounts.activate_user(session, user_id=user_id) is None:
            raise CtlError(f"no user {user!r}")
    click.echo(f"activated user {user_id} {email}")


@users.command("delete", epilog=USER_ARGUMENT_HELP)
@click.argument("user")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctl
def users_delete(ctl: Ctl, user: str, yes: bool) -> None:
    """Delete USER with their API keys, items and idempotency records. Their id is never reused."""
    from store import accounts

    user_id, email = _resolve_user(ctl, user)
    if not yes:
        click.confirm(f"delete user {user_id} {email} and all their items and API keys?", abort=True)
    with ctl.session() as session:
        if not accounts.delete_user(session, user_id=user_id):
            raise CtlError(f"no user {user!r}")
    click.echo(f"deleted user {user_id} {email}")


@users.command("set-password", epilog=USER_ARGUMENT_HELP)
@click.argument("user")
@password_option
@pass_ctl
def users_set_password(ctl: Ctl, user: str, password: str) -> None:
    """Give USER a new password; every access token issued before is refused from now on."""
    from store import accounts

    user_id, email = _resolve_user(ctl, user)
    try:
        with ctl.session() as session:
            if accounts.set_password(session, user_id=user_id, password=password) is None:
                raise CtlError(f"no user {user!r}")
    except accounts.AccountError as exc:
        raise CtlError(str(exc)) from None
    click.echo(f"new password set for user {user_id} {email}; their access tokens are refused from now on")


@click.group()
def apikeys() -> None:
    """API keys: create (the key is shown once), list, revoke."""


def _user_id(session: object, email: str) -> int:
    from store import accounts

    user = accounts.get_user_by_email(session, email)  # type: ignore[arg-type]
    if user is None:
        raise CtlError(f"no user with email {email!r}")
    return user.id


@apikeys.command("create")
@click.option("--email", required=True, help="Owner of the key.")
@click.option("--name", required=True, help="What the key is for.")
@pass_ctl
def apikeys_create(ctl: Ctl, email: str, name: str) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from store import accounts

    try:
        with ctl.session() as session:
            key, secret = accounts.create_api_key(session, user_id=_user_id(session, email), name=name)
            click.echo(f"created API key {key.id} {key.prefix} '{key.name}' for {email}")
    except accounts.AccountError as exc:
        raise CtlError(str(exc)) from None
    click.echo(f"key (shown once, store it now): {secret}")


@apikeys.command("list")
@click.option("--email", default=None, help="Only this user's keys.")
@pass_ctl
def apikeys_list(ctl: Ctl, email: str | None) -> None:
    """API keys (never the secrets)."""
    from store import accounts

    with ctl.session() as session:
        user_id = _user_id(session, email) if email else None
        keys = accounts.list_api_keys(session, user_id=user_id)
        click.echo(f"{'ID':>5}  {'PREFIX':<12} {'NAME':<20} {'USER':>5}  {'STATE':<8} LAST USED")
        for k in keys:
            state = "revoked" if k.revoked_at else "active"
            used = f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never"
            click.echo(f"{k.id:>5}  {k.prefix:<12} {k.name:<20} {k.user_id:>5}  {state:<8} {used}")


@apikeys.command("revoke")
@click.argument("key_id", type=int)
@pass_ctl
def apikeys_revoke(ctl: Ctl, key_id: int) -> None:
    """Revoke key KEY_ID at once."""
    from store import accounts

    with ctl.session() as session:
        revoked = accounts.revoke_api_key(session, key_id=key_id)
    if not revoked:
        raise CtlError(f"no API key with id {key_id}")
    click.echo(f"revoked API key {key_id}")
