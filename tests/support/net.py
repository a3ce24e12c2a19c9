"""Free ports on loopback, and checks that a port is free again."""

from __future__ import annotations

import socket


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(count: int = 1, host: str = "127.0.0.1") -> int:
    """A port P such that P .. P+count-1 are all free right now."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port + count <= 65535 and all(port_is_free(port + i, host) for i in range(count)):
            return port
    raise RuntimeError(f"no run of {count} free ports found")
