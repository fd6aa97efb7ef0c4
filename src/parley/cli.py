"""``parley``: serve, migrate, and a few admin commands."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import re
import signal
import sys
from typing import TYPE_CHECKING

from parley.config import ConfigError, Settings

if TYPE_CHECKING:
    from parley.log.kafka.persister import Persister
    from parley.models import SiteRole
    from parley.notify.kafka import NotifyWorker

logger = logging.getLogger("parley")


def _setup_logging() -> None:
    logging.basicConfig(
        level=os.environ.get("PARLEY_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from parley.logfilter import RepeatFilter

    # aiokafka logs each failed attempt while the broker is down: one of each per minute.
    for handler in logging.getLogger().handlers:
        handler.addFilter(RepeatFilter("aiokafka"))


def _run(main: object) -> None:
    import uvloop

    uvloop.run(main)  # type: ignore[arg-type]


async def _serve(settings: Settings) -> None:
    from aiohttp import web

    from parley.app import build
    from parley.gcpolicy import GcPolicy
    from parley.store.migrate import upgrade_async

    if settings.is_sqlite:
        # The embedded default needs no separate step; a cluster migrates once, explicitly.
        await upgrade_async(settings.database_url)
    # Full collections of a gateway's heap stall the loop for up to a second: freeze
    # their survivors and sweep periodically instead (gcpolicy.py). 0 times pauses only.
    gc_policy = GcPolicy(freeze=settings.gc_sweep_interval_seconds > 0)
    app = build(settings, gc_policy=gc_policy)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, backlog=2048)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else settings.port
    gc_policy.install()
    if gc_policy.freeze:
        gc_policy.start(settings.gc_sweep_interval_seconds)
    print(f"Parley listening on http://{settings.host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logger.info("shutting down: closing connections with 1012")
    gc_policy.stop()  # no sweep while connections close; still frozen, so no long pauses
    await runner.cleanup()
    gc_policy.uninstall()


def _cmd_serve(args: argparse.Namespace) -> None:
    env = dict(os.environ)
    if args.host:
        env["PARLEY_HOST"] = args.host
    if args.port is not None:
        env["PARLEY_PORT"] = str(args.port)
    _run(_serve(Settings.from_env(env)))


def _cmd_migrate(args: argparse.Namespace) -> None:
    from parley.store.migrate import upgrade

    settings = Settings.from_env()
    upgrade(settings.database_url)
    print("database is up to date")


async def _create_user(settings: Settings, username: str, password: str, display: str) -> None:
    from parley.auth import AuthError, AuthService
    from parley.ratelimit import MemoryLimiter
    from parley.store import SqlStore

    store = SqlStore(settings.database_url, first_user_admin=settings.is_sqlite)
    try:
        auth = AuthService(settings, store, MemoryLimiter())
        session = await auth.register(username, password, display, client="cli")
        print(f"created user {session.user.username} (id {session.user.id})")
    except AuthError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    finally:
        await store.close()


def _cmd_user_create(args: argparse.Namespace) -> None:
    from parley.protocol import validation
    from parley.protocol.errors import ProtocolError

    settings = Settings.from_env()
    password = args.password or os.environ.get("PARLEY_USER_PASSWORD")
    if password is None:
        password = (
            sys.stdin.readline().rstrip("\n")
            if not sys.stdin.isatty()
            else (getpass.getpass("password: "))
        )
    try:
        username = validation.username(args.username)
        validation.password(password)
        display = validation.display_name(args.display_name, username)
    except ProtocolError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    asyncio.run(_create_user(settings, username, password, display))


async def _set_role(settings: Settings, username: str, role: SiteRole) -> None:
    from parley.store import SqlStore

    store = SqlStore(settings.database_url)
    try:
        if not await store.set_role(username, role):
            raise SystemExit(f"error: no user named {username}")
    finally:
        await store.close()
    print(f"{username} is now {'an admin' if role == 'admin' else 'a member'}")


def _cmd_admin(args: argparse.Namespace) -> None:
    """``parley admin grant|revoke USERNAME``: the one way to make an admin in a cluster.

    The role is read from the database on every request, so it takes effect at
    once on every gateway without a restart.
    """
    from parley.protocol import validation
    from parley.protocol.errors import ProtocolError

    try:
        username = validation.username(args.username)
    except ProtocolError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    role: SiteRole = "admin" if args.action == "grant" else "member"
    asyncio.run(_set_role(Settings.from_env(), username, role))


async def _persist(
    worker: Persister | NotifyWorker, settings: Settings, what: str = "persister"
) -> None:
    """Run a Kafka worker until SIGINT/SIGTERM, with its metrics listener when configured.

    The worker gets the gateways' collector policy (gcpolicy.py): a full collection of
    its heap (SQLAlchemy, asyncpg, aiokafka: about 130k objects at start-up) stops its
    loop for 80 ms of CPU, several times that on a busy machine, and every record in
    flight waits that long between Kafka and its room.
    """
    from aiohttp import web

    from parley.api.ops import Ops
    from parley.gcpolicy import GcPolicy
    from parley.metrics import GcPauses

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner: web.AppRunner | None = None
    if settings.worker_metrics_port is not None:
        # Its own small listener: a worker has no HTTP API, but Prometheus scrapes it too.
        app = web.Application()
        app.add_routes(Ops(worker.metrics, {}, settings.metrics_token).worker_routes())
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.worker_metrics_port).start()
        port = runner.addresses[0][1] if runner.addresses else settings.worker_metrics_port
        print(f"{what} metrics on http://{settings.host}:{port}/metrics", flush=True)
    gc_policy = GcPolicy(freeze=settings.gc_sweep_interval_seconds > 0)
    worker.metrics.registry.register(GcPauses(gc_policy))
    gc_policy.install()
    if gc_policy.freeze:
        gc_policy.start(settings.gc_sweep_interval_seconds)
    try:
        await worker.run(stop)
    finally:
        gc_policy.uninstall()
        if runner is not None:
            await runner.cleanup()


def _cmd_worker_persist(args: argparse.Namespace) -> None:
    from parley.app import persister

    settings = Settings.from_env()
    _run(_persist(persister(settings), settings))


def _cmd_worker_notify(args: argparse.Namespace) -> None:
    from parley.app import notify_worker

    settings = Settings.from_env()
    _run(_persist(notify_worker(settings), settings, "notify worker"))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="parley", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run a gateway (HTTP API, WebSocket, web UI)")
    serve.add_argument("--host", help="address to listen on (PARLEY_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (PARLEY_PORT, default 8000; 0 = any)")
    serve.set_defaults(func=_cmd_serve)

    sub.add_parser("bench", help="load generator and benchmarks (see bench/, docs/performance.md)")
    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=_cmd_migrate)

    worker = sub.add_parser("worker", help="run a background worker (cluster mode)")
    workers = worker.add_subparsers(dest="worker", required=True)
    persist = workers.add_parser(
        "persist", help="store messages from Kafka in the database and announce them on Redis"
    )
    persist.set_defaults(func=_cmd_worker_persist)
    notify = workers.add_parser(
        "notify", help="notify people of stored messages (in-app inbox, e-mail) from Kafka"
    )
    notify.set_defaults(func=_cmd_worker_notify)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    create = user.add_parser("create", help="create a user (password from stdin or prompt)")
    create.add_argument("username")
    create.add_argument("--display-name")
    create.add_argument("--password", help="prefer stdin; arguments show up in ps")
    create.set_defaults(func=_cmd_user_create)

    admin = sub.add_parser("admin", help="grant or revoke the admin role")
    roles = admin.add_subparsers(dest="action", required=True)
    for action, text in (("grant", "make USERNAME an admin"), ("revoke", "make them a member")):
        command = roles.add_parser(action, help=text)
        command.add_argument("username")
        command.set_defaults(func=_cmd_admin)
    return top


def _extra(name: str) -> list[str]:
    """The projects Parley's optional ``name`` extra requires, from the install's metadata."""
    from importlib.metadata import requires

    marker = re.compile(rf"""extra\s*==\s*['"]{re.escape(name)}['"]""")
    return [
        re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
        for requirement in requires("parley") or ()
        if marker.search(requirement.partition(";")[2])
    ]


def _missing(extra: str) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    missing = []
    for project in _extra(extra):
        try:
            version(project)
        except PackageNotFoundError:
            missing.append(project)
    return missing


def _bench(argv: list[str]) -> None:
    """``parley bench ...``: the load generator (``bench/``), an optional part of the install.

    Found through the ``parley.commands`` entry point; its dependencies come
    with the ``bench`` extra. Without them it says so, rather than failing
    halfway through a run.
    """
    from importlib.metadata import entry_points

    missing = _missing("bench")
    found = list(entry_points(group="parley.commands", name="bench"))
    if missing or not found:
        raise SystemExit(
            "parley bench needs the bench extra: pip install 'parley[bench]' "
            f"(in a checkout: uv sync --all-groups); missing: {', '.join(missing) or 'bench'}"
        )
    found[0].load()(argv)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        _bench(argv[1:])
        return
    args = parser().parse_args(argv)
    _setup_logging()
    try:
        args.func(args)
    except ConfigError as exc:
        raise SystemExit(f"configuration error: {exc}") from None
