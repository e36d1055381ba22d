"""The event heap: order by time, then priority, then scheduling order; run(until)."""

from __future__ import annotations

from fleetgate.sim.loop import EventLoop


def test_events_run_in_time_priority_and_insertion_order() -> None:
    loop = EventLoop(100.0)
    log: list[tuple[float, str]] = []
    loop.schedule(105.0, 3, lambda a: log.append((loop.now, a)), "late")
    loop.schedule(101.0, 3, lambda a: log.append((loop.now, a)), "arrival-1")
    loop.schedule(101.0, 0, lambda a: log.append((loop.now, a)), "fault")
    loop.schedule(101.0, 3, lambda a: log.append((loop.now, a)), "arrival-2")
    assert loop.run(103.0) == 3
    assert log == [(101.0, "fault"), (101.0, "arrival-1"), (101.0, "arrival-2")]
    assert loop.now == 103.0
    assert loop.pending == 1
    loop.run(200.0)
    assert log[-1] == (105.0, "late")
    assert loop.events == 4


def test_handlers_schedule_more_and_the_past_is_clamped_to_now() -> None:
    loop = EventLoop()
    times: list[float] = []

    def tick(_: object) -> None:
        times.append(loop.now)
        if loop.now < 3:
            loop.after(1.0, 1, tick)

    loop.schedule(0.0, 1, tick)
    loop.run(10.0)
    assert times == [0.0, 1.0, 2.0, 3.0]
    loop.schedule(2.0, 1, lambda _: times.append(loop.now))
    loop.run(11.0)
    assert times[-1] == 10.0
