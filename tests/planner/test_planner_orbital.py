"""Orbital physics against hand-computed values (capacity-constants.md 1.6 and 4.5)."""

from __future__ import annotations

import math

import pytest

from fleetgate.errors import ConfigurationError
from fleetgate.planner import orbital
from fleetgate.planner.orbital import OrbitParameters, design_orbital_site, orbit_parameters


def test_period_at_650_km_is_97_7_minutes() -> None:
    assert orbital.orbital_period_s(650) / 60 == pytest.approx(97.6, abs=0.15)


def test_zenith_slant_range_is_the_altitude() -> None:
    assert orbital.slant_range_km(650, 90) == pytest.approx(650, rel=1e-9)


def test_round_trip_at_zenith_and_at_ten_degrees() -> None:
    # 2 x 650 km / c = 4.336 ms; at 10 deg: slant 2,044.7 km -> 13.64 ms (one way 6.8 ms)
    assert orbital.ground_round_trip_ms(650, 90) == pytest.approx(4.336, abs=0.001)
    assert orbital.slant_range_km(650, 10) == pytest.approx(2044.7, abs=1.0)
    assert orbital.ground_round_trip_ms(650, 10) == pytest.approx(13.64, abs=0.01)


def test_round_trip_adds_inter_satellite_path_and_backhaul() -> None:
    base = orbital.ground_round_trip_ms(650, 90)
    with_extra = orbital.ground_round_trip_ms(650, 90, isl_km=1000, backhaul_ms=5)
    assert with_extra - base == pytest.approx(2 * 1000 / 299_792.458 * 1000 + 5)


def test_worst_eclipse_at_650_km_is_35_4_minutes() -> None:
    fraction = orbital.eclipse_fraction(650, 0)
    assert fraction == pytest.approx(0.3619, abs=0.0005)
    assert fraction * orbital.orbital_period_s(650) / 60 == pytest.approx(35.4, abs=0.1)


def test_no_eclipse_above_the_critical_beta_angle() -> None:
    critical = math.degrees(math.asin(6371 / (6371 + 650)))
    assert critical == pytest.approx(65.2, abs=0.1)
    assert orbital.eclipse_fraction(650, critical + 0.5) == 0.0
    assert orbital.eclipse_fraction(650, critical - 5) > 0.0


def test_sunlit_fraction_defaults_by_orbit_type() -> None:
    assert orbital.sunlit_fraction(OrbitParameters()) == 0.98
    inclined = OrbitParameters(orbit_type="inclined")
    assert orbital.sunlit_fraction(inclined) == pytest.approx(1 - 0.3619, abs=0.0005)
    assert orbital.sunlit_fraction(OrbitParameters(sunlight_fraction=0.9)) == 0.9


@pytest.mark.parametrize(
    ("temp_c", "area_per_mw"), [(20, 1327), (40, 1019), (60, 795), (80, 630), (100, 505)]
)
def test_radiator_area_per_mw_matches_the_reference_table(
    temp_c: float, area_per_mw: float
) -> None:
    flux = orbital.radiator_net_flux_w_m2(temp_c, 0.9, 2, 0.0, 0.0)
    assert orbital.radiator_area_m2(1e6, flux) == pytest.approx(area_per_mw, rel=0.003)


def test_starcloud_plate_838_gross_and_633_net() -> None:
    gross = orbital.radiator_net_flux_w_m2(20, 1.0, 2, 0.0, 0.0)
    assert gross == pytest.approx(838, abs=1)
    assert orbital.radiator_net_flux_w_m2(20, 1.0, 2, 0.0, 205) == pytest.approx(633, abs=1)


def test_a_radiator_that_absorbs_more_than_it_emits_is_refused() -> None:
    flux = orbital.radiator_net_flux_w_m2(-100, 0.9, 1, 3, 500)
    with pytest.raises(ConfigurationError, match="radiator_temp_c"):
        orbital.radiator_area_m2(1e6, flux)


def test_battery_and_array_sizing() -> None:
    assert orbital.battery_energy_wh(1e6, 1800, 0.5) == pytest.approx(1e6)
    power = orbital.array_power_w(1e6, 0.98, 0.025, 5)
    assert power == pytest.approx(1e6 / 0.98 / 0.975**5)
    assert power == pytest.approx(1.1581e6, rel=1e-4)
    assert orbital.array_area_m2(power, 1361, 0.22) == pytest.approx(power / 299.42)


def test_radiation_failure_rate_and_mean_survivors() -> None:
    rate = orbital.annual_failure_rate(0.091, 150, 2000)
    assert rate == pytest.approx(0.166)
    # average of 0.834^t over 5 years = (0.834^5 - 1) / (5 ln 0.834)
    assert orbital.mean_surviving_fraction(rate, 5) == pytest.approx(0.6571, abs=0.0002)
    assert orbital.mean_surviving_fraction(0.0, 5) == 1.0


def test_design_adds_up_mass_and_launch_cost() -> None:
    params = OrbitParameters(launch_usd_per_kg=200, structure_fraction=0.2)
    design = design_orbital_site(10e6, 9e6, params)
    payload_t = design.battery_t + design.array_t + design.radiator_t + design.compute_t
    assert design.launch_mass_t == pytest.approx(payload_t / 0.8)
    assert design.launch_cost_usd == pytest.approx(design.launch_mass_t * 1000 * 200)
    assert design.specific_power_w_per_kg == pytest.approx(10e6 / (design.launch_mass_t * 1000))
    assert design.compute_t == pytest.approx(9000 * 12.7 / 1000)
    assert design.hardware_cost_usd == pytest.approx(10e6 * 22)
    assert design.battery_mwh == pytest.approx(10 * design.max_eclipse_min / 60 / 0.35)


def test_orbit_mapping_errors_name_the_key_path() -> None:
    with pytest.raises(ConfigurationError, match=r"sites\[2\]\.orbit\.altitud_km: unknown key"):
        orbit_parameters({"altitud_km": 600}, where="sites[2].orbit")
    with pytest.raises(ConfigurationError, match=r"sites\[0\]\.orbit\.emissivity"):
        orbit_parameters({"emissivity": 1.5}, where="sites[0].orbit")
