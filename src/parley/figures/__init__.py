"""Each gateway's live figures for the admin overview, shared across the cluster."""

from parley.figures.base import Board, GatewayFigures, NotifierFigures, Sampler, WorkerFigures
from parley.figures.memory import LocalBoard

__all__ = [
    "Board",
    "GatewayFigures",
    "LocalBoard",
    "NotifierFigures",
    "Sampler",
    "WorkerFigures",
]
