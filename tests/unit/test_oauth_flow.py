"""The flow cookie (``parley.auth.oauth.flow``): sealed, bound to its provider, short-lived."""

from __future__ import annotations

import time

import jwt
import pytest

from parley.auth import tokens
from parley.auth.oauth.flow import (
    TTL_SECONDS,
    Flow,
    FlowInvalid,
    safe_next,
    same_state,
    seal,
    unseal,
)

SECRET = "k" * 40


def test_a_sealed_flow_opens_with_the_same_key_and_provider() -> None:
    flow = Flow.start("corp", "/r/7", link_user=12)
    assert unseal(SECRET, seal(SECRET, flow), "corp") == flow
    assert len({flow.state, flow.nonce, flow.verifier}) == 3
    assert 43 <= len(flow.verifier) <= 128  # RFC 7636's bounds on a PKCE verifier


@pytest.mark.parametrize(
    "why",
    ["missing", "other key", "other provider", "expired", "altered", "access token"],
)
def test_a_flow_cookie_is_refused(why: str) -> None:
    flow = Flow.start("corp", "/", link_user=None)
    sealed = seal(SECRET, flow)
    provider = "corp"
    if why == "missing":
        sealed = ""
    elif why == "other key":
        sealed = seal("o" * 40, flow)
    elif why == "other provider":
        provider = "google"
    elif why == "expired":
        sealed = seal(SECRET, flow, now=time.time() - TTL_SECONDS - 1)
    elif why == "altered":
        claims = jwt.decode(sealed, options={"verify_signature": False})
        header, _, signature = sealed.split(".")
        forged = jwt.encode({**claims, "lk": 1}, "x" * 32, algorithm="HS256").split(".")[1]
        sealed = f"{header}.{forged}.{signature}"
    elif why == "access token":
        sealed = tokens.issue_access(SECRET, 1, 60)
    with pytest.raises(FlowInvalid):
        unseal(SECRET, sealed, provider)


def test_the_state_is_compared_exactly() -> None:
    flow = Flow.start("corp", "/", link_user=None)
    assert same_state(flow, flow.state)
    assert not same_state(flow, None)
    assert not same_state(flow, flow.state[:-1])
    assert not same_state(flow, flow.state + "\udcff")


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        (None, "/"),
        ("/", "/"),
        ("/r/12", "/r/12"),
        ("/r/12?tab=1", "/r/12?tab=1"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("r/12", "/"),
        ("/r/12#x", "/"),
        ("/r/\n12", "/"),
        ("/" + "a" * 600, "/"),
    ],
)
def test_next_is_a_path_on_this_site(asked: str | None, kept: str) -> None:
    assert safe_next(asked) == kept
