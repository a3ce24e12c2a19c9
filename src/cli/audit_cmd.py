"""``ctl audit``: the audit log (who did which admin action, when, how it went), newest first."""

from __future__ import annotations

import json

import click

from cli.context import Ctl, pass_ctl


@click.command()
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="At most this many."
)
@click.option("--action", default=None, help="Only this action, e.g. service.restart or queue.requeue_all.")
@click.option("--actor", default=None, help="Only this actor: an email, or os:USER@HOST.")
@click.option("--outcome", type=click.Choice(["ok", "failed"]), default=None, help="Only this outcome.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_ctl
def audit(
    ctl: Ctl, limit: int, action: str | None, actor: str | None, outcome: str | None, as_json: bool
) -> None:
    """The audit log, newest first: start, stop, restart, requeue, user and API key changes.

    Kept AUDIT_KEEP_DAYS days and at most AUDIT_MAX_ROWS entries.
    """
    from store.audit import list_entries

    with ctl.database_errors(), ctl.database.engine.connect() as conn:
        page = list_entries(conn, limit=limit, action=action, actor=actor, outcome=outcome)
    if as_json:
        click.echo(json.dumps([entry.to_dict() for entry in page.entries], indent=2))
        return
    if not page.entries:
        click.echo("no audit entries" + (" match" if action or actor or outcome else " yet"))
        return
    click.echo(f"{'WHEN (UTC)':<19}  {'ACTOR':<28} {'VIA':<3}  {'ACTION':<17} {'TARGET':<24} OUTCOME")
    for e in page.entries:
        where = f" on {e.host}" if e.host else ""
        outcome_text = e.outcome if e.error is None else f"{e.outcome}: {e.error}"
        detail = f" ({e.detail})" if e.detail else ""
        click.echo(
            f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<28} {e.via:<3}  {e.action:<17} {e.target + where:<24} "
            f"{outcome_text}{detail}"
        )
