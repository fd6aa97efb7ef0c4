"""Carries events between gateways: in-process for one node, Redis Pub/Sub for a cluster."""

from parley.bus.base import Bus, Handler
from parley.bus.memory import MemoryBus

__all__ = ["Bus", "Handler", "MemoryBus"]
