"""Simulator throughput: requests/s and events/s through the real limiter and router.

Runs a scenario (default examples/scenario-small.yaml, shortened with --duration) and, in the
same process, a baseline: the bare event loop running the same number of events with no-op
handlers. Prints both, the ratio, and the time 10 million requests would take at this rate.

    .venv/bin/python bench/simulate.py [--scenario FILE] [--duration 30m]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fleetgate.sim.loop import EventLoop
from fleetgate.sim.sweep import run_file

ROOT = Path(__file__).resolve().parent.parent


def bare_loop(events: int) -> float:
    """Seconds the event heap alone needs for `events` events (each schedules the next)."""
    loop = EventLoop()
    left = [events]

    def tick(_: object) -> None:
        left[0] -= 1
        if left[0] > 0:
            loop.after(0.001, 1, tick)

    for _ in range(64):  # a heap of realistic depth
        loop.schedule(0.0, 1, tick)
    started = time.perf_counter()
    loop.run(float("inf"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "examples" / "scenario-small.yaml"))
    parser.add_argument("--duration", default="30m")
    args = parser.parse_args()
    started = time.perf_counter()
    result = run_file(args.scenario, {"duration": args.duration, "faults": {}})
    wall = time.perf_counter() - started
    run = result["run"]
    events, requests = run["events"], run["requests_issued"]
    baseline = bare_loop(events)
    print(f"scenario: {args.scenario} ({args.duration} simulated)")
    print(f"{'':28}{'wall s':>10}{'events/s':>14}{'requests/s':>14}")
    print(f"{'bare event loop (baseline)':28}{baseline:>10.2f}{events / baseline:>14,.0f}{'-':>14}")
    print(f"{'full simulation':28}{wall:>10.2f}{events / wall:>14,.0f}{requests / wall:>14,.0f}")
    print(
        f"events: {events:,}  requests: {requests:,}  limit decisions: {run['limit_decisions']:,}"
    )
    print(f"full simulation / bare loop time per event: {wall / baseline:.1f}x")
    print(f"10,000,000 requests at this rate: {10_000_000 / (requests / wall) / 60:.1f} min")


if __name__ == "__main__":
    main()
