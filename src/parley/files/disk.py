"""Files in a folder under the data directory: the embedded default, one machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from parley.files.base import READ_CHUNK_BYTES, Blob, MissingFile, valid_key


class DiskFileStore:
    """Blocking file calls run in threads so a large upload never stalls the event loop.

    A write goes to a temporary name then is renamed, so a reader never sees half a file.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / valid_key(key)

    async def start(self) -> None:
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.part")
            partial.write_bytes(data)
            partial.replace(path)

        await asyncio.to_thread(write)

    async def get(self, key: str, start: int = 0, end: int | None = None) -> Blob:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise MissingFile(key) from None
        size = os.fstat(handle.fileno()).st_size
        last = size - 1 if end is None else min(end, size - 1)

        async def chunks() -> AsyncIterator[bytes]:
            with handle:
                await asyncio.to_thread(handle.seek, start)
                left = last - start + 1
                while left > 0:
                    chunk = await asyncio.to_thread(handle.read, min(READ_CHUNK_BYTES, left))
                    if not chunk:
                        return
                    left -= len(chunk)
                    yield chunk

        return Blob(size, chunks())

    async def stat(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)
