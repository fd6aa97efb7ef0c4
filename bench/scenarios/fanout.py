"""``fanout``: N members in one room; publishers send, every member receives every message.

Primary figure: the gateway's CPU time (user+sys of the server process tree, from
/proc) per delivered message, over the window from the first send until the last
member has every message. Also delivered msg/s and send -> receive latency.
With ``--peer`` the same workload runs against python-socketio too, interleaved
repetitions in one invocation, and the Parley / peer ratios are reported;
``--targets parley,centrifugo,sio`` picks the systems (Centrifugo is built with Go on
first use). ``--publishers 1 --window 8`` is the saturating case of issue 15 and
``--publishers 1 --window 1 --rate 8`` the paced one (one message at a time).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench import targets
from bench.common import Window, cdf_points, log, median, percentiles, rss_bytes, tree, write_result
from bench.peers import centrifugo, venv
from bench.pool import Pool, merge_stats
from bench.roles import RoleWindow, per_event


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--members", "-n", type=int, default=1000, help="members of the room (connections)"
    )
    p.add_argument(
        "--messages", "-m", type=int, default=300, help="messages per run (all publishers)"
    )
    p.add_argument("--publishers", type=int, default=8, help="members that send")
    p.add_argument(
        "--window", type=int, default=4, help="unacked sends per publisher (saturating mode)"
    )
    p.add_argument(
        "--rate", type=float, default=0, help="messages/s in total (0 = as fast as acks allow)"
    )
    p.add_argument("--warmup", type=int, default=20, help="messages before the measured window")
    p.add_argument("--processes", type=int, default=2, help="client processes")
    p.add_argument("--sample", type=int, default=1, help="measure latency on every k-th connection")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--peer", action="store_true", help="also run python-socketio, interleaved")
    p.add_argument(
        "--targets",
        default=None,
        help="comma list of parley, parley@SRC, sio, centrifugo (overrides --peer)",
    )
    p.add_argument(
        "--profile", default=None, help="py-spy record the server into this SVG/speedscope file"
    )
    p.add_argument(
        "--data-base", default=None, help="parent folder of the server's data (default /dev/shm)"
    )


async def one_run(name: str, a: argparse.Namespace, rep: int) -> dict[str, Any]:
    target = targets.make(name, data_base=a.data_base)
    pool: Pool | None = None
    res: dict[str, Any] = {"target": name, "rep": rep, "ok": False}
    try:
        await target.start()
        rss_idle = rss_bytes(tree(target.pid))
        specs = await target.populate(a.members, [list(range(a.members))], [])
        room = target.room_ids[0]
        for i, s in enumerate(specs):
            s["sample"] = i % a.sample == 0
        pool = Pool(target.proto, target.ws_url, specs, a.processes)
        t0 = time.monotonic()
        ready = await pool.start()
        res["connect_s"] = round(time.monotonic() - t0, 2)
        res["connected"] = ready["ok"]
        if ready["failed"]:
            res["error"] = f"{ready['failed']} connections failed: {ready['errors']}"
            return res
        await asyncio.sleep(0.5)
        rss_conn = rss_bytes(tree(target.pid))
        pubs = min(a.publishers, a.members)
        per_pub = max(1, a.messages // pubs)
        total = per_pub * pubs

        async def round_(
            count: int, measure: bool
        ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
            docs = []
            for wi in range(pool.k):
                mine = [pool.local_index(g)[1] for g in range(pubs) if pool.local_index(g)[0] == wi]
                docs.append(
                    {
                        "cmd": "fanout",
                        "room": room,
                        "publishers": mine,
                        "offsets": [
                            g / a.rate if a.rate else 0.0
                            for g in range(pubs)
                            if pool.local_index(g)[0] == wi
                        ],
                        "count": count,
                        "window": a.window,
                        "rate": a.rate / pubs if a.rate else 0,
                        "expect": count * pubs,
                        # A slow peer at ~2k deliveries/s still finishes a 1000-member run.
                        "timeout": max(
                            60.0,
                            5 * count * pubs / max(a.rate, 50),
                            count * pubs * a.members / 1000,
                        ),
                    }
                )
            await pool.broadcast({"cmd": "reset"})
            await pool.collect("RESET", 30)
            win = Window([target.pid]) if measure else None
            roles = RoleWindow({"gateway": [target.pid], "clients": pool.pids})
            ccpu0 = pool.cpu()
            t_start = time.monotonic()
            await pool.broadcast(docs)
            out = await pool.collect("DONE", 600)
            if win is None:
                return out, None
            w: dict[str, Any] = dict(win.stop())
            t_end = max(d["t_last_receive"] for d in out) or time.monotonic()
            w["wall_s"] = max(1e-6, t_end - t_start)
            w["client_cpu_s"] = pool.cpu() - ccpu0
            w["by_group"] = roles.stop()
            return out, w

        await round_(max(1, a.warmup // pubs), measure=False)
        log(f"{name} rep {rep}: warm-up done; measuring {total} messages x {a.members} members")
        spy = None
        if a.profile:
            from bench import profile

            spy = await profile.start(target.pid, f"{a.profile}-{name}-r{rep}")
        docs, w = await round_(per_pub, measure=True)
        if spy is not None:
            await profile.stop(spy)
        assert w is not None
        st = merge_stats(docs)
        delivered = int(st["received"])
        expected = total * ready["ok"]
        lat = st.get("latencies", [])
        res.update(
            {
                "ok": delivered == expected
                and not st["errors"]
                and st["seq_gaps"] == 0
                and st["seq_dups"] == 0
                and st["acked"] == total,
                "members": a.members,
                "messages": total,
                "delivered": delivered,
                "expected": expected,
                "acked": st["acked"],
                "errors": st["errors"],
                "seq_gaps": st["seq_gaps"],
                "seq_dups": st["seq_dups"],
                "closed": st["closed"],
                "wall_s": round(w["wall_s"], 3),
                "server_cpu_s": round(w["cpu_s"], 3),
                "cpu_us_per_msg": round(w["cpu_s"] * 1e6 / max(delivered, 1), 3),
                "msgs_per_s": round(delivered / w["wall_s"]),
                "server_util": round(w["cpu_s"] / w["wall_s"], 3),
                "main_thread_us_per_msg": round(w["main_thread_s"] * 1e6 / max(delivered, 1), 3),
                "user_us_per_msg": round(w["user_s"] * 1e6 / max(delivered, 1), 3),
                "sys_us_per_msg": round(w["sys_s"] * 1e6 / max(delivered, 1), 3),
                "other_threads_us_per_msg": round(
                    w["other_threads_s"] * 1e6 / max(delivered, 1), 3
                ),
                "client_cpu_us_per_msg": round(w["client_cpu_s"] * 1e6 / max(delivered, 1), 3),
                "cpu_us_per_delivery_by_group": per_event(w["by_group"], delivered),
                "machine_busy_s": round(w["machine_busy_s"], 3),
                "steal_s": round(w["steal_s"], 3),
                "latency_ms": percentiles(lat),
                "ack_latency_ms": percentiles(st.get("ack_latencies", [])),
                "latency_cdf": cdf_points(lat),
                "rss_idle_mb": round(rss_idle / 2**20, 2),
                "rss_conn_mb": round(rss_conn / 2**20, 2),
                "rss_per_conn_kb": round((rss_conn - rss_idle) / max(ready["ok"], 1) / 1024, 2),
            }
        )
        log(
            f"{name} rep {rep}: {res['cpu_us_per_msg']} us/msg, {res['msgs_per_s']} msg/s, "
            f"p50 {res['latency_ms']['p50']} p99 {res['latency_ms']['p99']} ms, "
            f"delivered {delivered}/{expected}{'' if res['ok'] else ' NOT OK'}"
        )
        return res
    except Exception as exc:
        res["error"] = repr(exc)
        log(f"{name} rep {rep} failed: {exc!r}")
        return res
    finally:
        if pool is not None:
            await pool.stop()
        await target.stop()


def summarize(runs: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for n in names:
        rs = [r for r in runs if r["target"] == n and r.get("ok")]
        if not rs:
            summary[n] = {"ok_runs": 0}
            continue
        summary[n] = {
            "ok_runs": len(rs),
            "cpu_us_per_msg": median([r["cpu_us_per_msg"] for r in rs]),
            "cpu_us_per_msg_range": [
                min(r["cpu_us_per_msg"] for r in rs),
                max(r["cpu_us_per_msg"] for r in rs),
            ],
            "msgs_per_s": median([r["msgs_per_s"] for r in rs]),
            "latency_p50_ms": median([r["latency_ms"]["p50"] for r in rs]),
            "latency_p95_ms": median([r["latency_ms"]["p95"] for r in rs]),
            "latency_p99_ms": median([r["latency_ms"]["p99"] for r in rs]),
            "latency_max_ms": median([r["latency_ms"]["max"] for r in rs]),
            "rss_per_conn_kb": median([r["rss_per_conn_kb"] for r in rs]),
            "main_thread_us_per_msg": median(
                [r.get("main_thread_us_per_msg", float("nan")) for r in rs]
            ),
            "other_threads_us_per_msg": median(
                [r.get("other_threads_us_per_msg", float("nan")) for r in rs]
            ),
            "cpu_us_per_delivery_by_group": {
                g: median([r["cpu_us_per_delivery_by_group"][g] for r in rs])
                for g in rs[0]["cpu_us_per_delivery_by_group"]
            },
        }
    if "parley" in summary and summary["parley"].get("ok_runs"):
        p = summary["parley"]
        for n in names:
            if n != "parley" and summary.get(n, {}).get("ok_runs"):
                q = summary[n]
                summary[f"ratio_{n}"] = {
                    "cpu_per_msg_peer_over_parley": _ratio(
                        q["cpu_us_per_msg"], p["cpu_us_per_msg"]
                    ),
                    "throughput_parley_over_peer": _ratio(p["msgs_per_s"], q["msgs_per_s"]),
                }
    return summary


def _ratio(a: float, b: float) -> float | None:
    """None when the run was too short to measure: /proc counts CPU in 10 ms ticks."""
    return round(a / b, 2) if b > 0 else None


async def run(a: argparse.Namespace) -> dict[str, Any]:
    names = a.targets.split(",") if a.targets else (["parley", "sio"] if a.peer else ["parley"])
    runs: list[dict[str, Any]] = []
    for rep in range(a.reps):
        for name in names:  # interleaved, so noise spreads over every target alike
            runs.append(await one_run(name, a, rep))
            await asyncio.sleep(0.5)
    summary = summarize(runs, names)
    for n in names:
        s = summary[n]
        if s.get("ok_runs"):
            log(
                f"{n}: median {s['cpu_us_per_msg']} us/msg (range {s['cpu_us_per_msg_range']}), "
                f"{s['msgs_per_s']} msg/s, p99 {s['latency_p99_ms']} ms over {s['ok_runs']} runs"
            )
        else:
            log(f"{n}: no successful run")
    for k, v in summary.items():
        if k.startswith("ratio_"):
            log(f"{k}: {v}")
    params = {k: v for k, v in vars(a).items() if k != "func"}
    if "sio" in names:
        params["peer_versions"] = venv.versions()
    if "centrifugo" in names:
        params["centrifugo_version"] = centrifugo.version()
    write_result("fanout", params, {"summary": summary, "runs": runs}, a.out)
    return summary
