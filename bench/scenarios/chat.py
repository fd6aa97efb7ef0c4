"""``chat``: a realistic population under a rising load, until p99 > 200 ms or errors.

U users (default 5000), each with a few direct rooms and groups of 5-50, and a few
rooms of 500. Every step offers a total send rate (messages/s), spread over random
users and their rooms; each send is preceded by a ``typing`` frame, and members
who recently sent in a room mark it read (coalesced, once per second at most) when
new messages arrive there. Steps grow by ``--factor`` until the p99 send -> receive
latency passes ``--p99-limit`` ms, a send fails, or a delivery is missing; the
highest step held is the result. With ``--peer`` the same ramp runs on
python-socketio afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

from bench import targets
from bench.common import Window, cdf_points, log, percentiles, write_result
from bench.pool import Pool, merge_stats
from bench.roles import RoleWindow, per_event


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_population_arguments(p)
    p.add_argument("--start-rate", type=float, default=10, help="messages/s of the first step")
    p.add_argument("--factor", type=float, default=1.5, help="growth of the rate per step")
    p.add_argument("--max-steps", type=int, default=14)
    p.add_argument("--duration", type=float, default=10, help="seconds per step")
    p.add_argument("--p99-limit", type=float, default=200, help="ms")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--peer", action="store_true", help="also ramp python-socketio")
    p.add_argument("--targets", default=None, help="comma list: parley,sio (overrides --peer)")
    p.add_argument("--data-base", default=None)
    p.add_argument(
        "--profile",
        default=None,
        help="py-spy the gateway over each step into PREFIX-TARGET-sN.txt",
    )


def add_population_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-typing", action="store_true", help="no typing frame before each send")
    p.add_argument("--no-reads", action="store_true", help="no read markers")
    p.add_argument("--users", "-u", type=int, default=5000)
    p.add_argument("--directs-per-user", type=float, default=2)
    p.add_argument("--groups-per-user", type=float, default=3)
    p.add_argument("--big-rooms", type=int, default=3)
    p.add_argument("--big-size", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)


def population(a: argparse.Namespace) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """Groups (member index lists, creator first) and direct pairs, reproducible from the seed."""
    rng = random.Random(a.seed)
    u = a.users
    groups: list[list[int]] = []
    for _ in range(a.big_rooms):
        groups.append(rng.sample(range(u), min(a.big_size, u)))
    target = int(u * a.groups_per_user / 27.5)
    for _ in range(target):
        groups.append(rng.sample(range(u), min(rng.randint(5, 50), u)))
    pairs: set[tuple[int, int]] = set()
    want = int(u * a.directs_per_user / 2)
    while len(pairs) < want and u > 1:
        x, y = rng.sample(range(u), 2)
        pairs.add((min(x, y), max(x, y)))
    return groups, sorted(pairs)


async def ramp(
    name: str,
    target: targets.Target,
    pool: Pool,
    a: argparse.Namespace,
    server_pids: list[int],
    groups: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """Offered load in steps until the p99 limit is passed; ``groups`` (role -> pids,
    default: the servers as ``gateways``) are accounted separately, with the clients."""
    steps: list[dict[str, Any]] = []
    rate = a.start_rate
    held: dict[str, Any] | None = None
    # Presence storms of the connect phase are not part of the first step.
    await pool.broadcast({"cmd": "reset"})
    await pool.collect("RESET", 60)
    for step in range(a.max_steps):
        spy = None
        if getattr(a, "profile", None):
            from bench import profile

            tag = name.replace("/", "_")  # parley@/some/src
            spy = await profile.start(server_pids[0], f"{a.profile}-{tag}-s{step}")
        win = Window(server_pids)
        roles = RoleWindow({**(groups or {"gateways": server_pids}), "clients": pool.pids})
        ccpu0 = pool.cpu()
        per = rate / pool.k
        await pool.broadcast(
            {
                "cmd": "chat",
                "rate": per,
                "duration": a.duration,
                "typing": not a.no_typing,
                "reads": not a.no_reads,
                "seed": a.seed + step,
            }
        )
        docs = await pool.collect("STEP", a.duration + 120)
        w = win.stop()
        by_role = roles.stop()
        if spy is not None:
            await profile.stop(spy)
        st = merge_stats(docs)
        lat = st.get("latencies", [])
        pct = percentiles(lat)
        delivered = int(st["received"])
        expected = int(st["expected_deliveries"])
        errors = {k: v for k, v in st["errors"].items() if v}
        s = {
            "step": step,
            "offered_msgs_per_s": round(rate, 1),
            "per_user_msgs_per_min": round(rate * 60 / a.users, 3),
            "sent": st["sent"],
            "acked": st["acked"],
            "unacked": st.get("unacked", 0),
            "acked_per_s": round(st["acked"] / a.duration, 1),
            "delivered": delivered,
            "expected": expected,
            "delivered_per_s": round(delivered / w["wall_s"]),
            "other_events": st["other_events"],
            "typing_sent": st["typing_sent"],
            "reads_sent": st["reads_sent"],
            "errors": errors,
            "seq_gaps": st["seq_gaps"],
            "seq_dups": st["seq_dups"],
            "latency_ms": pct,
            "cross_latency_ms": percentiles(st.get("cross_latencies", [])),
            "ack_latency_ms": percentiles(st.get("ack_latencies", [])),
            "server_cpu_s": round(w["cpu_s"], 3),
            "server_util": round(w["cpu_s"] / w["wall_s"], 3),
            "cpu_us_per_delivery": round(
                w["cpu_s"] * 1e6 / max(delivered + st["other_events"], 1), 2
            ),
            # The gateway's CPU per acked message and per message delivery: the chat
            # mix's per-message cost, which the events' count above would dilute.
            "cpu_ms_per_message": round(w["cpu_s"] * 1e3 / max(st["acked"], 1), 3),
            "cpu_us_per_message_delivery": round(w["cpu_s"] * 1e6 / max(delivered, 1), 2),
            "server_cpu_split_s": {
                k: round(w[k], 3)
                for k in ("main_thread_s", "other_threads_s", "user_s", "sys_s")
                if k in w
            },
            "client_util": round((pool.cpu() - ccpu0) / w["wall_s"], 3),
            "cpu_us_per_delivery_by_group": per_event(by_role, delivered + st["other_events"]),
            "latency_cdf": cdf_points(lat, 100),
        }
        problems = []
        if pct["n"] and pct["p99"] > a.p99_limit:
            problems.append(f"p99 {pct['p99']} ms > {a.p99_limit}")
        if errors:
            problems.append(f"errors {errors}")
        if s["unacked"]:
            problems.append(f"{s['unacked']} unacked")
        if delivered < expected or st["seq_gaps"] or st["seq_dups"]:
            problems.append(
                f"delivered {delivered}/{expected}, gaps {st['seq_gaps']}, dups {st['seq_dups']}"
            )
        s["held"] = not problems
        steps.append(s)
        log(
            f"{name} step {step}: {rate:.0f} msg/s offered, {s['acked_per_s']} acked/s, "
            f"{s['delivered_per_s']} deliveries/s, p50 {pct['p50']} p99 {pct['p99']} ms, "
            f"server {s['server_util']:.2f} core, {s['cpu_us_per_delivery']} us/delivery, "
            f"{s['cpu_ms_per_message']} ms/message, {s['cpu_us_per_message_delivery']} us/message delivery"
            + ("" if not problems else "  -> " + "; ".join(problems))
        )
        log(f"{name} step {step}: CPU us per delivery by group {s['cpu_us_per_delivery_by_group']}")
        if problems:
            break
        held = s
        rate *= a.factor
    first = steps[0] if steps else None
    return {
        "target": name,
        "steps": steps,
        # A ramp fails when even its first step lost or refused messages; a latency
        # limit reached later is the result, not a failure.
        "correct": first is not None
        and not first["errors"]
        and not first["unacked"]
        and first["delivered"] >= first["expected"]
        and not first["seq_gaps"]
        and not first["seq_dups"],
        "held_msgs_per_s": held["offered_msgs_per_s"] if held else 0,
        "held_deliveries_per_s": held["delivered_per_s"] if held else 0,
        "held_p99_ms": held["latency_ms"]["p99"] if held else None,
        "ok": held is not None,
    }


async def one(
    name: str, a: argparse.Namespace, groups: list[list[int]], directs: list[tuple[int, int]]
) -> dict[str, Any]:
    target = targets.make(name, data_base=a.data_base)
    pool: Pool | None = None
    try:
        await target.start()
        specs = await target.populate(a.users, groups, directs)
        pool = Pool(target.proto, target.ws_url, specs, a.processes, room_sizes=target.room_sizes)
        t0 = time.monotonic()
        ready = await pool.start()
        log(
            f"{name}: {ready['ok']} connected in {time.monotonic() - t0:.1f}s ({ready['failed']} failed)"
        )
        if ready["failed"]:
            return {"target": name, "ok": False, "error": f"{ready['failed']} connections failed"}
        await asyncio.sleep(1.0)
        return await ramp(name, target, pool, a, [target.pid])
    finally:
        if pool is not None:
            await pool.stop()
        await target.stop()


async def run(a: argparse.Namespace) -> dict[str, Any]:
    names = a.targets.split(",") if a.targets else (["parley", "sio"] if a.peer else ["parley"])
    groups, directs = population(a)
    sizes = sorted(len(g) for g in groups)
    log(
        f"population: {a.users} users, {len(directs)} direct rooms, {len(groups)} groups "
        f"(sizes {sizes[0]}..{sizes[-1]})"
    )
    results = [await one(n, a, groups, directs) for n in names]
    figures: dict[str, Any] = {"targets": results}
    by = {r["target"]: r for r in results}
    if "parley" in by and "sio" in by and by["sio"].get("held_msgs_per_s"):
        figures["ratio_sio"] = {
            "held_load_parley_over_peer": round(
                by["parley"]["held_msgs_per_s"] / by["sio"]["held_msgs_per_s"], 2
            )
        }
    for r in results:
        log(
            f"{r['target']}: highest load held {r.get('held_msgs_per_s')} msg/s (p99 {r.get('held_p99_ms')} ms)"
        )
    params = {k: v for k, v in vars(a).items() if k != "func"}
    params["rooms"] = {"directs": len(directs), "groups": len(groups), "group_sizes": sizes}
    write_result("chat", params, figures, a.out)
    return {"failed": not all(r.get("correct") for r in results)}
