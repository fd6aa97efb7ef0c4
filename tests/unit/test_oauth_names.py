"""A provider's names made into a Parley user's (``parley.auth.oauth.names``)."""

from __future__ import annotations

import itertools
import re

import pytest

from parley.auth.oauth.base import ExternalAccount
from parley.auth.oauth.names import base_username, display_name, label, usernames

USERNAME = re.compile(r"[a-z0-9_.-]{3,32}")


def account(**names: str | None) -> ExternalAccount:
    return ExternalAccount(issuer="https://id.example.com", subject="s-1", **names)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ({"username": "Ana.Lima"}, "ana.lima"),
        ({"username": "José Müller"}, "jose_muller"),
        ({"username": "ab", "name": "Ana Beatriz"}, "ana_beatriz"),
        ({"name": "李小龍", "email": "bruce@example.com"}, "bruce"),
        ({"email": "x@example.com"}, "user"),
        ({"username": "--__..--"}, "user"),
        ({"username": "a" * 40}, "a" * 32),
        ({"username": "ana\u0000\u202eevil"}, "ana_evil"),
        ({}, "user"),
    ],
)
def test_usernames_follow_parleys_rules(names: dict[str, str], expected: str) -> None:
    assert base_username(account(**names)) == expected


def test_candidates_are_unique_and_valid() -> None:
    found = list(itertools.islice(usernames(account(username="x" * 40)), 30))
    assert found[:3] == ["x" * 32, "x" * 30 + "-2", "x" * 30 + "-3"]
    assert len(set(found)) == 30
    assert all(USERNAME.fullmatch(name) for name in found)


def test_shown_names_lose_control_and_bidi_characters() -> None:
    sneaky = account(username="root", name="Ana\u202e\u0000 Lima " + "x" * 80)
    assert display_name(sneaky, "ana") == ("Ana Lima " + "x" * 80)[:64]
    assert display_name(account(name=" \u200f "), "ana") == "ana"
    assert label(account(email="a@example.com")) == "a@example.com"
    assert label(account()) == "s-1"
