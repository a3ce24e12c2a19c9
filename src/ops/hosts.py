"""Several supervisord hosts: endpoints from ``--server`` / SUPERVISOR_SERVERS, status per host.

An endpoint is ``unix:///path/to/supervisor.sock`` or ``http://HOST:PORT`` (supervisord's
``[inet_http_server]``); the username and password come from SUPERVISOR_USERNAME /
SUPERVISOR_PASSWORD (or the URL's ``user:password@``), and never appear in what we print.
Health probes of a remote host go to that host: each host runs the same stack layout and ports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote, urlsplit

from ops.errors import BadInput, OpsError, SupervisorUnreachable, UnknownProgram
from ops.rpc import SupervisorClient
from ops.status import StackStatus, collect_status

if TYPE_CHECKING:
    from config.config import Settings


class BadEndpoint(BadInput):
    """A --server / SUPERVISOR_SERVERS entry that is not a supervisord endpoint we can use."""


@dataclass
class Host:
    """One supervisord endpoint: its label in output, and its client."""

    label: str
    client: SupervisorClient


@dataclass
class HostStatus:
    """A host's status, or the error that kept us from it."""

    host: Host
    status: StackStatus | None = None
    error: OpsError | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.status is None:
            return {"host": self.host.label, "error": str(self.error)}
        return {"host": self.host.label, **self.status.to_dict()}


def parse_endpoint(url: str, settings: Settings, *, timeout: float = 10.0) -> Host:
    """``unix:///path.sock`` or ``http://HOST:PORT`` -> a :class:`Host` (label without password)."""
    parts = urlsplit(url.strip())
    if parts.scheme == "unix" and parts.path:
        return Host(parts.path, SupervisorClient(parts.path, timeout=timeout))
    if parts.scheme == "http" and parts.hostname:
        try:
            port = parts.port or 9001
        except ValueError:
            raise BadEndpoint(f"bad port in supervisord endpoint {_shown(url)}") from None
        username = unquote(parts.username) if parts.username else settings.SUPERVISOR_USERNAME
        password = unquote(parts.password) if parts.password else settings.SUPERVISOR_PASSWORD
        client = SupervisorClient.over_http(
            parts.hostname, port, username=username, password=password, timeout=timeout
        )
        return Host(f"{parts.hostname}:{port}", client)
    raise BadEndpoint(
        f"not a supervisord endpoint: {_shown(url)} "
        "(want unix:///path/to/supervisor.sock or http://HOST:PORT)"
    )


def _shown(url: str) -> str:
    """The URL with any password blanked out, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return repr(url)
    return repr(url.replace(f":{parts.password}@", ":***@", 1))


def configured_servers(settings: Settings, servers: Iterable[str] | None) -> list[str]:
    """``--server`` values, else SUPERVISOR_SERVERS; empty list means the local socket only."""
    chosen = list(servers or [])
    if not chosen:
        chosen = [s for s in (x.strip() for x in settings.SUPERVISOR_SERVERS.split(",")) if s]
    return chosen


def hosts_for(settings: Settings, servers: Iterable[str]) -> list[Host]:
    """The hosts of ``servers``; a host listed twice (the same endpoint, however spelled) is
    refused, naming it: its restarts would run twice and its rows show twice."""
    hosts = [parse_endpoint(url, settings) for url in servers]
    seen: set[str] = set()
    for host in hosts:
        if host.label in seen:
            raise BadEndpoint(f"host {host.label} is listed twice (--server / SUPERVISOR_SERVERS)")
        seen.add(host.label)
    return hosts


def unique_hosts(
    settings: Settings, servers: Iterable[str], *, timeout: float = 10.0
) -> tuple[list[Host], list[str]]:
    """The hosts of ``servers`` each once, in order, and the labels of those listed more than once
    (the same endpoint, however spelled): for a page that shows them all and says so, where
    :func:`hosts_for` refuses."""
    hosts: list[Host] = []
    repeated: list[str] = []
    for url in servers:
        host = parse_endpoint(url, settings, timeout=timeout)
        if any(h.label == host.label for h in hosts):
            if host.label not in repeated:
                repeated.append(host.label)
            continue
        hosts.append(host)
    return hosts, repeated


def collect_hosts(hosts: list[Host], settings: Settings, *, every_error: bool = False) -> list[HostStatus]:
    """Each host's status, all hosts at once (so an unreachable one costs one timeout, not one
    each), in the order given; an unreachable host is recorded, not raised, so the others show
    (``every_error``: any error of ours, a refused call too, is recorded the same way)."""
    from concurrent.futures import ThreadPoolExecutor

    caught = OpsError if every_error else SupervisorUnreachable

    def one(host: Host) -> HostStatus:
        try:
            return HostStatus(host, status=collect_status(host.client, settings))
        except caught as exc:
            return HostStatus(host, error=exc)

    if len(hosts) <= 1:
        return [one(host) for host in hosts]
    with ThreadPoolExecutor(max_workers=min(len(hosts), 16)) as pool:
        return list(pool.map(one, hosts))


def exit_code(results: list[HostStatus]) -> int:
    """The worst: 3 access denied, 2 a host unreachable, 1 something unhealthy, 0 all healthy."""
    return max(
        (r.error.exit_code if r.error else r.status.exit_code if r.status else 0 for r in results), default=0
    )


def error_lines(results: list[HostStatus]) -> list[str]:
    return [f"host {r.host.label}: {r.error}" for r in results if r.error is not None]


def print_hosts(results: list[HostStatus], out: TextIO, *, tty: bool) -> None:
    """The table grouped by host: a header line per host, then that host's table."""
    from ops import render

    for r in results:
        title = f"== host {r.host.label} =="
        if r.status is None:
            out.write(f"{title}\nDOWN: {r.error}\n")
        else:
            render.print_status(r.status, out, tty=tty, title=title)


def hosts_json(results: list[HostStatus]) -> str:
    import json

    return json.dumps({"healthy": exit_code(results) == 0, "hosts": [r.to_dict() for r in results]}, indent=2)


def restart_on_hosts(
    results: list[HostStatus],
    settings: Settings,
    names: list[str],
    *,
    timeout: float,
    say: Callable[[str], None],
    warn: Callable[[str], None],
    show: Callable[[StackStatus], None] = lambda status: None,
) -> int:
    """``--restart [NAME ...]`` on every reachable host of ``results`` (from :func:`collect_hosts`).

    A name must exist on at least one host (else :class:`UnknownProgram`); each host restarts the
    processes it has by that name, or its failed ones when no name is given. A host that fails is
    reported through ``warn`` and the others go on. Returns the worst exit code (see :func:`exit_code`).
    """
    from ops.control import restart_and_wait
    from ops.errors import ops_exit

    code = exit_code([r for r in results if r.error is not None])
    up = [(r.host, r.status) for r in results if r.status is not None]
    for name in names:
        if not any(status.find(name) for _, status in up):
            raise UnknownProgram(name, sorted({p.group for _, s in up for p in s.processes}))
    for host, status in up:
        say(f"== host {host.label} ==")
        here = [n for n in names if status.find(n)]
        if names and not here:
            say("nothing named here")
            continue
        try:
            final = restart_and_wait(host.client, settings, here, timeout=timeout, say=say)
        except OpsError as exc:
            failed = ops_exit(exc)
            warn(f"host {host.label}: {failed.message}")
            code = max(code, failed.code)
            continue
        if final is not None:
            show(final)
    return code
