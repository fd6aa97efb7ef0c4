"""The direct log (embedded mode): a message the store refuses is a final invalid_input."""

from __future__ import annotations

import pytest

from parley.bus import MemoryBus
from parley.log import DirectLog
from parley.metrics import Metrics
from parley.models import User
from parley.protocol.errors import ProtocolError
from parley.ratelimit import MemoryLimiter, UserLimits
from parley.sending import SendPipeline
from parley.store import SqlStore
from tests.unit.conftest import make_user


async def test_a_refused_message_is_invalid_input_and_later_sends_work(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    metrics = Metrics(lambda: 0, lambda: 0)
    sending = SendPipeline(DirectLog(store, MemoryBus()), metrics, UserLimits(MemoryLimiter(), {}))
    # A sender whose id no database column can hold: only a bug could send as them.
    ghost = User(2**63, "ghost", "Ghost")
    with pytest.raises(ProtocolError) as refused:
        await sending.send(ghost, room, "boo", "c1")
    assert (refused.value.code, refused.value.client_id) == ("invalid_input", "c1")
    assert metrics.send_errors.labels("invalid_input")._value.get() == 1
    stored = await sending.send(ana, room, "hi", "c2")
    assert stored is not None and stored.seq == 1
