"""supervisord's XML-RPC interface through :mod:`xmlrpc.client`, with its errors mapped to ops.errors.

    client = SupervisorClient("/path/var/run/supervisor.sock")
    state, infos = client.snapshot()        # one round trip: supervisord state + every process

The wire protocol is the standard library's; the transport is ``xmlrpc.client.Transport`` whose
HTTP connection goes over supervisord's unix socket (what ``supervisor.xmlrpc.SupervisorTransport``
does, plus a timeout and one connection per call), or over TCP for an ``[inet_http_server]`` with
basic auth from the URL. A proxy that met a transport error is never used again.
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
from urllib.parse import quote
from xml.parsers.expat import ExpatError

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

__all__ = ["SupervisorClient", "UnixSocketTransport", "faults"]


def faults() -> Any:
    """``supervisor.xmlrpc.Faults``, imported when a fault needs naming: the module pulls in much of
    supervisor (about 40 ms), which a status that meets no fault never needs."""
    from supervisor.xmlrpc import Faults

    return Faults


# supervisord puts raw log text into its XML, terminal colour codes and all, which XML 1.0 (and so
# expat) refuses. Such characters are moved to the private use area for the parse and put back in
# the log text by :meth:`SupervisorClient.tail` / :meth:`SupervisorClient.read`.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHIFT = 0xF700
_RESTORE = {_SHIFT + c: c for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]}


def _shifted(match: re.Match[bytes]) -> bytes:
    return chr(_SHIFT + match[0][0]).encode()


class _OneShotTransport(xmlrpc.client.Transport):
    """One connection per call, closed after it; parses answers holding control characters.

    A kept connection would outlive a short tool's last call (a leaked socket) and break on the
    first socket error; a unix-socket connect costs microseconds.
    """

    def single_request(self, host: Any, handler: str, request_body: Any, verbose: bool = False) -> Any:
        try:
            return super().single_request(host, handler, request_body, verbose)
        finally:
            self.close()

    def parse_response(self, response: http.client.HTTPResponse) -> Any:
        parser, unmarshaller = self.getparser()
        parser.feed(_CONTROL.sub(_shifted, response.read()))
        parser.close()
        return unmarshaller.close()


class _UnixSocketConnection(http.client.HTTPConnection):
    """An HTTP connection to a unix socket (the host name only fills the Host header)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class UnixSocketTransport(_OneShotTransport):
    """``xmlrpc.client`` over a unix socket, each socket operation bounded by ``timeout``."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__()
        self.socket_path = path
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = _UnixSocketConnection(self.socket_path, self.timeout)
        self._connection = (host, connection)  # so close() closes it after the call
        return connection


class TcpTransport(_OneShotTransport):
    """The standard transport with a timeout on every socket operation."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


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
        transport = UnixSocketTransport(self.socket_path, self.timeout)
        return xmlrpc.client.ServerProxy("http://localhost", transport=transport)

    @classmethod
    def over_http(
        cls, host: str, port: int, *, username: str = "", password: str = "", timeout: float = 10.0
    ) -> SupervisorClient:
        """A client of supervisord's [inet_http_server] at ``host:port`` (basic auth if given)."""
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        auth = f"{quote(username, safe='')}:{quote(password, safe='')}@" if username or password else ""

        def proxy() -> xmlrpc.client.ServerProxy:
            return xmlrpc.client.ServerProxy(f"http://{auth}{netloc}/RPC2", transport=TcpTransport(timeout))

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
