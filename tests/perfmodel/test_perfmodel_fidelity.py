"""The model reproduces published per-GPU throughput within +/-20% (data/fidelity.yaml)."""

from __future__ import annotations

import pytest

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.fidelity import (
    FIDELITY_TOLERANCE,
    builtin_fidelity_table,
    evaluate_row,
    parse_fidelity_table,
)

ROWS = builtin_fidelity_table()


def test_table_covers_mlperf_llama2_70b_on_h100_h200_b200() -> None:
    covered = {(row.gpu, row.model.split("@")[0]) for row in ROWS}
    for gpu in ("h100-sxm", "h200", "b200"):
        assert (gpu, "llama-2-70b") in covered
    assert len({row.id for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_model_is_within_tolerance_of_published_figure(row: object) -> None:
    result = evaluate_row(row)  # type: ignore[arg-type]
    assert "[" in result.row.source and len(result.row.source) > 30  # names its source
    assert abs(result.relative_error) <= FIDELITY_TOLERANCE, (
        f"{result.row.id}: model {result.predicted_tokens_per_s_per_gpu:,.0f} vs published "
        f"{result.row.published_tokens_per_s_per_gpu:,.0f} ({result.relative_error:+.1%}); "
        f"source: {result.row.source}"
    )


def test_the_check_can_fail() -> None:
    crippled = Efficiency(compute_efficiency=0.2, bandwidth_efficiency=0.3)
    errors = [evaluate_row(row, crippled).relative_error for row in ROWS]
    assert max(abs(e) for e in errors) > FIDELITY_TOLERANCE


def test_bad_fidelity_documents_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="rows: expected a non-empty list"):
        parse_fidelity_table({"workloads": {}, "rows": []})
    document = {
        "workloads": {"w": {"prompt_tokens": 10, "output_tokens": 10}},
        "rows": [
            {
                "id": "x",
                "source": "s",
                "gpu": "h100",
                "model": "llama-2-70b",
                "tensor_parallel": 2,
                "workload": "nope",
                "published_tokens_per_s_per_gpu": 1,
            }
        ],
    }
    with pytest.raises(ConfigurationError, match=r"rows\[0\]\.workload: unknown workload 'nope'"):
        parse_fidelity_table(document)
    document["rows"][0]["workload"] = "w"  # type: ignore[index]
    document["rows"][0]["published_tokens_per_s_per_gpu"] = -4  # type: ignore[index]
    with pytest.raises(ConfigurationError, match=r"rows\[0\]\.published_tokens_per_s_per_gpu"):
        parse_fidelity_table(document)
