"""The services' default ports lie below the kernel's ephemeral port range.

Inside that range (32768-60999 on Linux), a client reconnecting in a loop while a
service is down can be handed the service's port as its own source port and connect
to itself, and the service cannot bind its port again until that client gives up.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "scripts" / "lib-services.sh"
PORTS = ("PG_PORT", "REDIS_PORT", "KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "S3_PORT")


def default_ports() -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    script = f"source '{LIB}'; echo " + " ".join(f"${name}" for name in PORTS)
    out = subprocess.check_output(["bash", "-c", script], env=env, text=True)
    return dict(zip(PORTS, (int(p) for p in out.split()), strict=True))


def test_default_ports_lie_below_the_ephemeral_range() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = default_ports()
    assert all(0 < port < low for port in ports.values()), (ports, low)
    assert len(set(ports.values())) == len(ports)
