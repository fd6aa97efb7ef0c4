"""The peer's own virtualenv (git-ignored), created with uv on first use."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.common import ROOT, log

VENV = ROOT / "bench" / ".peer-venv"
PACKAGES = ["python-socketio>=5.11", "uvicorn[standard]>=0.30", "uvloop", "httptools", "redis>=5"]
SERVER = Path(__file__).with_name("sio_server.py")


def python() -> Path:
    """The peer venv's interpreter, creating the venv when missing."""
    exe = VENV / "bin" / "python"
    marker = VENV / ".complete"
    if exe.exists() and marker.exists():
        return exe
    uv = _uv()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(VENV)}
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    log(f"creating the peer venv at {VENV} (python-socketio, uvicorn)")
    subprocess.run(
        [*uv, "venv", "--quiet", "--python", sys.executable, str(VENV)], check=True, env=env
    )
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", str(exe), *PACKAGES], check=True, env=env
    )
    marker.write_text("ok\n")
    return exe


def versions() -> dict[str, str]:
    exe = python()
    out = subprocess.run(
        [
            str(exe),
            "-c",
            "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
            "['python-socketio', 'python-engineio', 'uvicorn', 'websockets', 'uvloop']}))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    import json

    try:
        return dict(json.loads(out.stdout))
    except ValueError:
        return {}


def _uv() -> list[str]:
    """uv as a module of this interpreter or of python3, or on PATH."""
    for cand in ([sys.executable, "-m", "uv"], ["python3", "-m", "uv"], [shutil.which("uv") or ""]):
        if not cand[0]:
            continue
        try:
            ok = (
                subprocess.run([*cand, "--version"], capture_output=True, check=False).returncode
                == 0
            )
        except OSError:
            ok = False
        if ok:
            return cand
    raise RuntimeError("uv is needed to create the peer venv (python3 -m pip install uv)")
