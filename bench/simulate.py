"""Simulator throughput: requests/s and events/s through the real limiter and router.

Runs a scenario (default examples/scenario-small.yaml, shortened with --duration) and, in the
same process, a baseline: the bare event loop running the same number of events with no-op
handlers. Prints both, the ratio, and the time 10 million requests would take at this rate.

With --runs R --workers N, R independent runs of the scenario (seeds S, S+1, ...) are spread
over N processes, each run with its own limiter, router and fleet, as a sweep does; the line
printed is the total requests/s over the wall-clock time of the whole batch.

    .venv/bin/python bench/simulate.py [--scenario FILE] [--duration 30m]
    .venv/bin/python bench/simulate.py --duration 2h --runs 61 --workers 2   # ~10M requests
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from fleetgate.configfile import read_yaml
from fleetgate.sim.loop import EventLoop
from fleetgate.sim.sweep import run_file, run_many

ROOT = Path(__file__).resolve().parent.parent
TEN_MILLION = 10_000_000


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


def one_process(scenario: str, duration: str) -> None:
    """The scenario in this process, next to the bare event loop."""
    started = time.perf_counter()
    result = run_file(scenario, {"duration": duration, "faults": {}})
    wall = time.perf_counter() - started
    run = result["run"]
    events, requests = run["events"], run["requests_issued"]
    baseline = bare_loop(events)
    print(f"scenario: {scenario} ({duration} simulated)")
    print(f"{'':28}{'wall s':>10}{'events/s':>14}{'requests/s':>14}")
    print(f"{'bare event loop (baseline)':28}{baseline:>10.2f}{events / baseline:>14,.0f}{'-':>14}")
    print(f"{'full simulation':28}{wall:>10.2f}{events / wall:>14,.0f}{requests / wall:>14,.0f}")
    print(
        f"events: {events:,}  requests: {requests:,}  limit decisions: {run['limit_decisions']:,}"
    )
    print(f"full simulation / bare loop time per event: {wall / baseline:.1f}x")
    print(f"10,000,000 requests at this rate: {TEN_MILLION / (requests / wall) / 60:.1f} min")


def many_processes(scenario: str, duration: str, count: int, workers: int) -> None:
    """`count` runs of the scenario with consecutive seeds over `workers` processes."""
    data: Any = read_yaml(Path(scenario))
    seed = int(data.get("seed", 0)) if isinstance(data, dict) else 0
    runs = [{"duration": duration, "faults": {}, "seed": seed + i} for i in range(count)]
    started = time.perf_counter()
    results = run_many(scenario, runs, None, workers)
    wall = time.perf_counter() - started
    events = sum(result["run"]["events"] for result in results)
    requests = sum(result["run"]["requests_issued"] for result in results)
    decisions = sum(result["run"]["limit_decisions"] for result in results)
    print(f"scenario: {scenario} ({duration} simulated) x {count} seeds from {seed}")
    print(f"{'':28}{'wall s':>10}{'events/s':>14}{'requests/s':>14}")
    label = f"{workers} processes, total"
    print(f"{label:28}{wall:>10.2f}{events / wall:>14,.0f}{requests / wall:>14,.0f}")
    print(f"events: {events:,}  requests: {requests:,}  limit decisions: {decisions:,}")
    print(f"10,000,000 requests at this rate: {TEN_MILLION / (requests / wall) / 60:.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "examples" / "scenario-small.yaml"))
    parser.add_argument("--duration", default="30m")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=0, help="runs in all (default: --workers)")
    args = parser.parse_args()
    count = args.runs or args.workers
    if count > 1 or args.workers > 1:
        many_processes(args.scenario, args.duration, count, max(args.workers, 1))
    else:
        one_process(args.scenario, args.duration)


if __name__ == "__main__":
    main()
