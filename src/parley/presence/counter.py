"""Counts connections per user, so presence changes only on the first open and last close."""

from __future__ import annotations

from collections import Counter


class PresenceCounter:
    def __init__(self) -> None:
        self._open: Counter[int] = Counter()

    def opened(self, user_id: int) -> bool:
        """Record a connection; True when the user just came online."""
        self._open[user_id] += 1
        return self._open[user_id] == 1

    def closed(self, user_id: int) -> bool:
        """Record a disconnect; True when the user just went offline."""
        count = self._open[user_id] - 1
        if count > 0:
            self._open[user_id] = count
            return False
        del self._open[user_id]
        return True

    def online(self, user_id: int) -> bool:
        return user_id in self._open

    def users(self) -> set[int]:
        return set(self._open)
