"""Chaos on loopback: three sites under steady load while one engine process is killed (SIGKILL),
one is slowed past the first-byte timeout, one answers 500s, and one freezes mid-stream
(SIGSTOP). Bounded: a few seconds and at most a few hundred requests per test.

Checked outcomes, never tight timings: every request that had not started streaming succeeds
elsewhere; every started stream ends with a proper event (`message_stop` or `error`); each
request is settled with the limiter exactly once; traffic leaves a failed site within the
configured time; measured end-to-end availability beats every single site's.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from chaos_support import ChaosFleet, Load, Outcome, chaos_fleet
from failover_support import SettleCounter

REBALANCE_S = 1.0
"""Time allowed for traffic to leave a failed site: two 0.2 s probes or three fast failures,
with a margin for a loaded machine."""


def settle_all(fleet: ChaosFleet, counter: SettleCounter, expected: int) -> None:
    deadline = time.monotonic() + 20
    while counter.settlements < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert counter.admitted == expected
    assert counter.settlements == expected
    assert set(counter.settled.values()) == {1}, "a request was charged twice"


def attempts_on(
    outcomes: list[Outcome],
    attempts: dict[str, list[dict[str, str]]],
    site: str,
    after: float,
) -> int:
    """Attempts on `site` by requests that started at or after `after` (monotonic)."""
    return sum(
        1
        for outcome in outcomes
        if outcome.started_at >= after and outcome.request_id is not None
        for attempt in attempts.get(outcome.request_id, [])
        if attempt["site"] == site
    )


def test_failover_keeps_every_request_and_beats_every_site(tmp_path: Path) -> None:
    with chaos_fleet(tmp_path) as fleet:
        gw = fleet.gateway
        counter = SettleCounter(gw)
        attempts = record_attempts(fleet)
        marks: dict[str, float] = {}

        def at(name: str, action: Any) -> Any:
            def run() -> None:
                marks[name] = time.monotonic()
                action()

            return run

        kill = at("kill", lambda: fleet.engines[0].signal(signal.SIGKILL))
        slow = at("slow", lambda: fleet.engines[1].fault(extra_latency_ms=2500))
        recover = at("recover", lambda: fleet.engines[1].fault(extra_latency_ms=0))
        errors = at("errors", lambda: fleet.engines[2].fault(error_rate=1.0))
        # Site 2 fails only after site 1's slow requests (1 s first-byte timeout) are over:
        # while all three fail at once no gateway could serve anything.
        timeline = [(0.6, kill), (1.2, slow), (2.4, recover), (4.0, errors)]
        outcomes = Load(fleet, workers=4, max_requests=600).run(5.8, timeline)

        assert len(outcomes) >= 40, "the load generator made too few requests to judge"
        assert [o for o in outcomes if o.status != 200] == [], "a request was not failed over"
        settle_all(fleet, counter, len(outcomes))

        assert attempts_on(outcomes, attempts, "site-0", marks["kill"] + REBALANCE_S) == 0
        after_errors = attempts_on(outcomes, attempts, "site-2", marks["errors"] + REBALANCE_S)
        assert after_errors <= 3, "only half-open trials may still reach the failing site"

        now = gw.now()
        window = gw.settings.routing.availability.windows_s[0]
        sites = {
            r.id: r.ratio
            for r in gw.fleet.health.availability.report(now, "site")
            if r.window_s == window and r.ratio is not None
        }
        assert set(sites) == {"site-0", "site-1", "site-2"}
        assert all(ratio < 1.0 for ratio in sites.values()), sites
        client_ratio = sum(o.status == 200 for o in outcomes) / len(outcomes)
        end_to_end = next(
            r.ratio
            for r in gw.fleet.health.availability.report(now, "end_to_end")
            if r.window_s == window
        )
        assert end_to_end is not None
        assert min(client_ratio, end_to_end) > max(sites.values())


def test_started_streams_end_with_an_error_event_and_the_rest_fail_over(tmp_path: Path) -> None:
    engine_args = ["--decode-step-ms", "25", "--output-tokens", "12"]
    with chaos_fleet(tmp_path, engine_args) as fleet:
        counter = SettleCounter(fleet.gateway)
        freeze = (0.7, lambda: fleet.engines[1].signal(signal.SIGSTOP))
        kill = (1.5, lambda: fleet.engines[0].signal(signal.SIGKILL))
        outcomes = Load(fleet, workers=4, stream=True, max_requests=300).run(4.0, [freeze, kill])

        assert len(outcomes) >= 20
        not_started = [o for o in outcomes if not o.streamed]
        assert [o.status for o in not_started] == [], "a request failed before streaming"
        endings = {o.last_event for o in outcomes}
        assert endings <= {"message_stop", "error"}, endings
        broken = [o for o in outcomes if o.last_event == "error"]
        assert broken, "streams in flight on the frozen or killed engine end with an error event"
        assert all(o.site in {"site-0", "site-1"} for o in broken)
        settle_all(fleet, counter, len(outcomes))


def record_attempts(fleet: ChaosFleet) -> dict[str, list[dict[str, str]]]:
    """Capture each request's attempts as the gateway writes its access log."""
    attempts: dict[str, list[dict[str, str]]] = {}
    access_log = fleet.gateway.fleet_runtime.access_log
    write = access_log.write

    def capture(record: Any) -> None:
        attempts[record.request_id] = [a.as_dict() for a in record.attempts]
        write(record)

    access_log.write = capture  # type: ignore[method-assign]
    return attempts
