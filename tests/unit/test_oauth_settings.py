"""Sign-in providers from PARLEY_OIDC_* and PARLEY_GITHUB_* (``parley.config``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.config import ConfigError, Settings

BASE = {
    "PARLEY_PUBLIC_URL": "https://chat.example.com/",
    "PARLEY_OIDC_PROVIDERS": "corp, Google",
    "PARLEY_OIDC_CORP_ISSUER": "https://id.example.com/realms/corp/",
    "PARLEY_OIDC_CORP_CLIENT_ID": "parley",
    "PARLEY_OIDC_CORP_CLIENT_SECRET": "s3cret",
    "PARLEY_OIDC_GOOGLE_ISSUER": "https://accounts.google.com",
    "PARLEY_OIDC_GOOGLE_CLIENT_ID": "123.apps",
    "PARLEY_OIDC_GOOGLE_DISPLAY_NAME": "Google",
}


def settings(tmp_path: Path, env: dict[str, str]) -> Settings:
    return Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path), **env})


def test_several_providers_and_github(tmp_path: Path) -> None:
    github = {"PARLEY_GITHUB_CLIENT_ID": "gh-id", "PARLEY_GITHUB_CLIENT_SECRET": "gh-secret"}
    found = settings(tmp_path, {**BASE, **github})
    assert found.public_url == "https://chat.example.com"
    corp, google, gh = found.oauth_providers
    assert (corp.name, corp.kind, corp.display_name) == ("corp", "oidc", "Corp")
    assert corp.issuer == "https://id.example.com/realms/corp"
    assert corp.client_secret == "s3cret" and "s3cret" not in repr(corp)
    assert corp.scopes == "openid profile email" and corp.jwks_uri is None
    assert (google.name, google.display_name, google.client_secret) == ("google", "Google", None)
    assert (gh.name, gh.kind, gh.issuer) == ("github", "github", "https://github.com")
    assert gh.token_endpoint == "https://github.com/login/oauth/access_token"
    assert gh.userinfo_endpoint == "https://api.github.com/user"


def test_explicit_endpoints_instead_of_discovery(tmp_path: Path) -> None:
    endpoints = {
        "PARLEY_OIDC_CORP_AUTHORIZATION_ENDPOINT": "https://id.example.com/auth",
        "PARLEY_OIDC_CORP_TOKEN_ENDPOINT": "https://id.example.com/token",
        "PARLEY_OIDC_CORP_JWKS_URI": "https://id.example.com/jwks",
    }
    corp = settings(tmp_path, {**BASE, **endpoints}).oauth_providers[0]
    assert corp.jwks_uri == "https://id.example.com/jwks"
    assert corp.token_endpoint == "https://id.example.com/token"


def test_no_providers_by_default(tmp_path: Path) -> None:
    found = settings(tmp_path, {})
    assert found.oauth_providers == () and found.public_url is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"PARLEY_PUBLIC_URL": ""}, "PARLEY_PUBLIC_URL"),
        ({"PARLEY_PUBLIC_URL": "https://chat.example.com/app"}, "PARLEY_PUBLIC_URL"),
        ({"PARLEY_PUBLIC_URL": "ftp://chat.example.com"}, "PARLEY_PUBLIC_URL"),
        ({"PARLEY_OIDC_PROVIDERS": "corp,corp"}, "PARLEY_OIDC_PROVIDERS"),
        ({"PARLEY_OIDC_PROVIDERS": "my-corp"}, "PARLEY_OIDC_PROVIDERS"),
        ({"PARLEY_OIDC_PROVIDERS": "github"}, "PARLEY_OIDC_PROVIDERS"),
        ({"PARLEY_OIDC_CORP_ISSUER": ""}, "PARLEY_OIDC_CORP_ISSUER"),
        ({"PARLEY_OIDC_CORP_ISSUER": "http://id.example.com"}, "PARLEY_OIDC_CORP_ISSUER"),
        ({"PARLEY_OIDC_CORP_ISSUER": "https://id.example.com/#x"}, "PARLEY_OIDC_CORP_ISSUER"),
        ({"PARLEY_OIDC_CORP_CLIENT_ID": ""}, "PARLEY_OIDC_CORP_CLIENT_ID"),
        ({"PARLEY_OIDC_CORP_SCOPES": "profile email"}, "PARLEY_OIDC_CORP_SCOPES"),
        ({"PARLEY_OIDC_CORP_DISPLAY_NAME": "Corp\u0000"}, "PARLEY_OIDC_CORP_DISPLAY_NAME"),
        ({"PARLEY_OIDC_CORP_JWKS_URI": "https://id.example.com/j"}, "PARLEY_OIDC_CORP_"),
        ({"PARLEY_GITHUB_CLIENT_ID": "gh"}, "PARLEY_GITHUB_CLIENT_SECRET"),
    ],
)
def test_bad_provider_settings_name_the_variable(
    tmp_path: Path, change: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, {**BASE, **change})
    assert named in str(caught.value)


def test_plain_http_only_on_this_machine(tmp_path: Path) -> None:
    local = {"PARLEY_OIDC_CORP_ISSUER": "http://127.0.0.1:9000"}
    assert (
        settings(tmp_path, {**BASE, **local}).oauth_providers[0].issuer
        == local["PARLEY_OIDC_CORP_ISSUER"]
    )
