"""The plan in the terminal: rich tables for sites, limits, availability, costs and what-ifs."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.table import Table

from fleetgate.planner.formatting import (
    availability_percent,
    change,
    compact,
    factor,
    format_value,
    share,
    usd,
)
from fleetgate.planner.orbital import OrbitalDesign
from fleetgate.planner.plan import PlanResult
from fleetgate.planner.whatif import Comparison


def print_plan(console: Console, result: PlanResult, comparisons: Sequence[Comparison]) -> None:
    """Print every section of the plan, then each what-if."""
    console.print(_headline(result))
    console.print(sites_table(result))
    console.print(plans_table(result))
    if result.api is not None:
        console.print(api_table(result))
    console.print(availability_table(result))
    console.print(costs_table(result))
    orbital = orbital_table(result)
    if orbital is not None:
        console.print(orbital)
    for comparison in comparisons:
        console.print(comparison_table(comparison))
        console.print(limits_change_table(comparison))
        new_sites = _new_sites(comparison)
        if new_sites:
            console.print(sites_table(comparison.after, only=new_sites))
            console.print(costs_table(comparison.after, only=new_sites))
            added_orbital = orbital_table(comparison.after, only=new_sites)
            if added_orbital is not None:
                console.print(added_orbital)


def _new_sites(comparison: Comparison) -> frozenset[str]:
    before = {site.site_id for site in comparison.before.capacity.sites}
    return frozenset(s.site_id for s in comparison.after.capacity.sites if s.site_id not in before)


def _headline(result: PlanResult) -> str:
    capacity = result.capacity
    lost = f"; planning without [bold]{capacity.lost_site}[/]" if capacity.lost_site else ""
    return (
        f"[bold]fleetgate plan[/]: {len(capacity.sites)} sites, {capacity.gpus:,} GPUs, "
        f"SLO TPOT {result.tpot_ms:g} ms / TTFT {result.ttft_ms:g} ms, utilization target "
        f"{share(result.utilization_target, 0)}, refusal target {share(result.refusal_target)}"
        f"{lost}"
    )


def sites_table(result: PlanResult, only: frozenset[str] | None = None) -> Table:
    """Per site and pool: power, GPUs the budget allows, replicas, tokens/s at the SLO."""
    title = "Capacity per site and pool (output tokens/s at the latency SLO)"
    table = Table(title=title if only is None else f"Added sites: {', '.join(sorted(only))}")
    for column in ("site", "pool", "GPU", "GPUs", "MW used/budget", "GPUs power allows"):
        table.add_column(column, justify="left" if column in {"site", "pool", "GPU"} else "right")
    for column in ("TP", "replicas", "batch", "limited by", "tok/s/GPU", "usable tok/s"):
        table.add_column(column, justify="right")
    for site in result.capacity.sites:
        if only is not None and site.site_id not in only:
            continue
        name = site.site_id + (" (orbital)" if site.kind == "orbital" else "")
        if site.site_id == result.capacity.lost_site:
            name += " [lost]"
        for index, pool in enumerate(site.pools):
            table.add_row(
                name if index == 0 else "",
                pool.pool_id,
                pool.gpu,
                f"{pool.gpus:,}",
                f"{site.used_mw:.1f}/{site.power_mw:g}" if index == 0 else "",
                f"{pool.power_allowed_gpus:,}",
                str(pool.tensor_parallel),
                f"{pool.replicas:,}",
                str(pool.replica.batch),
                pool.replica.limited_by,
                compact(pool.tokens_per_gpu_s),
                compact(pool.usable_tokens_per_s),
            )
    total = compact(result.capacity.usable_tokens_per_s)
    table.caption = f"usable = at the utilization target; total {total} tok/s"
    return table


def plans_table(result: PlanResult) -> Table:
    """Plan budgets offered today next to what the fleet sustains."""
    offer = result.subscriptions
    table = Table(
        title="Plan budgets (output tokens): offered vs sustainable at the refusal target"
    )
    table.add_column("plan")
    for column in ("subscribers", "5h offered", "5h sustainable", "hit 5h today", "weekly offered"):
        table.add_column(column, justify="right")
    table.add_column("weekly sustainable", justify="right")
    for plan in offer.plans:
        table.add_row(
            plan.name,
            f"{plan.subscribers:,}",
            compact(plan.offered_five_hour),
            compact(plan.sustainable_five_hour),
            share(plan.hit_share_offered),
            compact(plan.offered_weekly),
            compact(plan.sustainable_weekly),
        )
    notes = [
        f"peak utilization today {share(offer.peak_utilization_offered)}",
        f"headroom {share(offer.headroom)}",
        f"refused today {share(offer.refusal_offered, 2)}",
        f"5-hour limits could scale {factor(offer.sustainable_scale)}",
        f"weekly use today {share(offer.weekly_utilization_offered)} of deliverable",
    ]
    if not offer.five_hour_binding or not offer.weekly_binding:
        notes.append("unbounded: the fleet serves even uncapped demand within the refusal target")
    table.caption = "; ".join(notes)
    return table


def api_table(result: PlanResult) -> Table:
    """Per-minute API tier limits offered and sustainable."""
    api = result.api
    assert api is not None
    table = Table(title="API tier limits per organization (per minute)")
    table.add_column("tier")
    for column in ("orgs", "OTPM offered", "OTPM sustainable", "ITPM sustainable", "RPM"):
        table.add_column(column, justify="right")
    for tier in api.tiers:
        table.add_row(
            tier.tier_id,
            f"{tier.organizations:,}",
            compact(tier.offered_otpm),
            compact(tier.sustainable_otpm),
            compact(tier.sustainable_itpm),
            compact(tier.sustainable_rpm),
        )
    table.caption = (
        f"API capacity {compact(api.capacity_tokens_per_s)} tok/s; at offered limits peak use "
        f"{share(api.utilization_offered)}, overflow probability "
        f"{share(api.refusal_probability_offered, 2)}; one stream tops out at "
        f"{compact(api.per_stream_otpm)} OTPM"
    )
    return table


def availability_table(result: PlanResult) -> Table:
    """Per-site and fleet availability."""
    figures = result.availability
    table = Table(title="Availability")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for site in result.capacity.sites:
        table.add_row(f"site {site.site_id}", availability_percent(site.availability))
    table.add_row("at least one site up", availability_percent(figures.any_site_up))
    table.add_row("every site up", availability_percent(figures.all_sites_up))
    table.add_row(
        "expected share of capacity up", availability_percent(figures.expected_capacity_share)
    )
    every_site = sum(site.usable_tokens_per_s for site in result.capacity.sites)
    expected = every_site * figures.expected_capacity_share
    table.add_row("expected usable tokens/s after availability", compact(expected))
    table.add_row(
        "capacity-weighted (vs peak need today)", availability_percent(figures.capacity_weighted)
    )
    table.add_row("probability limits must be throttled", share(figures.throttle_probability, 3))
    table.add_row("no site at all, minutes a year", f"{figures.downtime_minutes_per_year:,.1f}")
    return table


def costs_table(result: PlanResult, only: frozenset[str] | None = None) -> Table:
    """Cost per GPU-hour by component and per million output tokens."""
    title = "Cost per GPU-hour and per million output tokens"
    table = Table(title=title if only is None else f"{title}: added sites")
    for column in ("pool", "kind", "GPU"):
        table.add_column(column)
    for column in ("hardware", "site", "energy", "launch", "$/GPU-h", "tok/s/GPU", "$/Mtok"):
        table.add_column(column, justify="right")
    for cost in result.costs:
        if only is not None and cost.site_id not in only:
            continue
        hour = cost.gpu_hour
        table.add_row(
            cost.pool_id,
            cost.kind,
            cost.gpu,
            usd(hour.hardware),
            usd(hour.site),
            usd(hour.energy),
            usd(hour.launch),
            usd(hour.total),
            compact(cost.tokens_per_gpu_s),
            usd(cost.usd_per_million_tokens) if cost.tokens_per_gpu_s > 0 else "misses SLO",
        )
        ground = cost.ground_gpu_hour
        ground_per_million = cost.ground_usd_per_million_tokens
        if ground is not None and ground_per_million is not None:
            table.add_row(
                "  same GPUs on the ground",
                "terrestrial",
                cost.gpu,
                usd(ground.hardware),
                usd(ground.site),
                usd(ground.energy),
                usd(ground.launch),
                usd(ground.total),
                compact(cost.tokens_per_gpu_s),
                usd(ground_per_million),
            )
    fleet_cost = result.usd_per_million_tokens
    table.caption = (
        f"fleet: {usd(fleet_cost)} per million output tokens"
        if math.isfinite(fleet_cost)
        else "fleet: no pool meets the SLO, so no tokens to price"
    )
    return table


def orbital_table(result: PlanResult, only: frozenset[str] | None = None) -> Table | None:
    """The physical design of each orbital site, or None when there is none."""
    sites = [
        site
        for site in result.capacity.sites
        if site.orbital is not None and (only is None or site.site_id in only)
    ]
    if not sites:
        return None
    table = Table(title="Orbital sites")
    table.add_column("quantity")
    for site in sites:
        table.add_column(site.site_id, justify="right")
    designs = [site.orbital for site in sites if site.orbital is not None]
    rows: tuple[tuple[str, Callable[[OrbitalDesign], str]], ...] = (
        ("altitude km / period min", lambda d: f"{d.altitude_km:g} / {d.period_min:.1f}"),
        (
            "ground RTT ms (zenith / worst)",
            lambda d: f"{d.rtt_zenith_ms:.1f} / {d.rtt_worst_ms:.1f}",
        ),
        (
            "sunlit share / longest eclipse",
            lambda d: f"{share(d.sunlit_fraction)} / {d.max_eclipse_min:.1f} min",
        ),
        ("battery MWh / t", lambda d: f"{d.battery_mwh:.1f} / {d.battery_t:,.0f}"),
        (
            "solar array MW / m^2 / t",
            lambda d: f"{d.array_mw_bol:.0f} / {d.array_area_m2:,.0f} / {d.array_t:,.0f}",
        ),
        (
            "radiator W/m^2 / m^2 / t",
            lambda d: (
                f"{d.radiator_flux_w_m2:.0f} / {d.radiator_area_m2:,.0f} / {d.radiator_t:,.0f}"
            ),
        ),
        ("compute t / launch mass t", lambda d: f"{d.compute_t:,.0f} / {d.launch_mass_t:,.0f}"),
        ("specific power W/kg", lambda d: f"{d.specific_power_w_per_kg:.1f}"),
        (
            "launch / spacecraft cost",
            lambda d: f"{usd(d.launch_cost_usd)} / {usd(d.hardware_cost_usd)}",
        ),
        (
            "GPU loss a year / mean alive",
            lambda d: f"{share(d.failure_rate_per_year)} / {share(d.mean_surviving_fraction)}",
        ),
    )
    for label, render in rows:
        table.add_row(label, *(render(design) for design in designs))
    return table


def comparison_table(comparison: Comparison) -> Table:
    """One what-if: each metric before and after."""
    table = Table(title=f"What if: {comparison.what_if.label}")
    table.add_column("metric")
    for column in ("before", "after", "change"):
        table.add_column(column, justify="right")
    for row in comparison.rows:
        table.add_row(
            row.metric,
            format_value(row.before, row.unit),
            format_value(row.after, row.unit),
            change(row.before, row.after, row.unit),
        )
    return table


def limits_change_table(comparison: Comparison) -> Table:
    """Per plan: sustainable 5-hour and weekly budgets before and after a what-if."""
    table = Table(title=f"Plan budgets before and after: {comparison.what_if.label}")
    table.add_column("plan")
    for column in ("5h offered", "5h sustainable", "weekly sustainable"):
        table.add_column(f"{column} before", justify="right")
        table.add_column("after", justify="right")
    after_plans = {plan.plan_id: plan for plan in comparison.after.subscriptions.plans}
    for before in comparison.before.subscriptions.plans:
        after = after_plans.get(before.plan_id)
        if after is None:
            continue
        table.add_row(
            before.name,
            compact(before.offered_five_hour),
            compact(after.offered_five_hour),
            compact(before.sustainable_five_hour),
            compact(after.sustainable_five_hour),
            compact(before.sustainable_weekly),
            compact(after.sustainable_weekly),
        )
    return table
