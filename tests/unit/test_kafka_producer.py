"""The Kafka log's pure parts, with no broker."""

from __future__ import annotations

from parley.log.kafka.producer import generated_client_id


def test_generated_client_ids_are_unique_and_fit_the_limit() -> None:
    ids = {generated_client_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(1 <= len(i) <= 64 and i.startswith("~") for i in ids)
