"""Talking to Redis: the RESP codec (``resp.py``, no I/O) and the command client factory.

Shared by the parts that use Redis (the bus, cluster presence), so neither
imports the other's implementation.
"""
