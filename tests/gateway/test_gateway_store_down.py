"""A limit store that cannot be reached: fail open (admit, no limit headers) or fail closed, a
metric and no crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_harness import live_fleet

from conftest import free_port

ASK = {"model": "claude-haiku-sim", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}


def dead_store(mode: str) -> Any:
    def hook(mapping: dict[str, Any]) -> dict[str, Any]:
        mapping["tenants"] = [{"id": "t1", "tier": "tier-4"}, {"id": "t2"}]
        mapping["limits"] = {"store": f"redis://127.0.0.1:{free_port()}/0", "on_store_error": mode}
        return mapping

    return hook


@pytest.mark.parametrize(("mode", "status"), [("open", 200), ("closed", 529)])
def test_unreachable_store(tmp_path: Path, mode: str, status: int) -> None:
    with live_fleet(tmp_path, mapping_hook=dead_store(mode)) as fleet:
        headers = {"x-api-key": fleet.key, "anthropic-version": "2023-06-01"}
        answers = [
            httpx.post(fleet.url + "/v1/messages", json=ASK, headers=headers) for _ in range(3)
        ]
        metrics = httpx.get(fleet.url + "/metrics").text
    assert [a.status_code for a in answers] == [status] * 3
    if mode == "closed":
        assert answers[0].json()["error"]["type"] == "overloaded_error"
    sample = f'fleetgate_limit_store_errors_total{{on_store_error="{mode}"}}'
    line = next(line for line in metrics.splitlines() if line.startswith(sample))
    assert float(line.split()[-1]) >= 3
    assert "fleetgate_limit_store_down 1.0" in metrics
