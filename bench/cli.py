"""``python -m bench SCENARIO [options]`` (also ``parley bench ...``).

Scenarios: fanout, chat, connections, history, search, ingest, cluster, notify; ``all`` runs each
with its defaults (fanout and chat with the python-socketio peer); ``report`` turns
bench/results/*.json into bench/results/report.md and PNG charts.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from bench.common import git_commit, log, raise_nofile

SCENARIOS = ["fanout", "chat", "connections", "history", "search", "ingest", "cluster", "notify"]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = top.add_subparsers(dest="scenario", required=True)
    for name in SCENARIOS:
        mod = importlib.import_module(f"bench.scenarios.{name}")
        p = sub.add_parser(name, help=(mod.__doc__ or "").strip().splitlines()[0])
        mod.add_arguments(p)
        p.add_argument(
            "--out", type=Path, default=None, help="results folder (default bench/results)"
        )
        p.add_argument("--tiny", action="store_true", help="a few seconds: the CI smoke size")
    p = sub.add_parser("all", help="every scenario with its defaults, peers included")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--skip", default="", help="comma list of scenarios to leave out")
    p = sub.add_parser("report", help="markdown table and PNG charts from the results")
    p.add_argument("--results", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None, help="folder for report.md and charts")
    return top


TINY: dict[str, dict[str, Any]] = {
    # Enough deliveries for the CPU to span several /proc ticks (10 ms) even at ~2 µs each.
    "fanout": {"members": 50, "messages": 400, "warmup": 8, "reps": 1},
    "chat": {
        "users": 60,
        "duration": 1.5,
        "start_rate": 20,
        "max_steps": 2,
        "big_rooms": 1,
        "big_size": 20,
    },
    "connections": {"connections": 100, "users": 20},
    "history": {"rows": 20_000, "requests": 50},
    "search": {"rows": 20_000, "rooms": 4, "requests": 50},
    "ingest": {"messages": 300, "senders": 4},
    "notify": {"messages": 300, "senders": 10, "members": 3, "drain_timeout": 60},
    "cluster": {
        "users": 60,
        "duration": 1.5,
        "start_rate": 20,
        "max_steps": 1,
        "big_rooms": 1,
        "big_size": 20,
    },
}


async def run_scenario(name: str, args: argparse.Namespace) -> Any:
    git_commit()  # the commit at the start is the one measured
    mod = importlib.import_module(f"bench.scenarios.{name}")
    if getattr(args, "tiny", False):
        for k, v in TINY[name].items():
            setattr(args, k, v)
    log(
        f"scenario {name}: "
        + ", ".join(f"{k}={v}" for k, v in sorted(vars(args).items()) if k not in ("func",))
    )
    return await mod.run(args)


async def run_all(args: argparse.Namespace) -> int:
    skip = {s for s in args.skip.split(",") if s}
    failed = []
    for name in SCENARIOS:
        if name in skip:
            continue
        sub = parser().parse_args([name])
        sub.out, sub.tiny = args.out, args.tiny
        if name in ("fanout", "chat"):
            sub.peer = True
        try:
            await run_scenario(name, sub)
        except Exception as exc:  # one scenario failing does not stop the others
            log(f"scenario {name} failed: {exc!r}")
            failed.append(name)
    if failed:
        log(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    raise_nofile()
    if args.scenario == "report":
        from bench import report

        report.main(args.results, args.out)
        return
    import uvloop

    if args.scenario == "all":
        sys.exit(uvloop.run(run_all(args)))
    result = uvloop.run(run_scenario(args.scenario, args))
    if isinstance(result, dict) and result.get("failed"):
        sys.exit(1)
