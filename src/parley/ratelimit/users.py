"""Limits on what one user does (send, typing, rooms created, members added), cluster-wide.

Counted in the deployment's ``Limiter`` (memory embedded, Redis in a cluster),
so a user's budget is one budget whichever gateways and connections they use.
When the shared counters cannot be reached the action is let through (and
logged): refusing every send while Redis restarts would be worse than a few
seconds without a per-user limit, and each socket's own frame bucket still holds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import Enum
from time import monotonic

from parley.protocol.errors import ProtocolError
from parley.ratelimit.base import Hit, Limiter, LimiterUnavailable, Window

logger = logging.getLogger(__name__)

UNAVAILABLE_LOG_SECONDS = 10.0
"""At most one warning per this many seconds while the counters cannot be reached."""


class Action(Enum):
    """What is counted; the value names the counter (``user|<action>|<user id>``)."""

    SEND = "send"
    """Messages sent (and, by the same budget, other writes to messages)."""
    TYPING = "typing"
    ROOM = "room"
    """Rooms created."""
    MEMBER = "member"
    """Members added to groups."""


_REFUSALS = {
    Action.SEND: "sending too fast; retry shortly",
    Action.TYPING: "too many typing notices; slow down",
    Action.ROOM: "creating rooms too fast; retry later",
    Action.MEMBER: "adding members too fast; retry later",
}


class UserLimits:
    def __init__(self, limiter: Limiter, windows: Mapping[Action, Window]) -> None:
        self._limiter = limiter
        self._windows = dict(windows)
        self._warned = -UNAVAILABLE_LOG_SECONDS

    async def take(self, action: Action, user_id: int, client_id: str | None = None) -> None:
        """Count one ``action`` of the user, or raise ``rate_limited`` with a retry hint."""
        hit = Hit(f"user|{action.value}|{user_id}", self._windows[action])
        try:
            admission = await self._limiter.reserve([hit])
        except LimiterUnavailable as exc:
            now = monotonic()
            if now - self._warned >= UNAVAILABLE_LOG_SECONDS:
                self._warned = now
                logger.warning("per-user limits unavailable, letting actions through: %s", exc)
            return
        if not admission.admitted:
            raise ProtocolError("rate_limited", _REFUSALS[action], client_id, admission.retry_after)
