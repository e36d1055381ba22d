"""Fault schedules: seeded and independent per fault; eclipses repeat; upsets scale with GPUs."""

from __future__ import annotations

from fleetgate.sim.fault_schedule import SiteCondition, build_schedule
from fleetgate.sim.faults_config import FaultSettings


def faults(**sections: object) -> FaultSettings:
    return FaultSettings.model_validate(sections)


def test_random_outages_are_seeded_and_one_fault_does_not_move_another() -> None:
    mtbf = [{"site": "a", "mtbf": "10h", "mttr": "1h"}]
    one = build_schedule(faults(random_outages=mtbf), 1, 30 * 86400, {})
    again = build_schedule(faults(random_outages=mtbf), 1, 30 * 86400, {})
    assert one == again and len(one) > 20
    other_seed = build_schedule(faults(random_outages=mtbf), 2, 30 * 86400, {})
    assert other_seed != one
    both = build_schedule(
        faults(random_outages=[*mtbf, {"site": "b", "mtbf": "5h", "mttr": "1h"}]),
        1,
        30 * 86400,
        {},
    )
    assert [c for c in both if c.site == "a"] == one
    downtime = sum(c.at * (-1 if c.on else 1) for c in one if c.kind == "down")
    assert 0.02 < downtime / (30 * 86400) < 0.2  # about mttr / (mtbf + mttr) = 9%


def test_eclipses_repeat_every_orbit_and_slow_the_site() -> None:
    schedule = build_schedule(
        faults(eclipses=[{"site": "o", "period": "96m", "duration": "35m", "capacity": 0.5}]),
        0,
        4 * 3600,
        {},
    )
    starts = [c.at for c in schedule if c.on]
    assert starts == [0.0, 5760.0, 11520.0]
    condition = SiteCondition()
    condition.apply(schedule[0])
    assert condition.slow_factor == 2.0
    condition.apply(next(c for c in schedule if not c.on))
    assert condition.slow_factor == 1.0


def test_radiation_upsets_scale_with_the_gpus_of_the_site() -> None:
    spec = faults(radiation=[{"site": "o", "upsets_per_gpu_hour": 0.001, "restart": 30}])
    small = build_schedule(spec, 0, 86400, {"o": 100})
    large = build_schedule(spec, 0, 86400, {"o": 10_000})
    assert 0 < len(small) < len(large)
    assert 190 < len(large) < 290  # 10 upsets per hour expected: 240 a day
    assert all(c.kind == "upset" and 0 <= c.value < 1 and c.restart_s == 30 for c in large)


def test_overlapping_bursts_combine() -> None:
    condition = SiteCondition()
    schedule = build_schedule(
        faults(
            error_bursts=[
                {"site": "a", "at": 0, "duration": 10, "error_rate": 0.5},
                {"site": "a", "at": 5, "duration": 10, "error_rate": 0.5},
            ]
        ),
        0,
        100,
        {},
    )
    for change in schedule[:2]:
        condition.apply(change)
    assert condition.error_rate == 0.75
