"""Which supervisord an admin request talks to: this machine's (no ``host``), or one of
SUPERVISOR_SERVERS by its label (``host=HOST:PORT``, or the socket path of a ``unix://`` entry),
exactly as ``ctl --server`` reads them (``ops.hosts``). A label not configured is a 404: the API
never connects to an endpoint a request names, only to the configured ones.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.errors import NotFound
from config.config import Settings
from ops.hosts import Host, configured_servers, unique_hosts
from ops.rpc import SupervisorClient

HostLabel = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_.:/\[\]-]+$",
        description="A host of SUPERVISOR_SERVERS by its label (`HOST:PORT`, or a socket path); "
        "none: this machine's supervisord.",
    ),
]


class UnknownHost(NotFound):
    """A ``host`` that is not one of SUPERVISOR_SERVERS."""


def configured_hosts(settings: Settings, *, timeout: float) -> tuple[list[Host], list[str]]:
    """SUPERVISOR_SERVERS' hosts, each once, and the labels listed more than once."""
    servers = configured_servers(settings, None)
    return unique_hosts(settings, servers, timeout=timeout)


def client_for(settings: Settings, host: str | None, *, timeout: float) -> SupervisorClient:
    """This machine's supervisord client, or the configured host's labelled ``host``."""
    if host is None:
        return SupervisorClient.from_settings(settings, timeout=timeout)
    hosts, _ = configured_hosts(settings, timeout=timeout)
    for found in hosts:
        if found.label == host:
            return found.client
    raise UnknownHost(f"no host {host} in SUPERVISOR_SERVERS")
