"""Scratch PostgreSQL databases for a run, and the services' settings."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from bench.common import ROOT, log


def services_env() -> dict[str, str]:
    """PARLEY_* settings of the running services (``scripts/services env``), env wins."""
    found: dict[str, str] = {}
    try:
        out = subprocess.run(
            [str(ROOT / "scripts" / "services"), "env"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        line = line.strip().removeprefix("export ").strip()
        if line.startswith("PARLEY_") and "=" in line:
            k, v = line.split("=", 1)
            found[k] = v.strip("'\"")
    for k, v in os.environ.items():
        if k.startswith("PARLEY_") and v:
            found[k] = v
    return found


@dataclass
class ScratchPostgres:
    admin_url: str
    name: str
    url: str

    async def migrate(self, env: dict[str, str]) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "parley",
            "migrate",
            env={**env, "PARLEY_DATABASE_URL": self.url},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"parley migrate failed: {out.decode()[-2000:]}")

    async def drop(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()


async def scratch_postgres(url: str) -> ScratchPostgres:
    """A fresh database next to the one ``url`` names, so a run never touches real data."""
    import asyncpg

    plain = url.replace("postgresql+asyncpg://", "postgresql://").replace(
        "postgres://", "postgresql://"
    )
    parts = urlsplit(plain)
    name = "parley_bench_" + secrets.token_hex(4)
    conn = await asyncpg.connect(plain)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    new = urlunsplit(parts._replace(path="/" + name))
    log(f"scratch database {name}")
    return ScratchPostgres(plain, name, new)
