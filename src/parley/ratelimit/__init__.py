"""Attempt limits shared by a deployment: in memory (embedded) or in Redis (cluster).

``app.py`` picks the implementation; callers see ``Limiter`` only.
"""

from parley.ratelimit.base import Admission, Hit, Limiter, LimiterUnavailable, Window
from parley.ratelimit.memory import MemoryLimiter
from parley.ratelimit.users import Action, UserLimits

__all__ = [
    "Action",
    "Admission",
    "Hit",
    "Limiter",
    "LimiterUnavailable",
    "MemoryLimiter",
    "UserLimits",
    "Window",
]
