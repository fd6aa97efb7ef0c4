from __future__ import annotations

import re
from pathlib import Path

import pytest

from parley.api.accounts import Accounts
from parley.api.files import FilesApi
from parley.api.notifications import NotificationsApi
from parley.api.openapi import document
from parley.api.profiles import Profiles
from parley.api.push import PushApi
from parley.api.reads import ReadsApi
from parley.api.rooms import RoomsApi
from parley.api.routes import Api
from parley.config import ConfigError, Settings, normalise_database_url
from parley.protocol.errors import not_found


def test_openapi_describes_exactly_the_api_routes() -> None:
    defined = [
        *Api.__new__(Api).routes(),
        *RoomsApi.__new__(RoomsApi).routes(),
        *Accounts.__new__(Accounts).routes(),
        *ReadsApi.__new__(ReadsApi).routes(),
        *FilesApi.__new__(FilesApi).routes(),
        *Profiles.__new__(Profiles).routes(),
        *NotificationsApi.__new__(NotificationsApi).routes(),
        *PushApi.__new__(PushApi).routes(),
    ]
    routes = {(r.method.lower(), re.sub(r"\{(\w+):[^}]*\}", r"{\1}", r.path)) for r in defined}
    documented = {(m, p) for p, ops in document()["paths"].items() for m in ops}
    assert documented == routes


def test_not_found_hides_whether_the_room_exists() -> None:
    assert not_found("c").message == "no such room, or you are not a member"
    assert not_found("c").client_id == "c"


def test_settings_from_env(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PARLEY_DATA_DIR": str(tmp_path),
            "PARLEY_PORT": "9000",
            "PARLEY_DATABASE_URL": "postgresql://u:p@h:5/db",
            "PARLEY_SEND_RATE": "2.5",
            "PARLEY_GC_SWEEP_INTERVAL": "0",
            "PARLEY_TRUSTED_PROXIES": "10.0.0.7, fd00::/8,192.168.1.0/24",
            "PARLEY_REFRESH_GRACE": "0",
            "PARLEY_PERSISTER_ID": "persister-2.eu",
        }
    )
    assert settings.persister_id == "persister-2.eu"
    assert [str(n) for n in settings.trusted_proxies] == [
        "10.0.0.7/32",
        "fd00::/8",
        "192.168.1.0/24",
    ]
    assert settings.refresh_grace_seconds == 0 and settings.metrics_token is None
    assert settings.port == 9000 and settings.send_rate_per_second == 2.5
    assert settings.gc_sweep_interval_seconds == 0
    assert settings.database_url == "postgresql+asyncpg://u:p@h:5/db"
    assert not settings.is_sqlite
    key = settings.secret_key
    assert len(key) >= 32
    assert Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)}).secret_key == key
    assert Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)}).is_sqlite
    assert Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)}).persister_id is None


@pytest.mark.parametrize(
    "env",
    [
        {"PARLEY_PORT": "http"},
        {"PARLEY_PORT": "70000"},
        {"PARLEY_SEND_RATE": "fast"},
        {"PARLEY_SEND_RATE": "0"},
        {"PARLEY_SECRET_KEY": "short"},
        {"PARLEY_DATABASE_URL": "mysql://x"},
        {"PARLEY_RESUME_CAP": "10"},
        {"PARLEY_TYPING_MAX_MEMBERS": "-1"},
        {"PARLEY_PRESENCE_PUSH_MAX_MEMBERS": "many"},
        {"PARLEY_GC_SWEEP_INTERVAL": "-1"},
        {"PARLEY_TRUSTED_PROXIES": "10.0.0.1, nginx"},
        {"PARLEY_METRICS_TOKEN": "too-short"},
        {"PARLEY_METRICS_TOKEN": "sixteen or more\nbut a newline"},
        {"PARLEY_REFRESH_GRACE": "61"},
        {"PARLEY_AUTH_ADDRESS_LIMIT": "0"},
        {"PARLEY_PERSISTER_ID": "two words"},
        {"PARLEY_PERSISTER_ID": "-starts-with-a-dash"},
        {"PARLEY_PERSISTER_ID": "p" * 65},
    ],
)
def test_bad_settings_name_the_variable(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path), **env})
    assert next(iter(env)) in str(caught.value)


def test_database_urls() -> None:
    assert normalise_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalise_database_url("postgres://a/b") == "postgresql+asyncpg://a/b"
