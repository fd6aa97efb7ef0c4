"""A load-client process: holds many WebSocket connections (picows on uvloop).

Started by the driver as ``python -m bench.worker``; talks JSON lines:
stdin gets one config line, then commands; stdout gets ``READY``, ``DONE`` and
``STATS`` lines. Speaks Parley's protocol (``proto=parley``), Socket.IO v5 over a
websocket-only Engine.IO v4 transport (``proto=sio``) for the python-socketio peer, or
Centrifugo's JSON client protocol (``proto=centrifugo``: connect, subscribe to each room's
channel, publish, and the empty ``{}`` ping answered with ``{}``).

Every connection counts the ``message`` events it receives, checks that each
room's seq grows by exactly one, and measures send -> receive latency from the
monotonic timestamp the sender put at the start of the body (CLOCK_MONOTONIC is
shared by all processes of the machine).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import sys
import time
from typing import Any

import orjson
import uvloop
from picows import WSListener, WSMsgType, WSTransport, ws_connect

TEXT = WSMsgType.TEXT
CLOSE = WSMsgType.CLOSE

ROOM_SEQ = re.compile(rb'"room": ?"(\d+)", ?"seq": ?(\d+)')
BODY_T = re.compile(rb'"body": ?"t(\d+) g(\d+) ')
FILLER = "Hello everyone, this is a chat message of realistic length from the bench."
now_ns = time.monotonic_ns


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.received = 0
        self.latencies: list[float] = []  # ms
        self.cross_latencies: list[float] = []  # ms, sender on another gateway
        self.ack_latencies: list[float] = []  # ms
        self.sent = 0
        self.acked = 0
        self.errors: dict[str, int] = {}
        self.typing_sent = 0
        self.reads_sent = 0
        self.other_events = 0
        self.seq_gaps = 0
        self.seq_dups = 0
        self.expected_deliveries = 0
        self.closed = 0
        self.t_last_receive = 0.0

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1

    def dump(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "latencies": self.latencies,
            "cross_latencies": self.cross_latencies,
            "ack_latencies": self.ack_latencies,
            "sent": self.sent,
            "acked": self.acked,
            "errors": self.errors,
            "typing_sent": self.typing_sent,
            "reads_sent": self.reads_sent,
            "other_events": self.other_events,
            "seq_gaps": self.seq_gaps,
            "seq_dups": self.seq_dups,
            "expected_deliveries": self.expected_deliveries,
            "closed": self.closed,
            "t_last_receive": self.t_last_receive,
        }


class Worker:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.proto: str = cfg["proto"]
        self.stats = Stats()
        self.conns: list[Conn] = []
        self.room_sizes: dict[str, int] = cfg.get("room_sizes", {})
        self.ids = itertools.count()
        self.wid = cfg.get("worker", 0)
        self.expect: int | None = None
        self.all_received = asyncio.Event()
        self.complete = 0
        self.reads = bool(cfg.get("reads", False))
        self.read_delay = float(cfg.get("read_delay", 1.0))

    def pending_total(self) -> int:
        return sum(len(c.pending) for c in self.conns)

    def reset(self) -> None:
        """Zero every counter before a round.

        The driver waits for every worker's ``RESET`` before it sends any ``fanout``
        command, so no delivery of the next round can arrive before this runs.
        """
        self.stats.reset()
        self.expect = None
        self.complete = 0
        self.all_received.clear()
        for c in self.conns:
            c.n = 0

    def expect_deliveries(self, expect: int) -> None:
        """Arm the round: each connection is complete once it has ``expect`` messages.

        Another worker's publishers start as soon as *their* command arrives, so on a
        busy machine deliveries can reach this worker before its own command does:
        they are already counted (since ``reset``), and connections that have them all
        count as complete now rather than never.
        """
        self.expect = expect
        self.complete = sum(1 for c in self.conns if c.n >= expect)
        if self.complete == len(self.conns):
            self.all_received.set()

    def conn_complete(self) -> None:
        self.complete += 1
        if self.complete == len(self.conns):
            self.all_received.set()


class Conn(WSListener):
    """One client connection; ``on_ws_frame`` is the hot path of the client side."""

    def __init__(self, w: Worker, spec: dict[str, Any]) -> None:
        self.w = w
        self.st = w.stats
        self.user: str = spec["user"]
        self.token: str = spec["token"]
        self.rooms: list[str] = spec.get("rooms", [])
        self.suffix: str = spec.get("suffix", "")
        """Appended to every body this connection sends (an @mention in ``notify``)."""
        self.sample: bool = spec.get("sample", True)
        self.url: str = spec.get("url") or w.cfg["url"]
        self.gw = int(spec.get("gw", 0))
        self.gw_bytes = str(self.gw).encode()
        self.sio = w.proto == "sio"
        self.cf = w.proto == "centrifugo"
        self.cmd_ids = itertools.count(1)
        self.subscribing = 0
        self.t: WSTransport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.last_seq: dict[bytes, int] = {}
        self.n = 0
        self.pending: dict[str, tuple[int, str]] = {}
        """Sends awaiting their ack: client id -> (sent at, ns; room)."""
        self.window_free: asyncio.Future[None] | None = None
        self.active_room: str | None = None
        self.read_pending = False
        self.read_seq = 0
        self.t_connect = 0.0
        self.t_ready = 0.0

    # connection set-up

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.t = transport
        if self.cf:
            transport.send(TEXT, orjson.dumps({"id": next(self.cmd_ids), "connect": {}}))
        elif not self.sio:
            transport.send(TEXT, orjson.dumps({"type": "auth", "token": self.token}))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.st.closed += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before ready"))

    def _ready(self) -> None:
        if not self.ready.done():
            self.t_ready = time.monotonic()
            self.ready.set_result(None)

    # frames in

    def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
        if frame.msg_type != TEXT:
            if frame.msg_type == CLOSE:
                transport.disconnect()
            return
        p: bytes = frame.get_payload_as_bytes()
        if self.cf:
            # Centrifugo may put several newline-separated replies and pushes in one frame.
            for line in p.split(b"\n") if b"\n" in p else (p,):
                self._centrifugo(transport, line)
            return
        if self.sio:
            if p.startswith(b'42["message"'):
                self._message(p)
            elif p[:2] == b"43":
                self._ack(p[2 : p.index(b"[")].decode())
            elif p == b"2":
                transport.send(TEXT, b"3")
            elif p[:2] == b"40":
                self._ready()
            elif p[:1] == b"0":
                transport.send(TEXT, b"40" + orjson.dumps({"user": self.user, "rooms": self.rooms}))
            elif p[:2] == b"44":
                self.st.error("connect_error")
                if not self.ready.done():
                    self.ready.set_exception(ConnectionError(p.decode()))
            else:
                self.st.other_events += 1
            return
        if p.startswith(b'{"type":"message"'):
            self._message(p)
        elif p.startswith(b'{"type":"ack"'):
            self._ack(orjson.loads(p)["client_id"])
        elif p.startswith(b'{"type":"ready"'):
            self._ready()
        elif p.startswith(b'{"type":"error"'):
            ev = orjson.loads(p)
            self.st.error(ev.get("code", "?"))
            cid = ev.get("client_id")
            if cid is not None and self.pending.pop(cid, None) is not None:
                self._window_check()
            if ev.get("code") == "unauthorized" and not self.ready.done():
                self.ready.set_exception(ConnectionError("unauthorized"))
        else:
            self.st.other_events += 1

    def _centrifugo(self, transport: WSTransport, p: bytes) -> None:
        if p.startswith(b'{"push":'):
            if b'"pub":' in p:
                self._message(p)
            else:
                self.st.other_events += 1
            return
        if p == b"{}":  # the server's ping: unanswered, it closes the connection
            transport.send(TEXT, b"{}")
            return
        if not p:
            return
        ev = orjson.loads(p)
        if "error" in ev:
            self.st.error(str(ev["error"].get("code", "?")))
            cid = str(ev.get("id"))
            if self.pending.pop(cid, None) is not None:
                self._window_check()
            elif not self.ready.done():
                self.ready.set_exception(ConnectionError(p.decode()))
        elif "publish" in ev:
            self._ack(str(ev["id"]))
        elif "connect" in ev:
            self.subscribing = len(self.rooms)
            if not self.rooms:
                self._ready()
            frames = [
                orjson.dumps({"id": next(self.cmd_ids), "subscribe": {"channel": room}})
                for room in self.rooms
            ]
            transport.send(TEXT, b"\n".join(frames))
        elif "subscribe" in ev:
            self.subscribing -= 1
            if self.subscribing == 0:
                self._ready()
        else:
            self.st.other_events += 1

    def _message(self, p: bytes) -> None:
        st = self.st
        st.received += 1
        m = ROOM_SEQ.search(p)
        if m is not None:
            room, seq = m.group(1), int(m.group(2))
            last = self.last_seq.get(room)
            if last is not None:
                if seq == last + 1:
                    pass
                elif seq <= last:
                    st.seq_dups += 1
                else:
                    st.seq_gaps += 1
            self.last_seq[room] = seq
            if self.w.reads and self.active_room is not None and room == self.active_room.encode():
                self.read_seq = seq
                if not self.read_pending:
                    self.read_pending = True
                    asyncio.get_running_loop().call_later(self.w.read_delay, self._send_read)
        if self.sample:
            b = BODY_T.search(p)
            if b is not None:
                ms = (now_ns() - int(b.group(1))) / 1e6
                st.latencies.append(ms)
                if b.group(2) != self.gw_bytes:
                    st.cross_latencies.append(ms)
        self.n += 1
        if self.n == self.w.expect:
            self.w.conn_complete()
        st.t_last_receive = time.monotonic()

    def _ack(self, cid: str) -> None:
        sent = self.pending.pop(cid, None)
        if sent is None:
            return
        t, room = sent
        st = self.st
        st.acked += 1
        st.ack_latencies.append((now_ns() - t) / 1e6)
        st.expected_deliveries += self.w.room_sizes.get(room, 0)
        self._window_check()

    def _window_check(self) -> None:
        f = self.window_free
        if f is not None and not f.done():
            f.set_result(None)

    # frames out

    def send_message(self, room: str) -> None:
        assert self.t is not None
        if self.cf:  # Centrifugo's command id: a uint32, unique per connection
            cid = str(next(self.cmd_ids))
        else:  # numeric: a Socket.IO ack id
            cid = str(self.w.wid * 1_000_000_000 + next(self.w.ids))
        t = now_ns()
        body = f"t{t} g{self.gw} {FILLER}{self.suffix}"
        self.pending[cid] = (t, room)
        self.st.sent += 1
        self.active_room = room
        if self.cf:
            frame = orjson.dumps(
                {
                    "id": int(cid),
                    "publish": {"channel": room, "data": {"room": room, "body": body}},
                }
            )
        elif self.sio:
            frame = (
                b"42"
                + cid.encode()
                + orjson.dumps(["send", {"room": room, "body": body, "client_id": cid}])
            )
        else:
            frame = orjson.dumps({"type": "send", "room": room, "body": body, "client_id": cid})
        self.t.send(TEXT, frame)

    def send_typing(self, room: str) -> None:
        assert self.t is not None
        self.st.typing_sent += 1
        if self.sio:
            self.t.send(TEXT, b'42["typing",' + orjson.dumps({"room": room}) + b"]")
        else:
            self.t.send(TEXT, orjson.dumps({"type": "typing", "room": room}))

    def _send_read(self) -> None:
        self.read_pending = False
        if self.t is None or self.active_room is None:
            return
        self.st.reads_sent += 1
        ev = {"room": self.active_room, "seq": self.read_seq}
        if self.sio:
            self.t.send(TEXT, b'42["read",' + orjson.dumps(ev) + b"]")
        else:
            self.t.send(TEXT, orjson.dumps({"type": "read", **ev}))


def out(kind: str, doc: dict[str, Any]) -> None:
    sys.stdout.write(kind + " " + json.dumps(doc) + "\n")
    sys.stdout.flush()


async def connect_all(w: Worker) -> None:
    cfg = w.cfg
    sem = asyncio.Semaphore(int(cfg.get("concurrency", 64)))
    failed = 0
    durations: list[float] = []
    errors: list[str] = []
    t0 = time.monotonic()
    read_buffer = int(cfg.get("read_buffer", 4096))

    async def one(spec: dict[str, Any]) -> Conn | None:
        nonlocal failed
        async with sem:
            for attempt in range(8):
                c = Conn(w, spec)
                t1 = time.monotonic()
                try:
                    await ws_connect(
                        lambda c=c: c,
                        c.url,
                        websocket_handshake_timeout=30,
                        enable_auto_pong=True,
                        max_frame_size=1 << 22,
                        read_buffer_init_size=read_buffer,
                    )
                    await asyncio.wait_for(c.ready, 30)
                    durations.append((time.monotonic() - t1) * 1000)
                    return c
                except Exception as e:  # a refused or slow connect is retried
                    if c.t is not None:
                        c.t.disconnect()
                    if len(errors) < 5:
                        errors.append(repr(e))
                    await asyncio.sleep(0.2 * (attempt + 1))
            failed += 1
            return None

    conns = await asyncio.gather(*(one(s) for s in cfg["conns"]))
    w.conns = [c for c in conns if c is not None]
    # The disconnect counter so far counts retried attempts only.
    w.stats.closed = 0
    out(
        "READY",
        {
            "ok": len(w.conns),
            "failed": failed,
            "seconds": time.monotonic() - t0,
            "connect_ms": durations,
            "errors": errors,
        },
    )


async def run_fanout(w: Worker, cmd: dict[str, Any]) -> None:
    """Publishers send ``count`` messages each, window-limited by acks or paced at ``rate``.

    The counters were zeroed by the ``reset`` command that precedes every round.
    """
    w.expect_deliveries(int(cmd["expect"]))
    room: str | None = cmd.get("room")  # None: each publisher into its own first room
    count = int(cmd["count"])
    window = int(cmd.get("window", 8))
    rate = float(cmd.get("rate", 0))
    loop = asyncio.get_running_loop()
    pubs = [w.conns[i] for i in cmd.get("publishers", [])]

    offsets = cmd.get("offsets") or [0.0] * len(pubs)

    async def publish(c: Conn, offset: float) -> None:
        # Paced publishers are spread over the period, not in phase.
        t0 = loop.time() + offset
        for k in range(count):
            if rate > 0:
                d = t0 + k / rate - loop.time()
                if d > 0:
                    await asyncio.sleep(d)
            while len(c.pending) >= window:
                c.window_free = loop.create_future()
                await asyncio.wait_for(c.window_free, 60)
            c.send_message(room or c.rooms[0])
        while c.pending:
            c.window_free = loop.create_future()
            await asyncio.wait_for(c.window_free, 60)

    timeout = float(cmd.get("timeout", 120))
    try:
        await asyncio.wait_for(
            asyncio.gather(*(publish(c, o) for c, o in zip(pubs, offsets, strict=True))), timeout
        )
        # A refused send (Kafka away for a moment) is never delivered: the wait for the
        # deliveries after the last ack can be bounded apart (``settle``).
        await asyncio.wait_for(w.all_received.wait(), float(cmd.get("settle", timeout)))
    except TimeoutError:
        w.stats.error("timeout")
    await asyncio.sleep(0.2)  # late duplicates would show up here
    doc = w.stats.dump()
    doc["complete"] = w.complete
    doc["per_conn_min"] = min((c.n for c in w.conns), default=0)
    doc["per_conn_max"] = max((c.n for c in w.conns), default=0)
    out("DONE", doc)


async def run_chat(w: Worker, cmd: dict[str, Any]) -> None:
    """Offered load for ``duration`` s at ``rate`` messages/s from random members of this worker."""
    rate = float(cmd["rate"])
    duration = float(cmd["duration"])
    typing = bool(cmd.get("typing", True))
    w.reads = bool(cmd.get("reads", True))
    rng = random.Random(int(cmd.get("seed", 0)) + w.wid)
    senders = [c for c in w.conns if c.rooms]
    loop = asyncio.get_running_loop()
    tick = 0.01
    t0 = loop.time()
    credit = 0.0
    backlog_cap = 256
    while senders and loop.time() - t0 < duration:
        credit += rate * tick
        while credit >= 1:
            credit -= 1
            c = rng.choice(senders)
            if len(c.pending) >= backlog_cap:
                w.stats.error("client_backlog")
                continue
            room = rng.choice(c.rooms)
            if typing:
                c.send_typing(room)
            c.send_message(room)
        await asyncio.sleep(t0 + tick * (1 + round((loop.time() - t0) / tick)) - loop.time())
    # let acks and deliveries settle
    settle_until = loop.time() + float(cmd.get("settle", 5.0))
    while loop.time() < settle_until and w.pending_total():
        await asyncio.sleep(0.05)
    await asyncio.sleep(float(cmd.get("grace", 0.5)))
    doc = w.stats.dump()
    doc["unacked"] = w.pending_total()
    for c in w.conns:
        c.pending.clear()
    out("STEP", doc)
    w.stats.reset()


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    line = await reader.readline()
    w = Worker(json.loads(line))
    await connect_all(w)
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        kind = cmd["cmd"]
        if kind == "fanout":
            await run_fanout(w, cmd)
        elif kind == "chat":
            await run_chat(w, cmd)
        elif kind == "stats":
            doc = w.stats.dump()
            doc["open"] = len(w.conns) - w.stats.closed
            out("STATS", doc)
        elif kind == "reset":
            w.reset()
            out("RESET", {})
        elif kind == "quit":
            break
    for c in w.conns:
        if c.t is not None:
            c.t.disconnect()
    await asyncio.sleep(0.1)


if __name__ == "__main__":
    uvloop.run(main())
