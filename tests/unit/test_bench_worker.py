"""The bench load client's round bookkeeping: when a fan-out round counts as complete.

A round is complete when every connection of a worker has received every message.
The driver sends each worker its ``fanout`` command separately, so on a busy machine
another worker's publishers can already be sending while this worker has not read
its own command yet. These tests feed deliveries to real ``Conn`` objects in exactly
those orders, without sockets, and check that the wait ends as soon as the work is
done rather than by running into its timeout.
"""

from __future__ import annotations

import json
import os

import pytest

if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
    pytest.importorskip("picows", reason="the bench group is not installed (uv sync --group bench)")

from bench.worker import Conn, Worker, run_fanout

ROOM = "7"


def worker(members: int) -> Worker:
    w = Worker({"proto": "parley", "url": "ws://unused"})
    w.conns = [Conn(w, {"user": f"u{i}", "token": "t", "sample": False}) for i in range(members)]
    return w


def deliver(c: Conn, seqs: range) -> None:
    for seq in seqs:
        c._message(
            b'{"type":"message","message":{"room":"%s","seq":%d,"body":"x"}}' % (ROOM.encode(), seq)
        )


async def fanout(w: Worker, expect: int, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    """Run the worker's side of a round with no publishers of its own; return DONE."""
    cmd = {"cmd": "fanout", "room": ROOM, "publishers": [], "count": 0, "expect": expect}
    await run_fanout(w, {**cmd, "timeout": 2})
    kind, _, doc = capsys.readouterr().out.strip().partition(" ")
    assert kind == "DONE"
    result: dict[str, object] = json.loads(doc)
    return result


async def test_deliveries_before_the_command_count(capsys: pytest.CaptureFixture[str]) -> None:
    """Every message arrived before this worker read its command: complete at once."""
    w = worker(3)
    w.reset()
    for c in w.conns:
        deliver(c, range(1, 11))
    done = await fanout(w, 10, capsys)
    assert done["errors"] == {}
    assert done["complete"] == 3
    assert done["received"] == 30
    assert w.all_received.is_set()


async def test_deliveries_on_both_sides_of_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    w = worker(2)
    w.reset()
    deliver(w.conns[0], range(1, 5))
    w.expect_deliveries(10)
    assert not w.all_received.is_set()
    deliver(w.conns[0], range(5, 11))
    assert not w.all_received.is_set()
    deliver(w.conns[1], range(1, 11))
    assert w.all_received.is_set()
    assert w.complete == 2


async def test_reset_forgets_the_previous_round(capsys: pytest.CaptureFixture[str]) -> None:
    """A warm-up round's deliveries never complete the measured round."""
    w = worker(1)
    w.reset()
    w.expect_deliveries(5)
    deliver(w.conns[0], range(1, 6))
    assert w.all_received.is_set()
    w.reset()
    assert not w.all_received.is_set()
    w.expect_deliveries(5)
    assert not w.all_received.is_set()
    deliver(w.conns[0], range(6, 11))
    assert w.all_received.is_set()


async def test_a_missing_delivery_still_times_out(capsys: pytest.CaptureFixture[str]) -> None:
    w = worker(2)
    w.reset()
    deliver(w.conns[0], range(1, 4))
    deliver(w.conns[1], range(1, 3))
    done = await fanout(w, 3, capsys)
    assert done["errors"] == {"timeout": 1}
    assert done["complete"] == 1
