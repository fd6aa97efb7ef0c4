"""WebSocket gateway: authenticated connections, per-room live feeds, fan-out."""

from parley.gateway.hub import Hub

__all__ = ["Hub"]
