"""Orbital sites: latency, sunlight, battery, solar array, radiator, launch mass and attrition.

Pure closed-form physics, no I/O. Every constant is a field of `OrbitParameters` whose default
carries its source (the `orbit:` mapping of an orbital site overrides any of them). Source tags
follow /work/shared/reference/capacity-constants.md: [V] read in a primary source, [S] secondary,
[D] derived from cited inputs, [A] an engineering assumption with no stored source (override it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from fleetgate.config_types import Frozen
from fleetgate.configfile import validate
from fleetgate.errors import ConfigurationError

EARTH_RADIUS_KM = 6371.0
"""Mean Earth radius (IUGG)."""
EARTH_MU_KM3_S2 = 398_600.4418
"""Earth's gravitational parameter (WGS-84)."""
SPEED_OF_LIGHT_KM_S = 299_792.458
STEFAN_BOLTZMANN = 5.670374419e-8
"""W m^-2 K^-4 (CODATA) [V]."""
HOURS_PER_YEAR = 8760.0


class OrbitParameters(Frozen):
    """Everything an orbital site's design depends on; every default is sourced."""

    orbit_type: Literal["dawn_dusk_sso", "inclined"] = "dawn_dusk_sso"
    altitude_km: float = Field(650.0, gt=100.0, lt=40_000.0)  # Suncatcher cluster [V]
    beta_deg: float | None = Field(None, ge=0.0, le=90.0)
    """Smallest solar beta angle the orbit sees. Default: dawn-dusk SSO 58.6 deg [D: 90 - 23.44
    obliquity - 8 (SSO inclination 98 deg)], inclined orbit 0 deg (worst case) [D]."""
    sunlight_fraction: float | None = Field(None, gt=0.0, le=1.0)
    """Orbit-average sunlit share. Default: dawn-dusk 0.98 [S McCalip, spacedc-mdao];
    inclined: 1 - eclipse fraction at `beta_deg` [D cylindrical shadow]."""
    min_elevation_deg: float = Field(10.0, ge=0.0, lt=90.0)  # reference 1.6 latency row [D]
    isl_km: float = Field(0.0, ge=0.0)  # extra inter-satellite path; 3.3 us/km [D]
    ground_backhaul_ms: float = Field(0.0, ge=0.0)  # ground station to user, round trip
    solar_constant_w_m2: float = Field(1361.0, gt=0.0)  # AM0 (Kopp & Lean 2011) [V]
    panel_efficiency: float = Field(0.22, gt=0.0, le=1.0)  # Starcloud 22% cells [S]
    cell_degradation_per_year: float = Field(0.025, ge=0.0, lt=1.0)  # McCalip Si default [S]
    radiator_temp_c: float = Field(60.0, gt=-273.15)  # reference 4.5 table: 795 m^2/MW [D]
    emissivity: float = Field(0.9, gt=0.0, le=1.0)  # reference 4.5 [D]
    radiator_sides: Literal[1, 2] = 2  # two-sided plate [S Starcloud]
    sink_temp_k: float = Field(3.0, ge=0.0)  # deep space [V McCalip]
    absorbed_flux_w_m2: float = Field(205.0, ge=0.0)  # Starcloud 838 - 633 W/m^2 [S]
    battery_wh_per_kg: float = Field(150.0, gt=0.0)  # Li-ion pack level [A]
    battery_depth_of_discharge: float = Field(0.35, gt=0.0, le=1.0)  # ~27k LEO cycles [A]
    array_kg_per_m2: float = Field(2.0, gt=0.0)  # deployable array incl. structure [A]
    radiator_kg_per_m2: float = Field(4.0, gt=0.0)  # deployable radiator panels [A]
    compute_kg_per_kw: float = Field(12.7, gt=0.0)  # DGX H100 ~130 kg / 10.2 kW [A]
    structure_fraction: float = Field(0.2, ge=0.0, lt=1.0)  # bus share of launch mass [A]
    launch_usd_per_kg: float = Field(1500.0, gt=0.0)  # Falcon Heavy today [S]; 200 mid-2030s [V]
    hardware_usd_per_w: float = Field(22.0, ge=0.0)  # spacecraft hardware, McCalip [S]
    life_years: float = Field(5.0, gt=0.0)  # Suncatcher 5-year mission dose [S]
    dose_rad_per_year: float = Field(150.0, ge=0.0)  # 750 rad(Si) shielded over 5 yr [S]
    dose_tolerance_rad: float = Field(2000.0, gt=0.0)  # HBM irregularities ~2 krad(Si) [S]
    base_failure_rate_per_year: float = Field(0.091, ge=0.0, lt=1.0)  # Llama 3 GPU+HBM [D]


def orbit_parameters(orbit: Mapping[str, Any] | None, *, where: str) -> OrbitParameters:
    """The `orbit:` mapping of a site validated into parameters; errors name ``where.key``."""
    return validate(OrbitParameters, dict(orbit or {}), source="fleet", prefix=where)


# --------------------------------------------------------------------------- geometry


def orbital_period_s(altitude_km: float) -> float:
    """Two-body period of a circular orbit."""
    semi_major = EARTH_RADIUS_KM + altitude_km
    return 2.0 * math.pi * math.sqrt(semi_major**3 / EARTH_MU_KM3_S2)


def slant_range_km(altitude_km: float, elevation_deg: float) -> float:
    """Distance from a ground station to a satellite seen at `elevation_deg` above the horizon."""
    orbit_radius = EARTH_RADIUS_KM + altitude_km
    elevation = math.radians(elevation_deg)
    horizontal = EARTH_RADIUS_KM * math.cos(elevation)
    return math.sqrt(orbit_radius**2 - horizontal**2) - EARTH_RADIUS_KM * math.sin(elevation)


def ground_round_trip_ms(
    altitude_km: float, elevation_deg: float, *, isl_km: float = 0.0, backhaul_ms: float = 0.0
) -> float:
    """Ground -> compute satellite -> ground at light speed, plus inter-satellite path, backhaul."""
    one_way_km = slant_range_km(altitude_km, elevation_deg) + isl_km
    return 2.0 * one_way_km / SPEED_OF_LIGHT_KM_S * 1000.0 + backhaul_ms


def eclipse_fraction(altitude_km: float, beta_deg: float) -> float:
    """Share of a circular orbit spent in Earth's (cylindrical) shadow at solar beta angle."""
    orbit_radius = EARTH_RADIUS_KM + altitude_km
    beta = math.radians(beta_deg)
    if math.sin(abs(beta)) >= EARTH_RADIUS_KM / orbit_radius:
        return 0.0
    ratio = math.sqrt(altitude_km**2 + 2.0 * EARTH_RADIUS_KM * altitude_km)
    return math.acos(ratio / (orbit_radius * math.cos(beta))) / math.pi


def design_beta_deg(params: OrbitParameters) -> float:
    """The beta angle used for eclipse sizing (explicit, or the orbit type's default)."""
    if params.beta_deg is not None:
        return params.beta_deg
    return 58.6 if params.orbit_type == "dawn_dusk_sso" else 0.0


def sunlit_fraction(params: OrbitParameters) -> float:
    """Orbit-average sunlit share (explicit, 0.98 for dawn-dusk, or from the eclipse geometry)."""
    if params.sunlight_fraction is not None:
        return params.sunlight_fraction
    if params.orbit_type == "dawn_dusk_sso":
        return 0.98
    return 1.0 - eclipse_fraction(params.altitude_km, design_beta_deg(params))


# --------------------------------------------------------------------------- power and heat


def battery_energy_wh(load_w: float, eclipse_s: float, depth_of_discharge: float) -> float:
    """Battery capacity that carries `load_w` through the longest eclipse at the allowed depth."""
    return load_w * eclipse_s / 3600.0 / depth_of_discharge


def array_power_w(load_w: float, sunlit: float, degradation: float, years: float) -> float:
    """Beginning-of-life array power that still feeds the load (and recharges) at end of life."""
    return load_w / sunlit / math.pow(1.0 - degradation, years)


def array_area_m2(power_w: float, solar_constant: float, efficiency: float) -> float:
    """Sun-facing array area delivering `power_w`."""
    return power_w / (solar_constant * efficiency)


def radiator_net_flux_w_m2(
    temp_c: float, emissivity: float, sides: int, sink_k: float, absorbed_w_m2: float
) -> float:
    """Net heat a square metre of radiator plate rejects (Stefan-Boltzmann minus absorbed)."""
    temp_k = temp_c + 273.15
    emitted = sides * emissivity * STEFAN_BOLTZMANN * (temp_k**4 - sink_k**4)
    return emitted - absorbed_w_m2


def radiator_area_m2(heat_w: float, net_flux_w_m2: float) -> float:
    """Radiator plate area that rejects `heat_w`; a non-positive net flux cannot."""
    if net_flux_w_m2 <= 0.0:
        raise ConfigurationError(
            f"orbit.radiator_temp_c: the radiator absorbs more than it emits "
            f"(net {net_flux_w_m2:.0f} W/m^2); raise the temperature or lower absorbed_flux_w_m2"
        )
    return heat_w / net_flux_w_m2


# --------------------------------------------------------------------------- attrition


def annual_failure_rate(base_rate: float, dose_rad_per_year: float, tolerance_rad: float) -> float:
    """Yearly share of GPUs lost: the ground rate plus linear radiation damage (dose/tolerance)."""
    return min(0.999, base_rate + dose_rad_per_year / tolerance_rad)


def mean_surviving_fraction(rate_per_year: float, years: float) -> float:
    """Average over `years` of (1 - rate)^t: no repairs in orbit, failures are permanent."""
    if rate_per_year <= 0.0:
        return 1.0
    log_keep = math.log(1.0 - rate_per_year)
    return (math.exp(years * log_keep) - 1.0) / (years * log_keep)


# --------------------------------------------------------------------------- whole design


@dataclass(frozen=True, slots=True)
class OrbitalDesign:
    """The physical and economic shape of one orbital site at a given power draw."""

    altitude_km: float
    period_min: float
    rtt_zenith_ms: float
    rtt_worst_ms: float
    sunlit_fraction: float
    max_eclipse_min: float
    battery_mwh: float
    battery_t: float
    array_mw_bol: float
    array_area_m2: float
    array_t: float
    radiator_flux_w_m2: float
    radiator_area_m2: float
    radiator_t: float
    compute_t: float
    launch_mass_t: float
    specific_power_w_per_kg: float
    launch_cost_usd: float
    hardware_cost_usd: float
    failure_rate_per_year: float
    mean_surviving_fraction: float


def design_orbital_site(load_w: float, it_power_w: float, params: OrbitParameters) -> OrbitalDesign:
    """Size the site that powers `load_w` (IT power times PUE) and radiates it as heat."""
    period_s = orbital_period_s(params.altitude_km)
    eclipse_s = eclipse_fraction(params.altitude_km, design_beta_deg(params)) * period_s
    sunlit = sunlit_fraction(params)
    battery_wh = battery_energy_wh(load_w, eclipse_s, params.battery_depth_of_discharge)
    array_w = array_power_w(load_w, sunlit, params.cell_degradation_per_year, params.life_years)
    area = array_area_m2(array_w, params.solar_constant_w_m2, params.panel_efficiency)
    flux = radiator_net_flux_w_m2(
        params.radiator_temp_c,
        params.emissivity,
        params.radiator_sides,
        params.sink_temp_k,
        params.absorbed_flux_w_m2,
    )
    radiator = radiator_area_m2(load_w, flux)
    battery_kg = battery_wh / params.battery_wh_per_kg
    array_kg = area * params.array_kg_per_m2
    radiator_kg = radiator * params.radiator_kg_per_m2
    compute_kg = it_power_w / 1000.0 * params.compute_kg_per_kw
    payload_kg = battery_kg + array_kg + radiator_kg + compute_kg
    total_kg = payload_kg / (1.0 - params.structure_fraction)
    rate = annual_failure_rate(
        params.base_failure_rate_per_year, params.dose_rad_per_year, params.dose_tolerance_rad
    )
    return OrbitalDesign(
        altitude_km=params.altitude_km,
        period_min=period_s / 60.0,
        rtt_zenith_ms=ground_round_trip_ms(
            params.altitude_km, 90.0, isl_km=params.isl_km, backhaul_ms=params.ground_backhaul_ms
        ),
        rtt_worst_ms=ground_round_trip_ms(
            params.altitude_km,
            params.min_elevation_deg,
            isl_km=params.isl_km,
            backhaul_ms=params.ground_backhaul_ms,
        ),
        sunlit_fraction=sunlit,
        max_eclipse_min=eclipse_s / 60.0,
        battery_mwh=battery_wh / 1e6,
        battery_t=battery_kg / 1000.0,
        array_mw_bol=array_w / 1e6,
        array_area_m2=area,
        array_t=array_kg / 1000.0,
        radiator_flux_w_m2=flux,
        radiator_area_m2=radiator,
        radiator_t=radiator_kg / 1000.0,
        compute_t=compute_kg / 1000.0,
        launch_mass_t=total_kg / 1000.0,
        specific_power_w_per_kg=load_w / total_kg,
        launch_cost_usd=total_kg * params.launch_usd_per_kg,
        hardware_cost_usd=load_w * params.hardware_usd_per_w,
        failure_rate_per_year=rate,
        mean_surviving_fraction=mean_surviving_fraction(rate, params.life_years),
    )
