"""The web UI on a cluster: two browsers on two gateways and one behind nginx chat live.

Real PostgreSQL, Redis and Kafka (started by ``make test``), two gateways, a
persister and nginx, as ``make cluster`` runs them.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Person, PersonFactory
from tests.cluster.conftest import (  # noqa: F401 - fixtures used by name below
    cluster,
    cluster_env,
    topics,
)
from tests.support.cluster import Cluster, Nginx

pytestmark = [pytest.mark.browser, pytest.mark.cluster]


async def test_a_group_chats_across_gateways_in_the_browser(
    cluster: Cluster,  # noqa: F811 - the fixture imported above
    people: PersonFactory,
) -> None:
    gw1, gw2 = await cluster.start(gateways=2, persisters=1)
    nginx = Nginx(cluster.root, [gw1.port, gw2.port])
    await nginx.start()
    try:
        ana: Person = await people(gw1.url, "ana")
        ben: Person = await people(gw2.url, "ben")
        cy: Person = await people(nginx.url, "cy")
        for person, name in ((ana, "Ana Lima"), (ben, "Ben Okafor"), (cy, "Cy Park")):
            await person.sign_up(name)

        await ana.create_group("Across gateways", ben, cy)
        await ana.send("Hello from gateway one")
        for other in (ben, cy):
            await other.open_room("Across gateways")
            await expect(other.message("Hello from gateway one")).to_have_count(1)
        await ben.send("And back from gateway two")
        await cy.send("And through the load balancer")
        for person in (ana, ben, cy):
            await expect(person.messages).to_have_count(3)
            await expect(person.pending).to_have_count(0)
        await cy.shot("cluster-group")
    finally:
        await nginx.stop()
