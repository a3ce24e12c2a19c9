"""A TCP proxy a test opens and closes, to take a real server (PostgreSQL, Redis) away from the
processes under test without stopping it (the machine's servers are shared).

    with TcpProxy(("127.0.0.1", 5432)) as proxy:      # listening and forwarding
        url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/db"
        proxy.close()                                  # refused, and open connections cut
        proxy.open()                                   # forwarding again, on the same port

``host``/``port`` choose where it listens (default 127.0.0.1 and a free port): the several-hosts
lab listens on its bridge's address. ``python -m tests.support.tcp_proxy LISTEN_HOST:PORT
TARGET_HOST:PORT`` runs one in the foreground until SIGTERM (bin/hosts keeps it running).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from types import TracebackType

from tests.support.net import free_port


class TcpProxy:
    def __init__(
        self,
        target: tuple[str, int],
        *,
        start_open: bool = True,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        self.target = target
        self.host = host
        self.port = free_port() if port is None else port
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        if start_open:
            self.open()

    @property
    def is_open(self) -> bool:
        return self._listener is not None

    def open(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self._listener = listener
        self._spawn(self._accept, listener)

    def close(self) -> None:
        """Stop listening (new connections are refused) and cut every open connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        deadline = time.monotonic() + 10  # for all of them: a stack may hold dozens of connections
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections.update((client, upstream))
            self._spawn(self._pump, client, upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        upstream.settimeout(None)
        peer = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in peer:
                selector.register(sock, selectors.EVENT_READ)
            try:
                while True:
                    # A socket closed by close() (from another thread) leaves epoll without waking
                    # it: look again every second, and stop once either side is closed.
                    if client.fileno() < 0 or upstream.fileno() < 0:
                        return
                    for key, _ in selector.select(timeout=1.0):
                        sock = key.fileobj
                        assert isinstance(sock, socket.socket)
                        data = sock.recv(65536)
                        if not data:
                            return
                        peer[sock].sendall(data)
            except (OSError, ValueError):
                return
            finally:
                with self._lock:
                    self._connections.difference_update(peer)
                for sock in peer:
                    sock.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv: list[str] | None = None) -> None:
    import signal
    import sys

    listen, target = (_address(a) for a in (argv or sys.argv[1:]))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with TcpProxy(target, host=listen[0], port=listen[1]):
        done.wait()


if __name__ == "__main__":
    main()
