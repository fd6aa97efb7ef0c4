"""Chaos under load: a steady chat over a supervised cluster while its parts are broken for real.

Shared by ``tests/cluster/test_chaos.py`` (the short run inside ``make test``) and
``make chaos`` (the same test with the ``full`` profile: more users, more load, every
fault twice). The clients behave as the web client does (``web/src/state``): one send
in flight per room, a refused or unanswered send re-sent with the same ``client_id``,
a lost socket reconnected to any live gateway with a jittered back-off, every room
resumed from the last ``seq`` seen, in the ``auth`` frame. Faults are injected as an
operator would meet them: ``scripts/services`` stops and restarts the services, and
the gateways and the persister are signalled under the supervisor of ``scripts/cluster``,
which starts them again.

What is checked afterwards (``Outcome.problems``): every send was acked; every ack is
in history exactly once with its id and seq; each room's seq is 1..N; every client saw
exactly its rooms' history, in order; a retried send was never acked as two messages.
What is measured per fault: the recovery time, from the end of the fault until every
client has had a message written after it acked within ``NORMAL_ACK_SECONDS``, and the
worst send -> ack latency (from the first attempt, so it includes the retries) of the
sends in flight between the start of the fault and the recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
import orjson
from bench.api import BenchUser, create_rooms, register_users
from bench.common import percentiles

from tests.support.cluster import eventually, wait_ready
from tests.support.services import service
from tests.support.supervised import SupervisedCluster

NORMAL_ACK_SECONDS = 1.0
"""A send acked within this long after it was written counts as service back to normal."""
ACK_WAIT_SECONDS = 15.0
"""With no answer to a send for this long, the client sends it again (the web client's figure)."""
RETRY_BASE_SECONDS, RETRY_MAX_SECONDS = 0.5, 2.0
"""Back-off after ``unavailable``: tighter than the web client's 1-10 s, so that the recovery
time measures the service rather than the client's patience."""
RECONNECT_BASE_SECONDS, RECONNECT_MAX_SECONDS = 0.25, 4.0
STOP_SECONDS = 10.0
"""A client's tasks not gone this long after being cancelled fail the run (one that
swallowed its cancellation would otherwise keep the test waiting forever)."""
CHAOS_SETTINGS = {
    # Every client signs up from 127.0.0.1; the per-address limit has tests of its own.
    "PARLEY_AUTH_ADDRESS_LIMIT": "1000000",
    "PARLEY_SEND_RATE": "1000",
    "PARLEY_SEND_BURST": "1000",
    "PARLEY_ACK_TIMEOUT": "10",
    # Longer than any run, faults included: the clients never refresh their token.
    "PARLEY_ACCESS_TOKEN_TTL": "7200",
}


@dataclass(frozen=True)
class Profile:
    """How big and how long: ``short`` for ``make test``, ``full`` for ``make chaos``."""

    name: str
    users: int
    rooms: int
    room_size: int
    rate: float
    """Messages per second per user."""
    rounds: int
    """How many times the whole list of faults is played."""
    warmup: float
    settle: float
    """Steady load between a recovery and the next fault, seconds."""
    recovery_limit: float
    """A fault not recovered from after this long is a failure (and the run goes on)."""
    drain_timeout: float
    deadline: float
    """The whole run, faults and drain included, fails after this long, well within the
    test's own timeout, with every client's state printed."""
    kafka_down: float = 10.0
    postgres_down: float = 8.0


PROFILES = {
    "short": Profile(
        "short",
        users=8,
        rooms=4,
        room_size=4,
        rate=1.0,
        rounds=1,
        warmup=3.0,
        settle=2.0,
        recovery_limit=60.0,
        drain_timeout=90.0,
        deadline=600.0,
    ),
    "full": Profile(
        "full",
        users=30,
        rooms=10,
        room_size=6,
        rate=1.0,
        rounds=2,
        warmup=10.0,
        settle=10.0,
        recovery_limit=90.0,
        drain_timeout=120.0,
        deadline=1500.0,
    ),
}


def profile() -> Profile:
    """``CHAOS_PROFILE`` (``short`` unless ``make chaos`` says ``full``)."""
    name = os.environ.get("CHAOS_PROFILE", "short")
    if name not in PROFILES:
        raise ValueError(f"CHAOS_PROFILE must be one of {sorted(PROFILES)}, got {name!r}")
    return PROFILES[name]


def jittered(base: float, cap: float, attempt: int) -> float:
    """Equal-jitter exponential back-off, as ``web/src/state/backoff.ts`` computes it."""
    ceiling: float = min(cap, base * 2.0 ** min(attempt, 16))
    return ceiling / 2 + random.random() * ceiling / 2


@dataclass
class Send:
    """One message a client wrote, from its first attempt to its ack."""

    client_id: str
    room: str
    body: str
    created: float
    attempts: int = 0
    refused: int = 0
    acked: float | None = None
    message: dict[str, Any] | None = None

    @property
    def latency(self) -> float | None:
        return None if self.acked is None else self.acked - self.created


class ChaosClient:
    """One user with one socket at a time, sending and receiving as the web client does."""

    def __init__(
        self, user: BenchUser, http: aiohttp.ClientSession, ws_urls: list[str], home: int
    ) -> None:
        self.user = user
        self.http = http
        self.ws_urls = ws_urls
        self.home = home
        self.rooms = list(user.rooms)
        self.seen: dict[str, list[dict[str, Any]]] = {r: [] for r in self.rooms}
        self.last_seq: dict[str, int] = dict.fromkeys(self.rooms, 0)
        self.queues: dict[str, deque[Send]] = {r: deque() for r in self.rooms}
        self.wake: dict[str, asyncio.Event] = {r: asyncio.Event() for r in self.rooms}
        self.sends: list[Send] = []
        self.answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.acks: dict[str, dict[str, Any]] = {}
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.ready = asyncio.Event()
        self.problems: list[str] = []
        self.connects = 0
        self.talking = True
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, rate: float) -> None:
        name = self.user.username
        self._tasks = [
            asyncio.create_task(self._connection(), name=f"{name} connection"),
            asyncio.create_task(self._talk(rate), name=f"{name} talk"),
            *(asyncio.create_task(self._pump(r), name=f"{name} pump {r}") for r in self.rooms),
        ]

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        """The client's tasks: each runs until stopped, so one that ends has died."""
        return list(self._tasks)

    async def stop(self) -> None:
        if not self._tasks:
            return
        for task in self._tasks:
            task.cancel()
        _, stuck = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
        if self.ws is not None:
            await self.ws.close()
        if stuck:
            raise RuntimeError(
                f"{self.user.username}: tasks still running {STOP_SECONDS:g} s after "
                f"being cancelled: {sorted(t.get_name() for t in stuck)}"
            )

    def state(self) -> str:
        """One line for a failed run: the socket, what is queued, how each task ended."""
        tasks = []
        for task in self._tasks:
            name = task.get_name().removeprefix(f"{self.user.username} ")
            if not task.done():
                tasks.append(f"{name}: running")
            elif task.cancelled():
                tasks.append(f"{name}: cancelled")
            else:
                tasks.append(f"{name}: ended, {task.exception()!r}")
        return (
            f"{self.user.username}: socket {'open' if self.ws is not None else 'none'}, "
            f"{self.connects} connects, {self.pending} unacked, talking {self.talking}, "
            f"last seq {self.last_seq}; {'; '.join(tasks)}"
        )

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def write(self, room: str) -> Send:
        """The user writes a message: queued at once, sent when its turn in the room comes."""
        n = next(self._ids)
        send = Send(f"{self.user.username}-{n}", room, f"{self.user.username} #{n}", now())
        self.sends.append(send)
        self.queues[room].append(send)
        self.wake[room].set()
        return send

    async def _talk(self, rate: float) -> None:
        while True:
            await asyncio.sleep(random.uniform(0.5, 1.5) / rate)
            if self.talking:
                self.write(random.choice(self.rooms))

    async def _connection(self) -> None:
        """Connect, authenticate with the resume map, read until the socket dies; again."""
        attempt = 0
        while True:
            url = self.ws_urls[(self.home + attempt) % len(self.ws_urls)]
            try:
                ws = await self.http.ws_connect(
                    url, max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=5)
                )
            except (aiohttp.ClientError, OSError, TimeoutError):
                attempt += 1
                await asyncio.sleep(
                    jittered(RECONNECT_BASE_SECONDS, RECONNECT_MAX_SECONDS, attempt)
                )
                continue
            try:
                auth = {"type": "auth", "token": self.user.token, "resume": dict(self.last_seq)}
                await ws.send_str(orjson.dumps(auth).decode())
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    frame = orjson.loads(msg.data)
                    if not self.ready.is_set() and frame.get("type") == "error":
                        break  # refused before ready (a gateway starting or stopping): retry
                    if frame.get("type") == "ready":
                        self.ws, attempt = ws, 0
                        self.connects += 1
                        self.ready.set()
                    else:
                        self._on_frame(frame)
            except (aiohttp.ClientError, OSError):
                pass
            finally:
                self.ready.clear()
                self.ws = None
                for answer in self.answers.values():
                    if not answer.done():
                        answer.set_exception(ConnectionError("socket lost"))
                self.answers.clear()
                await ws.close()
            attempt += 1
            await asyncio.sleep(jittered(RECONNECT_BASE_SECONDS, RECONNECT_MAX_SECONDS, attempt))

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message":
            message = frame["message"]
            room = message["room"]
            if message["seq"] != self.last_seq[room] + 1:
                self.problems.append(
                    f"{self.user.username} room {room}: seq {message['seq']} "
                    f"after {self.last_seq[room]}"
                )
            self.seen[room].append(message)
            self.last_seq[room] = max(self.last_seq[room], message["seq"])
        elif kind in ("ack", "error") and "client_id" in frame:
            answer = self.answers.pop(frame["client_id"], None)
            if answer is not None and not answer.done():
                answer.set_result(frame)
            elif kind == "ack":
                self._check_ack(frame)
        elif kind == "resumed" and frame["incomplete"]:
            self.problems.append(f"{self.user.username}: resume incomplete {frame['incomplete']}")
        elif kind == "error":
            self.problems.append(f"{self.user.username}: unexpected error {frame}")

    def _check_ack(self, frame: dict[str, Any]) -> None:
        """A late ack of a send answered already (it was re-sent) must name the same message."""
        first = self.acks.get(frame["client_id"])
        if first is not None and first != frame["message"]:
            self.problems.append(f"{frame['client_id']} acked twice as {first} and {frame}")

    async def _pump(self, room: str) -> None:
        """The room's next message, sent until acked: one in flight per room, order kept."""
        queue, loop = self.queues[room], asyncio.get_running_loop()
        refusals = 0
        while True:
            if not queue:
                self.wake[room].clear()
                await self.wake[room].wait()
                continue
            send = queue[0]
            await self.ready.wait()
            ws = self.ws
            if ws is None:
                continue
            answer: asyncio.Future[dict[str, Any]] = loop.create_future()
            self.answers[send.client_id] = answer
            send.attempts += 1
            frame = {"type": "send", "room": room, "body": send.body, "client_id": send.client_id}
            try:
                await ws.send_str(orjson.dumps(frame).decode())
                # Not asyncio.wait_for: on Python 3.11 it returns the answer instead of
                # raising CancelledError when the task is cancelled just as the answer is
                # settled, as stop() does (``_connection`` fails every answer as it ends),
                # and this loop would then wait for ``ready`` forever.
                async with asyncio.timeout(ACK_WAIT_SECONDS):
                    outcome = await answer
            except (ConnectionError, aiohttp.ClientError, TimeoutError):
                self.answers.pop(send.client_id, None)
                continue  # the same client_id again, on this socket or the next
            if outcome["type"] == "ack":
                send.acked, send.message = now(), outcome["message"]
                self.acks[send.client_id] = outcome["message"]
                queue.popleft()
                refusals = 0
            elif outcome["code"] in ("unavailable", "rate_limited"):
                send.refused += 1
                refusals += 1
                await asyncio.sleep(jittered(RETRY_BASE_SECONDS, RETRY_MAX_SECONDS, refusals))
            else:
                self.problems.append(f"{send.client_id} refused for good: {outcome}")
                queue.popleft()


def now() -> float:
    return time.monotonic()


@dataclass
class FaultResult:
    name: str
    round: int
    start: float
    end: float
    recovered: float | None = None
    sends: int = 0
    refused: int = 0
    reconnects: int = 0
    worst_latency: float | None = None

    @property
    def recovery(self) -> float | None:
        return None if self.recovered is None else self.recovered - self.end

    def row(self) -> dict[str, Any]:
        return {
            "fault": self.name,
            "round": self.round,
            "duration_s": round(self.end - self.start, 2),
            "recovery_s": None if self.recovery is None else round(self.recovery, 2),
            "worst_ack_latency_s": (
                None if self.worst_latency is None else round(self.worst_latency, 2)
            ),
            "sends_in_window": self.sends,
            "refused": self.refused,
            "reconnects": self.reconnects,
        }


@dataclass
class Outcome:
    profile: Profile
    faults: list[FaultResult]
    sends: list[Send]
    history: dict[str, list[dict[str, Any]]]
    problems: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        latencies = [s.latency for s in self.sends if s.latency is not None]
        return {
            "profile": asdict(self.profile),
            "faults": [f.row() for f in self.faults],
            "sends": len(self.sends),
            "acked": len(latencies),
            "messages_in_history": sum(len(h) for h in self.history.values()),
            "refused": sum(s.refused for s in self.sends),
            "re_sent": sum(max(0, s.attempts - 1) for s in self.sends),
            "ack_latency_s": percentiles(latencies),
            "problems": self.problems,
        }

    def table(self) -> str:
        lines = [
            f"chaos ({self.profile.name}): {len(self.sends)} sends by "
            f"{self.profile.users} users in {self.profile.rooms} rooms",
            f"{'fault':<28} {'round':>5} {'lasted s':>8} {'recovery s':>10} "
            f"{'worst ack s':>11} {'sends':>6} {'refused':>7} {'reconnects':>10}",
        ]
        for f in self.faults:
            r = f.row()
            lines.append(
                f"{r['fault']:<28} {r['round']:>5} {r['duration_s']:>8} "
                f"{r['recovery_s'] if r['recovery_s'] is not None else 'never':>10} "
                f"{r['worst_ack_latency_s']!s:>11} {r['sends_in_window']:>6} "
                f"{r['refused']:>7} {r['reconnects']:>10}"
            )
        lat = self.figures()["ack_latency_s"]
        lines.append(f"send -> ack over the whole run (s): {lat}")
        lines.extend(f"PROBLEM: {p}" for p in self.problems[:50])
        return "\n".join(lines)


Fault = tuple[str, Callable[[], Awaitable[None]]]


class ChaosRun:
    """Populate the cluster, start the clients, play the faults, drain, check."""

    def __init__(self, cluster: SupervisedCluster, plan: Profile) -> None:
        self.cluster = cluster
        self.plan = plan
        self.clients: list[ChaosClient] = []
        self.results: list[FaultResult] = []

    def faults(self) -> list[Fault]:
        c, plan = self.cluster, self.plan

        async def kill(name: str) -> None:
            await c.kill(name)

        async def restart(name: str) -> None:
            await service("restart", name)

        async def stop_for(name: str, seconds: float) -> None:
            await service("down", name)
            try:
                await asyncio.sleep(seconds)  # the length of the outage is the fault itself
            finally:
                await service("up", name)

        return [
            ("gateway1 SIGKILL", lambda: kill("gateway1")),
            ("persister1 SIGKILL", lambda: kill("persister1")),
            ("Redis restart", lambda: restart("redis")),
            (f"Kafka stopped {plan.kafka_down:g} s", lambda: stop_for("kafka", plan.kafka_down)),
            (
                f"PostgreSQL stopped {plan.postgres_down:g} s",
                lambda: stop_for("postgres", plan.postgres_down),
            ),
            ("gateway2 graceful restart", lambda: c.restart("gateway2")),
        ]

    async def populate(self, http: aiohttp.ClientSession) -> None:
        plan, base = self.plan, self.cluster.url
        users = await register_users(base, plan.users, concurrency=8)
        step = max(1, plan.users // plan.rooms)
        groups = [
            sorted({(k * step + j) % plan.users for j in range(plan.room_size)})
            for k in range(plan.rooms)
        ]
        await create_rooms(base, users, groups, [], concurrency=4)
        ws_urls = [
            self.cluster.gateway_url(n).replace("http://", "ws://") + "/ws"
            for n in range(1, len(self.cluster.gateway_ports) + 1)
        ]
        self.clients = [
            ChaosClient(u, http, ws_urls, i % len(ws_urls)) for i, u in enumerate(users) if u.rooms
        ]

    async def run(self, http: aiohttp.ClientSession, say: Callable[[str], None]) -> Outcome:
        """The whole run within ``plan.deadline``; a client task that dies fails it at once."""
        plan = self.plan
        try:
            async with asyncio.timeout(plan.deadline):
                await self.populate(http)
                for client in self.clients:
                    client.start(plan.rate)
                history = await self.watched(self.play_all(http, say))
        except TimeoutError as exc:
            say(self.states())
            raise AssertionError(f"the chaos run took longer than {plan.deadline:g} s") from exc
        except BaseException:
            say(self.states())
            raise
        finally:
            await asyncio.gather(*(c.stop() for c in self.clients))
        outcome = Outcome(plan, self.results, [s for c in self.clients for s in c.sends], history)
        outcome.problems = self.check(history)
        return outcome

    async def play_all(
        self, http: aiohttp.ClientSession, say: Callable[[str], None]
    ) -> dict[str, list[dict[str, Any]]]:
        """Warm up, play every fault of every round, drain: the history of every room."""
        plan = self.plan
        async with asyncio.timeout(60):
            await asyncio.gather(*(c.ready.wait() for c in self.clients))
        await asyncio.sleep(plan.warmup)  # steady load before the first fault
        for round_ in range(1, plan.rounds + 1):
            for name, inject in self.faults():
                result = await self.play(name, round_, inject)
                say(f"{name}: recovery {result.recovery} s")
                await self.healthy()
                await asyncio.sleep(plan.settle)
        return await self.drain(http)

    async def watched(
        self, body: Coroutine[Any, Any, dict[str, list[dict[str, Any]]]]
    ) -> dict[str, list[dict[str, Any]]]:
        """``body``'s result, unless a client's task ends first: that fails the run with its
        exception (a client without its connection task would otherwise sit out the run)."""
        main = asyncio.ensure_future(body)
        tasks = [t for c in self.clients for t in c.tasks]
        try:
            await asyncio.wait([main, *tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not main.done():
                main.cancel()
                await asyncio.wait([main])
        if not main.cancelled() and main.exception() is None:
            return main.result()
        dead = [t for t in tasks if t.done()]
        if not dead:
            return main.result()  # raises body's exception
        task = dead[0]
        if task.cancelled() or task.exception() is None:
            raise RuntimeError(f"chaos client task {task.get_name()!r} ended")
        raise RuntimeError(f"chaos client task {task.get_name()!r} died") from task.exception()

    def states(self) -> str:
        return "\n".join(["chaos clients:", *(c.state() for c in self.clients)])

    async def play(
        self, name: str, round_: int, inject: Callable[[], Awaitable[None]]
    ) -> FaultResult:
        connects = sum(c.connects for c in self.clients)
        result = FaultResult(name, round_, start=now(), end=0.0)
        await inject()
        result.end = now()
        deadline = result.end + self.plan.recovery_limit
        while now() < deadline:
            result.recovered = self.recovered_at(result.end)
            if result.recovered is not None:
                break
            await asyncio.sleep(0.2)
        until = result.recovered if result.recovered is not None else now()
        window = [
            s
            for c in self.clients
            for s in c.sends
            if s.created <= until and (s.acked is None or s.acked >= result.start)
        ]
        result.sends = len(window)
        result.refused = sum(s.refused for s in window)
        result.reconnects = sum(c.connects for c in self.clients) - connects
        # Sends still unacked here are counted at the time of the drain (their ack comes later).
        result.worst_latency = max(((s.acked or now()) - s.created for s in window), default=None)
        self.results.append(result)
        return result

    def recovered_at(self, end: float) -> float | None:
        """When the last client had its first message written after ``end`` acked normally."""
        firsts = []
        for client in self.clients:
            normal = [
                s.acked
                for s in client.sends
                if s.created >= end
                and s.acked is not None
                and s.acked - s.created <= NORMAL_ACK_SECONDS
            ]
            if not normal:
                return None
            firsts.append(min(normal))
        return max(firsts)

    async def healthy(self) -> None:
        """Both gateways ready again (a killed one is restarted by the supervisor)."""
        for n in range(1, len(self.cluster.gateway_ports) + 1):
            await wait_ready(self.cluster.gateway_url(n), self.plan.recovery_limit)

    async def drain(self, http: aiohttp.ClientSession) -> dict[str, list[dict[str, Any]]]:
        """No new messages; every send acked; every client caught up with history."""
        for client in self.clients:
            client.talking = False

        async def all_acked() -> bool:
            return all(c.pending == 0 for c in self.clients)

        with contextlib.suppress(AssertionError):  # unacked sends are reported by check()
            await eventually(all_acked, self.plan.drain_timeout, "every send to be acked")
        history = {room: await self.history(http, room) for room in self.rooms()}

        async def caught_up() -> bool:
            return all(c.last_seq[r] >= len(history[r]) for c in self.clients for r in c.rooms)

        with contextlib.suppress(AssertionError):  # a client behind is reported by check()
            await eventually(caught_up, 30, "every client to have every message")
        return history

    def rooms(self) -> dict[str, ChaosClient]:
        """Each room and a member to read its history with."""
        members: dict[str, ChaosClient] = {}
        for client in self.clients:
            for room in client.rooms:
                members.setdefault(room, client)
        return members

    async def history(self, http: aiohttp.ClientSession, room: str) -> list[dict[str, Any]]:
        token = self.rooms()[room].user.token
        out: list[dict[str, Any]] = []
        while True:
            async with http.get(
                f"{self.cluster.url}/api/rooms/{room}/messages",
                params={"after": str(len(out)), "limit": "100"},
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                assert response.status == 200, await response.text()
                page = await response.json()
            out += page["messages"]
            if not page["has_more"]:
                return out

    def check(self, history: dict[str, list[dict[str, Any]]]) -> list[str]:
        """Everything that breaks a guarantee, one line each (empty: all held)."""
        problems: list[str] = []
        for result in self.results:
            if result.recovered is None:
                problems.append(
                    f"{result.name} (round {result.round}): not recovered "
                    f"{self.plan.recovery_limit:g} s after it ended"
                )
        written = {s.client_id: s for c in self.clients for s in c.sends}
        for room, messages in history.items():
            seqs = [m["seq"] for m in messages]
            if seqs != list(range(1, len(seqs) + 1)):
                problems.append(f"room {room}: seq not contiguous: {seqs}")
            ids = [m["client_id"] for m in messages]
            if len(ids) != len(set(ids)):
                problems.append(f"room {room}: a client_id stored twice")
            problems += [f"room {room}: {i} was never sent" for i in ids if i not in written]
        stored = {(m["room"], m["seq"]): m for ms in history.values() for m in ms}
        for send in written.values():
            if send.message is None:
                problems.append(f"{send.client_id} never acked ({send.attempts} attempts)")
            elif stored.get((send.room, send.message["seq"])) != send.message:
                problems.append(f"{send.client_id}: ack {send.message} is not what history has")
        for client in self.clients:
            problems += client.problems
            for room in client.rooms:
                if client.seen[room] != history[room]:
                    problems.append(
                        f"{client.user.username} room {room}: saw seqs "
                        f"{[m['seq'] for m in client.seen[room]]}, history has {len(history[room])}"
                    )
        return problems
