"""The Web Push channel's pure parts: endpoint and key checks, the payload, the settings."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from parley.config import ConfigError, Settings
from parley.models import User
from parley.notify.base import Notification, Reason
from parley.notify.webpush import (
    MAX_PAYLOAD,
    PublicResolver,
    endpoint_problem,
    payload,
    public_key,
    topic,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://web.push.apple.com/QGx",
        "https://8.8.8.8/push",
    ],
)
def test_public_https_endpoints_pass(url: str) -> None:
    assert endpoint_problem(url, allow_private=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/push/a",
        "https://127.0.0.1/push",
        "https://169.254.169.254/latest/meta-data",
        "https://192.168.1.1/",
        "https://[fd00::1]/",
        "https://localhost/x",
        "https://printer.local/x",
        "https://metadata.google.internal/x",
        "https://a.b/x#frag",
        "https:///x",
        "https://a.b:0x50/x",
        "https://J[",
    ],
)
def test_private_or_odd_endpoints_are_refused(url: str) -> None:
    assert endpoint_problem(url, allow_private=False) is not None


def test_allow_private_opens_http_on_loopback_only() -> None:
    assert endpoint_problem("http://127.0.0.1:8080/push/a", allow_private=True) is None
    assert endpoint_problem("https://10.0.0.1/push/a", allow_private=True) is None
    assert endpoint_problem("http://push.example.com/a", allow_private=True) is not None


async def test_the_resolver_refuses_names_of_private_addresses() -> None:
    resolver = PublicResolver()
    try:
        with pytest.raises(OSError, match="no public address"):
            await resolver.resolve("localhost", 443)
    finally:
        await resolver.close()


def test_topic_is_short_base64url_and_stable() -> None:
    assert topic("1:2:3:push") == topic("1:2:3:push") != topic("1:2:4:push")
    assert len(topic("1:2:3:push")) == 32
    assert set(topic("1:2:3:push")) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_a_long_excerpt_is_cut_to_fit_a_push() -> None:
    sent = Notification(
        1, 2, 3, Reason.DIRECT, User(2, "bob", "Bob"), None, "🎉" * 4000, datetime.now(UTC)
    )
    encoded = payload(sent)
    assert len(encoded) <= MAX_PAYLOAD
    assert orjson.loads(encoded)["body"].endswith("…")


def test_the_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)})
    again = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)})
    assert first.vapid_private_key == again.vapid_private_key
    assert stat.S_IMODE((tmp_path / "vapid_private_key").stat().st_mode) == 0o600
    assert len(public_key(first.vapid_private_key)) == 87
    assert first.vapid_subject == "mailto:parley@localhost"
    assert not first.push_allow_private and first.push_ttl_seconds == 86400


def test_push_settings(tmp_path: Path) -> None:
    key = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)}).vapid_private_key
    env = {
        "PARLEY_DATA_DIR": str(tmp_path / "other"),
        "PARLEY_VAPID_PRIVATE_KEY": key,
        "PARLEY_VAPID_SUBJECT": "https://chat.example.com",
        "PARLEY_PUSH_TTL": "60",
        "PARLEY_PUSH_ALLOW_PRIVATE": "yes",
    }
    found = Settings.from_env(env)
    assert (
        found.vapid_private_key == key and not (tmp_path / "other" / "vapid_private_key").exists()
    )
    assert (found.vapid_subject, found.push_ttl_seconds, found.push_allow_private) == (
        "https://chat.example.com",
        60,
        True,
    )
    for name, value in [
        ("PARLEY_VAPID_PRIVATE_KEY", "not-a-key"),
        ("PARLEY_VAPID_SUBJECT", "ops@example.com"),
        ("PARLEY_VAPID_SUBJECT", "http://chat.example.com"),
        ("PARLEY_PUSH_TTL", "-1"),
        ("PARLEY_PUSH_ALLOW_PRIVATE", "maybe"),
    ]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({**env, name: value})
