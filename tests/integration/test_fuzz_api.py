"""Schema-driven fuzzing of the HTTP API against a real server process.

Schemathesis takes the OpenAPI document (the one ``/openapi.json`` serves: the
fixture checks) and sends requests generated from it, valid and invalid, to
every operation, signed in as a user who is in real rooms, so it reaches the
authenticated routes with room ids that exist as well as ids that do not.
Every response must be a non-5xx that the document lists, in the shape the
document gives; a request the document calls valid must be accepted and one it
calls invalid refused. The run is derandomized and bounded in examples: the
same requests on every run.

The document is loaded at import, not from the server, because Schemathesis
makes one pytest test per operation at collection time (its fixture-based
loader does not run on pytest 9).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
import schemathesis
from schemathesis import Case

from parley.api.openapi import document
from parley.protocol import validation
from tests.support.client import Client
from tests.support.server import ServerProcess

MAX_EXAMPLES = 50
"""Per operation and generation mode: about 950 requests in all, 10 to 15 s."""

HOSTILE_NUMBERS = [
    "\u00b2",  # str.isdigit() says yes, int() says no
    "\u0661\u0662",  # Arabic-Indic 12: both say yes
    "9" * 2000,  # int() works hard; three of these still fit aiohttp's 8 KiB request line
    str(validation.MAX_ID + 1),  # one past a BIGINT
    "-1",
    "+1",
    " 1",
    "1.0",
    "1e3",
    "0x1f",
    "1\u0000",
]
"""Numbers as text that ``str.isdigit()`` then ``int()`` let through or choke on."""
HOSTILE_TEXT = [
    "nul\u0000id",
    "\u0000",
    "esc\u001b[31m",
    "tab\tname",
    "line\u2028sep",
    "c1\u0085x",
    "\u202eevil",
    "iso\u2066late",
    "\u212aelvin",  # a Kelvin sign, which lowers to "k"
    "  ",
    "x" * 5000,
]
"""Text that each field refuses. Both lists are mixed into the generated values, so
the invalid cases include what an attacker would try first."""

_TEXT_FIELDS = "username password display_name name members[*] body client_id refresh_token"

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261128,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            # The bearer token is the fixture user's; the missing-token case is the
            # ignored_auth check's.
            "with-security-parameters": False,
        },
        "dictionaries": {
            "numbers": {"values": HOSTILE_NUMBERS},
            "text": {"values": HOSTILE_TEXT},
        },
        "parameters": {
            **{
                where: {"dictionary": "numbers", "probability": 0.3}
                for where in (
                    "path.room",
                    "path.seq",
                    "query.limit",
                    "query.before",
                    "query.after",
                    "query.around",
                )
            },
            "query.q": {"dictionary": "text", "probability": 0.3},
            **{
                f"body.{field}": {"dictionary": "text", "probability": 0.3}
                for field in _TEXT_FIELDS.split()
            },
        },
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": ["401", "404", "405", "409", "413", "422", "429"]
            }
        },
        "operations": [
            {
                # Rules JSON Schema cannot state: a user that does not exist, a direct
                # room where only a group will do (or a group where only a direct room
                # will), before and after together, text that is not one emoji, a
                # client_id already used for the other kind of entry, a date that does
                # not exist (2026-02-30), a multipart body whose part headers hold
                # control characters, an avatar that is no image, a push endpoint at a
                # private address, a p256dh key that is no point on the curve, e-mail
                # turned on with no address.
                "include-name": [
                    "POST /api/rooms/{room}/files",
                    "PUT /api/me/avatar",
                    "POST /api/rooms",
                    "POST /api/rooms/{room}/members",
                    "DELETE /api/rooms/{room}/members/me",
                    "GET /api/rooms/{room}/messages",
                    "POST /api/rooms/{room}/messages",
                    "PATCH /api/rooms/{room}/messages/{seq}",
                    "DELETE /api/rooms/{room}/messages/{seq}",
                    "PUT /api/rooms/{room}/messages/{seq}/reactions/{emoji}",
                    "DELETE /api/rooms/{room}/messages/{seq}/reactions/{emoji}",
                    "GET /api/search",
                    "POST /api/rooms/{room}/hide",
                    "POST /api/push/subscriptions",
                    "DELETE /api/push/subscriptions",
                    "PUT /api/me/notification-settings",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "404", "409", "422", "429"]
                    }
                },
            }
        ],
    }
)

schema = schemathesis.openapi.from_dict(document(), config=CONFIG)

_WELL_FORMED = {"room": re.compile(validation.DIGITS), "user": re.compile(validation.USERNAME)}


@dataclass(frozen=True)
class Target:
    """Where the requests go, who signs them, and what exists there."""

    url: str
    token: str
    rooms: tuple[str, ...]
    """The signed-in user's rooms: groups, then a direct room."""
    users: tuple[str, ...]

    def aim(self, case: Case[Any]) -> None:
        """Point most well-formed room ids and member names at ones that exist.

        Generated ones almost never do, so without this the fuzzer would seldom
        get past the 404 and the "unknown user". Malformed values are left alone:
        they are what the negative cases are about, and a well-formed value
        stays well-formed, so the case's positive or negative verdict holds.
        """
        params = case.path_parameters
        if isinstance(params, dict) and "room" in params:
            params["room"] = _pick(params["room"], "room", self.rooms)
        body = case.body
        if not case.path.startswith("/api/rooms") or not isinstance(body, dict):
            return
        members = body.get("members")
        if isinstance(members, list):
            body["members"] = [_pick(m, "user", self.users) for m in members]
        if "username" in body:
            body["username"] = _pick(body["username"], "user", self.users)


def _pick(generated: Any, kind: str, known: tuple[str, ...]) -> Any:
    """One in ``len(known) + 1`` well-formed values stays as generated, as an unknown one."""
    if not isinstance(generated, str) or not _WELL_FORMED[kind].fullmatch(generated):
        return generated
    pick = sum(map(ord, generated)) % (len(known) + 1)
    return known[pick] if pick < len(known) else generated


@pytest.fixture(scope="module")
async def target(server: ServerProcess) -> Target:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/openapi.json") as response:
            assert orjson.loads(await response.read()) == document()
        owner = await Client(http, server.url).register()
        friends = [await Client(http, server.url).register() for _ in range(2)]
        groups = [await owner.group(f"fuzzed {i}", *friends) for i in range(3)]
        direct = await owner.direct(friends[0])
        for i in range(3):
            await owner.call(
                "POST", f"/api/rooms/{groups[0]['id']}/messages", {"body": f"m{i}"}, expect=201
            )
    return Target(
        url=server.url,
        token=owner.access_token,
        rooms=(*(g["id"] for g in groups), direct["id"]),
        users=tuple(f.username for f in friends),
    )


@schema.parametrize()
def test_api_conforms_to_its_description(case: Case[Any], target: Target) -> None:
    target.aim(case)
    case.call_and_validate(base_url=target.url, headers={"Authorization": f"Bearer {target.token}"})
