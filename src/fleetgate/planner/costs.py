"""Cost per GPU-hour and per million output tokens, on the ground and in orbit.

Ground: the GPU's price amortized over its life, the facility's capital cost per watt amortized
over the facility's life, and electricity for IT power times PUE. Orbit: the GPU, the spacecraft
hardware per watt and the launch, amortized over the mission and divided by the share of GPUs
still alive on average (no repairs in orbit); sunlight is free. Defaults and sources:

- electricity $0.065/kWh: low end of $0.065-0.35/kWh (capacity-constants 4.5) [D]
- facility capex $13.8/W excl. GPUs: McCalip target, range $12-16/W (1.4) [S]
- facility life 15 years, GPU life 5 years: accounting assumptions [A]
- GPU prices (`DEFAULT_GPU_CAPEX_USD`): market estimates, not in the stored references [A]
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetgate.errors import ConfigurationError

HOURS_PER_YEAR = 8760.0

DEFAULT_GPU_CAPEX_USD: dict[str, float] = {
    "h100-sxm": 25_000.0,
    "h200": 31_000.0,
    "b200": 40_000.0,
    "gb200": 45_000.0,
    "gb300": 55_000.0,
}
"""Server cost per GPU (GPU plus its share of the system) [A]; override in `costs.gpu_capex_usd`."""


@dataclass(frozen=True, slots=True)
class GpuHourCost:
    """What one delivered GPU-hour costs, by component, in US dollars."""

    hardware: float
    site: float
    energy: float
    launch: float

    @property
    def total(self) -> float:
        """The sum of the components."""
        return self.hardware + self.site + self.energy + self.launch


def gpu_capex(gpu: str, prices: dict[str, float]) -> float:
    """The price of one GPU: the demand file's `costs.gpu_capex_usd`, else the default table."""
    price = prices.get(gpu, DEFAULT_GPU_CAPEX_USD.get(gpu))
    if price is None:
        raise ConfigurationError(
            f"costs.gpu_capex_usd.{gpu}: no default price for this GPU; give one in the demand file"
        )
    return price


def terrestrial_gpu_hour(
    *,
    gpu_capex_usd: float,
    gpu_life_years: float,
    it_power_kw: float,
    pue: float,
    facility_capex_usd_per_w: float,
    facility_life_years: float,
    electricity_usd_per_kwh: float,
) -> GpuHourCost:
    """One GPU-hour in a ground data center."""
    hardware = gpu_capex_usd / (gpu_life_years * HOURS_PER_YEAR)
    site = facility_capex_usd_per_w * it_power_kw * 1000.0 / (facility_life_years * HOURS_PER_YEAR)
    energy = it_power_kw * pue * electricity_usd_per_kwh
    return GpuHourCost(hardware=hardware, site=site, energy=energy, launch=0.0)


def orbital_gpu_hour(
    *,
    gpu_capex_usd: float,
    spacecraft_usd_per_gpu: float,
    launch_usd_per_gpu: float,
    life_years: float,
    surviving_fraction: float,
) -> GpuHourCost:
    """One delivered GPU-hour in orbit: capital over the mission, divided by the survivors."""
    hours = life_years * HOURS_PER_YEAR * surviving_fraction
    return GpuHourCost(
        hardware=gpu_capex_usd / hours,
        site=spacecraft_usd_per_gpu / hours,
        energy=0.0,
        launch=launch_usd_per_gpu / hours,
    )


def cost_per_million_tokens(
    gpu_hour_usd: float, tokens_per_gpu_s: float, utilization: float
) -> float:
    """Dollars per million output tokens when GPUs run at `utilization` of their SLO rate."""
    tokens_per_hour = tokens_per_gpu_s * 3600.0 * utilization
    if tokens_per_hour <= 0.0:
        return float("inf")
    return gpu_hour_usd / tokens_per_hour * 1e6
