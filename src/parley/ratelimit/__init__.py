"""Attempt limits shared by a deployment: in memory (embedded) or in Redis (cluster).

``app.py`` picks the implementation; callers see ``Limiter`` only.
"""

from parley.ratelimit.base import Admission, Hit, Limiter, LimiterUnavailable, Window
from parley.ratelimit.memory import MemoryLimiter

__all__ = ["Admission", "Hit", "Limiter", "LimiterUnavailable", "MemoryLimiter", "Window"]
