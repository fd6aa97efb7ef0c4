"""The embedded board: one gateway and its in-process notifier, their figures in memory."""

from __future__ import annotations

import time

from parley.figures.base import GatewayFigures, NotifierFigures, WorkerFigures


class LocalBoard:
    def __init__(self) -> None:
        self._latest: GatewayFigures | None = None
        self._until = 0.0
        self._notifier: NotifierFigures | None = None
        self._notifier_until = 0.0

    async def publish(self, figures: GatewayFigures, ttl: float) -> None:
        self._latest, self._until = figures, time.time() + ttl

    async def gateways(self) -> list[GatewayFigures]:
        live = self._latest is not None and time.time() < self._until
        return [self._latest] if live and self._latest is not None else []

    async def publish_worker(self, figures: WorkerFigures, ttl: float) -> None:
        return None  # the embedded install runs no workers

    async def workers(self) -> list[WorkerFigures]:
        return []

    async def publish_notifier(self, figures: NotifierFigures, ttl: float) -> None:
        self._notifier, self._notifier_until = figures, time.time() + ttl

    async def notifiers(self) -> list[NotifierFigures]:
        live = self._notifier is not None and time.time() < self._notifier_until
        return [self._notifier] if live and self._notifier is not None else []

    async def close(self) -> None:
        return None
