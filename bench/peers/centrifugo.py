"""The Go peer: Centrifugo, built from its module by the bench itself on first use.

``go install`` puts the binary under the project's cache folder (GOPATH, module and
build caches there too), so it is built once per machine and ``make test`` never
builds Go unless a test asks for this peer. ``make centrifugo`` builds it ahead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.common import log

VERSION = "v6.9.1"
MODULE = "github.com/centrifugal/centrifugo/v6"
GOPATH = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "parley" / "go"
BIN_DIR = GOPATH / "bin" / VERSION


def binary() -> Path:
    """The centrifugo binary of ``VERSION``, built with ``go install`` when missing."""
    exe = BIN_DIR / "centrifugo"
    if exe.exists():
        return exe
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go is needed to build the Centrifugo peer (https://go.dev/dl/)")
    log(f"building Centrifugo {VERSION} into {BIN_DIR} (once; a few minutes)")
    env = {
        **os.environ,
        "GOPATH": str(GOPATH),
        "GOBIN": str(BIN_DIR),
        "GOCACHE": str(GOPATH / "build"),
        "GOFLAGS": "-buildvcs=false",
    }
    subprocess.run([go, "install", f"{MODULE}@{VERSION}"], check=True, env=env)
    return exe


def config(port: int, redis_url: str | None = None) -> dict[str, Any]:
    """A node on 127.0.0.1:``port``: memory engine (or Redis when given), JSON clients.

    Insecure client mode lets a client connect without a token, subscribe to any
    channel and publish into it, as Parley's publisher sends over its own WebSocket.
    History, presence and join/leave are left off: a plain PUB/SUB fan-out.
    """
    doc: dict[str, Any] = {
        "http_server": {"address": "127.0.0.1", "port": port},
        "client": {"insecure": True, "allowed_origins": ["*"]},
        "health": {"enabled": True},
        "log": {"level": "error"},
    }
    if redis_url:
        doc["engine"] = {"type": "redis", "redis": {"address": [redis_url]}}
    return doc


def write_config(path: Path, port: int, redis_url: str | None = None) -> Path:
    path.write_text(json.dumps(config(port, redis_url), indent=2))
    return path


def version() -> str:
    """The module version built (``go install`` leaves the binary's own version at v0.0.0)."""
    out = subprocess.run(
        [str(binary()), "version"], capture_output=True, text=True, check=False
    ).stdout
    return f"{VERSION} ({out.strip()})"
