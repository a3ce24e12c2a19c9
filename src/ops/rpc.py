"""A small XML-RPC client of supervisord over its unix socket, built from values passed in.

    client = SupervisorClient("/path/var/run/supervisor.sock")
    state, infos = client.snapshot()        # one round trip: supervisord state + every process

Why not ``xmlrpc.client`` with ``supervisor.xmlrpc.SupervisorTransport``: importing them costs
more than everything else a status command does (``http.client``, ``email``, ``ssl`` and most of
supervisor), that transport has no timeout, and its one kept connection is unusable after any
socket error. Here each call is one HTTP/1.0 request on a fresh unix-socket connection (microseconds)
with a timeout, encoded by :mod:`ops.xmlrpc_codec`; the caller is rebuilt after a transport error.
"""

from __future__ import annotations

import base64
import errno
import socket
from collections.abc import Callable
from typing import Any

from ops.errors import (
    OpsError,
    ProgramFailed,
    SupervisorAccessDenied,
    SupervisorFault,
    SupervisorUnreachable,
    UnknownProgram,
)
from ops.xmlrpc_codec import ResponseError, XmlRpcFault, dumps_call, loads_response


class Faults:
    """Fault codes of ``supervisor.xmlrpc.Faults`` (a unit test keeps the two in step)."""

    UNKNOWN_METHOD = 1
    INCORRECT_PARAMETERS = 2
    BAD_ARGUMENTS = 3
    SIGNATURE_UNSUPPORTED = 4
    SHUTDOWN_STATE = 6
    BAD_NAME = 10
    BAD_SIGNAL = 11
    NO_FILE = 20
    NOT_EXECUTABLE = 21
    FAILED = 30
    ABNORMAL_TERMINATION = 40
    SPAWN_ERROR = 50
    ALREADY_STARTED = 60
    NOT_RUNNING = 70
    SUCCESS = 80
    ALREADY_ADDED = 90
    STILL_RUNNING = 91
    CANT_REREAD = 92


class HTTPStatusError(OSError):
    """supervisord answered with an HTTP status other than 200 (401: credentials wanted)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


Caller = Callable[[str, tuple[Any, ...]], Any]


def _exchange(sock: socket.socket, host: bytes, body: bytes, auth: bytes, where: str) -> Any:
    """One HTTP/1.0 XML-RPC POST on a connected socket; supervisord closes it after the answer."""
    request = (
        b"POST /RPC2 HTTP/1.0\r\nHost: %s\r\nContent-Type: text/xml\r\n%s"
        b"Content-Length: %d\r\n\r\n" % (host, auth, len(body))
    ) + body
    sock.sendall(request)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    response = b"".join(chunks)
    head, _, payload = response.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise ConnectionError(f"not an HTTP answer from {where}")
    if status_line[1] != b"200":
        raise HTTPStatusError(int(status_line[1]))
    return loads_response(payload)


class UnixSocketCaller:
    """Makes one XML-RPC call per connection to supervisord's unix socket."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout

    def __call__(self, method: str, params: tuple[Any, ...]) -> Any:
        body = dumps_call(method, params)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
            return _exchange(sock, b"localhost", body, b"", self.path)


class HttpCaller:
    """One XML-RPC call per TCP connection to supervisord's [inet_http_server], with basic auth."""

    def __init__(self, host: str, port: int, timeout: float, username: str = "", password: str = "") -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.auth = b""
        if username or password:
            token = base64.b64encode(f"{username}:{password}".encode())
            self.auth = b"Authorization: Basic %s\r\n" % token

    def __call__(self, method: str, params: tuple[Any, ...]) -> Any:
        body = dumps_call(method, params)
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
            return _exchange(
                sock, f"{self.host}:{self.port}".encode(), body, self.auth, f"{self.host}:{self.port}"
            )


class SupervisorClient:
    """supervisord's XML-RPC interface with its errors mapped to :mod:`ops.errors`."""

    def __init__(
        self,
        socket_path: str,
        *,
        timeout: float = 10.0,
        caller_factory: Callable[[], Caller] | None = None,
        remote_host: str | None = None,
    ) -> None:
        # socket_path names the endpoint in messages: a socket path, or http://HOST:PORT (no password)
        self.socket_path = socket_path
        self.timeout = timeout
        # None: supervisord on this machine (unix socket); else the host its programs run on
        self.remote_host = remote_host
        self._factory = caller_factory or (lambda: UnixSocketCaller(socket_path, timeout))
        self._caller: Caller | None = None

    @classmethod
    def over_http(
        cls, host: str, port: int, *, username: str = "", password: str = "", timeout: float = 10.0
    ) -> SupervisorClient:
        """A client of supervisord's [inet_http_server] at ``host:port``."""
        return cls(
            f"http://{host}:{port}",
            timeout=timeout,
            remote_host=host,
            caller_factory=lambda: HttpCaller(host, port, timeout, username, password),
        )

    @classmethod
    def from_settings(cls, settings: Any, *, timeout: float = 10.0) -> SupervisorClient:
        return cls(settings.SUPERVISOR_SOCKET, timeout=timeout)

    # -- the one place calls go through -------------------------------------------------------
    def call(self, method: str, *args: Any) -> Any:
        """Call ``method`` (e.g. ``"supervisor.getState"``); faults and socket errors mapped."""
        if self._caller is None:
            self._caller = self._factory()
        try:
            return self._caller(method, args)
        except XmlRpcFault as fault:
            raise self._fault_error(fault.code, fault.text, args) from None
        except HTTPStatusError as exc:
            self._caller = None
            if exc.status == 401:
                raise SupervisorAccessDenied(
                    f"supervisord at {self.socket_path} refused us: it wants a (right) username and "
                    "password (SUPERVISOR_USERNAME / SUPERVISOR_PASSWORD)"
                ) from None
            raise SupervisorUnreachable(
                f"supervisord at {self.socket_path} answered HTTP {exc.status}"
            ) from None
        except (OSError, ResponseError) as exc:
            self._caller = None  # never reuse a caller that failed: build a new one next time
            raise self._socket_error(exc) from None

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
        return SupervisorUnreachable(f"cannot talk to supervisord at {where}: {exc}")

    @staticmethod
    def _fault_error(code: int, text: str, args: tuple[Any, ...]) -> OpsError:
        name = str(args[0]) if args else "?"
        if code == Faults.BAD_NAME:
            return UnknownProgram(name)
        if code == Faults.SHUTDOWN_STATE:
            return SupervisorUnreachable("supervisord is shutting down")
        if code in (Faults.SPAWN_ERROR, Faults.ABNORMAL_TERMINATION):
            return ProgramFailed(f"{name} failed to start", detail=text)
        if code in (Faults.NO_FILE, Faults.NOT_EXECUTABLE):
            return ProgramFailed(f"{name} cannot be started: {text}")
        return SupervisorFault(code, text)

    # -- what the tools use ----------------------------------------------------------------
    def snapshot(self) -> tuple[str, list[dict[str, Any]]]:
        """(supervisord state name, every process's info) in one round trip."""
        results = self.call(
            "system.multicall",
            [
                {"methodName": "supervisor.getState", "params": []},
                {"methodName": "supervisor.getAllProcessInfo", "params": []},
            ],
        )
        for result in results:
            if isinstance(result, dict) and "faultCode" in result:
                raise self._fault_error(result["faultCode"], result["faultString"], ())
        state, infos = results
        return str(state["statename"]), list(infos)

    def process_info(self, name: str) -> dict[str, Any]:
        return self.call("supervisor.getProcessInfo", name)

    def start(self, name: str, *, wait: bool = False) -> bool:
        """Start ``name``; False when it was already running."""
        try:
            return bool(self.call("supervisor.startProcess", name, wait))
        except SupervisorFault as exc:
            if exc.code == Faults.ALREADY_STARTED:
                return False
            raise

    def stop(self, name: str, *, wait: bool = True) -> bool:
        """Stop ``name``; False when it was not running."""
        try:
            return bool(self.call("supervisor.stopProcess", name, wait))
        except SupervisorFault as exc:
            if exc.code == Faults.NOT_RUNNING:
                return False
            raise

    def signal(self, name: str, signal_name: str) -> bool:
        """Send a signal; False when the process is not running."""
        try:
            return bool(self.call("supervisor.signalProcess", name, signal_name))
        except SupervisorFault as exc:
            if exc.code == Faults.NOT_RUNNING:
                return False
            raise

    def tail(
        self, name: str, offset: int, length: int, *, channel: str = "stdout"
    ) -> tuple[bytes, int, bool]:
        method = f"supervisor.tailProcess{channel.capitalize()}Log"
        data, new_offset, overflow = self.call(method, name, offset, length)
        return data.encode("utf-8", "surrogateescape"), int(new_offset), bool(overflow)

    def read(self, name: str, offset: int, length: int, *, channel: str = "stdout") -> bytes:
        method = f"supervisor.readProcess{channel.capitalize()}Log"
        return str(self.call(method, name, offset, length)).encode("utf-8", "surrogateescape")
