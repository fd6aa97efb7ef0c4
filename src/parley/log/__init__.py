"""Turns an accepted draft into a durable, sequenced message and announces it.

``DirectLog`` writes to the store and publishes on the bus (embedded mode, and
PostgreSQL without Kafka); the Kafka log produces to a topic that persister
workers consume. The gateway only sees ``MessageLog``.
"""

from parley.log.base import MessageLog, Refused, Unavailable
from parley.log.direct import DirectLog

__all__ = ["DirectLog", "MessageLog", "Refused", "Unavailable"]
