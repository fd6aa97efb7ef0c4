"""Files in an S3-compatible object store, which gateways on different machines share.

Through aiobotocore: botocore's request signing and error model (the reference
implementation of S3's protocol, kept by AWS) on aiohttp, which Parley already
runs on. aioboto3 would only add a resource layer on top that Parley does not use.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from parley.files.base import READ_CHUNK_BYTES, Blob, MissingFile, valid_key

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

_MISSING = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True, slots=True)
class S3Settings:
    endpoint: str | None
    """None: AWS itself; otherwise e.g. ``http://127.0.0.1:22981``."""
    bucket: str
    region: str
    access_key: str | None
    secret_key: str | None
    prefix: str = ""
    """Prepended to every key, so several installations can share a bucket."""


class S3FileStore:
    def __init__(self, settings: S3Settings) -> None:
        self._settings = settings
        self._stack = contextlib.AsyncExitStack()
        self._client: S3Client | None = None

    @property
    def client(self) -> S3Client:
        if self._client is None:
            raise RuntimeError("S3FileStore used before start()")
        return self._client

    def _key(self, key: str) -> str:
        return self._settings.prefix + valid_key(key)

    async def start(self) -> None:
        s = self._settings
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=s.endpoint,
                region_name=s.region,
                aws_access_key_id=s.access_key,
                aws_secret_access_key=s.secret_key,
                # Path-style addressing: S3-compatible servers on 127.0.0.1 have no DNS per bucket.
                # Checksums only where S3 requires them: the flexible-checksum headers that
                # botocore adds by default are not implemented by every compatible server.
                config=AioConfig(
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": 3},
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
            )
        )
        try:
            await self.client.head_bucket(Bucket=s.bucket)
        except ClientError as exc:
            if _code(exc) not in _MISSING and _code(exc) != "NoSuchBucket":
                raise
            try:
                await self.client.create_bucket(Bucket=s.bucket)
            except ClientError as created:
                # Gateways of one cluster start together: another may have made it first.
                if _code(created) != "BucketAlreadyOwnedByYou":
                    raise

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self.client.put_object(
            Bucket=self._settings.bucket, Key=self._key(key), Body=data, ContentType=content_type
        )

    async def get(self, key: str, start: int = 0, end: int | None = None) -> Blob:
        wanted = f"bytes={start}-{'' if end is None else end}"
        try:
            answer = await self.client.get_object(
                Bucket=self._settings.bucket, Key=self._key(key), Range=wanted
            )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise MissingFile(key) from None
            if _code(exc) == "InvalidRange":
                # An empty object has no byte 0: S3 refuses any range of it.
                return Blob(0, _nothing())
            raise
        content_range = answer.get("ContentRange")
        size = int(content_range.rsplit("/", 1)[1]) if content_range else answer["ContentLength"]
        body = answer["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            async with body:
                while chunk := await body.read(READ_CHUNK_BYTES):
                    yield chunk

        return Blob(size, chunks())

    async def stat(self, key: str) -> int | None:
        try:
            head = await self.client.head_object(Bucket=self._settings.bucket, Key=self._key(key))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        return head["ContentLength"]

    async def delete(self, key: str) -> None:
        await self.client.delete_object(Bucket=self._settings.bucket, Key=self._key(key))


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
