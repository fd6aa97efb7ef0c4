"""The composition root: settings in, a wired aiohttp application out.

The only place that picks implementations (memory or Redis bus, direct or
Kafka log), so every other module depends on interfaces alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from parley.announcer import Announcer
from parley.api import headers, http, ops, proxy, static
from parley.api.accounts import Accounts
from parley.api.admin import AdminApi
from parley.api.files import FilesApi, sweep_forever
from parley.api.notifications import NotificationsApi
from parley.api.profiles import Profiles
from parley.api.push import PushApi
from parley.api.reads import ReadsApi
from parley.api.rooms import RoomsApi
from parley.api.routes import Api
from parley.auth import AuthService
from parley.auth.oauth import Provider
from parley.auth.oauth.service import OAuthService
from parley.bus import Bus, MemoryBus
from parley.config import ConfigError, Settings
from parley.figures import Board, LocalBoard, Sampler
from parley.files import DiskFileStore, FileStore
from parley.gateway.connection import Flusher
from parley.gateway.endpoint import Gateway
from parley.gateway.hub import Hub, Scope
from parley.gcpolicy import GcPolicy
from parley.hops import Hops
from parley.log import DirectLog, MessageLog
from parley.metrics import Metrics, PersisterMetrics
from parley.notify import webpush
from parley.notify.base import Channel
from parley.notify.email import EmailChannel
from parley.notify.focus import Focus, LocalFocus
from parley.notify.inapp import InAppChannel
from parley.notify.store import NotificationStore
from parley.notify.worker import STORE_CONNECTIONS, InProcessNotifier, Notifier
from parley.presence import LocalPresence, Presence
from parley.ratelimit import Action, Limiter, MemoryLimiter, UserLimits, Window
from parley.sending import SendPipeline
from parley.store import SqlStore, Store
from parley.tracing import Tracing
from parley.tracing import configure as configure_tracing

if TYPE_CHECKING:
    from parley.bus.redis import RedisBus
    from parley.log.kafka.persister import Persister
    from parley.notify.kafka import NotifyWorker

logger = logging.getLogger(__name__)

FIGURES_INTERVAL_SECONDS = 2.0
"""How often a gateway publishes its overview figures (the admin page polls as often)."""
FIGURES_TTL_SECONDS = 3 * FIGURES_INTERVAL_SECONDS
"""A gateway that missed three publishes drops out of the overview."""


@dataclass
class Components:
    settings: Settings
    store: Store
    bus: Bus
    presence: Presence
    log: MessageLog
    limiter: Limiter
    announcer: Announcer
    board: Board
    files: FileStore
    notes: NotificationStore
    focus: Focus
    notifier: InProcessNotifier | None
    """The embedded notifier (direct log); None when ``parley worker notify`` reads Kafka."""
    hops: Hops = field(default_factory=Hops)
    tracing: Tracing | None = None

    async def start(self) -> None:
        await self.files.start()
        await self.presence.start(self.announcer.presence_changed)
        await self.log.start()
        if self.notifier is not None:
            await self.notifier.start()

    async def close(self) -> None:
        await self.files.close()
        if self.notifier is not None:
            await self.notifier.close()
        await self.focus.close()
        await self.log.close()
        await self.presence.close()
        await self.bus.close()
        await self.limiter.close()
        await self.board.close()
        await self.store.close()
        if self.tracing is not None:
            await self.tracing.close()


def components(settings: Settings) -> Components:
    """Embedded: memory bus, local presence and limits. Redis set: all three in Redis.

    Kafka set: the Kafka log (its acks come back over Redis, so it needs Redis);
    otherwise the direct log, which on PostgreSQL is the "no Kafka" cluster mode.
    """
    store = SqlStore(settings.database_url, first_user_admin=settings.is_sqlite)
    bus: Bus = MemoryBus()
    presence: Presence = LocalPresence()
    limiter: Limiter = MemoryLimiter()
    board: Board = LocalBoard()
    focus: Focus = LocalFocus()
    redis_bus: RedisBus | None = None
    if settings.redis_url:
        # Imported here so the embedded default never loads the cluster clients.
        from parley.bus.redis import RedisBus
        from parley.figures.redis import RedisBoard
        from parley.notify.focus import RedisFocus
        from parley.presence.redis import RedisPresence
        from parley.ratelimit.redis import RedisLimiter

        bus = redis_bus = RedisBus(settings.redis_url, name=f"parley-{settings.gateway_id}")
        presence = RedisPresence(
            settings.redis_url, settings.gateway_id, settings.presence_ttl_seconds
        )
        limiter = RedisLimiter(settings.redis_url)
        board = RedisBoard(settings.redis_url)
        focus = RedisFocus(settings.redis_url)
    hops = Hops()
    tracing = configure_tracing(
        settings.otel_endpoint, "parley-gateway", {"service.instance.id": settings.gateway_id}
    )
    announcer = Announcer(store, bus, presence, settings.presence_push_max_members)
    notifier: InProcessNotifier | None = None
    log: MessageLog
    if settings.kafka_bootstrap:
        if redis_bus is None:
            raise ConfigError(
                "PARLEY_KAFKA_BOOTSTRAP needs PARLEY_REDIS_URL: acks return over Redis"
            )
        from parley.log.kafka.producer import KafkaLog

        log = KafkaLog(
            bootstrap=settings.kafka_bootstrap,
            topic=settings.kafka_topic,
            gateway_id=settings.gateway_id,
            ack_timeout=settings.ack_timeout_seconds,
            store=store,
            acks=redis_bus,
            hops=hops,
            tracing=tracing,
        )
    else:
        email = email_channel(settings, store, settings.gateway_id)
        push = push_channel(settings, store)
        notifier = InProcessNotifier(
            notification_worker(store, focus, announcer, email, push), email, closing=(push,)
        )
        log = DirectLog(store, bus, notifier.offer, hops=hops, tracing=tracing)
    return Components(
        settings,
        store,
        bus,
        presence,
        log,
        limiter,
        announcer,
        board,
        file_store(settings),
        store,
        focus,
        notifier,
        hops,
        tracing,
    )


def file_store(settings: Settings) -> FileStore:
    """A folder under the data dir, or with ``PARLEY_S3_BUCKET`` an S3-compatible store that
    gateways on different machines share."""
    if not settings.s3_bucket:
        return DiskFileStore(settings.files_dir)
    # Imported here so the embedded default never loads botocore.
    from parley.files.s3 import S3FileStore, S3Settings

    return S3FileStore(
        S3Settings(
            endpoint=settings.s3_endpoint,
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            prefix=settings.s3_prefix,
        )
    )


def email_channel(settings: Settings, store: SqlStore, owner: str | None) -> EmailChannel | None:
    """E-mail when an SMTP server is configured; its links start at the public URL.
    ``owner``: the process's stable name for the outbox's claims (None: a random one)."""
    if not settings.smtp.host:
        return None
    return EmailChannel(store, settings.smtp, settings.public_url or "", owner=owner or "")


def notification_worker(
    store: SqlStore,
    focus: Focus,
    announcer: Announcer,
    email: EmailChannel | None,
    push: webpush.WebPushChannel,
) -> Notifier:
    """The channels: the in-app inbox and Web Push always (push reaches only the browsers
    that subscribed), e-mail when configured."""
    channels: list[Channel] = [InAppChannel(store, announcer), push]
    if email is not None:
        channels.append(email)
    return Notifier(store, focus, channels)


def notify_worker(settings: Settings) -> NotifyWorker:
    """``parley worker notify``: its own consumer group on the message log (Kafka), the
    inbox and ledgers in the store, live events and focus over Redis."""
    if not settings.kafka_bootstrap or not settings.redis_url:
        raise ConfigError("the notify worker needs PARLEY_KAFKA_BOOTSTRAP and PARLEY_REDIS_URL")
    from parley.bus.redis import RedisBus
    from parley.figures.redis import RedisBoard
    from parley.metrics import NotifyMetrics
    from parley.notify.focus import RedisFocus
    from parley.notify.kafka import NotifyWorker

    # A connection for each user served at once; no pre-ping: a failed batch is retried.
    store = SqlStore(settings.database_url, pool_size=STORE_CONNECTIONS, pre_ping=False)
    bus = RedisBus(settings.redis_url, name="parley-notify")
    focus = RedisFocus(settings.redis_url)
    board = RedisBoard(settings.redis_url)
    announcer = Announcer(store, bus, LocalPresence())
    email = email_channel(settings, store, settings.persister_id)
    push = push_channel(settings, store)
    return NotifyWorker(
        notification_worker(store, focus, announcer, email, push),
        store,
        bootstrap=settings.kafka_bootstrap,
        topic=settings.kafka_topic,
        group=settings.notify_group,
        persister_group=settings.kafka_group,
        metrics=NotifyMetrics(),
        board=board,
        figures_interval=FIGURES_INTERVAL_SECONDS,
        email=email,
        closing=(push, focus, bus, board, store),
        instance_id=settings.persister_id,
    )


def persister(settings: Settings) -> Persister:
    """``parley worker persist``: a small store pool and a bus of its own for one worker."""
    if not settings.kafka_bootstrap or not settings.redis_url:
        raise ConfigError("the persister needs PARLEY_KAFKA_BOOTSTRAP and PARLEY_REDIS_URL")
    from parley.bus.redis import RedisBus
    from parley.figures.redis import RedisBoard
    from parley.log.kafka.persister import Persister

    return Persister(
        SqlStore(settings.database_url, pool_size=2, pre_ping=False),
        RedisBus(settings.redis_url, name="parley-persister"),
        bootstrap=settings.kafka_bootstrap,
        topic=settings.kafka_topic,
        group=settings.kafka_group,
        dead_letter_topic=settings.kafka_dead_letter_topic,
        instance_id=settings.persister_id,
        metrics=PersisterMetrics(),
        board=RedisBoard(settings.redis_url),
        tracing=configure_tracing(
            settings.otel_endpoint,
            "parley-persister",
            {"service.instance.id": settings.persister_id or "persister"},
        ),
        figures_interval=FIGURES_INTERVAL_SECONDS,
    )


def push_channel(settings: Settings, store: Store) -> webpush.WebPushChannel:
    """The Web Push channel of the notifications worker, signing with the VAPID key."""
    return webpush.WebPushChannel(
        store,
        vapid_private_key=settings.vapid_private_key,
        subject=settings.vapid_subject,
        ttl=settings.push_ttl_seconds,
        allow_private=settings.push_allow_private,
    )


def sign_in_providers(settings: Settings) -> list[Provider]:
    """One client per configured provider: OpenID Connect, or GitHub's OAuth 2.0."""
    if not settings.oauth_providers:
        return []
    # Imported here so an install without providers never loads Authlib and httpx.
    from parley.auth.oauth.github import GitHubProvider
    from parley.auth.oauth.oidc import OidcProvider

    return [
        GitHubProvider(p) if p.kind == "github" else OidcProvider(p)
        for p in settings.oauth_providers
    ]


def user_limits(settings: Settings, limiter: Limiter) -> UserLimits:
    """Each user's budgets; sends keep the rate-and-burst settings as a sliding window."""
    return UserLimits(
        limiter,
        {
            Action.SEND: Window(
                settings.send_burst, settings.send_burst / settings.send_rate_per_second
            ),
            Action.TYPING: Window(settings.typing_limit, settings.typing_window_seconds),
            Action.ROOM: Window(settings.room_create_limit, settings.room_create_window_seconds),
            Action.MEMBER: Window(settings.member_add_limit, settings.member_add_window_seconds),
        },
    )


def build(
    settings: Settings, parts: Components | None = None, gc_policy: GcPolicy | None = None
) -> web.Application:
    """``gc_policy``: the process's collector policy, shown in /metrics (``parley serve``)."""
    parts = parts or components(settings)
    hub = Hub(
        parts.store,
        parts.bus,
        parts.presence,
        parts.announcer,
        settings.resume_cap,
        Scope(settings.typing_max_members, settings.presence_push_max_members),
        hops=parts.hops,
        tracing=parts.tracing,
    )
    flusher = Flusher()
    metrics = Metrics(
        lambda: hub.connections,
        lambda: flusher.frames,
        gc_policy,
        parts.hops,
        lambda: flusher.dropped,
        parts.notifier,
        lambda: flusher.writes,
    )
    auth = AuthService(settings, parts.store, parts.limiter, parts.announcer)
    oauth = OAuthService(
        settings.secret_key,
        settings.public_url,
        sign_in_providers(settings),
        auth,
        parts.limiter,
    )
    limits = user_limits(settings, parts.limiter)
    sending = SendPipeline(parts.log, metrics, limits, parts.tracing)
    gateway = Gateway(
        hub=hub,
        store=parts.store,
        announcer=parts.announcer,
        auth=auth,
        sending=sending,
        limits=limits,
        metrics=metrics,
        flusher=flusher,
        focus=parts.focus,
        auth_timeout=settings.auth_timeout_seconds,
        outgoing_limit=settings.outgoing_queue_bytes,
        frame_rate=settings.frame_rate_per_second,
        frame_burst=settings.frame_burst,
    )
    checks = {"store": parts.store.ping, "bus": parts.bus.ping, "log": parts.log.ping}

    app = web.Application(
        middlewares=[proxy.middleware(settings.trusted_proxies), http.errors],
        client_max_size=http.MAX_BODY_BYTES,
    )
    app.on_response_prepare.append(headers.add)
    app.add_routes(RoomsApi(parts.store, auth, parts.announcer, limits).routes())
    app.add_routes(
        Api(
            parts.store, auth, parts.announcer, sending, limits, settings.refresh_token_ttl
        ).routes()
    )
    app.add_routes(Accounts(parts.store, auth, oauth, settings.refresh_token_ttl).routes())
    app.add_routes(ReadsApi(parts.store, auth).routes())
    app.add_routes(Profiles(parts.store, auth, parts.announcer, parts.presence).routes())
    app.add_routes(
        AdminApi(parts.store, auth, sending, parts.board, FIGURES_INTERVAL_SECONDS).routes()
    )
    files = FilesApi(
        parts.store,
        parts.files,
        auth,
        max_upload_bytes=settings.max_upload_bytes,
        upload_ttl_seconds=settings.upload_ttl_seconds,
    )
    app.add_routes(files.routes())
    app.add_routes(NotificationsApi(parts.store, parts.notes, auth).routes())
    app.add_routes(
        PushApi(
            parts.store,
            auth,
            webpush.public_key(settings.vapid_private_key),
            allow_private=settings.push_allow_private,
        ).routes()
    )
    app.add_routes(ops.Ops(metrics, checks, settings.metrics_token).routes())
    app.add_routes([web.get("/ws", gateway.handle)])
    app.add_routes(static.routes(settings.web_dir))

    sampler = Sampler(
        settings.gateway_id,
        metrics,
        lambda: hub.connections,
        lambda: sum(1 for conns in hub.users.values() if conns),
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await parts.start()
        await hub.start()
        reporting = asyncio.create_task(
            report_figures(sampler, parts.board, parts.notifier, settings.gateway_id)
        )
        sweeping = asyncio.create_task(sweep_forever(files, settings.upload_sweep_seconds))
        yield
        for task in (reporting, sweeping):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await hub.close()
        await parts.close()

    async def on_shutdown(app: web.Application) -> None:
        await gateway.shutdown()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(on_shutdown)
    return app


async def report_figures(
    sampler: Sampler, board: Board, notifier: InProcessNotifier | None, name: str
) -> None:
    """Publish this gateway's figures (and its in-process notifier's, embedded, under the
    gateway's ``name``) for the admin overview, for as long as it runs.

    A failed publish (Redis down) only leaves a gap in the overview; it is logged
    and the next interval tries again.
    """
    while True:
        try:
            await board.publish(sampler.sample(), FIGURES_TTL_SECONDS)
            if notifier is not None:
                await board.publish_notifier(notifier.figures(name), FIGURES_TTL_SECONDS)
        except Exception as exc:
            logger.warning("could not publish the overview figures: %s", exc)
        await asyncio.sleep(FIGURES_INTERVAL_SECONDS)
