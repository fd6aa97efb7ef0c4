"""``python -m bench report``: the latest result of each scenario as a markdown table, plus charts.

Writes ``report.md`` and PNG charts (matplotlib, Agg backend) into the output folder
(default bench/results/report/). Charts: fan-out latency CDF per target, fan-out CPU
per delivered message per target, chat throughput and p99 against offered load, and
history page latency CDF.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import RESULTS, log


def load(folder: Path) -> dict[str, list[dict[str, Any]]]:
    by: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if "scenario" in doc:
            doc["_file"] = path.name
            by.setdefault(doc["scenario"], []).append(doc)
    return by


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _label(name: str) -> str:
    if name == "sio":
        return "python-socketio"
    if name.startswith("parley@"):
        return "parley (" + Path(name.split("@", 1)[1]).parent.name + ")"
    return name


def groups_table(rows: list[tuple[str, dict[str, float]]]) -> list[str]:
    """CPU µs per delivered event of each process group, one row per target (or step)."""
    rows = [(label, g) for label, g in rows if g]
    if not rows:
        return []
    groups = [k for k in dict.fromkeys(k for _, g in rows for k in g) if k != "total"]
    lines = [
        "",
        "CPU µs per delivered event, by process group:",
        "",
        "| | " + " | ".join(groups) + " | total |",
        "|---" * (len(groups) + 2) + "|",
    ]
    for label, g in rows:
        cells = [_fmt(g[k]) if k in g else "–" for k in groups]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {_fmt(g.get('total', 0.0))} |")
    return lines


def fanout_section(doc: dict[str, Any], out: Path, plt: Any) -> list[str]:
    s = doc["figures"]["summary"]
    p = doc["params"]
    lines = [
        f"### fanout — {p['members']} members, {p['messages']} messages/run, {p['reps']} reps "
        f"(`{doc['git']['commit']}`{' dirty' if doc['git'].get('dirty') else ''}, {doc['time']})",
        "",
        "| target | ok runs | CPU µs / delivered msg (median, range) | delivered msg/s | p50 ms | p95 ms | p99 ms | max ms | RSS KiB/conn |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = [k for k in s if not k.startswith("ratio_")]
    for n in names:
        r = s[n]
        if not r.get("ok_runs"):
            lines.append(f"| {_label(n)} | 0 | – | – | – | – | – | – | – |")
            continue
        lo, hi = r["cpu_us_per_msg_range"]
        lines.append(
            f"| {_label(n)} | {r['ok_runs']} | **{r['cpu_us_per_msg']:.2f}** ({lo:.2f}–{hi:.2f}) | {_fmt(r['msgs_per_s'])} | "
            f"{_fmt(r['latency_p50_ms'])} | {_fmt(r['latency_p95_ms'])} | {_fmt(r['latency_p99_ms'])} | "
            f"{_fmt(r['latency_max_ms'])} | {_fmt(r['rss_per_conn_kb'])} |"
        )
    for k, v in s.items():
        if k.startswith("ratio_"):
            lines.append("")
            lines.append(
                f"{_label(k[6:])} ÷ parley CPU per message: **{v['cpu_per_msg_peer_over_parley']}×**; "
                f"parley ÷ {_label(k[6:])} throughput: {v['throughput_parley_over_peer']}×"
            )
    lines += groups_table(
        [
            (_label(n), s[n].get("cpu_us_per_delivery_by_group", {}))
            for n in names
            if s[n].get("ok_runs")
        ]
    )
    runs = doc["figures"]["runs"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for n in names:
        rs = sorted(
            (r for r in runs if r["target"] == n and r.get("ok")), key=lambda r: r["cpu_us_per_msg"]
        )
        if not rs:
            continue
        mid = rs[len(rs) // 2]
        pts = mid.get("latency_cdf") or []
        if pts:
            ax.plot([x for x, _ in pts], [y for _, y in pts], label=_label(n))
    ax.set_xscale("log")
    ax.set_xlabel("send → receive latency, ms (log)")
    ax.set_ylabel("fraction of deliveries")
    ax.set_title(
        f"fanout: {p['members']} members, saturating"
        if not p.get("rate")
        else f"fanout at {p['rate']} msg/s"
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "fanout-latency-cdf.png", dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ok = [n for n in names if s[n].get("ok_runs")]
    ax.barh([_label(n) for n in ok], [s[n]["cpu_us_per_msg"] for n in ok], color="#4a7")
    for i, n in enumerate(ok):
        ax.text(s[n]["cpu_us_per_msg"], i, f" {s[n]['cpu_us_per_msg']:.1f}", va="center")
    ax.axvline(5, color="red", ls="--", lw=1, label="target 5 µs")
    ax.set_xlabel("server CPU µs per delivered message (median)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "fanout-cpu.png", dpi=90)
    plt.close(fig)
    lines += [
        "",
        "![fan-out latency CDF](fanout-latency-cdf.png) ![fan-out CPU](fanout-cpu.png)",
        "",
    ]
    return lines


def ramp_section(name: str, doc: dict[str, Any], out: Path, plt: Any) -> list[str]:
    p = doc["params"]
    lines = [
        f"### {name} — {p['users']} users, steps of {p['duration']} s, limit p99 {p['p99_limit']} ms "
        f"(`{doc['git']['commit']}`{' dirty' if doc['git'].get('dirty') else ''}, {doc['time']})",
        "",
        "| target | step | offered msg/s | acked/s | deliveries/s | p50 ms | p99 ms | cross-gw p99 ms | server cores | CPU µs/delivery | held |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for t in doc["figures"]["targets"]:
        for s in t.get("steps", []):
            cross = s.get("cross_latency_ms", {}).get("p99")
            lines.append(
                f"| {_label(t['target'])} | {s['step']} | {_fmt(s['offered_msgs_per_s'])} | {_fmt(s['acked_per_s'])} | "
                f"{_fmt(s['delivered_per_s'])} | {_fmt(s['latency_ms']['p50'])} | {_fmt(s['latency_ms']['p99'])} | "
                f"{_fmt(cross) if cross == cross and cross is not None else '–'} | {s['server_util']:.2f} | "
                f"{_fmt(s['cpu_us_per_delivery'])} | {'yes' if s['held'] else 'no'} |"
            )
        steps = t.get("steps", [])
        if steps:
            ax1.plot(
                [s["offered_msgs_per_s"] for s in steps],
                [s["delivered_per_s"] for s in steps],
                "o-",
                label=_label(t["target"]),
            )
            ax2.plot(
                [s["offered_msgs_per_s"] for s in steps],
                [s["latency_ms"]["p99"] for s in steps],
                "o-",
                label=_label(t["target"]),
            )
    lines += groups_table(
        [
            (f"{_label(t['target'])} step {s['step']}", s.get("cpu_us_per_delivery_by_group", {}))
            for t in doc["figures"]["targets"]
            for s in t.get("steps", [])
        ]
    )
    for t in doc["figures"]["targets"]:
        lines.append("")
        lines.append(
            f"**{_label(t['target'])}: highest load held {_fmt(t.get('held_msgs_per_s'))} msg/s** (p99 {_fmt(t.get('held_p99_ms'))} ms)"
        )
    ax1.set_xlabel("offered messages/s")
    ax1.set_ylabel("deliveries/s")
    ax2.set_xlabel("offered messages/s")
    ax2.set_ylabel("p99 send → receive, ms")
    ax2.axhline(p["p99_limit"], color="red", ls="--", lw=1)
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{name}: throughput and p99 against offered load")
    fig.tight_layout()
    fig.savefig(out / f"{name}-ramp.png", dpi=90)
    plt.close(fig)
    lines += ["", f"![{name} ramp]({name}-ramp.png)", ""]
    return lines


def simple_section(name: str, doc: dict[str, Any], keys: list[str]) -> list[str]:
    f = doc["figures"]
    lines = [
        f"### {name} (`{doc['git']['commit']}`{' dirty' if doc['git'].get('dirty') else ''}, {doc['time']})",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for k in keys:
        v = f.get(k)
        if isinstance(v, dict):
            v = ", ".join(f"{kk} {_fmt(vv)}" for kk, vv in v.items() if kk != "n")
        lines.append(f"| {k} | {_fmt(v) if not isinstance(v, str) else v} |")
    return [*lines, ""]


def main(results: Path | None = None, out: Path | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = results or RESULTS
    out = out or folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    by = load(folder)
    lines = [
        "# Parley benchmark report",
        "",
        f"From the latest result of each scenario in `{folder}`.",
        "",
    ]
    if not by:
        lines.append("No results yet: run `python -m bench fanout --peer` (or `make bench`).")
    for name in ("fanout", "chat", "cluster", "connections", "history", "search", "ingest"):
        docs = by.get(name)
        if not docs:
            continue
        doc = docs[-1]
        m = doc["machine"]
        if name == "fanout":
            lines += fanout_section(doc, out, plt)
        elif name in ("chat", "cluster"):
            lines += ramp_section(name, doc, out, plt)
        elif name == "connections":
            lines += simple_section(
                name,
                doc,
                [
                    "connections",
                    "failed",
                    "connects_per_s",
                    "connect_ms",
                    "server_cpu_us_per_connect",
                    "rss_per_conn_kb",
                    "rss_after_mb",
                ],
            )
        elif name == "history":
            lines += simple_section(
                name,
                doc,
                [
                    "rows",
                    "database",
                    "seed_s",
                    "requests",
                    "latency_ms",
                    "server_cpu_us_per_request",
                    "errors",
                ],
            )
            pts = doc["figures"].get("latency_cdf") or []
            if pts:
                fig, ax = plt.subplots(figsize=(5, 3))
                ax.plot([x for x, _ in pts], [y for _, y in pts])
                ax.set_xlabel("history page latency, ms")
                ax.set_ylabel("fraction")
                ax.set_title(f"history: 50-message page at {doc['figures']['rows']:,} rows")
                ax.grid(alpha=0.3)
                fig.tight_layout()
                fig.savefig(out / "history-latency-cdf.png", dpi=90)
                plt.close(fig)
                lines += ["![history latency CDF](history-latency-cdf.png)", ""]
        elif name == "search":
            lines += simple_section(
                name,
                doc,
                [
                    "rows",
                    "database",
                    "seed_s",
                    "requests",
                    "results_per_request",
                    "latency_ms",
                    "server_cpu_us_per_request",
                    "errors",
                    "leaks",
                ],
            )
        elif name == "ingest":
            lines += simple_section(
                name,
                doc,
                [
                    "messages",
                    "acked",
                    "stored_rows",
                    "acks_per_s",
                    "ack_latency_ms",
                    "cpu_us_per_message",
                    "kafka",
                    "errors",
                ],
            )
        lines.append(
            f"<sub>{m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, load average at start {m['loadavg']}</sub>"
        )
        lines.append("")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    log(f"report written to {out / 'report.md'}")
