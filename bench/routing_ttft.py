"""The skewed-load part of `bench/routing.py`: p99 time to first token through a real gateway in
front of three simulated engines of different capacity, capacity-aware policy vs round robin.

Three `fleetgate engine` processes (batch slots 24, 12 and 4: capacity 6:3:1) sit behind one
`fleetgate serve` process per policy, started in turn against the same engines. Backends declare
their capacity (`capacity_weight`), as an operator would. An open-loop Poisson load at `--load` of
the fleet's total capacity sends streaming Messages requests; the time to first token is the time
until the first `content_block_delta` event reaches the client. A request the gateway refuses
(529) counts as an infinite time to first token, so refusals can only make a policy look worse.
"""

from __future__ import annotations

import asyncio
import math
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from fleetgate.keys.keystore import KeyStore

MODEL = "bench-sim"
ENGINES = (("big", 24), ("medium", 12), ("small", 4))
"""(name, batch slots): the engine's concurrency and the capacity its backend declares."""
OUTPUT_TOKENS = 48
DECODE_STEP_MS = 20.0
CLI = "from fleetgate.cli.main import main; main()"


@dataclass(frozen=True, slots=True)
class TtftResult:
    policy: str
    sent: int
    refused: int
    p50_s: float
    p99_s: float
    share: dict[str, float]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def processes(commands: list[list[str]], ports: list[int]) -> Iterator[None]:
    procs = [
        subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands
    ]
    try:
        for port in ports:
            _wait_port(port)
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def engine_command(port: int, slots: int) -> list[str]:
    return [
        sys.executable,
        "-c",
        CLI,
        "engine",
        "--port",
        str(port),
        "--model",
        MODEL,
        "--max-batch",
        str(slots),
        "--output-tokens",
        str(OUTPUT_TOKENS),
        "--decode-step-ms",
        str(DECODE_STEP_MS),
        "--decode-step-ms-per-seq",
        "0",
        "--decode-step-ms-per-1k-kv",
        "0",
        "--prefill-tokens-per-s",
        "1000000",
    ]


def fleet_file(folder: Path, policy: str, engine_ports: list[int], port: int) -> Path:
    sites = [
        {
            "id": f"site-{name}",
            "provider": f"p-{name}",
            "owner": f"o-{name}",
            "location": "bench-us",
            "power_mw": 1,
            "pools": [
                {
                    "id": f"pool-{name}",
                    "gpu": "h100-sxm",
                    "gpus": 8,
                    "model": MODEL,
                    "backends": [
                        {"url": f"http://127.0.0.1:{p}", "id": name, "capacity_weight": slots}
                    ],
                }
            ],
        }
        for (name, slots), p in zip(ENGINES, engine_ports, strict=True)
    ]
    mapping: dict[str, Any] = {
        "server": {"port": port, "state_path": str(folder / "state.sqlite3")},
        "models": [{"id": MODEL, "family": "sonnet"}],
        "sites": sites,
        "tenants": [{"id": "bench"}],
        "routing": {"default": policy},
    }
    path = folder / f"fleet-{policy}.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return path


async def _one(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[float, str | None]:
    started = time.monotonic()
    async with client.stream("POST", "/v1/messages", json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return math.inf, None
        site = response.headers.get("x-fleetgate-backend")
        ttft = math.inf
        async for line in response.aiter_lines():
            if ttft == math.inf and line == "event: content_block_delta":
                ttft = time.monotonic() - started
        return ttft, site


async def drive(url: str, key: str, rate: float, seconds: float, seed: int) -> list[Any]:
    """Poisson arrivals at `rate` per second for `seconds`; (ttft, backend) per request."""
    rng = random.Random(seed)
    body = {
        "model": MODEL,
        "max_tokens": OUTPUT_TOKENS,
        "stream": True,
        "messages": [{"role": "user", "content": "benchmark"}],
    }
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=120, limits=limits
    ) as client:
        tasks = []
        start = time.monotonic()
        at = 0.0
        while at < seconds:
            await asyncio.sleep(max(start + at - time.monotonic(), 0))
            tasks.append(asyncio.ensure_future(_one(client, body)))
            at += rng.expovariate(rate)
        return list(await asyncio.gather(*tasks))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]


def run_policy(
    folder: Path, policy: str, engine_ports: list[int], rate: float, seconds: float, seed: int
) -> TtftResult:
    port = _free_port()
    path = fleet_file(folder, policy, engine_ports, port)
    store = KeyStore(str(folder / "state.sqlite3"))
    key = store.create("bench")
    store.close()
    command = [sys.executable, "-c", CLI, "serve", "-c", str(path), "--log-level", "warning"]
    with processes([command], [port]):
        time.sleep(1.5)  # first probes and metric scrapes
        results = asyncio.run(drive(f"http://127.0.0.1:{port}", key, rate, seconds, seed))
    ttfts = [ttft for ttft, _ in results]
    served = [backend for _, backend in results if backend is not None]
    share = {name: served.count(name) / max(len(served), 1) for name, _ in ENGINES}
    return TtftResult(
        policy=policy,
        sent=len(results),
        refused=sum(1 for _, backend in results if backend is None),
        p50_s=percentile(ttfts, 0.50),
        p99_s=percentile(ttfts, 0.99),
        share=share,
    )


def skewed_load_benchmark(
    policy: str, load: float, seconds: float, seed: int
) -> tuple[TtftResult, TtftResult]:
    """(capacity-aware `policy`, round robin) under the same load against the same engines."""
    service_s = OUTPUT_TOKENS * DECODE_STEP_MS / 1000.0
    capacity_rps = sum(slots for _, slots in ENGINES) / service_s
    rate = load * capacity_rps
    ports = [_free_port() for _ in ENGINES]
    commands = [engine_command(p, slots) for p, (_, slots) in zip(ports, ENGINES, strict=True)]
    with tempfile.TemporaryDirectory() as tmp, processes(commands, ports):
        folder = Path(tmp)
        aware = run_policy(folder, policy, ports, rate, seconds, seed)
        time.sleep(service_s * 2)  # let the engines drain
        baseline = run_policy(folder, "round_robin", ports, rate, seconds, seed)
    return aware, baseline


def report(aware: TtftResult, baseline: TtftResult, load: float, seconds: float) -> list[str]:
    """Printable lines of the skewed-load comparison."""
    lines = [
        f"p99 time to first token, 3 engines with 24/12/4 batch slots, streaming, "
        f"open-loop Poisson at {load:.0%} of capacity for {seconds:g} s per policy",
        f"{'policy':<26}{'requests':>9}{'refused':>9}{'p50 s':>9}{'p99 s':>9}"
        f"   share big/medium/small",
    ]
    for result in (aware, baseline):
        share = "/".join(f"{result.share[name]:.2f}" for name, _ in ENGINES)
        lines.append(
            f"{result.policy:<26}{result.sent:>9}{result.refused:>9}{result.p50_s:>9.3f}"
            f"{result.p99_s:>9.3f}   {share}"
        )
    ratio = baseline.p99_s / aware.p99_s if aware.p99_s > 0 else math.inf
    verdict = "ok" if ratio >= 2.0 else "BELOW TARGET"
    lines.append(f"p99 ratio round_robin / {aware.policy}: {ratio:.1f}x (target >= 2x) {verdict}")
    return lines
