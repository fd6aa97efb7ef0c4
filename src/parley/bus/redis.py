"""The cluster bus: Redis Pub/Sub between gateways and persister workers.

Two connections, because Redis puts a subscribed connection in a mode where it
can only (un)subscribe and ping:

* the *publisher*: publishes are queued and written as one pipeline per
  event-loop turn, so a burst costs one round trip and publishes from this
  process reach Redis in the order they were made; the replies are counted
  back with the same fast reader as the subscriber's (redis-py's pipeline
  was the largest part of a persister batch, docs/performance.md);
* the *subscriber* reads RESP (``parley.redis.resp``, hiredis's parser) from a
  plain asyncio stream.
  Owning it means we know exactly when Redis confirmed a ``SUBSCRIBE`` (so
  ``subscribe()`` can promise that nothing published afterwards is missed) and
  exactly when a lost connection came back (so the gateway can refetch what it
  missed: Pub/Sub keeps nothing for absent subscribers).

Reference counting is the caller's job: the Hub subscribes each channel once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.exceptions import RedisError

from parley.bus.base import Handler, ReconnectHandler
from parley.redis.client import CONNECT_TIMEOUT_SECONDS, command_client
from parley.redis.resp import Parser, RespError, encode_command

logger = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT_SECONDS = 5.0
"""How long ``subscribe`` waits for Redis to confirm, across a reconnect if need be."""
IDLE_PING_SECONDS = 5.0
"""Ping the subscriber connection after this long without traffic ..."""
DEAD_AFTER_SECONDS = 10.0
"""... and drop it when nothing at all came back for this long (a silent network)."""
BACKOFF_FIRST_SECONDS = 0.05
BACKOFF_MAX_SECONDS = 2.0
PUBLISH_BATCH_EVENTS = 1000
PUBLISH_TIMEOUT_SECONDS = 5.0
"""A pipeline not answered in this long means the connection is dead."""
READ_CHUNK_BYTES = 256 * 1024


class BusUnavailable(ConnectionError):
    """Redis could not be reached; the operation did not happen."""


class RespReader:
    """Reads replies from a stream in large chunks, returning all complete ones at once."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream
        self._parser = Parser()

    async def replies(self) -> list[Any]:
        parser = self._parser
        while True:
            out = parser.replies()
            if out:
                return out
            data = await self._stream.read(READ_CHUNK_BYTES)
            if not data:
                raise ConnectionError("Redis closed the connection")
            parser.feed(data)

    async def reply(self) -> Any:
        """One reply, for request/response during the handshake; raises error replies."""
        (found,) = await self.replies()
        if isinstance(found, RespError):
            raise found
        return found


class RedisBus:
    def __init__(self, url: str, *, name: str = "parley") -> None:
        self._url = url
        self._name = name
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._ssl = parts.scheme == "rediss"
        self._redis = command_client(url)
        self._handler: Handler | None = None
        self._channels: set[str] = set()
        """Channels delivered to the main handler (the Hub's)."""
        self._listeners: dict[str, Handler] = {}
        """Channels with a handler of their own (the Kafka log's acks)."""
        self._confirm: dict[str, asyncio.Future[None]] = {}
        self._resubscribing: set[str] = set()
        self._reconnect_callbacks: list[ReconnectHandler] = []
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._reader_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_rx = 0.0
        self._publisher: tuple[RespReader, asyncio.StreamWriter] | None = None
        self._outbox: list[tuple[Sequence[tuple[str, bytes]], asyncio.Future[None]]] = []
        """Publish operations waiting for the next pipeline: their events and their outcome."""
        self._flush_task: asyncio.Task[None] | None = None
        self._closed = False

    # the Bus interface

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        self._ensure_reader()

    async def close(self) -> None:
        self._closed = True
        tasks = [t for t in (self._reader_task, self._flush_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._drop_connection()
        for fut in self._confirm.values():
            if not fut.done():
                fut.set_exception(BusUnavailable("bus closed"))
        self._confirm.clear()
        for _, fut in self._outbox:
            if not fut.done():
                fut.set_exception(BusUnavailable("bus closed"))
        self._outbox.clear()
        self._drop_publisher()
        await self._redis.aclose()

    async def subscribe(self, channel: str) -> None:
        """Return once Redis confirmed the subscription (waiting out a reconnect if need be)."""
        self._channels.add(channel)
        await self._confirmed(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        if channel not in self._listeners:
            self._send_nowait("UNSUBSCRIBE", channel)

    async def listen(self, channel: str, handler: Handler) -> None:
        """Subscribe ``channel`` with a handler of its own, outside the Hub's routing.

        The Kafka log waits for acks on ``gateway.<id>`` this way: one bus, one
        subscriber connection, but acks never pass through the gateway's router.
        """
        self._listeners[channel] = handler
        await self._confirmed(channel)

    async def publish(self, channel: str, payload: bytes) -> None:
        await self.publish_many(((channel, payload),))

    async def publish_many(self, events: Sequence[tuple[str, bytes]]) -> None:
        """Queue for the next pipeline; raise ``BusUnavailable`` when Redis refused it."""
        if self._closed:
            raise BusUnavailable("bus closed")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.append((events, fut))
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.ensure_future(self._flush())
        await fut

    async def ping(self) -> None:
        if not self._connected.is_set() and self._reader_task is not None:
            raise BusUnavailable("subscriber connection to Redis is down")
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise BusUnavailable(f"Redis unreachable: {exc}") from exc

    def on_reconnect(self, callback: ReconnectHandler) -> None:
        self._reconnect_callbacks.append(callback)

    # publishing

    async def _flush(self) -> None:
        """Write everything queued as pipelines, oldest first, until the queue is empty."""
        await asyncio.sleep(0)  # let the rest of this loop turn add to the batch
        while self._outbox:
            batch = self._next_batch()
            commands = b"".join(
                encode_command(b"PUBLISH", channel, payload)
                for events, _ in batch
                for channel, payload in events
            )
            count = sum(len(events) for events, _ in batch)
            try:
                async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                    await self._publish_pipeline(commands, count)
            except (OSError, EOFError, ValueError, RespError, TimeoutError) as exc:
                self._drop_publisher()
                error = BusUnavailable(f"publish to Redis failed: {exc!r}")
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(error)
                continue
            except asyncio.CancelledError:
                self._drop_publisher()
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(BusUnavailable("bus closed"))
                raise
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)

    async def _publish_pipeline(self, commands: bytes, count: int) -> None:
        if self._publisher is None:
            self._publisher = await self._connect("pub")
        reader, writer = self._publisher
        writer.write(commands)
        while count > 0:
            for reply in await reader.replies():
                if isinstance(reply, RespError):
                    raise reply
                count -= 1

    def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            publisher[1].close()

    def _next_batch(self) -> list[tuple[Sequence[tuple[str, bytes]], asyncio.Future[None]]]:
        """Whole operations from the queue, about ``PUBLISH_BATCH_EVENTS`` events (at least one)."""
        count = taken = 0
        for events, _ in self._outbox:
            if taken and count + len(events) > PUBLISH_BATCH_EVENTS:
                break
            count += len(events)
            taken += 1
        batch, self._outbox = self._outbox[:taken], self._outbox[taken:]
        return batch

    # subscribing

    async def _confirmed(self, channel: str) -> None:
        if self._closed:
            raise BusUnavailable("bus closed")
        self._ensure_reader()
        fut = self._confirm.get(channel)
        if fut is None:
            fut = self._confirm[channel] = asyncio.get_running_loop().create_future()
            self._send_nowait("SUBSCRIBE", channel)
        try:
            await asyncio.wait_for(asyncio.shield(fut), SUBSCRIBE_TIMEOUT_SECONDS)
        except TimeoutError:
            # The caller treats the channel as not subscribed; stop asking for it.
            self._channels.discard(channel)
            self._listeners.pop(channel, None)
            if self._confirm.get(channel) is fut:
                del self._confirm[channel]
            raise BusUnavailable(f"Redis did not confirm the subscription to {channel}") from None

    def _send_nowait(self, *command: str) -> None:
        """Write a command if connected; a reconnect resubscribes everything anyway."""
        writer = self._writer
        if writer is None or not self._connected.is_set():
            return
        try:
            writer.write(encode_command(*command))
        except (OSError, RuntimeError) as exc:
            logger.debug("redis subscriber write failed: %s", exc)

    def _ensure_reader(self) -> None:
        if self._reader_task is None and not self._closed:
            self._reader_task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        """Connect, (re)subscribe, read; on any connection loss start over with backoff."""
        delay = BACKOFF_FIRST_SECONDS
        ever_connected = False
        while not self._closed:
            watchdog: asyncio.Task[None] | None = None
            try:
                reader, self._writer = await self._connect("sub")
                self._last_rx = time.monotonic()
                watchdog = asyncio.ensure_future(self._watch())
                if ever_connected:
                    logger.warning("redis subscriber reconnected; resubscribing")
                self._resubscribe(refetch=ever_connected)
                ever_connected = True
                delay = BACKOFF_FIRST_SECONDS
                await self._read_loop(reader)
            except asyncio.CancelledError:
                raise
            except (OSError, EOFError, RespError, ValueError) as exc:
                if ever_connected and self._connected.is_set():
                    logger.warning("redis subscriber connection lost: %s", exc)
                else:
                    logger.debug("redis subscriber cannot connect: %s", exc)
            finally:
                if watchdog is not None:
                    watchdog.cancel()
                self._drop_connection()
            if self._closed:
                return
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)

    async def _connect(self, role: str) -> tuple[RespReader, asyncio.StreamWriter]:
        context = ssl.create_default_context() if self._ssl else None
        stream, writer = await asyncio.wait_for(
            asyncio.open_connection(self._host, self._port, ssl=context), CONNECT_TIMEOUT_SECONDS
        )
        reader = RespReader(stream)
        try:
            if self._password is not None:
                auth = ("AUTH", self._username, self._password) if self._username else None
                writer.write(encode_command(*(auth or ("AUTH", self._password))))
                await asyncio.wait_for(reader.reply(), CONNECT_TIMEOUT_SECONDS)
            writer.write(encode_command("CLIENT", "SETNAME", f"{self._name}-{role}"))
            await asyncio.wait_for(reader.reply(), CONNECT_TIMEOUT_SECONDS)
        except BaseException:
            writer.close()
            raise
        return reader, writer

    def _resubscribe(self, *, refetch: bool) -> None:
        """Subscribe every wanted channel in one command; refetch once all are confirmed."""
        self._connected.set()
        wanted = sorted(self._channels | set(self._listeners))
        if wanted:
            self._send_nowait("SUBSCRIBE", *wanted)
        if refetch:
            self._resubscribing = set(wanted)
            if not wanted:
                self._spawn_callbacks()

    async def _read_loop(self, reader: RespReader) -> None:
        while True:
            replies = await reader.replies()
            self._last_rx = time.monotonic()
            for reply in replies:
                if not isinstance(reply, list) or len(reply) < 2:
                    if isinstance(reply, RespError):
                        logger.warning("redis subscriber error reply: %s", reply)
                    continue
                kind = reply[0]
                if kind == b"message":
                    self._dispatch(reply[1].decode(), reply[2])
                elif kind == b"subscribe":
                    self._on_subscribed(reply[1].decode())

    def _dispatch(self, channel: str, payload: bytes) -> None:
        handler = self._listeners.get(channel)
        if handler is None:
            if channel not in self._channels:
                return
            handler = self._handler
            if handler is None:
                return
        try:
            handler(channel, payload)
        except Exception:
            logger.exception("bus handler failed on %s", channel)

    def _on_subscribed(self, channel: str) -> None:
        fut = self._confirm.pop(channel, None)
        if fut is not None and not fut.done():
            fut.set_result(None)
        if self._resubscribing:
            self._resubscribing.discard(channel)
            if not self._resubscribing:
                self._spawn_callbacks()

    def _spawn_callbacks(self) -> None:
        """Everything is subscribed again: now what was missed can be read from the store."""
        for callback in self._reconnect_callbacks:
            self._spawn(callback)

    def _spawn(self, callback: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            try:
                await callback()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("bus reconnect callback failed")

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self) -> None:
        """Ping an idle subscriber; drop it when even the ping gets no answer."""
        while True:
            await asyncio.sleep(IDLE_PING_SECONDS / 2)
            idle = time.monotonic() - self._last_rx
            if idle > DEAD_AFTER_SECONDS:
                logger.warning("redis subscriber silent for %.0fs; reconnecting", idle)
                writer = self._writer
                if writer is not None:
                    writer.transport.abort()
                return
            if idle > IDLE_PING_SECONDS:
                self._send_nowait("PING")

    def _drop_connection(self) -> None:
        self._connected.clear()
        self._resubscribing = set()
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
