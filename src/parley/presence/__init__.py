"""Who is online: ``Presence`` (``base.py``), counted by this process alone (``local.py``)
or across gateways through Redis (``redis.py``, cluster mode), both on ``PresenceCounter``.
"""

from parley.presence.base import Changed, Presence
from parley.presence.local import LocalPresence

__all__ = ["Changed", "LocalPresence", "Presence"]
