"""The overview figures: percentiles from histogram buckets, rates per interval, the boards."""

from __future__ import annotations

import dataclasses

import pytest

from parley.figures import GatewayFigures, LocalBoard, Sampler
from parley.figures.base import percentile
from parley.metrics import Metrics


def test_a_percentile_is_the_bound_of_the_bucket_it_falls_in() -> None:
    buckets = [(0.01, 50.0), (0.1, 95.0), (1.0, 99.0), (float("inf"), 100.0)]
    assert percentile(buckets, 0.5) == 0.01
    assert percentile(buckets, 0.95) == 0.1
    assert percentile(buckets, 0.99) == 1.0
    assert percentile(buckets, 1.0) == float("inf")
    assert percentile([(0.01, 0.0), (float("inf"), 0.0)], 0.5) is None
    assert percentile([], 0.5) is None


def test_the_sampler_reports_the_last_interval_not_the_whole_run() -> None:
    metrics = Metrics(lambda: 0, lambda: 0)
    sampler = Sampler("gw-a", metrics, lambda: 3, lambda: 2)
    for _ in range(10):
        metrics.messages_stored.inc()
        metrics.ack_latency.observe(0.003)
    first = sampler.sample()
    assert (first.gateway, first.connections, first.users) == ("gw-a", 3, 2)
    assert first.messages_stored == 10 and first.messages_per_second > 0
    assert first.ack_ms == {"p50": 5.0, "p95": 5.0, "p99": 5.0}
    metrics.ack_latency.observe(0.2)
    metrics.ack_latency.observe(60)  # past the last bound: reported as the largest bound
    metrics.send_errors.labels("forbidden").inc()
    second = sampler.sample()
    assert second.ack_ms == {"p50": 250.0, "p95": 10_000.0, "p99": 10_000.0}
    assert second.messages_per_second == 0 and second.send_errors == 1
    assert sampler.sample().ack_ms == {"p50": None, "p95": None, "p99": None}
    assert GatewayFigures.from_json(second.to_json()) == second


@pytest.mark.parametrize("ttl", [60.0, -1.0])
async def test_the_local_board_keeps_the_latest_figures_while_live(ttl: float) -> None:
    board = LocalBoard()
    assert await board.gateways() == []
    sample = Sampler("gw", Metrics(lambda: 0, lambda: 0), lambda: 1, lambda: 1).sample()
    await board.publish(sample, 60.0)
    newer = dataclasses.replace(sample, connections=5)
    await board.publish(newer, ttl)
    assert await board.gateways() == ([newer] if ttl > 0 else [])
