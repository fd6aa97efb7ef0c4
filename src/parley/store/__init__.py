"""Durable state: users and their identities, rooms, members, messages and refresh tokens.

``Store`` is the interface the rest of Parley uses; ``SqlStore`` implements it
for SQLite (embedded default) and PostgreSQL (cluster) with one set of queries.
"""

from parley.store.base import (
    IdentityTaken,
    LastSignInMethod,
    NoFile,
    NotAllowed,
    NoTarget,
    NotMember,
    Outcome,
    RefreshUse,
    Refusal,
    RoomChange,
    Store,
    StoreFailed,
    StoreRefused,
    UsernameTaken,
)
from parley.store.sql import SqlStore

__all__ = [
    "IdentityTaken",
    "LastSignInMethod",
    "NoFile",
    "NoTarget",
    "NotAllowed",
    "NotMember",
    "Outcome",
    "RefreshUse",
    "Refusal",
    "RoomChange",
    "SqlStore",
    "Store",
    "StoreFailed",
    "StoreRefused",
    "UsernameTaken",
]
