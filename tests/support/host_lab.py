"""Several hosts on one machine: network namespaces on a bridge, each with its own supervisord.

    lab = HostLab.create(root, hosts=3)      # names and a private /24 of its own
    try:
        lab.up()                              # namespaces, veths, DB forwarder, database, supervisords
        lab.cut(3); lab.heal(3)               # host 3's link down / up
        lab.cut_database(); lab.heal_database()
    finally:
        lab.down()                            # everything above undone, even after a failure

Layout (root required: ``ip netns``): a bridge ``<name>-br`` in this namespace holds
``10.213.N.1/24``; host ``i`` is the namespace ``<name>-h<i>`` whose veth end has
``10.213.N.(10+i)/24``. Traffic goes only between this namespace and the lab's own.
PostgreSQL (127.0.0.1:5432, not reachable from a namespace) is reached through a forwarder on
``10.213.N.1:6432`` (tests/support/tcp_proxy.py), into a database of the lab's own, dropped at
``down``. Every host runs supervisord with an ``[inet_http_server]`` on its private address
(username and password from the environment); host 1 runs the API and the workers, the others
the workers only (the repository's conf/supervisord.d/ files), every health port bound to the
host's own address. A namespace has ports of its own: every host uses the same ones.

The state is kept in ``root/lab.json``, so bin/hosts can act on a lab it brought up earlier.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SUPERVISOR_PORT = 9001
API_PORT = 8000
WORKER_HEALTH_PORT = 8090
FORWARDER_PORT = 6432
USERNAME = "ops"
# libpq: a statement on a cut link fails within seconds instead of TCP's minutes, and a dead
# connection is noticed while idle; the worker then backs off and reconnects when the link is back.
DB_OPTIONS = (
    "connect_timeout=3&keepalives=1&keepalives_idle=2&keepalives_interval=1&keepalives_count=3"
    "&tcp_user_timeout=4000"
)


# The forwarders this process started, by pid: waited for when stopped (bin/hosts leaves its own
# running and exits).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class LabError(RuntimeError):
    """A step of bringing the lab up or down failed (the command and its output)."""


def sh(*args: str) -> str:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise LabError(f"{' '.join(args)}: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def can_run() -> str | None:
    """Why a lab cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    try:
        sh("ip", "netns", "list")
    except (OSError, LabError) as exc:
        return f"no usable `ip netns`: {exc}"
    return None


def _free_subnet() -> int:
    taken = sh("ip", "-4", "-o", "addr", "show")
    for _ in range(100):
        n = secrets.randbelow(256)
        if f" 10.213.{n}." not in taken:
            return n
    raise LabError("no free 10.213.N.0/24 for the lab")


@dataclass
class LabHost:
    index: int
    netns: str
    veth: str  # this namespace's end, on the bridge: the link a cut takes down
    address: str
    home: str
    programs: list[str]

    @property
    def supervisor_url(self) -> str:
        return f"http://{self.address}:{SUPERVISOR_PORT}"

    @property
    def label(self) -> str:
        return f"{self.address}:{SUPERVISOR_PORT}"


@dataclass
class HostLab:
    root: str
    name: str
    subnet: int
    admin_url: str  # the PostgreSQL server, from this namespace
    database: str
    password: str
    worker_env: dict[str, str] = field(default_factory=dict)
    hosts: list[LabHost] = field(default_factory=list)
    forwarder_pid: int | None = None

    # ----- making one ------------------------------------------------------------------------
    @classmethod
    def create(
        cls, root: Path, *, hosts: int = 3, admin_url: str, worker_env: dict[str, str] | None = None
    ) -> HostLab:
        name = "hl" + secrets.token_hex(3)  # interface names: at most 15 characters
        subnet = _free_subnet()
        lab = cls(
            root=str(root),
            name=name,
            subnet=subnet,
            admin_url=admin_url,
            database=f"lab_{name}",
            password=secrets.token_urlsafe(16),
            worker_env=dict(worker_env or {}),
        )
        for i in range(1, hosts + 1):
            lab.hosts.append(
                LabHost(
                    index=i,
                    netns=f"{name}-h{i}",
                    veth=f"{name}-v{i}",
                    address=f"10.213.{subnet}.{10 + i}",
                    home=str(root / f"h{i}"),
                    programs=["api", "workers"] if i == 1 else ["workers"],
                )
            )
        root.mkdir(parents=True, exist_ok=True)
        lab.save()
        return lab

    @classmethod
    def load(cls, root: Path) -> HostLab:
        data = json.loads((root / "lab.json").read_text())
        data["hosts"] = [LabHost(**h) for h in data["hosts"]]
        return cls(**data)

    def save(self) -> None:
        path = Path(self.root) / "lab.json"
        path.write_text(json.dumps(asdict(self), indent=2))
        path.chmod(0o600)  # it holds the supervisords' password

    @property
    def bridge(self) -> str:
        return f"{self.name}-br"

    @property
    def gateway(self) -> str:
        return f"10.213.{self.subnet}.1"

    @property
    def database_url(self) -> str:
        """The lab's database as the hosts reach it: through the forwarder."""
        url = make_url(self.admin_url).set(host=self.gateway, port=FORWARDER_PORT, database=self.database)
        return f"{url.render_as_string(hide_password=False)}?{DB_OPTIONS}"

    @property
    def local_database_url(self) -> str:
        """The lab's database from this namespace (for checks, not through the forwarder)."""
        return make_url(self.admin_url).set(database=self.database).render_as_string(hide_password=False)

    def host(self, index: int) -> LabHost:
        return self.hosts[index - 1]

    def servers(self) -> list[str]:
        return [h.supervisor_url for h in self.hosts]

    def tool_env(self) -> dict[str, str]:
        """The environment of bin/monitor.py and ctl in this namespace, pointed at the lab."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERVISOR_", "DATABASE_URL"))}
        return {
            **env,
            "APP_HOME": str(Path(self.root) / "tools"),
            "SUPERVISOR_CONFIG": str(REPO / "supervisord.conf"),
            "SUPERVISOR_SERVERS": ",".join(self.servers()),
            "SUPERVISOR_USERNAME": USERNAME,
            "SUPERVISOR_PASSWORD": self.password,
            "API_URL": f"http://{self.host(1).address}:{API_PORT}",
            "DATABASE_URL": self.local_database_url,
            "WORKER_HEALTH_PORT": str(WORKER_HEALTH_PORT),
            "API_PORT": str(API_PORT),
        }

    # ----- up --------------------------------------------------------------------------------
    def up(self) -> None:
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for h in self.hosts:
            inner = f"{self.name}-e{h.index}"
            sh("ip", "netns", "add", h.netns)
            sh("ip", "link", "add", h.veth, "type", "veth", "peer", "name", inner)
            sh("ip", "link", "set", inner, "netns", h.netns)
            sh("ip", "link", "set", h.veth, "master", self.bridge, "up")
            sh("ip", "-n", h.netns, "addr", "add", f"{h.address}/24", "dev", inner)
            sh("ip", "-n", h.netns, "link", "set", inner, "up")
            sh("ip", "-n", h.netns, "link", "set", "lo", "up")
        self.heal_database()
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.database}"'))
        finally:
            admin.dispose()
        self.save()
        for h in self.hosts:
            self._start_supervisord(h)

    def _start_supervisord(self, h: LabHost) -> None:
        home = Path(h.home)
        for sub in ("var/run", "logs"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        includes = " ".join(str(REPO / "conf" / "supervisord.d" / f"{p}.conf") for p in h.programs)
        config = home / "supervisord.conf"
        config.write_text(
            "[unix_http_server]\nfile = %(here)s/var/run/supervisor.sock\nchmod = 0700\n\n"
            "[inet_http_server]\nport = %(ENV_HOST_ADDRESS)s:" + str(SUPERVISOR_PORT) + "\n"
            "username = %(ENV_SUPERVISOR_USERNAME)s\npassword = %(ENV_SUPERVISOR_PASSWORD)s\n\n"
            "[supervisord]\nlogfile = %(here)s/logs/supervisord.log\n"
            "pidfile = %(here)s/var/run/supervisord.pid\nchildlogdir = %(here)s/logs\nnodaemon = false\n"
            f"identifier = {h.netns}\n\n"
            "[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
            f"[include]\nfiles = {includes}\n"
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SUPERVISOR_", "DATABASE_URL"))},
            "APP_HOME": str(home),
            "APP_ENV": "test",
            "HOST_ADDRESS": h.address,
            "LAB_NAME": self.name,  # in every child's environment: how down() finds leftovers
            "SUPERVISOR_USERNAME": USERNAME,
            "SUPERVISOR_PASSWORD": self.password,
            "SUPERVISOR_CONFIG": str(config),
            "DATABASE_URL": self.database_url,
            "API_HOST": h.address,
            "API_PORT": str(API_PORT),
            "WORKER_HEALTH_HOST": h.address,
            "WORKER_HEALTH_PORT": str(WORKER_HEALTH_PORT),
            "JWT_SECRET": "lab-" + secrets.token_hex(32),
            "REDIS_URL": "",
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            **self.worker_env,
        }
        done = subprocess.run(
            ["ip", "netns", "exec", h.netns, str(VENV_BIN / "supervisord"), "-c", str(config)],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise LabError(f"supervisord on host {h.index}: {(done.stderr or done.stdout).strip()}")

    # ----- faults ----------------------------------------------------------------------------
    def cut(self, index: int) -> None:
        """Host ``index``'s link down: it and its programs keep running, unreachable both ways."""
        sh("ip", "link", "set", self.host(index).veth, "down")

    def heal(self, index: int) -> None:
        sh("ip", "link", "set", self.host(index).veth, "up")

    def cut_database(self) -> None:
        """The forwarder to PostgreSQL stopped: every host loses the database, nothing else."""
        if self.forwarder_pid is not None:
            _stop(self.forwarder_pid)
            self.forwarder_pid = None
            self.save()

    def heal_database(self) -> None:
        if self.forwarder_pid is not None:
            return
        target = make_url(self.admin_url)
        forwarder = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.tcp_proxy",
                f"{self.gateway}:{FORWARDER_PORT}",
                f"{target.host or '127.0.0.1'}:{target.port or 5432}",
            ],
            cwd=REPO,
            env={**os.environ, "LAB_NAME": self.name, "PYTHONPATH": str(REPO)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.forwarder_pid = forwarder.pid
        _CHILDREN[forwarder.pid] = forwarder
        self.save()
        deadline = time.monotonic() + 20
        import socket

        while True:
            try:
                socket.create_connection((self.gateway, FORWARDER_PORT), timeout=1).close()
                return
            except OSError:
                if forwarder.poll() is not None or time.monotonic() > deadline:
                    raise LabError("the database forwarder did not start listening") from None
                time.sleep(0.05)

    # ----- down ------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Undo everything (each step even when an earlier one failed); what could not be undone."""
        problems: list[str] = []
        for h in self.hosts:
            self._try(problems, lambda h=h: self.heal(h.index))  # a cut host's programs must hear TERM
            pidfile = Path(h.home) / "var" / "run" / "supervisord.pid"
            if pidfile.exists():
                self._try(problems, lambda p=pidfile: _stop(int(p.read_text().strip()), timeout=60))
        self._try(problems, self.cut_database)
        for pid in _pids_with(f"LAB_NAME={self.name}"):  # anything left behind
            _stop(pid, timeout=10)
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        except Exception as exc:  # noqa: BLE001 - reported, and the rest still undone
            problems.append(f"drop database {self.database}: {exc}")
        finally:
            admin.dispose()
        for h in self.hosts:
            self._try(problems, lambda h=h: sh("ip", "netns", "delete", h.netns), missing_ok=True)
            self._try(problems, lambda h=h: sh("ip", "link", "delete", h.veth), missing_ok=True)
        self._try(problems, lambda: sh("ip", "link", "delete", self.bridge), missing_ok=True)
        return problems

    @staticmethod
    def _try(problems: list[str], step: object, *, missing_ok: bool = False) -> None:
        try:
            step()  # type: ignore[operator]
        except (LabError, OSError, ValueError) as exc:
            gone = "Cannot find device" in str(exc) or "No such file" in str(exc)
            if not (missing_ok and gone):
                problems.append(str(exc))


def _pids_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def _stop(pid: int, *, timeout: float = 10) -> None:
    """SIGTERM ``pid`` and wait until it is gone (SIGKILL after ``timeout``)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:  # our own forwarder: reap it
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status
