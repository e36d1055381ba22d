"""Anthropic streams carry `ping` events while the upstream is quiet (every 15 s by default)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from gateway_harness import live_fleet


def quick_pings(mapping: dict[str, Any]) -> dict[str, Any]:
    mapping["server"]["ping_interval_s"] = 0.05
    return mapping


def test_pings_fill_quiet_gaps(tmp_path: Path) -> None:
    with live_fleet(
        tmp_path,
        mapping_hook=quick_pings,
        engine_options={"decode_step_ms": 200.0, "output_tokens": 3},
    ) as fleet:
        response = httpx.post(
            fleet.url + "/v1/messages",
            json={
                "model": "claude-haiku-sim",
                "max_tokens": 3,
                "stream": True,
                "messages": [{"role": "user", "content": "slowly"}],
            },
            headers={"x-api-key": fleet.key, "anthropic-version": "2023-06-01"},
            timeout=30,
        )
    names = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    data = [
        json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")
    ]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    deltas = [i for i, name in enumerate(names) if name == "content_block_delta"]
    pings_between = [n for n in names[deltas[0] : deltas[-1]] if n == "ping"]
    assert len(pings_between) >= 2, names
    assert all(d == {"type": "ping"} for d, n in zip(data, names, strict=True) if n == "ping")
