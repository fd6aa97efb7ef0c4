"""The storage interface for uploaded bytes, addressed by key.

Keys are made by Parley, never by a client (``files/<32 hex>``), and checked
here anyway, so a bug elsewhere can never reach outside the store's folder or
bucket prefix.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

READ_CHUNK_BYTES = 64 * 1024
"""What a ``Blob`` yields at a time: memory per download stays this small."""

_KEY = re.compile(r"[a-z0-9]+(/[a-z0-9][a-z0-9._-]{0,127}){1,3}")


class InvalidKey(ValueError):
    """A key outside the shapes Parley makes."""


class MissingFile(Exception):
    """No object under this key (deleted, or never written)."""


def valid_key(key: str) -> str:
    """The key itself, or ``InvalidKey``: lowercase segments, no ``..``, no leading slash."""
    if not _KEY.fullmatch(key) or ".." in key:
        raise InvalidKey(f"invalid file key {key!r}")
    return key


@dataclass(frozen=True, slots=True)
class Blob:
    """An object being read: its total size and the requested bytes as a stream."""

    size: int
    """The whole object's size, whatever range was asked for."""
    chunks: AsyncIterator[bytes]


class FileStore(Protocol):
    async def start(self) -> None:
        """Connect (and create the folder or bucket if missing)."""

    async def close(self) -> None: ...

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there."""

    async def get(self, key: str, start: int = 0, end: int | None = None) -> Blob:
        """Bytes ``start`` to ``end`` inclusive (None: to the end); ``MissingFile`` if absent."""

    async def stat(self, key: str) -> int | None:
        """The object's size, or None when there is none."""

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing one is not an error (cleanup retries)."""
