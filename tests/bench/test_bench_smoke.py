"""Every benchmark scenario at a tiny size, so the bench never rots.

Each test runs ``python -m bench SCENARIO --tiny`` as the person running
``make bench`` would, then checks the JSON result for a sane run: everything
sent was delivered, nothing failed. Timing figures are never asserted: this
machine is shared and noisy. The cluster scenarios use the running services
(``scripts/services up``); with CI=true a missing service is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import Services, running

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 240

if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
    pytest.importorskip("picows", reason="the bench group is not installed (uv sync --group bench)")


def bench(tmp_path: Path, *args: str) -> dict[str, Any]:
    """Run one scenario; return its result document."""
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--tiny", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    files = sorted(out.glob("*.json")) if out.exists() else []
    assert files, f"no result written (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    doc: dict[str, Any] = json.loads(files[-1].read_text())
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stderr[-4000:]}"
    assert doc["git"]["commit"] is not None
    assert doc["machine"]["cpus"] >= 1
    return doc


def check_fanout_run(run: dict[str, Any]) -> None:
    assert run["ok"], run
    assert run["delivered"] == run["expected"] == run["members"] * run["messages"]
    assert run["acked"] == run["messages"]
    assert not run["errors"]
    assert run["seq_gaps"] == run["seq_dups"] == 0
    assert run["cpu_us_per_msg"] > 0
    assert run["latency_ms"]["n"] > 0
    groups = run["cpu_us_per_delivery_by_group"]
    assert set(groups) == {"gateway", "clients", "total"}
    assert groups["total"] >= groups["gateway"] > 0


def test_fanout(tmp_path: Path) -> None:
    doc = bench(tmp_path, "fanout")
    runs = doc["figures"]["runs"]
    assert [r["target"] for r in runs] == ["parley"]
    check_fanout_run(runs[0])


def test_fanout_with_the_socketio_peer(tmp_path: Path) -> None:
    doc = bench(tmp_path, "fanout", "--peer")
    runs = doc["figures"]["runs"]
    assert sorted(r["target"] for r in runs) == ["parley", "sio"]
    for run in runs:
        check_fanout_run(run)
    assert doc["figures"]["summary"]["ratio_sio"]["cpu_per_msg_peer_over_parley"] > 0


def check_ramp(doc: dict[str, Any], targets: list[str], groups: set[str] | None = None) -> None:
    """``groups``: the process groups each step accounts CPU to (gateways and clients
    unless given)."""
    results = doc["figures"]["targets"]
    assert [r["target"] for r in results] == targets
    for r in results:
        assert r["steps"], r
        for step in r["steps"]:
            assert step["acked"] == step["sent"] > 0, step
            assert step["delivered"] == step["expected"] > 0, step
            assert not step["errors"], step
            assert step["seq_gaps"] == step["seq_dups"] == 0, step
            assert step["typing_sent"] > 0
            by_group = step["cpu_us_per_delivery_by_group"]
            assert set(by_group) == (groups or {"gateways", "clients"}) | {"total"}, by_group
            assert by_group["gateways"] > 0


def test_chat_with_the_socketio_peer(tmp_path: Path) -> None:
    check_ramp(bench(tmp_path, "chat", "--peer"), ["parley", "sio"])


def test_connections(tmp_path: Path) -> None:
    f = bench(tmp_path, "connections")["figures"]
    assert f["ok"]
    assert f["connections"] == f["still_open"] == 100
    assert f["failed"] == 0
    assert f["rss_per_conn_kb"] == f["rss_per_conn_kb"]  # a number, not NaN


def test_history(tmp_path: Path) -> None:
    f = bench(tmp_path, "history")["figures"]
    assert f["ok"]
    assert f["rows"] == 20_000
    assert f["errors"] == f["bad_pages"] == 0
    assert f["latency_ms"]["n"] == 50


def check_search(f: dict[str, Any]) -> None:
    assert f["ok"]
    assert f["rows"] == 20_000
    assert f["errors"] == f["leaks"] == 0
    assert f["results_per_request"] > 0
    assert f["latency_ms"]["n"] == 50


def test_search(tmp_path: Path) -> None:
    check_search(bench(tmp_path, "search")["figures"])


@pytest.mark.cluster
def test_search_on_postgres(tmp_path: Path, cluster_services: Services) -> None:
    url = cluster_services.database_url
    figures = bench(tmp_path, "search", "--database-url", url)["figures"]
    assert figures["database"] == "postgresql"
    check_search(figures)


def test_report(tmp_path: Path) -> None:
    bench(tmp_path, "history")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "report",
            "--results",
            str(tmp_path / "results"),
            "--out",
            str(tmp_path / "report"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = (tmp_path / "report" / "report.md").read_text()
    assert "### history" in text
    assert (tmp_path / "report" / "history-latency-cdf.png").stat().st_size > 1000


@pytest.fixture(scope="module")
async def cluster_services() -> Services:
    return await running()


@pytest.mark.cluster
def test_ingest(tmp_path: Path, cluster_services: Services) -> None:
    f = bench(tmp_path, "ingest")["figures"]
    assert f["ok"], f
    assert f["acked"] == f["messages"] == 300
    assert not f["errors"]
    assert set(f["cpu_us_per_message_by_role"]) >= {"gateway", "kafka", "postgres", "redis"}


@pytest.mark.cluster
def test_cluster_chat(tmp_path: Path, cluster_services: Services) -> None:
    every_part = {"gateways", "persisters", "kafka", "postgres", "redis", "clients"}
    result = bench(tmp_path, "cluster")
    check_ramp(result, ["parley"], every_part)
    hops = result["figures"]["targets"][0]["hops"]
    assert hops.keys() == {"produce", "consume", "store", "bus", "fanout"}, hops
    assert all(h["count"] > 0 and 0 < h["p50_ms"] <= h["p99_ms"] for h in hops.values()), hops


@pytest.fixture(scope="module")
def centrifugo_built() -> Path:
    """The Centrifugo peer's binary, built here (once per machine, minutes) rather than
    inside a bench run that has a timeout."""
    from bench.peers import centrifugo

    return centrifugo.binary()


@pytest.mark.cluster
def test_cluster_with_centrifugo(
    tmp_path: Path, cluster_services: Services, centrifugo_built: Path
) -> None:
    """Two Centrifugo nodes on its Redis engine run the same ramp, messages only (its
    protocol has no typing or read events), every message delivered across the nodes."""
    assert centrifugo_built.exists()
    (result,) = bench(tmp_path, "cluster", "--targets", "centrifugo")["figures"]["targets"]
    assert result["target"] == "centrifugo" and result["mix"] == "messages only"
    for step in result["steps"]:
        assert step["acked"] == step["sent"] > 0, step
        assert step["delivered"] == step["expected"] > 0, step
        assert step["typing_sent"] == step["reads_sent"] == 0, step
        assert step["cross_latency_ms"]["n"] > 0, step
        assert step["cpu_us_per_delivery_by_group"]["gateways"] > 0, step


def check_notify(f: dict[str, Any]) -> None:
    assert f["ok"], f
    assert f["acked"] == f["messages"] == f["messages_decided"] == 300
    # 10 senders: 4 in direct rooms and 2 mentioning notify one member per message.
    assert f["notifications"] == f["notifications_expected"] == 6 * 30
    assert f["mails"] == f["mails_expected"] > 0
    assert f["drained"] and f["drain_s"] is not None and f["drain_s"] >= 0
    assert f["lag_samples"] and f["lag_max"] >= 0
    assert f["ingest_acks_per_s"] > 0 and f["worker_messages_per_s"] > 0
    assert f["notifications_per_s"] > 0


@pytest.mark.cluster
def test_notify_on_the_cluster(tmp_path: Path, cluster_services: Services) -> None:
    f = bench(tmp_path, "notify")["figures"]
    assert f["mode"] == "cluster"
    check_notify(f)
    assert f["worker_cpu_us_per_message"] > 0
    assert {"notifier", "gateway", "persisters", "kafka", "postgres"} <= set(
        f["cpu_us_per_message_by_role"]
    )


def test_notify_embedded(tmp_path: Path) -> None:
    f = bench(tmp_path, "notify", "--embedded")["figures"]
    assert f["mode"] == "embedded"
    check_notify(f)
    assert set(f["cpu_us_per_message_by_role"]) == {"gateway", "clients"}
