"""The OpenID Connect provider of the tests (``tests/oidc/provider.mjs``) and a way through it.

The provider is the certified ``oidc-provider`` package from npm, installed
from ``tests/oidc/package-lock.json`` (``npm ci``) the first time a test needs
it and started on ``PARLEY_OIDC_PORT`` (or a free port) on 127.0.0.1. With
``CI=true`` a provider that cannot be installed or started fails the test.

Each test server registers a client of its own (dynamic registration) for its
own redirect URI; ``through_provider`` then plays the user at the provider's
login and consent pages over plain HTTP, for the tests that need no browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
import pytest

from tests.support.server import ServerProcess, free_port, log_tail, stop_process

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_DIR = ROOT / "tests" / "oidc"
PASSWORD = "test-password"
"""What the provider's login page accepts, for any login name."""
STARTUP_TIMEOUT = 30.0
PROVIDER_NAME = "testid"
DISPLAY_NAME = "Test ID"
TAMPER_MODES = ("nonce", "expired", "key", "audience", "issuer")
"""The ways the provider can get an ID token wrong for a client that asks (provider.mjs)."""


def _missing(reason: str) -> None:
    message = f"the test OpenID provider is unavailable: {reason}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def install() -> None:
    """``npm ci`` in tests/oidc when its packages are missing or older than the lock file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _missing("node and npm are not installed (Node 20 or later)")
    stamp = PROVIDER_DIR / "node_modules" / ".package-lock.json"
    lock = PROVIDER_DIR / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    done = subprocess.run(
        [str(npm), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PROVIDER_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        _missing(f"npm ci failed: {done.stderr[-2000:]}")


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str


class OidcProvider:
    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_dir / f"oidc-provider-{self.port}.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        # Another process on the port would answer in its place: refuse to test against it.
        with socket.socket() as probe:
            # As node binds: a closed connection's TIME_WAIT on the port is no obstacle.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError as exc:
                _missing(f"port {self.port} is taken ({exc}); is an old provider still running?")
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                "node",
                str(PROVIDER_DIR / "provider.mjs"),
                str(self.port),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        discovery = self.issuer + "/.well-known/openid-configuration"
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.returncode is not None:
                    _missing(f"it exited at start:\n{log_tail(self.log_path)}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(discovery) as response:
                        if response.status == 200:
                            return
                if loop.time() > deadline:
                    _missing(f"it did not answer:\n{log_tail(self.log_path)}")
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        process, self.process = self.process, None
        await stop_process(process, signal.SIGTERM, grace=10)

    async def register(self, redirect_uri: str, tamper: str | None = None) -> RegisteredClient:
        """A client of its own for one test server (``tamper``: see provider.mjs)."""
        body: dict[str, object] = {"redirect_uris": [redirect_uri], "client_name": "Parley"}
        if tamper is not None:
            body["tamper"] = tamper
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.issuer + "/reg", json=body) as response,
        ):
            assert response.status == 201, await response.text()
            made = await response.json()
        return RegisteredClient(made["client_id"], made["client_secret"])


async def server_env(
    provider: OidcProvider, public_url: str, *, tampered: bool = False
) -> dict[str, str]:
    """Settings for Parley servers at ``public_url``: the provider as ``testid`` (Test ID).

    ``tampered`` adds one more provider per ``TAMPER_MODES`` (``tamper_nonce``
    …): the same issuer, with a client that gets ID tokens wrong that way.
    """
    env = {"PARLEY_PUBLIC_URL": public_url}
    names = [PROVIDER_NAME, *(f"tamper_{m}" for m in TAMPER_MODES if tampered)]
    for name in names:
        mode = name.removeprefix("tamper_") if name != PROVIDER_NAME else None
        client = await provider.register(callback_uri(public_url, name), mode)
        prefix = f"PARLEY_OIDC_{name.upper()}_"
        env[prefix + "ISSUER"] = provider.issuer
        env[prefix + "CLIENT_ID"] = client.client_id
        env[prefix + "CLIENT_SECRET"] = client.client_secret
    env[f"PARLEY_OIDC_{PROVIDER_NAME.upper()}_DISPLAY_NAME"] = DISPLAY_NAME
    env["PARLEY_OIDC_PROVIDERS"] = ",".join(names)
    return env


async def provider_server(
    provider: OidcProvider,
    root: Path,
    *,
    tampered: bool = False,
    env: dict[str, str] | None = None,
) -> ServerProcess:
    """A started embedded server that signs in with the provider (see ``server_env``)."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    settings = await server_env(provider, public_url, tampered=tampered)
    server = ServerProcess(root, {**settings, **(env or {})}, port=port)
    await server.start()
    return server


def callback_uri(public_url: str, provider: str = PROVIDER_NAME) -> str:
    return f"{public_url}/api/auth/oauth/{provider}/callback"


_FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


async def through_provider(
    http: aiohttp.ClientSession, authorization_url: str, login: str, *, deny: bool = False
) -> str:
    """Sign in as ``login`` at the provider's pages and allow (or deny); the callback URL.

    Follows the provider's own redirects, posts its login and consent forms,
    and stops at the first redirect that leaves the provider: the URL the
    browser would be sent to, for the test to deliver where it likes.
    """
    provider = urlsplit(authorization_url)
    url = authorization_url
    for _ in range(20):
        async with http.get(url, allow_redirects=False) as response:
            if response.status in (302, 303):
                url = urljoin(url, response.headers["Location"])
                if urlsplit(url).netloc != provider.netloc:
                    return url
                continue
            assert response.status == 200, await response.text()
            page = await response.text()
        action = _FORM_ACTION.search(page)
        assert action is not None, page
        if deny:
            url = urljoin(url, action.group(1).rsplit("/", 1)[0] + "/abort")
            continue
        form = {"login": login, "password": PASSWORD} if 'name="login"' in page else {}
        async with http.post(
            urljoin(url, action.group(1)), data=form, allow_redirects=False
        ) as response:
            assert response.status in (302, 303), await response.text()
            url = urljoin(url, response.headers["Location"])
    raise AssertionError("the provider never sent the browser back")


def fragment(location: str) -> dict[str, str]:
    """The outcome Parley put in its redirect into the web client."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}
