"""``ctl queue failed`` and ``ctl queue requeue``: a queue table's failed items, straight in the
database (``store.failed_items``), each requeue in the audit log (``store.audit``).

Who is recorded: the account named by ``--as EMAIL`` (an active admin), else the operating-system
user running ctl, as ``os:USER@HOST`` (no account).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from cli.context import Ctl, CtlError, Refused, pass_ctl

if TYPE_CHECKING:
    from sqlalchemy import Table

    from store.audit import Actor

MAX_IDS = 1000  # item ids in one `ctl queue requeue`
table_option = click.option(
    "--table", default="items", show_default=True, help="The queue table (see `ctl status` for all)."
)


@click.group()
def queue() -> None:
    """Queue tables: failed items, requeue them."""


def queue_table(ctl: Ctl, name: str) -> Table:
    from store.failed_items import queue_table as find

    with ctl.database_errors(), ctl.database.engine.connect() as conn:
        table = find(conn, name)
    if table is None:
        raise Refused(f"no queue table {name!r} (see `ctl status` for the queue tables)")
    return table


def acting(ctl: Ctl, email: str | None) -> Actor:
    """Who the audit log names: ``--as`` EMAIL (an active admin) or the OS user."""
    import getpass
    import socket

    from store import accounts
    from store.audit import VIA_CTL, Actor

    if email is None:
        return Actor(name=f"os:{getpass.getuser()}@{socket.gethostname()}", via=VIA_CTL)
    with ctl.session() as session:
        user = accounts.get_user_by_email(session, email)
        if user is None or not user.is_admin or not user.is_active:
            raise Refused(f"--as {email}: no active admin with that email (see `ctl users list`)")
        return Actor.of_user(user.id, user.email, via=VIA_CTL)


def record(
    ctl: Ctl, actor: Actor, action: str, target: str, *, error: str | None = None, detail: str = ""
) -> None:
    from store import audit

    keep = audit.Retention(days=ctl.settings.AUDIT_KEEP_DAYS, rows=ctl.settings.AUDIT_MAX_ROWS)
    outcome = audit.OK if error is None else audit.FAILED
    with ctl.database_errors():
        audit.record(
            ctl.database.engine,
            actor,
            action,
            target,
            outcome=outcome,
            error=error,
            detail=detail or None,
            keep=keep,
        )


@queue.command("failed")
@table_option
@click.option(
    "--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="At most this many."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_ctl
def failed(ctl: Ctl, table: str, limit: int, as_json: bool) -> None:
    """The failed items of a queue table, newest first: id, attempts, when, error."""
    from store.failed_items import failed_page

    queue = queue_table(ctl, table)
    with ctl.database_errors(), ctl.database.engine.connect() as conn:
        page = failed_page(conn, queue, limit=limit)
    if as_json:
        items: list[dict[str, Any]] = [
            {**i.__dict__, "failed_at": i.failed_at.isoformat()} for i in page.items
        ]
        click.echo(json.dumps({"table": page.table, "total": page.total, "items": items}, indent=2))
        return
    click.echo(
        f"{page.total} failed in {page.table}" + (f", the newest {len(page.items)}:" if page.items else "")
    )
    if page.items:
        click.echo(f"{'ID':>8}  {'ATTEMPTS':>8}  {'FAILED AT':<19}  ERROR")
    for item in page.items:
        error = (item.error or "").replace("\n", " ")
        click.echo(f"{item.id:>8}  {item.attempts:>8}  {item.failed_at:%Y-%m-%d %H:%M:%S}  {error[:200]}")


@queue.command("requeue")
@click.argument("item_ids", nargs=-1, type=click.IntRange(1, 2**63 - 1))
@table_option
@click.option("--all", "every", is_flag=True, help="Every failed item of the table (in batches of 500).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (with --all).")
@click.option(
    "--as", "as_email", metavar="EMAIL", help="The admin to record in the audit log (default: the OS user)."
)
@pass_ctl
def requeue(
    ctl: Ctl, item_ids: tuple[int, ...], table: str, every: bool, yes: bool, as_email: str | None
) -> None:
    """Make failed items pending again (attempts 0, error cleared): ITEM_IDS, or --all.

    An item that is not failed (any more) is left as it is: exit 1, saying so.
    """
    if every == bool(item_ids):
        raise Refused("give item ids or --all (not both)")
    if len(item_ids) > MAX_IDS:
        raise Refused(f"at most {MAX_IDS} item ids at once (use --all for every failed item)")
    queue = queue_table(ctl, table)
    actor = acting(ctl, as_email)
    if every:
        _requeue_all(ctl, queue, actor, yes)
    else:
        _requeue_each(ctl, queue, actor, item_ids)


def _requeue_all(ctl: Ctl, queue: Table, actor: Actor, yes: bool) -> None:
    from store.failed_items import count_failed, requeue_all

    with ctl.database_errors():
        count = count_failed(ctl.database.engine, queue)
    if count == 0:
        click.echo(f"no failed items in {queue.name}")
        return
    if not yes:
        click.confirm(f"requeue {count} failed items of {queue.name}?", abort=True)
    with ctl.database_errors():
        report = requeue_all(ctl.database.engine, queue)
    detail = f"requeued {report.requeued}, {report.remaining} still failed"
    record(ctl, actor, "queue.requeue_all", queue.name, detail=detail)
    click.echo(f"requeued {report.requeued} items of {queue.name}; {report.remaining} still failed")


def _requeue_each(ctl: Ctl, queue: Table, actor: Actor, item_ids: tuple[int, ...]) -> None:
    from store.failed_items import FailedItemsError, requeue_one

    refused = []
    for item_id in item_ids:
        target = f"item {item_id} of {queue.name}"
        try:
            with ctl.database_errors():
                requeue_one(ctl.database.engine, queue, item_id)
        except FailedItemsError as exc:
            refused.append(str(exc))
            record(ctl, actor, "queue.requeue", target, error=str(exc))
            continue
        record(ctl, actor, "queue.requeue", target)
        click.echo(f"requeued {target}")
    if refused:
        raise CtlError("; ".join(refused))
