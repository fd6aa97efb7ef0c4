from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from typing import Literal

import pytest
from prometheus_client import generate_latest

from parley.gcpolicy import PAUSE_BUCKETS, GcCallback, GcPolicy, PauseStats
from parley.metrics import Metrics


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeGc:
    """Records what the policy asks of the collector; ``run`` plays one collection."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.callbacks: list[GcCallback] = []
        self.calls: list[str] = []
        self.frozen = 0
        self.unreachable = 0
        self.collect_takes = 0.5

    def run(self, generation: int, seconds: float) -> None:
        self.notify("start", generation)
        self.clock.now += seconds
        self.notify("stop", generation)

    def notify(self, phase: Literal["start", "stop"], generation: int) -> None:
        for callback in list(self.callbacks):
            callback(phase, {"generation": generation, "collected": 0, "uncollectable": 0})

    def freeze(self) -> None:
        self.calls.append("freeze")

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")

    def collect(self, generation: int = 2) -> int:
        self.calls.append(f"collect {generation}")
        self.run(generation, self.collect_takes)
        return self.unreachable

    def get_freeze_count(self) -> int:
        return self.frozen


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeGc:
    return FakeGc(clock)


def test_install_sweeps_once_then_times_each_generation(clock: Clock, fake: FakeGc) -> None:
    policy = GcPolicy(gc_module=fake, clock=clock)
    policy.install()
    assert policy.installed
    # The start-up sweep: unfreeze, a full collection (the callback freezes), freeze.
    assert fake.calls == ["unfreeze", "collect 2", "freeze", "freeze"]
    fake.calls.clear()

    fake.run(0, 0.00003)
    fake.run(1, 0.002)
    assert fake.calls == []  # young collections are only timed
    fake.run(2, 0.2)
    assert fake.calls == ["freeze"]  # a full collection's survivors are frozen

    assert policy.pauses[0].count == 1 and policy.pauses[0].longest == pytest.approx(0.00003)
    assert policy.pauses[1].total == pytest.approx(0.002)
    assert policy.pauses[2].count == 2  # the sweep's collection and this one
    assert policy.pauses[2].longest == pytest.approx(0.5)


def test_without_freezing_it_only_times(clock: Clock, fake: FakeGc) -> None:
    policy = GcPolicy(freeze=False, gc_module=fake, clock=clock)
    policy.install()
    fake.run(2, 1.0)
    assert fake.calls == []
    assert policy.pauses[2].count == 1 and policy.pauses[2].total == pytest.approx(1.0)
    policy.uninstall()
    assert fake.calls == [] and not fake.callbacks


def test_a_stop_without_a_start_is_not_timed(clock: Clock, fake: FakeGc) -> None:
    policy = GcPolicy(freeze=False, gc_module=fake, clock=clock)
    policy.install()  # as when installed from inside a collection's callbacks
    fake.notify("stop", 1)
    assert policy.pauses[1].count == 0


def test_sweep_counts_what_it_found(clock: Clock, fake: FakeGc) -> None:
    policy = GcPolicy(gc_module=fake, clock=clock)
    policy.install()
    fake.unreachable = 70_000
    fake.collect_takes = 0.25
    assert policy.sweep() == 70_000
    assert (policy.sweeps, policy.swept_objects) == (2, 70_000)
    assert policy.last_sweep_seconds == pytest.approx(0.25)


def test_uninstall_removes_the_callback_and_unfreezes(clock: Clock, fake: FakeGc) -> None:
    policy = GcPolicy(gc_module=fake, clock=clock)
    policy.install()
    policy.install()  # idempotent: one callback
    assert len(fake.callbacks) == 1
    fake.calls.clear()
    policy.uninstall()
    assert fake.callbacks == [] and fake.calls == ["unfreeze"]
    fake.run(2, 0.1)
    assert fake.calls == ["unfreeze"]


async def test_the_timer_sweeps_every_interval_until_stopped(clock: Clock, fake: FakeGc) -> None:
    policy = GcPolicy(gc_module=fake, clock=clock)
    with pytest.raises(ValueError):
        policy.start(0)
    policy.install()
    policy.start(0.01)
    for _ in range(200):
        if policy.sweeps >= 3:
            break
        await asyncio.sleep(0.01)
    assert policy.sweeps >= 3
    policy.uninstall()
    done = policy.sweeps
    await asyncio.sleep(0.05)
    assert policy.sweeps == done


def test_pause_stats_are_a_cumulative_histogram() -> None:
    stats = PauseStats(bounds=(0.001, 0.01))
    for seconds in (0.0005, 0.001, 0.005, 3.0):
        stats.observe(seconds)
    assert stats.cumulative() == [(0.001, 2), (0.01, 3), (float("inf"), 4)]
    assert stats.count == 4 and stats.longest == 3.0
    assert len(PauseStats().counts) == len(PAUSE_BUCKETS) + 1


def test_metrics_show_pauses_per_generation(clock: Clock, fake: FakeGc) -> None:
    policy = GcPolicy(gc_module=fake, clock=clock)
    policy.install()
    fake.run(0, 0.00002)
    text = generate_latest(Metrics(lambda: 0, lambda: 0, policy).registry).decode()
    assert 'parley_gc_pause_seconds_bucket{generation="0",le="0.0001"} 1.0' in text
    assert 'parley_gc_pause_seconds_bucket{generation="2",le="0.25"} 0.0' in text
    assert 'parley_gc_pause_seconds_bucket{generation="2",le="0.5"} 1.0' in text
    assert 'parley_gc_pause_seconds_count{generation="1"} 0.0' in text
    assert "parley_gc_sweeps_total 1.0" in text
    without = generate_latest(Metrics(lambda: 0, lambda: 0).registry).decode()
    assert "parley_gc_" not in without  # in-process test servers install no policy


# With the real collector: the leak the sweep exists for, and that the sweep ends it.


class Node:
    """Garbage only the cycle collector can free, like a closed connection's objects."""

    def __init__(self) -> None:
        self.me = self


def cycles(n: int) -> tuple[list[Node], list[weakref.ref[Node]]]:
    nodes = [Node() for _ in range(n)]
    return nodes, [weakref.ref(node) for node in nodes]


def alive(refs: list[weakref.ref[Node]]) -> int:
    return sum(ref() is not None for ref in refs)


@pytest.fixture
def real_policy() -> Iterator[GcPolicy]:
    policy = GcPolicy()
    try:
        yield policy
    finally:
        policy.uninstall()  # hands everything frozen back to the collector
        gc.collect()


def test_frozen_cyclic_garbage_leaks_until_the_sweep(real_policy: GcPolicy) -> None:
    nodes, refs = cycles(100)
    real_policy.install()  # its sweep freezes everything alive, the nodes too
    assert real_policy.frozen >= 100
    del nodes
    gc.collect()  # an ordinary full collection does not look at frozen objects
    assert alive(refs) == 100
    found = real_policy.sweep()
    assert alive(refs) == 0 and found >= 100
    assert real_policy.swept_objects >= found


async def test_the_periodic_sweep_reclaims_frozen_garbage(real_policy: GcPolicy) -> None:
    real_policy.install()
    nodes, refs = cycles(100)
    gc.collect()  # a full collection while they are alive: frozen by the callback
    del nodes
    gc.collect()
    assert alive(refs) == 100
    real_policy.start(0.02)
    for _ in range(250):
        if not alive(refs):
            break
        await asyncio.sleep(0.02)
    assert alive(refs) == 0
