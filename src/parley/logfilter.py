"""One log line per kind of failure per interval, not one per attempt.

aiokafka logs every failed connection attempt at ERROR; with the broker down
for minutes that was a 136 MB persister log, and the line that mattered (Kafka
went away, Kafka came back: logged once by Parley itself) drowned in it. The
filter lets the first record of each message template through, drops repeats
for ``interval`` seconds, and says how many it dropped when it lets the next one
through.
"""

from __future__ import annotations

import logging
import time

REPEAT_INTERVAL_SECONDS = 60.0


class RepeatFilter(logging.Filter):
    def __init__(self, prefix: str, interval: float = REPEAT_INTERVAL_SECONDS) -> None:
        """Only records of loggers named ``prefix``… are filtered (Parley's own lines pass)."""
        super().__init__()
        self._prefix = prefix
        self._interval = interval
        self._last: dict[tuple[str, object], tuple[float, int]] = {}
        """(logger, message template) -> (when last let through, repeats dropped since)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefix):
            return True
        key = (record.name, record.msg)
        now = time.monotonic()
        seen = self._last.get(key)
        if seen is not None and now - seen[0] < self._interval:
            self._last[key] = (seen[0], seen[1] + 1)
            return False
        if seen is not None and seen[1]:
            record.msg = f"{record.msg} ({seen[1]} similar lines in the last {now - seen[0]:.0f}s)"
        if len(self._last) > 1000:
            self._last.clear()
        self._last[key] = (now, 0)
        return True
