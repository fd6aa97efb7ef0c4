"""The limiter interface: count attempts per key in a sliding window, reserving first.

An attempt is counted *before* the work it guards (an argon2 hash), so
concurrent attempts cannot all pass a check made before any of them finished.
A reservation that turns out not to count (a successful sign-in) is taken back
with ``release``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` attempts in any ``seconds``-long stretch of time."""

    limit: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Hit:
    """One attempt to count against ``key`` under ``window``."""

    key: str
    window: Window


@dataclass(frozen=True, slots=True)
class Admission:
    """The answer to ``reserve``.

    ``ticket`` names the attempt's entries (for ``release``); ``retry_after`` is
    how many seconds until a refused attempt could pass (0 when admitted).
    """

    admitted: bool
    ticket: str = ""
    retry_after: float = 0.0


class LimiterUnavailable(Exception):
    """The shared counters cannot be reached; callers refuse rather than count nothing."""


class Limiter(Protocol):
    async def reserve(self, hits: Sequence[Hit]) -> Admission:
        """Count one attempt against every key, or against none when any key is full."""

    async def release(self, key: str, ticket: str) -> None:
        """Take back the attempt ``ticket`` counted against ``key``."""

    async def close(self) -> None: ...
