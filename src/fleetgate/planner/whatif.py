"""What-if comparisons: change one thing, plan again, show before and after.

Spellings (the `--what-if` option, repeatable):

    add-site=FILE[#SITE]         add the sites of a fleet file (or one of them, or a lone site
                                 mapping); models it names that the fleet lacks are added too
    remove-site=SITE             plan without one site (what a lease adds, seen backwards)
    multiplier=PLAN:WINDOW:X     scale a plan's offered budget (PLAN may be `all`;
                                 WINDOW is five_hour or weekly), e.g. multiplier=all:five_hour:2
    no-peak                      switch peak-hour metering off
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fleetgate.configfile import read_yaml
from fleetgate.errors import ConfigurationError
from fleetgate.planner.demand import DemandFile
from fleetgate.planner.plan import PlanOptions, PlanResult, make_plan
from fleetgate.settings import Settings, settings_from_mapping

WINDOWS = {"five_hour": "five_hour_multiplier", "weekly": "weekly_multiplier"}


@dataclass(frozen=True, slots=True)
class WhatIf:
    """One parsed `--what-if`."""

    kind: str
    argument: str
    label: str


@dataclass(frozen=True, slots=True)
class Row:
    """One metric before and after; `unit` picks its formatting."""

    metric: str
    before: float
    after: float
    unit: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """A what-if's plan next to the baseline's."""

    what_if: WhatIf
    before: PlanResult
    after: PlanResult
    rows: tuple[Row, ...]


def parse_what_if(text: str) -> WhatIf:
    """Parse one `--what-if` spelling, or raise ConfigurationError saying what is accepted."""
    name, _, argument = text.partition("=")
    name = name.strip()
    if name == "no-peak" and not argument:
        return WhatIf("no-peak", "", "peak-hour metering off")
    if name in {"add-site", "remove-site"} and argument:
        verb = "add" if name == "add-site" else "remove"
        return WhatIf(name, argument, f"{verb} {argument}")
    if name == "multiplier" and argument:
        parts = argument.split(":")
        if len(parts) == 3 and parts[1] in WINDOWS and _positive(parts[2]):
            return WhatIf(name, argument, f"{parts[0]} {parts[1]} x{float(parts[2]):g}")
        raise ConfigurationError(
            f"--what-if {text}: expected multiplier=PLAN:five_hour|weekly:FACTOR "
            "with a positive factor, e.g. multiplier=pro:five_hour:2"
        )
    raise ConfigurationError(
        f"--what-if {text}: expected add-site=FILE[#SITE], remove-site=SITE, "
        "multiplier=PLAN:WINDOW:FACTOR or no-peak"
    )


def _positive(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value > 0


def apply_what_if(
    settings: Settings, demand: DemandFile, what_if: WhatIf
) -> tuple[Settings, DemandFile]:
    """The inputs with one change made."""
    if what_if.kind == "no-peak":
        metering = demand.peak_metering.model_copy(update={"enabled": False})
        return settings, demand.model_copy(update={"peak_metering": metering})
    if what_if.kind == "multiplier":
        return settings, _scale_plans(demand, what_if.argument)
    if what_if.kind == "remove-site":
        availability = {
            site: value
            for site, value in demand.site_availability.items()
            if site != what_if.argument
        }
        changed = demand.model_copy(update={"site_availability": availability})
        return _remove_site(settings, what_if.argument), changed
    return _add_sites(settings, what_if.argument), demand


def _scale_plans(demand: DemandFile, argument: str) -> DemandFile:
    plan_id, window, factor_text = argument.split(":")
    ids = [plan.id for plan in demand.plans]
    if plan_id != "all" and plan_id not in ids:
        raise ConfigurationError(
            f"--what-if multiplier={argument}: unknown plan {plan_id!r}; known: all, "
            + ", ".join(ids)
        )
    field = WINDOWS[window]
    plans = tuple(
        plan.model_copy(update={field: getattr(plan, field) * float(factor_text)})
        if plan_id in {"all", plan.id}
        else plan
        for plan in demand.plans
    )
    return demand.model_copy(update={"plans": plans})


def _remove_site(settings: Settings, site_id: str) -> Settings:
    ids = [site.id for site in settings.sites]
    if site_id not in ids:
        raise ConfigurationError(
            f"--what-if remove-site={site_id}: unknown site; known: {', '.join(ids)}"
        )
    data = settings.model_dump()
    data["sites"] = [site for site in data["sites"] if site["id"] != site_id]
    return settings_from_mapping(data, source=f"fleet without {site_id}")


def _add_sites(settings: Settings, argument: str) -> Settings:
    path, _, only = argument.partition("#")
    document = read_yaml(path)
    if not isinstance(document, dict):
        raise ConfigurationError(f"{path}: expected a site mapping or a fleet file with sites")
    new_sites: list[Any] = document.get("sites", [document])
    if not isinstance(new_sites, list):
        raise ConfigurationError(f"{path}: sites: expected a list, got {new_sites!r}")
    if only:
        new_sites = [s for s in new_sites if isinstance(s, dict) and s.get("id") == only]
        if not new_sites:
            raise ConfigurationError(f"{path}: no site with id {only!r}")
    data = settings.model_dump()
    known = {model["id"] for model in data["models"]}
    extra_models = [
        m
        for m in document.get("models") or []
        if not isinstance(m, dict) or m.get("id") not in known
    ]
    data["models"] = [*data["models"], *extra_models]
    data["sites"] = [*data["sites"], *new_sites]
    return settings_from_mapping(data, source=f"fleet plus {path}")


def _metrics() -> tuple[tuple[str, str, Callable[[PlanResult], float]], ...]:
    def pro(result: PlanResult, attribute: str) -> float:
        plans = result.subscriptions.plans
        chosen = next((plan for plan in plans if plan.plan_id == "pro"), plans[0])
        return float(getattr(chosen, attribute))

    return (
        ("GPUs", "count", lambda r: r.capacity.gpus),
        ("usable output tokens/s", "rate", lambda r: r.capacity.usable_tokens_per_s),
        (
            "peak utilization at offered limits",
            "share",
            lambda r: r.subscriptions.peak_utilization_offered,
        ),
        ("refused at offered limits", "share", lambda r: r.subscriptions.refusal_offered),
        ("5-hour limits could scale by", "factor", lambda r: r.subscriptions.sustainable_scale),
        ("Pro 5-hour budget offered", "tokens", lambda r: pro(r, "offered_five_hour")),
        ("Pro 5-hour budget sustainable", "tokens", lambda r: pro(r, "sustainable_five_hour")),
        ("Pro weekly budget sustainable", "tokens", lambda r: pro(r, "sustainable_weekly")),
        ("API tier limits could scale by", "factor", lambda r: r.api.scale if r.api else 0.0),
        ("capacity-weighted availability", "share", lambda r: r.availability.capacity_weighted),
        ("cost per million output tokens", "usd", lambda r: r.usd_per_million_tokens),
    )


def compare(
    settings: Settings,
    demand: DemandFile,
    options: PlanOptions,
    what_if: WhatIf,
    baseline: PlanResult,
) -> Comparison:
    """Plan with `what_if` applied and line it up against `baseline`."""
    changed_settings, changed_demand = apply_what_if(settings, demand, what_if)
    after = make_plan(changed_settings, changed_demand, options)
    rows = tuple(
        Row(metric=name, before=float(read(baseline)), after=float(read(after)), unit=unit)
        for name, unit, read in _metrics()
    )
    return Comparison(what_if=what_if, before=baseline, after=after, rows=rows)
