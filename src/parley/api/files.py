"""Uploads, attachments and avatars over HTTP: ``/api/rooms/{room}/files``, ``/api/files/{id}``
and ``/api/me/avatar``.

An upload is read in chunks up to ``PARLEY_MAX_UPLOAD_BYTES`` (past it: 413 and
nothing kept), judged from its bytes (``files.media``), put in the file store, then
recorded. A message takes it by id (``attachments``), which is when the room sees it.

Files come back with headers that keep an uploaded page or SVG from ever running in
Parley's origin: anything but a safe raster image is a download
(``Content-Disposition: attachment``), the content type is never sniffed by the
browser (``nosniff``), and a CSP of ``default-src 'none'; sandbox`` gives a file
opened anyway an opaque origin with no script.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from parley.api.http import bearer, json
from parley.api.routes import room_in_path
from parley.auth import AuthService
from parley.files import Blob, FileStore, MissingFile, media
from parley.models import User, now_micros
from parley.protocol import validation
from parley.protocol.errors import ProtocolError, invalid, not_found
from parley.store import Store
from parley.store.files import NewFile, StoredFile

logger = logging.getLogger(__name__)

UPLOAD_CHUNK_BYTES = 64 * 1024
MAX_AVATAR_BYTES = 5 * 1024 * 1024
FILE_CSP = "default-src 'none'; sandbox"
"""On every file response: a file opened as a page gets no script and an opaque origin."""
_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")
_DOCUMENT_TYPES = frozenset(
    {"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml"}
)


def _no_file() -> ProtocolError:
    return ProtocolError("not_found", "no such file, or you may not see it")


class FilesApi:
    def __init__(
        self,
        store: Store,
        files: FileStore,
        auth: AuthService,
        *,
        max_upload_bytes: int,
        upload_ttl_seconds: int,
    ) -> None:
        self.store = store
        self.files = files
        self.auth = auth
        self.max_upload_bytes = max_upload_bytes
        self.upload_ttl_seconds = upload_ttl_seconds

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/rooms/{room}/files", self.upload),
            web.get("/api/files/{file}", self.download),
            web.get("/api/files/{file}/thumbnail", self.thumbnail),
            web.put("/api/me/avatar", self.set_avatar),
            web.delete("/api/me/avatar", self.remove_avatar),
            web.get("/api/users/{user}/avatar", self.avatar),
        ]

    async def _user(self, request: web.Request) -> User:
        return await self.auth.user_for(bearer(request))

    # uploads

    async def upload(self, request: web.Request) -> web.Response:
        """Multipart (the first part with a filename) or the raw body with ``?name=``."""
        user = await self._user(request)
        room_id = room_in_path(request)
        if not await self.store.is_member(room_id, user.id):
            raise not_found()
        name, data = await self._read_upload(request, self.max_upload_bytes)
        if not data:
            raise invalid("the file is empty")
        found = await asyncio.to_thread(media.inspect, data)
        key = f"files/{secrets.token_hex(16)}"
        thumbnail_key = f"{key}-thumb" if found.thumbnail is not None else None
        await self.files.put(key, found.data, found.content_type)
        if found.thumbnail is not None and thumbnail_key is not None:
            await self.files.put(thumbnail_key, found.thumbnail, media.THUMBNAIL_TYPE)
        attachment = await self.store.add_file(
            NewFile(
                uploader_id=user.id,
                room_id=room_id,
                key=key,
                thumbnail_key=thumbnail_key,
                name=name,
                content_type=found.content_type,
                size=len(found.data),
                width=found.width,
                height=found.height,
                created_at=now_micros(),
            )
        )
        return json(attachment.to_json(), 201)

    async def _read_upload(self, request: web.Request, limit: int) -> tuple[str, bytes]:
        too_large = ProtocolError(
            "too_large", f"the file is larger than the limit of {limit} bytes"
        )
        length = request.content_length
        # Multipart framing adds a few hundred bytes around the file itself.
        if length is not None and length > limit + 16 * 1024:
            raise too_large
        named = request.query.get("name")
        if request.content_type != "multipart/form-data":
            name = "file" if named is None else validation.file_name(named)
            return name, await _read_limited(request.content.read, limit, too_large)
        wanted = None if named is None else validation.file_name(named)
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if isinstance(part, BodyPartReader) and part.filename is not None:
                    name = wanted or validation.file_name(part.filename)
                    return name, await _read_limited(part.read_chunk, limit, too_large)
                if isinstance(part, BodyPartReader):
                    await part.release()
        except (ValueError, AssertionError, KeyError, HttpProcessingError) as exc:
            # aiohttp's multipart reader: no boundary, a broken part header.
            raise invalid(f"malformed multipart body: {exc}") from None
        raise invalid("the multipart body has no file part")

    # serving

    async def download(self, request: web.Request) -> web.StreamResponse:
        found = await self._readable(request)
        inline = found.attachment.image
        return await self._serve(
            request, found.key, found.attachment.content_type, found.attachment.name, inline
        )

    async def thumbnail(self, request: web.Request) -> web.StreamResponse:
        found = await self._readable(request)
        if found.thumbnail_key is None:
            raise _no_file()
        return await self._serve(
            request, found.thumbnail_key, media.THUMBNAIL_TYPE, found.attachment.name, True
        )

    async def _readable(self, request: web.Request) -> StoredFile:
        user = await self._user(request)
        try:
            file_id = validation.object_id(request.match_info["file"], "file")
        except ProtocolError:
            raise _no_file() from None
        found = await self.store.readable_file(file_id, user.id)
        if found is None:
            raise _no_file()
        return found

    async def _serve(
        self, request: web.Request, key: str, content_type: str, name: str, inline: bool
    ) -> web.StreamResponse:
        """Stream the object, or the one byte range asked for (206), with the file headers."""
        wanted = _range(request.headers.get("Range"))
        try:
            blob = await self.files.get(key, *wanted) if wanted else await self.files.get(key)
        except MissingFile:
            raise _no_file() from None
        response = web.StreamResponse(status=200)
        start, end = wanted or (0, None)
        last = blob.size - 1 if end is None else min(end, blob.size - 1)
        if wanted:
            if start >= blob.size:
                await _drain(blob)
                response = web.StreamResponse(status=416)
                response.headers["Content-Range"] = f"bytes */{blob.size}"
                _file_headers(response, content_type, name, inline)
                await response.prepare(request)
                return response
            response.set_status(206)
            response.headers["Content-Range"] = f"bytes {start}-{last}/{blob.size}"
        response.content_length = max(0, last - start + 1)
        _file_headers(response, content_type, name, inline)
        await response.prepare(request)
        async for chunk in blob.chunks:
            await response.write(chunk)
        await response.write_eof()
        return response

    # avatars

    async def set_avatar(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        _, data = await self._read_upload_or_body(request)
        try:
            picture = await asyncio.to_thread(media.avatar, data)
        except media.NotAnImage as exc:
            raise invalid(str(exc)) from None
        key = f"avatars/{user.id}-{secrets.token_hex(8)}"
        await self.files.put(key, picture, media.THUMBNAIL_TYPE)
        old = await self.store.set_avatar(user.id, key, now_micros())
        if old is not None:
            await self._forget(old)
        return json({"avatar": avatar_url(user.id, key)})

    async def _read_upload_or_body(self, request: web.Request) -> tuple[str, bytes]:
        if request.content_type == "multipart/form-data":
            return await self._read_upload(request, MAX_AVATAR_BYTES)
        too_large = ProtocolError(
            "too_large", f"an avatar must be at most {MAX_AVATAR_BYTES} bytes"
        )
        return "avatar", await _read_limited(request.content.read, MAX_AVATAR_BYTES, too_large)

    async def remove_avatar(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        old = await self.store.set_avatar(user.id, None, now_micros())
        if old is not None:
            await self._forget(old)
        return web.Response(status=204)

    async def avatar(self, request: web.Request) -> web.StreamResponse:
        """Any signed-in user sees anyone's avatar, as they see their name."""
        await self._user(request)
        try:
            user_id = validation.object_id(request.match_info["user"], "user")
        except ProtocolError:
            raise _no_file() from None
        key = await self.store.avatar_key(user_id)
        if key is None:
            raise _no_file()
        return await self._serve(request, key, media.THUMBNAIL_TYPE, "avatar.webp", True)

    async def _forget(self, key: str) -> None:
        """A replaced avatar's object; a failure leaves an orphan, never a broken profile."""
        try:
            await self.files.delete(key)
        except Exception as exc:
            logger.warning("could not delete %s from the file store: %s", key, exc)

    # cleanup

    async def sweep(self) -> int:
        """Delete the uploads never attached within the TTL: rows first (one statement, so
        two gateways sweeping at once delete each once), then their objects."""
        older_than = now_micros() - self.upload_ttl_seconds * 1_000_000
        keys = await self.store.sweep_files(older_than)
        for key in keys:
            await self._forget(key)
        return len(keys)


def avatar_url(user_id: int, key: str) -> str:
    """The key's random tail in the URL: a new picture is a new URL, so caches never show
    the old one."""
    return f"/api/users/{user_id}/avatar?v={key.rsplit('-', 1)[-1]}"


async def sweep_forever(api: FilesApi, interval: float) -> None:
    """The gateway's periodic cleanup; a failed round (database down) waits for the next."""
    while True:
        await asyncio.sleep(interval)
        try:
            removed = await api.sweep()
        except Exception as exc:
            logger.warning("could not sweep abandoned uploads: %s", exc)
        else:
            if removed:
                logger.info("removed %d objects of abandoned uploads", removed)


async def _read_limited(
    read: Callable[[int], Awaitable[bytes]], limit: int, too_large: ProtocolError
) -> bytes:
    """Read up to ``limit`` bytes; one more is ``too_large`` (413), and nothing is kept."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = await read(UPLOAD_CHUNK_BYTES)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)


async def _drain(blob: Blob) -> None:
    with contextlib.suppress(Exception):
        async for _ in blob.chunks:
            pass


def _range(header: str | None) -> tuple[int, int | None] | None:
    """One ``bytes=a-b`` or ``bytes=a-`` range; anything else is served whole, as RFC 9110
    allows a server to ignore a Range it does not support."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or not match.group(1):
        return None
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else None
    if end is not None and end < start:
        return None
    return start, end


def _file_headers(response: web.StreamResponse, content_type: str, name: str, inline: bool) -> None:
    response.content_type = content_type if inline else _download_type(content_type)
    disposition = "inline" if inline else "attachment"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"


def _download_type(content_type: str) -> str:
    """Types a browser would render as a document (and so run) are sent as plain bytes."""
    if content_type.split(";")[0].strip() in _DOCUMENT_TYPES:
        return media.OCTET_STREAM
    return content_type
