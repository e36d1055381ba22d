"""Validation: the simulator's capacity at the SLO agrees with the planner's within 10%.

For each pool shape of the example fleet (GPU, model shape, tensor parallelism), the planner's
closed form (`replica_performance`) gives the request rate one replica sustains at the TPOT
target. The simulator, driving the real limiter and router over engines timed by the same
performance model, must meet the target (mean TPOT) at 90% of that rate and miss it at 110%:
so its own capacity lies within 10% of the planner's figure.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fleetgate.perfmodel.catalog import get_gpu, get_model
from fleetgate.perfmodel.replica import replica_performance
from fleetgate.settings import load_settings
from fleetgate.sim.scenario import scenario_from_mapping
from fleetgate.sim.simulation import Simulation

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fleet-small.yaml"
PROMPT, OUTPUT, TPOT_S, TTFT_S, ENGINES = 1000, 200, 0.050, 2.0, 2


def _shapes() -> list[tuple[str, str, int]]:
    settings = load_settings(EXAMPLE)
    shapes = {}
    for site in settings.sites:
        for pool in site.pools:
            model = settings.model(pool.model)
            assert model is not None
            shapes[(pool.gpu, model.shape, pool.tensor_parallel)] = None
    return list(shapes)


def _mean_tpot(folder: Path, shape: tuple[str, str, int], rate: float) -> float:
    gpu, model, tp = shape
    fleet = {
        "models": [{"id": "m", "family": "haiku", "shape": model}],
        "sites": [
            {
                "id": "s",
                "provider": "p",
                "owner": "o",
                "location": "x-us",
                "power_mw": 50,
                "pools": [
                    {
                        "id": "pool",
                        "gpu": gpu,
                        "gpus": ENGINES * tp,
                        "model": "m",
                        "tensor_parallel": tp,
                    }
                ],
            }
        ],
    }
    (folder / "fleet.yaml").write_text(yaml.safe_dump(fleet), encoding="utf-8")
    users = 1000
    data = {
        "fleet": "fleet.yaml",
        "seed": 5,
        "duration": "6m",
        "warmup": 60,
        "multipliers": {"max-20x:five_hour": 100, "max-20x:seven_day": 100},
        "workload": {
            "model_mix": {"m": 1},
            "diurnal": {"peak_to_trough": 1.0},
            "single": {"prompt_tokens": PROMPT, "output_tokens": OUTPUT},
            "populations": [
                {
                    "plan": "max-20x",
                    "users": users,
                    "usage_sigma": 0,
                    "sessions_per_user_day": rate * 86400 / users,
                    "sessions": {"single": 1},
                }
            ],
        },
    }
    result = Simulation(scenario_from_mapping(data, source="t", base=folder)).run().result
    assert result["total"]["failed"] == 0 and result["total"]["refused"] == 0
    return float(result["total"]["tpot_ms"]["mean"]) / 1000.0


@pytest.mark.parametrize("shape", _shapes())
def test_capacity_at_the_slo_is_within_ten_percent_of_the_planner(
    tmp_path: Path, shape: tuple[str, str, int]
) -> None:
    gpu, model, tp = shape
    planned = replica_performance(
        get_gpu(gpu),
        get_model(model),
        tp,
        target_tpot_s=TPOT_S,
        target_ttft_s=TTFT_S,
        mean_prompt_tokens=PROMPT,
        mean_output_tokens=OUTPUT,
    )
    assert planned.requests_per_s > 0
    rate = planned.requests_per_s * ENGINES
    assert _mean_tpot(tmp_path, shape, 0.9 * rate) <= TPOT_S
    assert _mean_tpot(tmp_path, shape, 1.1 * rate) > TPOT_S
