"""Durable state: users, rooms, members, messages and refresh tokens.

``Store`` is the interface the rest of Parley uses; ``SqlStore`` implements it
for SQLite (embedded default) and PostgreSQL (cluster) with one set of queries.
"""

from parley.store.base import NotMember, RefreshUse, Store, StoreFailed, UsernameTaken
from parley.store.sql import SqlStore

__all__ = ["NotMember", "RefreshUse", "SqlStore", "Store", "StoreFailed", "UsernameTaken"]
