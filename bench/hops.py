"""Where a run's latency goes: ``parley_hop_seconds`` read from every Parley process.

Each gateway and persister of a cluster run is scraped once at the end; the
buckets of one hop are added up across processes and turned into percentiles
as Prometheus' ``histogram_quantile`` does (linear within the bucket that
holds the rank), so each figure is a bucket-accurate estimate.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "bench-metrics-token"
QUANTILES = (0.5, 0.99)


async def scrape(urls: list[str]) -> dict[str, dict[str, Any]]:
    """{hop: {"count": n, "p50_ms": ..., "p99_ms": ...}} over every ``/metrics`` in ``urls``."""
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for url in urls:
            async with http.get(url) as response:
                text = await response.text()
            for family in text_string_to_metric_families(text):
                if family.name != "parley_hop_seconds":
                    continue
                for sample in family.samples:
                    if sample.name.endswith("_bucket"):
                        le = float(sample.labels["le"])
                        buckets[sample.labels["hop"]][le] += sample.value
    out: dict[str, dict[str, Any]] = {}
    for hop, counts in buckets.items():
        ordered = sorted(counts.items())
        total = ordered[-1][1] if ordered else 0
        if not total:
            continue
        figures: dict[str, Any] = {"count": int(total)}
        for q in QUANTILES:
            figures[f"p{round(q * 100)}_ms"] = round(_quantile(q, ordered) * 1000, 3)
        out[hop] = figures
    return out


def _quantile(q: float, cumulative: list[tuple[float, float]]) -> float:
    rank = q * cumulative[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return lower
