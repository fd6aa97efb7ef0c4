"""Parley's wire protocol with no I/O: parsing, validation, encoding and bookkeeping.

Everything here is plain data in, plain data out, so it is tested without
sockets; the gateway is a thin adapter around it.
"""
