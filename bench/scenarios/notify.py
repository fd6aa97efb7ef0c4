"""``notify``: does the notifications worker keep up with the ingest rate?

S senders send as fast as acks allow (W in flight each, as ``ingest``; ``--rate`` paces
them instead), each into one room of its own with offline members, so every message is
stored and decided on and the notifications are not hidden by anyone reading the room:

- a ``--direct-share`` of the senders write in a direct room: each message notifies
  the other member;
- a ``--mention-share`` write in a group of ``--members`` offline members and mention
  one of them: each message notifies that member;
- the rest write in such a group without mentions: the worker decides nobody is told.

A ``--email-share`` of the notified members have e-mail set to "immediately", sent to
an SMTP server in this process (aiosmtpd) that counts the mails. In a cluster (the
default) the worker is ``parley worker notify``, its own process and consumer group on
Kafka beside the gateway and the persister; ``--embedded`` measures the in-process
notifier of one embedded server (SQLite) instead.

The worker's ``/metrics`` (the gateway's, embedded) is scraped every ``--sample``
seconds: ``parley_notify_lag`` (messages behind), its messages and notifications
counters, and the gateway's stored messages. The run ends when the worker has decided
on every message and the SMTP server has every mail (the outbox sends after the batch);
the drain times are from the last ack to each. CPU per message is per process group
over the whole run (load, drain and the last mail).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench import api, profile
from bench.cluster import Cluster
from bench.common import Window, cpu_seconds, log, percentiles, tree, write_result
from bench.hops import METRICS_TOKEN
from bench.pool import Pool, merge_stats
from bench.roles import service_pids
from bench.server import ParleyServer, cleanup, scratch_dir

WARMUP = 5
"""Messages per sender before the window: producers, consumers and caches get going."""
KEEPS_UP_DRAIN_S = 2.0
"""The worker keeps up when it has decided on every message within this long of the last
ack: its batches (Kafka poll, store look-up, delivery) take about a second end to end."""
MESSAGE_ID = re.compile(rb"^Message-ID: (\S+)", re.MULTILINE | re.IGNORECASE)
"""A mail's Message-ID header: two mails with one are a second copy."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--messages", "-m", type=int, default=30_000, help="messages in total")
    p.add_argument("--senders", type=int, default=100)
    p.add_argument("--window", type=int, default=32, help="unacked sends per sender")
    p.add_argument(
        "--rate", type=float, default=0, help="messages/s offered in all (0: as fast as acked)"
    )
    p.add_argument("--direct-share", type=float, default=0.4)
    p.add_argument("--mention-share", type=float, default=0.2)
    p.add_argument("--members", type=int, default=8, help="offline members of each group")
    p.add_argument("--email-share", type=float, default=0.25, help="of the notified members")
    p.add_argument("--embedded", action="store_true", help="one embedded server (SQLite)")
    p.add_argument(
        "--notifiers",
        type=int,
        default=1,
        help="parley worker notify processes in the consumer group (cluster)",
    )
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--sample", type=float, default=0.25, help="seconds between scrapes")
    p.add_argument("--drain-timeout", type=float, default=300.0)
    p.add_argument("--data-base", default=None)
    p.add_argument("--profile", default=None, help="py-spy the worker into PREFIX-notify.txt")


class Mailbox:
    """An SMTP server that counts the mails it accepts, and those whose Message-ID it had
    already (a second copy), in this event loop (aiosmtpd)."""

    def __init__(self) -> None:
        self.mails = 0
        self.copies = 0
        self._ids: set[bytes] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails += 1
        found = MESSAGE_ID.search(envelope.original_content or b"")
        if found is not None:
            self.copies += found[1] in self._ids
            self._ids.add(found[1])
        return "250 OK"

    async def start(self) -> None:
        from aiosmtpd.smtp import SMTP

        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self, hostname="localhost"), "127.0.0.1", 0
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


WANTED = {
    "parley_notify_lag": "lag",
    "parley_notify_messages_total": "messages",
    "parley_notify_notifications_total": "notifications",
    "parley_messages_stored_total": "stored",
}


async def scrape(http: aiohttp.ClientSession, urls: list[str]) -> dict[str, float]:
    """The notify figures (and the gateway's stored messages) summed over ``urls``."""
    found = dict.fromkeys(WANTED.values(), 0.0)
    for url in urls:
        async with http.get(url) as response:
            text = await response.text()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in WANTED:
                    found[WANTED[sample.name]] += sample.value
    return found


def plan(a: argparse.Namespace) -> dict[str, Any]:
    """Who is in which room, who is mentioned, who gets mail (indices into the users)."""
    s = a.senders
    n_direct = round(s * a.direct_share)
    n_mention = min(s - n_direct, round(s * a.mention_share))
    next_user = s
    groups: list[list[int]] = []
    directs: list[tuple[int, int]] = []
    notified: list[int] = []  # per sender in order: the member its messages notify, or -1
    for i in range(s):
        if i < n_direct:
            directs.append((i, next_user))
            notified.append(next_user)
            next_user += 1
        else:
            members = list(range(next_user, next_user + a.members))
            next_user += a.members
            groups.append([i, *members])
            notified.append(members[0] if i < n_direct + n_mention and members else -1)
    targets = [u for u in notified if u >= 0]
    # every k-th notified member gets mail, spread over directs and mentions alike
    emailed = {
        u for j, u in enumerate(targets) if int((j + 1) * a.email_share) > int(j * a.email_share)
    }
    return {
        "users": next_user,
        "groups": groups,
        "directs": directs,
        "notified": notified,
        "emailed": emailed,
        "n_direct": n_direct,
        "n_mention": n_mention,
    }


async def run(a: argparse.Namespace) -> dict[str, Any]:
    box = Mailbox()
    await box.start()
    smtp = {
        "PARLEY_SMTP_HOST": "127.0.0.1",
        "PARLEY_SMTP_PORT": str(box.port),
        "PARLEY_SMTP_SECURITY": "none",
        "PARLEY_PUBLIC_URL": "https://chat.example.com",
    }
    cluster: Cluster | None = None
    server: ParleyServer | None = None
    pool: Pool | None = None
    figures: dict[str, Any] = {}
    try:
        if a.embedded:
            data = scratch_dir("parley-notify-bench-", a.data_base)
            server = ParleyServer(data, {**smtp, "PARLEY_METRICS_TOKEN": METRICS_TOKEN})
            await server.start()
            base, ws_url = server.url, server.ws_url
            metrics_urls = [f"{server.url}/metrics"]
            roles = {"gateway": tree(server.pid)}
            worker_pid = server.pid
        else:
            cluster = Cluster(
                gateways=1,
                persisters=1,
                notifiers=a.notifiers,
                extra_env=smtp,
                data_base=a.data_base,
            )
            await cluster.start()
            base, ws_url = cluster.gateways[0].url, cluster.gateways[0].ws_url
            metrics_urls = [*cluster.notify_metrics_urls, f"{base}/metrics"]
            worker_pid = cluster.notifiers[0].pid
            roles = {
                "notifier": [q for p in cluster.notifiers for q in tree(p.pid)],
                "gateway": tree(cluster.gateways[0].pid),
                "persisters": [q for p in cluster.persisters for q in tree(p.pid)],
                **{
                    role: [q for pid in pids for q in tree(pid)]
                    for role, pids in service_pids(cluster.env).items()
                },
            }
        layout = plan(a)
        people = await api.register_users(base, layout["users"])
        await api.create_rooms(base, people, layout["groups"], layout["directs"])
        await api.email_immediately(base, [people[u] for u in sorted(layout["emailed"])])
        specs = []
        for i in range(a.senders):
            target = layout["notified"][i]
            mention = i >= layout["n_direct"] and target >= 0
            suffix = f" @{people[target].username}" if mention else ""
            specs.append(
                {
                    "user": people[i].id,
                    "token": people[i].token,
                    "rooms": people[i].rooms,
                    "suffix": suffix,
                }
            )
        pool = Pool("parley", ws_url, specs, a.processes)
        ready = await pool.start()
        if ready["failed"]:
            raise RuntimeError(f"{ready['failed']} connections failed: {ready['errors']}")
        per = max(1, a.messages // a.senders)
        total = per * a.senders
        notifying = sum(1 for u in layout["notified"] if u >= 0)
        mailing = sum(1 for u in layout["notified"] if u in layout["emailed"])
        rate = a.rate / a.senders if a.rate > 0 else 0
        cmd = {
            "cmd": "fanout",
            "room": None,
            "window": a.window,
            "rate": rate,
            "timeout": 900,
            "settle": 30,
        }
        docs = []
        for wi in range(pool.k):
            mine = [g for g in range(a.senders) if pool.local_index(g)[0] == wi]
            docs.append(
                {
                    **cmd,
                    "publishers": [pool.local_index(g)[1] for g in mine],
                    "offsets": [g / a.rate if a.rate > 0 else 0.0 for g in mine],
                    "count": WARMUP,
                    "expect": WARMUP,
                }
            )
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            await pool.broadcast(docs)
            await pool.collect("DONE", 300)
            await _until(http, metrics_urls, WARMUP * a.senders, 120)
            await _mailed(box, mailing * WARMUP, 120)  # the outbox sends after the batch
            await pool.broadcast({"cmd": "reset"})
            await pool.collect("RESET", 30)
            for d in docs:
                d["count"] = d["expect"] = per
            mails0 = box.mails
            start = await scrape(http, metrics_urls)
            log(
                f"notify: {total} messages from {a.senders} senders ({layout['n_direct']} direct, "
                f"{layout['n_mention']} mentioning), {notifying * per} notifications, "
                f"{mailing * per} mails expected"
            )
            spy = None
            if a.profile:
                spy = await profile.start(worker_pid, f"{a.profile}-notify")
            cpu0 = {role: cpu_seconds(procs) for role, procs in roles.items()}
            clients0 = pool.cpu()
            win = Window(
                [p.pid for p in cluster.notifiers] if cluster is not None else [worker_pid]
            )
            samples: list[dict[str, float]] = []
            t0 = time.monotonic()
            sampling = asyncio.create_task(
                _sample(http, metrics_urls, start, t0, a.sample, samples)
            )
            await pool.broadcast(docs)
            out = await pool.collect("DONE", 900)
            t_load = time.monotonic() - t0
            at_load_end = await scrape(http, metrics_urls)
            acked = merge_stats(out)["acked"]  # a send refused (Kafka away) is not waited for
            drained = await _until(http, metrics_urls, start["messages"] + acked, a.drain_timeout)
            t_end = time.monotonic() - t0
            # The outbox sends after the batch: the CPU window runs until the last mail.
            mailed = await _mailed(box, mails0 + mailing * per, a.drain_timeout)
            t_mailed = time.monotonic() - t0
            sampling.cancel()
            w = win.stop()
            cpu = {role: cpu_seconds(procs) - cpu0[role] for role, procs in roles.items()}
            cpu["clients"] = pool.cpu() - clients0
            if spy is not None:
                await profile.stop(spy)
            end = await scrape(http, metrics_urls)
        st = merge_stats(out)
        handled = int(end["messages"] - start["messages"])
        notified = int(end["notifications"] - start["notifications"])
        handled_at_load_end = int(at_load_end["messages"] - start["messages"])
        drain = round(t_end - t_load, 2) if drained else None
        mail_drain = round(t_mailed - t_load, 2) if mailed else None
        lags = [s["lag"] for s in samples]
        behind = [s["behind"] for s in samples]
        ingest_rate = st["acked"] / t_load
        worker_rate = handled / t_end
        keeps_up = drained and drain is not None and drain <= KEEPS_UP_DRAIN_S
        figures = {
            "mode": "embedded" if a.embedded else "cluster",
            "messages": total,
            "acked": st["acked"],
            "errors": st["errors"],
            "load_s": round(t_load, 2),
            "run_s": round(t_end, 2),
            "ingest_acks_per_s": round(ingest_rate, 1),
            "ack_latency_ms": percentiles(st["ack_latencies"]),
            "worker_messages_per_s": round(worker_rate, 1),
            "worker_messages_per_s_during_load": round(handled_at_load_end / t_load, 1),
            "notifications_per_s": round(notified / t_end, 1),
            "messages_decided": handled,
            "notifications": notified,
            "notifications_expected": notifying * per,
            "mails": box.mails - mails0,
            "mails_expected": mailing * per,
            "mail_copies": box.copies,
            "lag_max": int(max(lags, default=0)),
            "lag_at_load_end": int(at_load_end["lag"]),
            "behind_at_load_end": int(at_load_end["stored"] - at_load_end["messages"]),
            "behind_max": int(max(behind, default=0)),
            "lag_samples": [[round(s["t"], 2), int(s["lag"]), int(s["behind"])] for s in samples],
            "drain_s": drain,
            "mail_drain_s": mail_drain,
            "drained": drained,
            "worker_over_ingest": round(worker_rate / ingest_rate, 3) if ingest_rate else None,
            "keeps_up": keeps_up,
            "worker_cpu_us_per_message": round(w["cpu_s"] * 1e6 / max(handled, 1), 1)
            if not a.embedded
            else None,
            "cpu_us_per_message_by_role": {
                role: round(sec * 1e6 / max(handled, 1), 1) for role, sec in cpu.items()
            },
            "ok": st["acked"] == total
            and not st["errors"]
            and drained
            and notified == notifying * per
            and box.mails - mails0 == mailing * per
            and not box.copies,
        }
        log(
            f"notify ({figures['mode']}): ingest {figures['ingest_acks_per_s']} acks/s, worker "
            f"{figures['worker_messages_per_s']} messages/s and {figures['notifications_per_s']} "
            f"notifications/s, lag max {figures['lag_max']} (at load end {figures['lag_at_load_end']}), "
            f"drain {drain} s (mails {mail_drain} s), keeps up: {keeps_up}"
        )
        log(f"notify: CPU µs per message by role {figures['cpu_us_per_message_by_role']}")
    finally:
        if pool is not None:
            await pool.stop()
        if cluster is not None:
            await cluster.stop()
        if server is not None:
            await server.stop()
            cleanup(server.data_dir)
        await box.close()
    params = {k: v for k, v in vars(a).items() if k != "func"}
    write_result("notify", params, figures, a.out)
    return {"failed": not figures.get("ok")}


async def _sample(
    http: aiohttp.ClientSession,
    urls: list[str],
    start: dict[str, float],
    t0: float,
    every: float,
    into: list[dict[str, float]],
) -> None:
    """The worker's lag over the run; ``behind`` is stored minus decided, from the counters."""
    while True:
        now = await scrape(http, urls)
        into.append(
            {
                "t": time.monotonic() - t0,
                "lag": now["lag"],
                "behind": (now["stored"] - start["stored"]) - (now["messages"] - start["messages"]),
            }
        )
        await asyncio.sleep(every)


async def _mailed(box: Mailbox, mails: int, timeout: float) -> bool:
    """Wait until the SMTP server has ``mails`` in all; False on timeout."""
    deadline = time.monotonic() + timeout
    while box.mails < mails:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _until(
    http: aiohttp.ClientSession, urls: list[str], messages: float, timeout: float
) -> bool:
    """Wait until the worker has decided on ``messages`` in all; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await scrape(http, urls))["messages"] >= messages:
            return True
        await asyncio.sleep(0.05)
    return False
