"""Records that can never be stored, through Kafka to PostgreSQL: dead-lettered, never blocking.

The gateways refuse NUL and control characters, so these records are produced
straight to the topic, as an older or buggy producer would have. The persister
is started only once everything is in Kafka, so the good and the bad records
arrive in one batch: the bad ones must not hold up the others.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from parley.log.kafka.records import encode_record
from parley.models import Draft, User, now_micros
from tests.cluster.test_failures import full_history, stopped
from tests.support.client import Client
from tests.support.cluster import Cluster, assert_contiguous, eventually, outcome, send_acked
from tests.support.server import OPERATOR, free_port
from tests.support.services import TEST_PARTITIONS, Topics

pytestmark = pytest.mark.cluster


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def records_in(bootstrap: str, topic: str) -> int:
    """How many records the topic holds (end minus beginning offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(TEST_PARTITIONS)]
        end = await consumer.end_offsets(parts)
        start = await consumer.beginning_offsets(parts)
        return sum(end[p] - start[p] for p in parts)
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        out: list[Any] = []
        async with asyncio.timeout(30):
            while len(out) < count:
                for items in (await consumer.getmany(timeout_ms=500)).values():
                    out += items
        return out
    finally:
        await consumer.stop()


async def persister_metrics(port: int) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics", headers=OPERATOR) as response,
    ):
        assert response.status == 200
        return await response.text()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in {text}")


async def test_records_the_database_refuses_are_dead_lettered_and_block_nothing(
    cluster: Cluster, http: aiohttp.ClientSession, topics: Topics
) -> None:
    env = cluster.env
    bootstrap, topic = env["PARLEY_KAFKA_BOOTSTRAP"], env["PARLEY_KAFKA_TOPIC"]
    dlq = f"{topic}.dlq"
    topics.created.append(dlq)  # the persister creates it; the session deletes it
    metrics_port = free_port()
    env["PARLEY_WORKER_METRICS_PORT"] = str(metrics_port)
    gw = await cluster.gateway(PARLEY_ACK_TIMEOUT="90")  # no persister yet: records wait
    ana = await Client(http, gw.url).register()
    bob = await Client(http, gw.url).register()
    room = (await ana.group("poison", bob))["id"]
    other = (await bob.group("elsewhere", ana))["id"]
    sock = await ana.connect()
    sender = User(int(ana.id), ana.username, ana.username)
    gateway_id = gw.env["PARLEY_GATEWAY_ID"]
    key = room.encode()

    def record(**changes: Any) -> bytes:
        draft = Draft(int(room), sender, "poison", None, now_micros())
        client_id = changes.pop("client_id", "p")
        return encode_record(Draft(**{**vars_of(draft), **changes}), client_id, gateway_id)

    poison = [
        (key, record(body="nul\x00body", client_id="p1")),
        (key, record(client_id="nul\x00id")),
        (str(2**63).encode(), record(room_id=2**63, client_id="p3")),
        (key, b"\xffnot a record"),
    ]
    good = [f"g{i}" for i in range(6)]
    for i, client_id in enumerate(good):
        await sock.send({"type": "send", "room": room, "body": f"good {i}", "client_id": client_id})
        if i < len(poison):
            await produce(bootstrap, topic, [poison[i]])
    # An HTTP send whose twin, with a NUL, reached Kafka first: the sender hears the refusal.
    twin_record = record(body="twin\x00", client_id="twin")
    await produce(bootstrap, topic, [(key, twin_record)])
    twin = asyncio.ensure_future(
        ana.call(
            "POST", f"/api/rooms/{room}/messages", {"body": "twin", "client_id": "twin"}, expect=422
        )
    )
    total = len(good) + len(poison) + 2

    async def all_in_kafka() -> bool:
        return await records_in(bootstrap, topic) == total

    await eventually(all_in_kafka, 30, f"{total} records in {topic}")
    await cluster.persister()

    acks = [await outcome(sock, client_id) for client_id in good]
    assert [a["type"] for a in acks] == ["ack"] * len(good), acks
    refused = await twin
    assert refused["error"]["code"] == "invalid_input"
    history = await full_history(ana, room)
    assert_contiguous(history, len(good) + 1)
    assert [m["client_id"] for m in history if m["client_id"] != "twin"] == good
    assert [a["message"] for a in acks] == [m for m in history if m["client_id"] != "twin"]

    dead = await read_all(bootstrap, dlq, len(poison) + 1)
    produced = {value for _, value in poison} | {twin_record}
    assert {d.value for d in dead} == produced
    for d in dead:
        headers = dict(d.headers)
        assert headers["parley.topic"] == topic.encode()
        assert int(headers["parley.partition"]) >= 0 and int(headers["parley.offset"]) >= 0
        assert headers["parley.error"]
    assert metric(await persister_metrics(metrics_port), "parley_persister_dead_letters_total") == 5

    # Later sends, in this room and in another, are stored as usual.
    assert (await send_acked(sock, room, "after", "a1"))["seq"] == len(good) + 2
    assert (await send_acked(sock, other, "elsewhere", "a2"))["seq"] == 1


def vars_of(draft: Draft) -> dict[str, Any]:
    return {f: getattr(draft, f) for f in draft.__dataclass_fields__}


MAX_SENDS = 200


async def test_a_database_outage_loses_nothing_and_dead_letters_nothing(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    metrics_port = free_port()
    cluster.env["PARLEY_WORKER_METRICS_PORT"] = str(metrics_port)
    gw = await cluster.gateway(PARLEY_ACK_TIMEOUT="60")
    await cluster.persister()
    ana = await Client(http, gw.url).register()
    room = (await ana.group("outage"))["id"]
    sock = await ana.connect()
    sent: list[str] = []
    enough = asyncio.Event()
    goal = 0

    async def stream() -> None:
        """A steady sender (20/s) until told to stop, never past 200 sends: the socket
        allows 256 awaiting their ack, and none is acked while the database is down."""
        while (not enough.is_set() or len(sent) < goal) and len(sent) < MAX_SENDS:
            client_id = f"m{len(sent)}"
            await sock.send(
                {"type": "send", "room": room, "body": client_id, "client_id": client_id}
            )
            sent.append(client_id)
            await asyncio.sleep(0.05)  # the load's pace, not synchronisation

    async def retries() -> float:
        text = await persister_metrics(metrics_port)
        return metric(text, "parley_persister_store_retries_total")

    sending = asyncio.ensure_future(stream())
    async with stopped("postgres"):

        async def retrying() -> bool:
            return await retries() > 0

        await eventually(retrying, 30, "the persister to retry against the stopped database")
        during = len(sent)

        async def more_sent() -> bool:
            return len(sent) >= min(during + 20, MAX_SENDS)

        await eventually(more_sent, 30, "sends while the database is down")
    goal = len(sent) + 20
    enough.set()
    await sending
    acks = [await outcome(sock, client_id, timeout=90) for client_id in sent]
    assert [a["type"] for a in acks] == ["ack"] * len(sent), [a for a in acks if a["type"] != "ack"]
    history = await full_history(ana, room)
    assert_contiguous(history, len(sent))
    assert history == [a["message"] for a in acks]
    text = await persister_metrics(metrics_port)
    assert metric(text, "parley_persister_dead_letters_total") == 0
