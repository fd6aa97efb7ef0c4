"""``scripts/cluster`` as an operator runs it: gateways, persisters and nginx under supervisord.

For tests that kill a part of the cluster and expect it back, as the supervisor of a
real deployment (systemd, Kubernetes) would bring it back. The cluster runs on the
services and settings a test passes (its own database, topic and consumer group) and
keeps its configs, logs and the supervisor's socket in a short temporary folder (a
unix socket path has room for 107 bytes, a pytest ``tmp_path`` may not).

    cluster = SupervisedCluster(env, gateways=2, persisters=1)
    await cluster.start()                       # returns once every part answers
    pid = await cluster.kill("gateway1")        # SIGKILL, as a crash
    await cluster.restarted("gateway1", pid)    # a new process, RUNNING
    await cluster.stop()                        # Ctrl-C
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import tempfile
import xmlrpc.client
from pathlib import Path
from typing import Any

import psutil

from tests.support.cluster import eventually
from tests.support.server import FAST_HASHING, inherited_env, log_tail

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO / "scripts" / "cluster"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
UP_BANNER = "Parley cluster is up"
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
PORTS_FROM, PORTS_BELOW = 10000, 20000
"""Where the cluster's ports are picked: below the ephemeral range and below the
services' ports (``scripts/lib-services.sh``: 2xxxx)."""


def ephemeral_low() -> int:
    """The first of the local ports the kernel gives outgoing connections."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count: int) -> list[int]:
    """``count`` consecutive free ports (scripts/cluster numbers its gateways from the first).

    Below the ephemeral range, as ``scripts/lib-services.sh`` keeps the services' ports:
    a client reconnecting in a loop to a port inside it, while the program behind it is
    restarting, can be handed that very port as its own source port and connect to
    itself, and the new process then fails to bind its port (``address already in use``).
    """
    high = min(PORTS_BELOW, ephemeral_low())
    for _ in range(200):
        first = random.randrange(PORTS_FROM, high - count)
        ports = list(range(first, first + count))
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return ports
    raise RuntimeError(f"no {count} consecutive free ports in {PORTS_FROM}-{high - 1}")


def _as_a_terminal_would() -> None:
    """In the child before exec: Ctrl-C and SIGTERM as a shell started from a terminal has them.

    A shell cannot trap a signal that was ignored when it started, and a blocked one waits
    forever; the test process may have either from whatever started it (a detached CI
    run, a library's thread), and the child inherits both across exec. Then
    ``scripts/cluster`` would never run its ``exit 130`` on Ctrl-C.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _signal_state(pid: int) -> str:
    """The ignored and blocked signal masks of a process, for a failure's message."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    return " ".join(line for line in status.splitlines() if line.startswith(("SigBlk", "SigIgn")))


def alive(pid: int) -> bool:
    """The process exists and is not a zombie left for its new parent to reap."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class SupervisedCluster:
    """One ``scripts/cluster`` run and its supervisor, driven over supervisord's XML-RPC."""

    def __init__(self, env: dict[str, str], gateways: int = 2, persisters: int = 1) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="parley-cluster-"))
        self.gateway_ports = free_ports(gateways)
        self.port = free_ports(1)[0]
        self.env = {
            **inherited_env(),
            **FAST_HASHING,
            "PARLEY_DATA_DIR": str(self.dir / "data"),
            **env,
            "PARLEY_GATEWAYS": str(gateways),
            "PARLEY_PERSISTERS": str(persisters),
            "PARLEY_CLUSTER_DIR": str(self.dir),
            "PARLEY_CLUSTER_PORT": str(self.port),
            "PARLEY_CLUSTER_GATEWAY_PORT": str(self.gateway_ports[0]),
        }
        self.process: asyncio.subprocess.Process | None = None
        self.signals = ""
        """``scripts/cluster``'s signal masks just after it started (``_signal_state``)."""
        self.output = self.dir / "cluster.out"

    @property
    def url(self) -> str:
        """nginx in front of the gateways."""
        return f"http://127.0.0.1:{self.port}"

    def gateway_url(self, n: int) -> str:
        """The ``n``-th gateway (from 1, as supervisord names them: gateway1, ...)."""
        return f"http://127.0.0.1:{self.gateway_ports[n - 1]}"

    async def start(self) -> None:
        """Run ``scripts/cluster``; return once it reports every gateway and nginx ready."""
        with self.output.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                str(CLUSTER_SCRIPT),
                env=self.env,
                stdout=out,
                stderr=out,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_as_a_terminal_would,
            )
        self.signals = _signal_state(self.process.pid)

        async def up() -> bool:
            assert self.process is not None
            if self.process.returncode is not None:
                raise RuntimeError(f"scripts/cluster exited early:\n{self.logs()}")
            return UP_BANNER in self.output.read_text(errors="replace")

        await eventually(up, START_TIMEOUT, "scripts/cluster to report the cluster up")

    def _rpc(self) -> Any:
        # Imported here: the cluster suite's conftest imports this module, and a checkout
        # synced without the `cluster` group still runs the rest of that suite.
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(serverurl=f"unix://{self.dir / 'supervisor.sock'}")
        return xmlrpc.client.ServerProxy("http://localhost", transport=transport).supervisor

    async def info(self, name: str) -> dict[str, Any]:
        """supervisord's view of one program: ``pid``, ``statename``, ``start``, ..."""
        found: dict[str, Any] = await asyncio.to_thread(lambda: self._rpc().getProcessInfo(name))
        return found

    async def pids(self) -> dict[str, int]:
        """The pid of every program that runs now."""
        infos: list[dict[str, Any]] = await asyncio.to_thread(
            lambda: self._rpc().getAllProcessInfo()
        )
        return {i["name"]: i["pid"] for i in infos if i["pid"]}

    async def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Signal one program's process, as a crash would; returns its pid."""
        pid = int((await self.info(name))["pid"])
        assert pid > 0, f"{name} is not running"
        os.kill(pid, sig)
        return pid

    async def restarted(self, name: str, old_pid: int, timeout: float = 60.0) -> int:
        """Wait until supervisord runs ``name`` again in a new process; returns its pid."""

        async def running_again() -> bool:
            info = await self.info(name)
            return bool(info["statename"] == "RUNNING" and info["pid"] not in (0, old_pid))

        await eventually(running_again, timeout, f"supervisord to restart {name}")
        return int((await self.info(name))["pid"])

    async def restart(self, name: str) -> None:
        """``supervisorctl restart NAME``: a graceful stop (SIGTERM), then a new process."""

        def restart() -> None:
            rpc = self._rpc()
            rpc.stopProcess(name, True)
            rpc.startProcess(name, True)

        await asyncio.to_thread(restart)

    async def stop(self) -> int:
        """Ctrl-C in the terminal of ``scripts/cluster``: SIGINT to its process group."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return 0 if process is None else process.returncode or 0
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            return await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            raise

    async def close(self) -> None:
        """Stop (if running) and delete the folder."""
        try:
            await self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, name: str) -> str:
        """One program's own log (supervisord keeps one per process)."""
        return (self.dir / f"{name}.log").read_text(errors="replace")

    def logs(self) -> str:
        files = [self.output, self.dir / "supervisord.log", *sorted(self.dir.glob("*[0-9].log"))]
        return "\n".join(f"--- {f.name}\n{log_tail(f)}" for f in files)
