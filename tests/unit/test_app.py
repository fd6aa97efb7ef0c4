"""The composition root: which settings pick which parts."""

from __future__ import annotations

import pytest

from parley.app import components, persister
from parley.config import ConfigError, Settings


def test_kafka_needs_redis() -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:1", secret_key="x" * 32)
    with pytest.raises(ConfigError, match="PARLEY_REDIS_URL"):
        components(settings)


def test_the_persister_needs_kafka_and_redis() -> None:
    with pytest.raises(ConfigError, match="PARLEY_KAFKA_BOOTSTRAP"):
        persister(Settings(redis_url="redis://127.0.0.1:1/0", secret_key="x" * 32))
