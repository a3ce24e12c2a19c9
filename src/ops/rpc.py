"""supervisord's XML-RPC interface through :mod:`xmlrpc.client`, with its errors mapped to ops.errors.

    client = SupervisorClient("/path/var/run/supervisor.sock")
    state, infos = client.snapshot()        # one round trip: supervisord state + every process

The wire protocol is the standard library's; the transport is supervisor's own
(``supervisor.xmlrpc.SupervisorTransport``: supervisord's unix socket, or TCP with basic auth for an
``[inet_http_server]``), subclassed for a timeout, one connection per call and log text holding
control characters. A proxy that met a transport error is never used again.
Fault codes are ``supervisor.xmlrpc.Faults``.
"""

from __future__ import annotations

import errno
import http.client
import re
import socket
import threading
import xmlrpc.client
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from xml.parsers.expat import ExpatError

from supervisor.xmlrpc import Faults, UnixStreamHTTPConnection
from supervisor.xmlrpc import SupervisorTransport as _SupervisorTransport

from ops.errors import (
    OpsError,
    ProgramFailed,
    SupervisorAccessDenied,
    SupervisorFault,
    SupervisorUnreachable,
    UnknownProgram,
)

if TYPE_CHECKING:
    from config.config import Settings

# What a broken transport or a garbled answer raises (a Fault is an xmlrpc.client.Error too).
_CALL_ERRORS = (OSError, http.client.HTTPException, xmlrpc.client.Error, ExpatError)

__all__ = ["SupervisorClient", "SupervisorTransport", "faults"]


def faults() -> Any:
    """``supervisor.xmlrpc.Faults``: the fault codes supervisord answers."""
    return Faults


# supervisord puts raw log text into its XML, terminal colour codes and all, which XML 1.0 (and so
# expat) refuses. Such characters are moved to the private use area for the parse and put back in
# the log text by :meth:`SupervisorClient.tail` / :meth:`SupervisorClient.read`.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHIFT = 0xF700
_RESTORE = {_SHIFT + c: c for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]}


def _shifted(match: re.Match[bytes]) -> bytes:
    # A character reference: supervisor's transport feeds the parser ASCII (xmlcharrefreplace).
    return f"&#{_SHIFT + match[0][0]};".encode()


class SupervisorTransport(_SupervisorTransport):  # type: ignore[misc]  # supervisor has no type hints
    """``supervisor.xmlrpc.SupervisorTransport`` (unix socket or TCP, basic auth) plus what we need:

    - a ``timeout`` on every socket operation (a hung supervisord or a host cut off the network
      answers an error within it, not never);
    - one connection per call, closed after it: a kept connection would outlive a short tool's
      last call (a leaked socket) and break on the first socket error; a connect costs microseconds;
    - answers holding control characters parse (see ``_CONTROL``).

    ``serverurl`` is ``unix:///path/to/supervisor.sock`` or ``http://HOST:PORT``.
    """

    def __init__(self, serverurl: str, *, timeout: float, username: str = "", password: str = "") -> None:
        auth = bool(username or password)
        super().__init__(username if auth else None, password if auth else None, serverurl)
        self.timeout = timeout
        if serverurl.startswith("unix://"):
            path = serverurl[len("unix://") :]

            def unix() -> http.client.HTTPConnection:
                return self._remembering(_UnixSocketConnection(path, timeout))

            self._get_connection = unix
        else:
            plain = self._get_connection

            def timed() -> http.client.HTTPConnection:
                connection: http.client.HTTPConnection = plain()
                connection.timeout = timeout  # read by connect()
                return self._remembering(connection)

            self._get_connection = timed

    _response: http.client.HTTPResponse | None = None

    def _remembering(self, connection: http.client.HTTPConnection) -> http.client.HTTPConnection:
        """``connection``, its answer kept: supervisor's transport leaves an answer that is not a
        200 (a 401 for a wrong password) unread, and its file would hold the socket open until
        garbage collection."""
        plain = connection.getresponse

        def getresponse() -> http.client.HTTPResponse:
            self._response = plain()
            return self._response

        connection.getresponse = getresponse  # type: ignore[method-assign]
        return connection

    def request(self, host: Any, handler: str, request_body: Any, verbose: bool = False) -> Any:
        try:
            return super().request(host, handler, request_body, verbose)
        finally:
            response, self._response = self._response, None
            if response is not None:
                response.close()
            self.close()

    def getparser(self) -> tuple[Any, xmlrpc.client.Unmarshaller]:
        parser, unmarshaller = super().getparser()
        return _CleaningParser(parser), unmarshaller


class _CleaningParser:
    """Feeds the XML parser with control characters moved to the private use area."""

    def __init__(self, parser: Any) -> None:
        self.parser = parser

    def feed(self, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.parser.feed(_CONTROL.sub(_shifted, raw))

    def close(self) -> None:
        self.parser.close()


class _UnixSocketConnection(UnixStreamHTTPConnection):  # type: ignore[misc]  # as above
    """supervisor's unix-socket connection, its connect bounded by ``timeout`` (theirs has none)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socketfile = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socketfile)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


ProxyFactory = Callable[[], Any]


class SupervisorClient:
    """supervisord's XML-RPC interface with its errors mapped to :mod:`ops.errors`."""

    def __init__(
        self,
        socket_path: str,
        *,
        timeout: float = 10.0,
        proxy_factory: ProxyFactory | None = None,
        remote_host: str | None = None,
    ) -> None:
        # socket_path names the endpoint in messages: a socket path, or http://HOST:PORT (no password)
        self.socket_path = socket_path
        self.timeout = timeout
        # None: supervisord on this machine (unix socket); else the host its programs run on
        self.remote_host = remote_host
        self._factory = proxy_factory or self._unix_proxy
        self._proxy: Any = None
        # One kept connection: threads (the health listener's) take turns on it.
        self._lock = threading.RLock()

    def _unix_proxy(self) -> xmlrpc.client.ServerProxy:
        # The URL is a dummy: the transport decides where the bytes go.
        transport = SupervisorTransport(f"unix://{self.socket_path}", timeout=self.timeout)
        return xmlrpc.client.ServerProxy("http://localhost", transport=transport)

    @classmethod
    def over_http(
        cls, host: str, port: int, *, username: str = "", password: str = "", timeout: float = 10.0
    ) -> SupervisorClient:
        """A client of supervisord's [inet_http_server] at ``host:port`` (basic auth if given)."""
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

        def proxy() -> xmlrpc.client.ServerProxy:
            transport = SupervisorTransport(
                f"http://{netloc}", timeout=timeout, username=username, password=password
            )
            return xmlrpc.client.ServerProxy(f"http://{netloc}/RPC2", transport=transport)

        return cls(f"http://{netloc}", timeout=timeout, remote_host=host, proxy_factory=proxy)

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout: float = 10.0) -> SupervisorClient:
        """The client of this machine's supervisord (SUPERVISOR_SOCKET)."""
        return cls(settings.SUPERVISOR_SOCKET, timeout=timeout)

    # -- the one place calls go through -------------------------------------------------------
    def call(self, method: str, *args: Any) -> Any:
        """Call ``method`` (e.g. ``"supervisor.getState"``); faults and socket errors mapped."""
        with self._lock:
            proxy = self._connected()
            try:
                return getattr(proxy, method)(*args)
            except _CALL_ERRORS as exc:
                raise self._mapped(exc, args) from None

    def multicall(self, *calls: tuple[str, tuple[Any, ...]]) -> list[Any]:
        """Several calls in one round trip (``system.multicall``); the first fault raises.

        Not ``xmlrpc.client.MultiCall``: supervisord answers each call's value bare, not wrapped
        in a one-element list as that class expects (a struct result would pass for a fault).
        """
        batch = [{"methodName": method, "params": list(args)} for method, args in calls]
        results: list[Any] = self.call("system.multicall", batch)
        for result in results:
            if isinstance(result, dict) and "faultCode" in result:
                raise self._fault_error(result["faultCode"], result.get("faultString", ""), ())
        return results

    def close(self) -> None:
        """Close the kept connection; the next call opens a new one."""
        with self._lock:
            proxy, self._proxy = self._proxy, None
        if isinstance(proxy, xmlrpc.client.ServerProxy):
            proxy("close")()

    def _connected(self) -> Any:
        if self._proxy is None:
            self._proxy = self._factory()
        return self._proxy

    def _mapped(self, exc: BaseException, args: tuple[Any, ...]) -> OpsError:
        if isinstance(exc, xmlrpc.client.Fault):
            return self._fault_error(exc.faultCode, exc.faultString, args)
        self.close_quietly()  # never reuse a proxy whose connection failed
        if isinstance(exc, xmlrpc.client.ProtocolError):
            if exc.errcode == 401:
                return SupervisorAccessDenied(
                    f"supervisord at {self.socket_path} refused us: it wants a (right) username and "
                    "password (SUPERVISOR_USERNAME / SUPERVISOR_PASSWORD)"
                )
            return SupervisorUnreachable(f"supervisord at {self.socket_path} answered HTTP {exc.errcode}")
        return self._socket_error(exc)

    def close_quietly(self) -> None:
        try:
            self.close()
        except OSError:
            self._proxy = None

    def _socket_error(self, exc: BaseException) -> OpsError:
        where = self.socket_path
        if isinstance(exc, FileNotFoundError):
            return SupervisorUnreachable(f"supervisord is not running (no socket at {where})")
        if isinstance(exc, ConnectionRefusedError) and self.remote_host is not None:
            return SupervisorUnreachable(f"supervisord is not running (nobody listening at {where})")
        if isinstance(exc, ConnectionRefusedError):
            return SupervisorUnreachable(
                f"supervisord is not running (stale socket at {where}, nobody listening)"
            )
        if isinstance(exc, PermissionError):
            return SupervisorAccessDenied(
                f"permission denied on supervisord's socket {where}: run as the user that started supervisord"
            )
        if isinstance(exc, TimeoutError):
            return SupervisorUnreachable(f"supervisord did not answer within {self.timeout:g}s ({where})")
        if isinstance(exc, OSError) and exc.errno == errno.ENOTSOCK:
            return SupervisorUnreachable(f"{where} is not a socket: is SUPERVISOR_SOCKET right?")
        cause = str(exc) or type(exc).__name__
        return SupervisorUnreachable(f"cannot talk to supervisord at {where}: {cause}")

    @staticmethod
    def _fault_error(code: int, text: str, args: tuple[Any, ...]) -> OpsError:
        name = str(args[0]) if args else "?"
        codes = faults()
        if code == codes.BAD_NAME:
            return UnknownProgram(name)
        if code == codes.SHUTDOWN_STATE:
            return SupervisorUnreachable("supervisord is shutting down")
        if code in (codes.SPAWN_ERROR, codes.ABNORMAL_TERMINATION):
            return ProgramFailed(f"{name} failed to start", detail=text, died_at_once=True)
        if code in (codes.NO_FILE, codes.NOT_EXECUTABLE):
            return ProgramFailed(f"{name} cannot be started: {text}")
        return SupervisorFault(code, text)

    # -- what the tools use ----------------------------------------------------------------
    def snapshot(self) -> tuple[str, list[dict[str, Any]]]:
        """(supervisord state name, every process's info) in one round trip."""
        state, infos = self.multicall(("supervisor.getState", ()), ("supervisor.getAllProcessInfo", ()))
        return str(state["statename"]), list(infos)

    def process_info(self, name: str) -> dict[str, Any]:
        info: dict[str, Any] = self.call("supervisor.getProcessInfo", name)
        return info

    def start(self, name: str, *, wait: bool = False) -> bool:
        """Start ``name``; False when it was already running.

        Without ``wait``, a process that died at once is started all the same (True): supervisord
        reaps before it answers, so a quick exit may come back as a fault or, a moment later, as
        FATAL/BACKOFF; the caller's wait then reports it with its log, either way.
        """
        try:
            return bool(self.call("supervisor.startProcess", name, wait))
        except SupervisorFault as exc:
            if exc.code == faults().ALREADY_STARTED:
                return False
            raise
        except ProgramFailed as exc:
            if wait or not exc.died_at_once:
                raise
            return True

    def stop(self, name: str, *, wait: bool = True) -> bool:
        """Stop ``name``; False when it was not running."""
        try:
            return bool(self.call("supervisor.stopProcess", name, wait))
        except SupervisorFault as exc:
            if exc.code == faults().NOT_RUNNING:
                return False
            raise

    def signal(self, name: str, signal_name: str) -> bool:
        """Send a signal; False when the process is not running."""
        try:
            return bool(self.call("supervisor.signalProcess", name, signal_name))
        except SupervisorFault as exc:
            if exc.code == faults().NOT_RUNNING:
                return False
            raise

    def tail(
        self, name: str, offset: int, length: int, *, channel: str = "stdout"
    ) -> tuple[bytes, int, bool]:
        method = f"supervisor.tailProcess{channel.capitalize()}Log"
        data, new_offset, overflow = self.call(method, name, offset, length)
        return _log_bytes(data), int(new_offset), bool(overflow)

    def read(self, name: str, offset: int, length: int, *, channel: str = "stdout") -> bytes:
        method = f"supervisor.readProcess{channel.capitalize()}Log"
        return _log_bytes(self.call(method, name, offset, length))


def _log_bytes(text: object) -> bytes:
    return str(text).translate(_RESTORE).encode("utf-8", "surrogateescape")
