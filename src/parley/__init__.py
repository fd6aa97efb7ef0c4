"""Parley: real-time chat that runs on one laptop and scales out to many gateways."""

__version__ = "0.1.0"
