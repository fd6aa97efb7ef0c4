"""Settings read from ``PARLEY_*`` environment variables.

One frozen object built at start-up and passed down explicitly, so a test can
run several servers with different settings in one process.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(ValueError):
    """A setting has a value Parley cannot use; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _networks(env: Mapping[str, str], name: str) -> tuple[Network, ...]:
    """A comma-separated list of addresses and CIDR blocks (``10.0.0.0/8, ::1``)."""
    found: list[Network] = []
    for item in env.get(name, "").split(","):
        if item.strip():
            try:
                found.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ConfigError(f"{name}: {item.strip()!r} is not an address or CIDR") from None
    return tuple(found)


def _metrics_token(env: Mapping[str, str]) -> str | None:
    token = env.get("PARLEY_METRICS_TOKEN") or None
    if token is not None and (len(token) < 16 or not token.isascii() or not token.isprintable()):
        raise ConfigError("PARLEY_METRICS_TOKEN must be at least 16 printable ASCII characters")
    return token


PERSISTER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A persister's name in its consumer group (Kafka's ``group.instance.id``)."""


def _persister_id(env: Mapping[str, str]) -> str | None:
    value = env.get("PARLEY_PERSISTER_ID") or None
    if value is not None and not PERSISTER_ID.fullmatch(value):
        raise ConfigError(
            "PARLEY_PERSISTER_ID must be 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit"
        )
    return value


PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_]{0,31}")
"""Names of sign-in providers: they appear in URLs and, upper-cased, in variable names."""
GITHUB = "github"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ProviderSettings:
    """One way to sign in with another service: an OpenID Connect provider, or GitHub.

    ``issuer`` is what the identities this provider vouches for are stored
    under (with the subject): an OpenID provider's issuer, or GitHub's address.
    The endpoints are looked up through OpenID discovery when not given.
    """

    name: str
    kind: Literal["oidc", "github"]
    display_name: str
    issuer: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    scopes: str = "openid profile email"
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    jwks_uri: str | None = None
    userinfo_endpoint: str | None = None


def _url(env: Mapping[str, str], name: str, *, required: bool = False) -> str | None:
    """An absolute https URL; http only on this machine (a test or development provider)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        if required:
            raise ConfigError(f"{name} is required")
        return None
    parts = urlsplit(raw)
    local = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if not (parts.scheme == "https" or local) or not parts.hostname or parts.fragment:
        raise ConfigError(
            f"{name} must be an https:// URL (http:// only on localhost), got {raw!r}"
        )
    return raw.rstrip("/")


def _otel_endpoint(env: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP collector's base URL: ``PARLEY_OTEL_ENDPOINT``, else the standard variable.

    Plain http is allowed anywhere: a collector is usually a sidecar or a
    service on the private network.
    """
    for name in ("PARLEY_OTEL_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        raw = (env.get(name) or "").strip()
        if not raw:
            continue
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ConfigError(f"{name} must be an http(s):// base URL, got {raw!r}")
        return raw.rstrip("/")
    return None


def _public_url(env: Mapping[str, str]) -> str | None:
    raw = (env.get("PARLEY_PUBLIC_URL") or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(
            f"PARLEY_PUBLIC_URL must be scheme://host[:port] with no path, got {raw!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _oidc_provider(env: Mapping[str, str], name: str) -> ProviderSettings:
    prefix = f"PARLEY_OIDC_{name.upper()}_"
    issuer = _url(env, prefix + "ISSUER", required=True)
    client_id = (env.get(prefix + "CLIENT_ID") or "").strip()
    if not issuer or not client_id:
        raise ConfigError(f"{prefix}CLIENT_ID is required")
    endpoints = {
        key: _url(env, prefix + key.upper())
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")
    }
    explicit = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if endpoints[k]]
    if explicit and len(explicit) < 3:
        raise ConfigError(
            f"{prefix}AUTHORIZATION_ENDPOINT, _TOKEN_ENDPOINT and _JWKS_URI go together "
            "(or leave all three out for discovery)"
        )
    scopes = env.get(prefix + "SCOPES") or "openid profile email"
    if "openid" not in scopes.split():
        raise ConfigError(f"{prefix}SCOPES must include openid")
    return ProviderSettings(
        name=name,
        kind="oidc",
        display_name=_label(env, prefix + "DISPLAY_NAME", name.replace("_", " ").title()),
        issuer=issuer,
        client_id=client_id,
        client_secret=env.get(prefix + "CLIENT_SECRET") or None,
        scopes=scopes,
        **endpoints,
    )


def _github(env: Mapping[str, str]) -> ProviderSettings | None:
    client_id = (env.get("PARLEY_GITHUB_CLIENT_ID") or "").strip()
    if not client_id:
        return None
    secret = env.get("PARLEY_GITHUB_CLIENT_SECRET") or None
    if secret is None:
        raise ConfigError("PARLEY_GITHUB_CLIENT_SECRET is required with PARLEY_GITHUB_CLIENT_ID")
    web = _url(env, "PARLEY_GITHUB_URL") or "https://github.com"
    api = _url(env, "PARLEY_GITHUB_API_URL") or "https://api.github.com"
    return ProviderSettings(
        name=GITHUB,
        kind="github",
        display_name=_label(env, "PARLEY_GITHUB_DISPLAY_NAME", "GitHub"),
        issuer=web,
        client_id=client_id,
        client_secret=secret,
        scopes="read:user",
        authorization_endpoint=f"{web}/login/oauth/authorize",
        token_endpoint=f"{web}/login/oauth/access_token",
        userinfo_endpoint=f"{api}/user",
    )


def _label(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).strip()
    if not 1 <= len(value) <= 64 or not value.isprintable():
        raise ConfigError(f"{name} must be 1 to 64 printable characters")
    return value


def _oauth_providers(env: Mapping[str, str]) -> tuple[ProviderSettings, ...]:
    """``PARLEY_OIDC_PROVIDERS=a,b`` with ``PARLEY_OIDC_A_*`` settings each, then GitHub."""
    found: list[ProviderSettings] = []
    for raw in (env.get("PARLEY_OIDC_PROVIDERS") or "").split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if not PROVIDER_NAME.fullmatch(name) or name == GITHUB:
            raise ConfigError(
                f"PARLEY_OIDC_PROVIDERS: {raw.strip()!r} must be 1 to 32 of a-z, 0-9, _ "
                f"(and not {GITHUB!r}, which PARLEY_GITHUB_* configures)"
            )
        if any(p.name == name for p in found):
            raise ConfigError(f"PARLEY_OIDC_PROVIDERS names {name!r} twice")
        found.append(_oidc_provider(env, name))
    github = _github(env)
    if github is not None:
        found.append(github)
    if found and not _public_url(env):
        raise ConfigError("sign-in providers need PARLEY_PUBLIC_URL (their redirect URIs)")
    return tuple(found)


def normalise_database_url(url: str) -> str:
    """Map the user-facing URL schemes to the async drivers Parley uses."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://")):
        return url
    raise ConfigError(
        f"PARLEY_DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}"
    )


def _secret_key(data_dir: Path, env: Mapping[str, str]) -> str:
    """Use PARLEY_SECRET_KEY, or one generated once and kept so tokens survive restarts."""
    configured = env.get("PARLEY_SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ConfigError("PARLEY_SECRET_KEY must be at least 32 characters")
        return configured
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


SmtpSecurity = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpSettings:
    """Where notification e-mail goes; no host: e-mail is off."""

    host: str | None = None
    port: int = 587
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "Parley <parley@localhost>"


def _smtp(env: Mapping[str, str]) -> SmtpSettings:
    security = env.get("PARLEY_SMTP_SECURITY", "starttls")
    if security not in ("none", "starttls", "tls"):
        raise ConfigError("PARLEY_SMTP_SECURITY must be none, starttls or tls")
    return SmtpSettings(
        host=env.get("PARLEY_SMTP_HOST") or None,
        port=_int(env, "PARLEY_SMTP_PORT", 587, 1, 65535),
        security=cast(SmtpSecurity, security),
        username=env.get("PARLEY_SMTP_USERNAME") or None,
        password=env.get("PARLEY_SMTP_PASSWORD") or None,
        sender=env.get("PARLEY_SMTP_FROM") or "Parley <parley@localhost>",
    )


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {raw!r}")


def _vapid_private_key(data_dir: Path, env: Mapping[str, str]) -> str:
    """PARLEY_VAPID_PRIVATE_KEY, or one generated once and kept in the data dir (mode 0600).

    Kept because every browser subscribed with the public half: a new key would silently
    orphan every subscription. A cluster's gateways and workers must share one key (set it).
    """
    from py_vapid import Vapid02  # imported here: only the push channel needs it otherwise

    configured = (env.get("PARLEY_VAPID_PRIVATE_KEY") or "").strip()
    if configured:
        try:
            Vapid02.from_string(configured)
        except Exception:
            raise ConfigError(
                "PARLEY_VAPID_PRIVATE_KEY must be a P-256 private key, base64url (raw 32 bytes "
                "or DER)"
            ) from None
        return configured
    path = data_dir / "vapid_private_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    vapid = Vapid02()
    vapid.generate_keys()
    raw = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    key = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def _vapid_subject(env: Mapping[str, str]) -> str:
    """RFC 8292's contact for the push services' operators: a mailto: or https: URL."""
    raw = (env.get("PARLEY_VAPID_SUBJECT") or "").strip()
    if not raw:
        return _public_url(env) or "mailto:parley@localhost"
    parts = urlsplit(raw)
    if (
        len(raw) > 255
        or not raw.isprintable()
        or not (
            (parts.scheme == "mailto" and "@" in parts.path)
            or (parts.scheme == "https" and parts.hostname)
        )
    ):
        raise ConfigError(f"PARLEY_VAPID_SUBJECT must be a mailto: or https: URL, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".parley")
    database_url: str = "sqlite+aiosqlite:///.parley/parley.db"
    redis_url: str | None = None
    kafka_bootstrap: str | None = None
    kafka_topic: str = "parley.messages"
    kafka_group: str = "parley-persister"
    kafka_dead_letter_topic: str = "parley.messages.dlq"
    notify_group: str = "parley-notify"
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    worker_metrics_port: int | None = None
    persister_id: str | None = None
    secret_key: str = field(default="", repr=False)
    web_dir: Path | None = None
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    login_max_failures: int = 5
    login_window_seconds: int = 300
    auth_address_limit: int = 30
    auth_address_window_seconds: int = 60
    refresh_grace_seconds: int = 10
    trusted_proxies: tuple[Network, ...] = ()
    metrics_token: str | None = field(default=None, repr=False)
    public_url: str | None = None
    oauth_providers: tuple[ProviderSettings, ...] = ()
    send_rate_per_second: float = 10.0
    send_burst: int = 30
    typing_limit: int = 20
    typing_window_seconds: int = 10
    room_create_limit: int = 10
    room_create_window_seconds: int = 60
    member_add_limit: int = 30
    member_add_window_seconds: int = 60
    frame_rate_per_second: float = 50.0
    frame_burst: int = 200
    outgoing_queue_bytes: int = 4 * 1024 * 1024
    resume_cap: int = 500
    typing_max_members: int = 100
    presence_push_max_members: int = 100
    auth_timeout_seconds: float = 10.0
    ack_timeout_seconds: float = 10.0
    presence_ttl_seconds: int = 30
    gc_sweep_interval_seconds: float = 300.0
    otel_endpoint: str | None = None
    """Where traces go (OTLP/HTTP); None: tracing off (``parley.tracing``)."""
    gateway_id: str = field(default_factory=lambda: secrets.token_hex(4))
    files_dir: Path = Path(".parley/files")
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str | None = field(default=None, repr=False)
    s3_secret_key: str | None = field(default=None, repr=False)
    s3_prefix: str = ""
    max_upload_bytes: int = 25 * 1024 * 1024
    upload_ttl_seconds: int = 3600
    """An upload not attached to a message within this long is deleted."""
    upload_sweep_seconds: float = 300.0
    vapid_private_key: str = field(default="", repr=False)
    vapid_subject: str = "mailto:parley@localhost"
    push_ttl_seconds: int = 24 * 3600
    push_allow_private: bool = False

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("PARLEY_DATA_DIR", ".parley"))
        db_url = env.get("PARLEY_DATABASE_URL") or f"sqlite:///{data_dir / 'parley.db'}"
        web_dir_raw = env.get("PARLEY_WEB_DIR")
        web_dir = Path(web_dir_raw) if web_dir_raw else _default_web_dir()
        return cls(
            host=env.get("PARLEY_HOST", "127.0.0.1"),
            port=_int(env, "PARLEY_PORT", 8000, 0, 65535),
            data_dir=data_dir,
            database_url=normalise_database_url(db_url),
            redis_url=env.get("PARLEY_REDIS_URL") or None,
            kafka_bootstrap=env.get("PARLEY_KAFKA_BOOTSTRAP") or None,
            kafka_topic=env.get("PARLEY_KAFKA_TOPIC", "parley.messages"),
            kafka_group=env.get("PARLEY_KAFKA_GROUP", "parley-persister"),
            kafka_dead_letter_topic=env.get("PARLEY_KAFKA_DEAD_LETTER_TOPIC")
            or env.get("PARLEY_KAFKA_TOPIC", "parley.messages") + ".dlq",
            worker_metrics_port=_int(env, "PARLEY_WORKER_METRICS_PORT", 0, 0, 65535)
            if env.get("PARLEY_WORKER_METRICS_PORT")
            else None,
            persister_id=_persister_id(env),
            secret_key=_secret_key(data_dir, env),
            web_dir=web_dir,
            access_token_ttl=_int(env, "PARLEY_ACCESS_TOKEN_TTL", 900, 5, 86400),
            refresh_token_ttl=_int(env, "PARLEY_REFRESH_TOKEN_TTL", 30 * 24 * 3600, 60, 10**8),
            argon2_time_cost=_int(env, "PARLEY_ARGON2_TIME_COST", 3, 1, 20),
            argon2_memory_kib=_int(env, "PARLEY_ARGON2_MEMORY_KIB", 65536, 8, 4 * 1024 * 1024),
            login_max_failures=_int(env, "PARLEY_LOGIN_MAX_FAILURES", 5, 1, 1000),
            login_window_seconds=_int(env, "PARLEY_LOGIN_WINDOW", 300, 1, 86400),
            auth_address_limit=_int(env, "PARLEY_AUTH_ADDRESS_LIMIT", 30, 1, 10**6),
            auth_address_window_seconds=_int(env, "PARLEY_AUTH_ADDRESS_WINDOW", 60, 1, 86400),
            refresh_grace_seconds=_int(env, "PARLEY_REFRESH_GRACE", 10, 0, 60),
            trusted_proxies=_networks(env, "PARLEY_TRUSTED_PROXIES"),
            metrics_token=_metrics_token(env),
            public_url=_public_url(env),
            oauth_providers=_oauth_providers(env),
            send_rate_per_second=_float(env, "PARLEY_SEND_RATE", 10.0, 0.1, 1e6),
            send_burst=_int(env, "PARLEY_SEND_BURST", 30, 1, 10**6),
            typing_limit=_int(env, "PARLEY_TYPING_LIMIT", 20, 1, 10**6),
            typing_window_seconds=_int(env, "PARLEY_TYPING_WINDOW", 10, 1, 86400),
            room_create_limit=_int(env, "PARLEY_ROOM_CREATE_LIMIT", 10, 1, 10**6),
            room_create_window_seconds=_int(env, "PARLEY_ROOM_CREATE_WINDOW", 60, 1, 86400),
            member_add_limit=_int(env, "PARLEY_MEMBER_ADD_LIMIT", 30, 1, 10**6),
            member_add_window_seconds=_int(env, "PARLEY_MEMBER_ADD_WINDOW", 60, 1, 86400),
            frame_rate_per_second=_float(env, "PARLEY_FRAME_RATE", 50.0, 1.0, 1e6),
            frame_burst=_int(env, "PARLEY_FRAME_BURST", 200, 1, 10**6),
            outgoing_queue_bytes=_int(
                env, "PARLEY_OUTGOING_QUEUE_BYTES", 4 * 1024 * 1024, 1024 * 1024, 2**31
            ),
            resume_cap=_int(env, "PARLEY_RESUME_CAP", 500, 500, 100_000),
            typing_max_members=_int(env, "PARLEY_TYPING_MAX_MEMBERS", 100, 0, 10**6),
            presence_push_max_members=_int(env, "PARLEY_PRESENCE_PUSH_MAX_MEMBERS", 100, 0, 10**6),
            auth_timeout_seconds=_float(env, "PARLEY_AUTH_TIMEOUT", 10.0, 0.1, 600),
            ack_timeout_seconds=_float(env, "PARLEY_ACK_TIMEOUT", 10.0, 0.1, 600),
            presence_ttl_seconds=_int(env, "PARLEY_PRESENCE_TTL", 30, 2, 3600),
            gc_sweep_interval_seconds=_float(env, "PARLEY_GC_SWEEP_INTERVAL", 300.0, 0, 86400),
            otel_endpoint=_otel_endpoint(env),
            gateway_id=env.get("PARLEY_GATEWAY_ID") or secrets.token_hex(4),
            files_dir=Path(env.get("PARLEY_FILES_DIR") or data_dir / "files"),
            s3_endpoint=env.get("PARLEY_S3_ENDPOINT") or None,
            s3_bucket=env.get("PARLEY_S3_BUCKET") or None,
            s3_region=env.get("PARLEY_S3_REGION") or "us-east-1",
            s3_access_key=env.get("PARLEY_S3_ACCESS_KEY") or None,
            s3_secret_key=env.get("PARLEY_S3_SECRET_KEY") or None,
            s3_prefix=env.get("PARLEY_S3_PREFIX", ""),
            max_upload_bytes=_int(
                env, "PARLEY_MAX_UPLOAD_BYTES", 25 * 1024 * 1024, 1024, 5 * 1024**3
            ),
            upload_ttl_seconds=_int(env, "PARLEY_UPLOAD_TTL", 3600, 1, 30 * 86400),
            upload_sweep_seconds=_float(env, "PARLEY_UPLOAD_SWEEP_INTERVAL", 300.0, 0.05, 86400),
            notify_group=env.get("PARLEY_NOTIFY_GROUP", "parley-notify"),
            smtp=_smtp(env),
            vapid_private_key=_vapid_private_key(data_dir, env),
            vapid_subject=_vapid_subject(env),
            push_ttl_seconds=_int(env, "PARLEY_PUSH_TTL", 24 * 3600, 0, 28 * 24 * 3600),
            push_allow_private=_flag(env, "PARLEY_PUSH_ALLOW_PRIVATE"),
        )


def _default_web_dir() -> Path | None:
    """The built web UI of a source checkout, when it exists."""
    candidate = Path(__file__).resolve().parents[2] / "web" / "dist"
    return candidate if candidate.is_dir() else None
