"""Chaos under load: nothing lost, duplicated or reordered while the cluster's parts fail.

A steady chat over two supervised gateways (``scripts/cluster``) while the test kills a
gateway and the persister (the supervisor restarts them), restarts Redis, stops Kafka
for 10 s and PostgreSQL for 8 s, and restarts a gateway gracefully; then a drain and
the checks of ``tests/support/chaos.py``. ``make chaos`` runs this same test with
``CHAOS_PROFILE=full`` (more users, every fault twice) and keeps its figures.
"""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest
from bench.common import write_result

from tests.support.chaos import CHAOS_SETTINGS, ChaosRun, profile
from tests.support.supervised import SupervisedCluster

pytestmark = [pytest.mark.cluster, pytest.mark.chaos]


@pytest.mark.timeout(1800)
async def test_chaos_under_load_loses_duplicates_and_reorders_nothing(
    cluster_env: dict[str, str],
) -> None:
    plan = profile()
    cluster = SupervisedCluster({**cluster_env, **CHAOS_SETTINGS}, gateways=2, persisters=1)
    passed = False
    try:
        await cluster.start()
        async with aiohttp.ClientSession() as http:
            outcome = await ChaosRun(cluster, plan).run(http, print)
        print(outcome.table())
        if os.environ.get("CHAOS_RESULTS"):
            write_result(
                "chaos",
                {"profile": plan.name},
                outcome.figures(),
                Path(os.environ["CHAOS_RESULTS"]),
            )
        assert outcome.problems == []
        passed = True
    finally:
        if not passed:
            print(cluster.logs())
        await cluster.close()
