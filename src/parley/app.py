"""The composition root: settings in, a wired aiohttp application out.

The only place that picks implementations (memory or Redis bus, direct or
Kafka log), so every other module depends on interfaces alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from parley.announcer import Announcer
from parley.api import headers, http, ops, proxy, static
from parley.api.accounts import Accounts
from parley.api.admin import AdminApi
from parley.api.push import PushApi
from parley.api.routes import Api
from parley.auth import AuthService
from parley.auth.oauth import Provider
from parley.auth.oauth.service import OAuthService
from parley.bus import Bus, MemoryBus
from parley.config import ConfigError, Settings
from parley.figures import Board, LocalBoard, Sampler
from parley.gateway.connection import Flusher
from parley.gateway.endpoint import Gateway
from parley.gateway.hub import Hub
from parley.gcpolicy import GcPolicy
from parley.log import DirectLog, MessageLog
from parley.metrics import Metrics, PersisterMetrics
from parley.notify import webpush
from parley.presence import LocalPresence, Presence
from parley.ratelimit import Action, Limiter, MemoryLimiter, UserLimits, Window
from parley.sending import SendPipeline
from parley.store import SqlStore, Store

if TYPE_CHECKING:
    from parley.bus.redis import RedisBus
    from parley.log.kafka.persister import Persister

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

    async def start(self) -> None:
        await self.presence.start(self.announcer.presence_changed)
        await self.log.start()

    async def close(self) -> None:
        await self.log.close()
        await self.presence.close()
        await self.bus.close()
        await self.limiter.close()
        await self.board.close()
        await self.store.close()


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
    redis_bus: RedisBus | None = None
    if settings.redis_url:
        # Imported here so the embedded default never loads the cluster clients.
        from parley.bus.redis import RedisBus
        from parley.figures.redis import RedisBoard
        from parley.presence.redis import RedisPresence
        from parley.ratelimit.redis import RedisLimiter

        bus = redis_bus = RedisBus(settings.redis_url, name=f"parley-{settings.gateway_id}")
        presence = RedisPresence(
            settings.redis_url, settings.gateway_id, settings.presence_ttl_seconds
        )
        limiter = RedisLimiter(settings.redis_url)
        board = RedisBoard(settings.redis_url)
    log: MessageLog = DirectLog(store, bus)
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
        )
    return Components(
        settings, store, bus, presence, log, limiter, Announcer(store, bus, presence), board
    )


def persister(settings: Settings) -> Persister:
    """``parley worker persist``: a small store pool and a bus of its own for one worker."""
    if not settings.kafka_bootstrap or not settings.redis_url:
        raise ConfigError("the persister needs PARLEY_KAFKA_BOOTSTRAP and PARLEY_REDIS_URL")
    from parley.bus.redis import RedisBus
    from parley.figures.redis import RedisBoard
    from parley.log.kafka.persister import Persister

    return Persister(
        SqlStore(settings.database_url, pool_size=2),
        RedisBus(settings.redis_url, name="parley-persister"),
        bootstrap=settings.kafka_bootstrap,
        topic=settings.kafka_topic,
        group=settings.kafka_group,
        dead_letter_topic=settings.kafka_dead_letter_topic,
        instance_id=settings.persister_id,
        metrics=PersisterMetrics(),
        board=RedisBoard(settings.redis_url),
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
    hub = Hub(parts.store, parts.bus, parts.presence, parts.announcer, settings.resume_cap)
    flusher = Flusher()
    metrics = Metrics(lambda: hub.connections, lambda: flusher.frames, gc_policy)
    auth = AuthService(settings, parts.store, parts.limiter, parts.announcer)
    oauth = OAuthService(
        settings.secret_key,
        settings.public_url,
        sign_in_providers(settings),
        auth,
        parts.limiter,
    )
    limits = user_limits(settings, parts.limiter)
    sending = SendPipeline(parts.log, metrics, limits)
    gateway = Gateway(
        hub=hub,
        store=parts.store,
        announcer=parts.announcer,
        auth=auth,
        sending=sending,
        limits=limits,
        metrics=metrics,
        flusher=flusher,
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
    app.add_routes(
        Api(
            parts.store, auth, parts.announcer, sending, limits, settings.refresh_token_ttl
        ).routes()
    )
    app.add_routes(Accounts(parts.store, auth, oauth, settings.refresh_token_ttl).routes())
    app.add_routes(
        AdminApi(parts.store, auth, sending, parts.board, FIGURES_INTERVAL_SECONDS).routes()
    )
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
        reporting = asyncio.create_task(report_figures(sampler, parts.board))
        yield
        reporting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporting
        await hub.close()
        await parts.close()

    async def on_shutdown(app: web.Application) -> None:
        await gateway.shutdown()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(on_shutdown)
    return app


async def report_figures(sampler: Sampler, board: Board) -> None:
    """Publish this gateway's figures for the admin overview, for as long as it runs.

    A failed publish (Redis down) only leaves a gap in the overview; it is logged
    and the next interval tries again.
    """
    while True:
        try:
            await board.publish(sampler.sample(), FIGURES_TTL_SECONDS)
        except Exception as exc:
            logger.warning("could not publish the overview figures: %s", exc)
        await asyncio.sleep(FIGURES_INTERVAL_SECONDS)
