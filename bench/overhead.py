"""Gateway overhead: the same load direct to an instant engine, through fleetgate, through LiteLLM.

    .venv/bin/python bench/overhead.py [--seconds 8] [--rate 50] [--no-litellm] [--limits]

Starts `fleetgate engine --instant` (the upstream), a one-worker `fleetgate serve` in front of it,
and (unless --no-litellm) one LiteLLM proxy worker in front of the same engine, installed by this
script in its own virtualenv at a pinned version. Then, for each target: the most requests per
second a closed loop gets (non-streaming), the latency at a fixed moderate rate (non-streaming),
the time to first byte of streams at that rate, and the server's RSS after the run. Figures are
printed next to the direct baseline measured in the same run: ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from loadgen import Run, build_request, closed_loop, open_loop

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LITELLM_VERSION = "1.108.0"  # pinned; never 1.82.7 or 1.82.8 (compromised releases)
LITELLM_VENV = ROOT / ".bench" / "litellm-venv"
MODEL = "bench-model"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn/LiteLLM may fork)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far (/proc, in seconds)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    ticks = 0
    for one in pids:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def ensure_litellm() -> Path:
    binary = LITELLM_VENV / "bin" / "litellm"
    if not binary.exists():
        print(f"installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run(
            [
                str(LITELLM_VENV / "bin" / "pip"),
                "install",
                "-q",
                f"litellm[proxy]=={LITELLM_VERSION}",
            ],
            check=True,
        )
    return binary


@dataclass
class Target:
    name: str
    port: int
    path: str
    headers: dict[str, str]
    pid: int


def gateway_config(workdir: Path, engine_port: int, gateway_port: int, limits: bool) -> Path:
    tenant = "bench-tier" if limits else "bench"
    config = {
        "server": {"port": gateway_port, "state_path": str(workdir / "state.sqlite3")},
        "models": [{"id": MODEL, "family": "sonnet"}],
        "sites": [
            {
                "id": "bench-site",
                "provider": "local",
                "owner": "local",
                "location": "loopback-us",
                "power_mw": 1,
                "pools": [
                    {
                        "id": "bench-pool",
                        "gpu": "h100-sxm",
                        "gpus": 8,
                        "model": MODEL,
                        "backends": [
                            {"url": f"http://127.0.0.1:{engine_port}", "protocol": "openai"}
                        ],
                    }
                ],
            }
        ],
        "tenants": [{"id": tenant, **({"tier": "bench-unlimited"} if limits else {})}],
        # limits on: every request is admitted against RPM/ITPM/OTPM buckets and settled
        "limits": {
            "tiers": {
                "bench-unlimited": {
                    "families": {
                        "sonnet": {"rpm": 10_000_000, "itpm": 10_000_000_000, "otpm": 1_000_000_000}
                    }
                }
            }
        },
    }
    path = workdir / "fleet.yaml"
    path.write_text(json.dumps(config))
    return path


def start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}
    )


def body(stream: bool) -> bytes:
    payload = {
        "model": MODEL,
        "max_tokens": 16,
        "stream": stream,
        "messages": [{"role": "user", "content": "Say hello to the benchmark."}],
    }
    return json.dumps(payload).encode()


async def measure(target: Target, seconds: float, rate: float) -> dict[str, float]:
    plain = build_request(target.port, target.path, body(False), target.headers)
    streaming = build_request(target.port, target.path, body(True), target.headers)
    await closed_loop(target.port, plain, workers=8, seconds=1.0)  # warm-up
    cpu_before = cpu_seconds(target.pid)
    peak: Run = await closed_loop(target.port, plain, workers=32, seconds=seconds)
    cpu_used = cpu_seconds(target.pid) - cpu_before
    steady = await open_loop(target.port, plain, rate=rate, seconds=seconds)
    streams = await open_loop(target.port, streaming, rate=rate, seconds=seconds)
    return {
        "throughput_rps": peak.throughput,
        "errors": float(
            peak.errors + steady.errors + streams.errors + len(peak.samples) - len(peak.ok)
        ),
        "p50_ms": steady.percentile(50) * 1000,
        "p99_ms": steady.percentile(99) * 1000,
        "ttft_p50_ms": streams.percentile(50, first_byte=True) * 1000,
        "ttft_p99_ms": streams.percentile(99, first_byte=True) * 1000,
        "rss_mb": rss_mb(target.pid),
        # the server's own CPU per answered request in the closed loop: unlike latency, not
        # moved by whatever else the shared machine runs
        "cpu_us": cpu_used / max(len(peak.ok), 1) * 1e6,
    }


def report(results: dict[str, dict[str, float]], rate: float) -> None:
    direct = results["direct"]
    print(
        f"\n{'target':<12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'TTFT p50':>10}{'TTFT p99':>10}{'RSS MB':>9}{'CPU us':>9}{'errors':>8}"
    )
    for name, r in results.items():
        print(
            f"{name:<12}{r['throughput_rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}"
            f"{r['ttft_p50_ms']:>10.2f}{r['ttft_p99_ms']:>10.2f}{r['rss_mb']:>9.0f}{r['cpu_us']:>9.0f}{r['errors']:>8.0f}"
        )
    for name in [n for n in results if n != "direct"]:
        r = results[name]
        print(f"\n{name} vs direct (same run, {rate:.0f} req/s for latency):")
        print(
            f"  throughput share of direct upstream: {r['throughput_rps'] / direct['throughput_rps']:.1%}"
        )
        print(
            f"  added latency p50 {r['p50_ms'] - direct['p50_ms']:+.2f} ms, p99 {r['p99_ms'] - direct['p99_ms']:+.2f} ms"
        )
        print(
            f"  added time to first byte (streams) p50 {r['ttft_p50_ms'] - direct['ttft_p50_ms']:+.2f} ms"
        )
        print(
            f"  its own CPU per request {r['cpu_us']:.0f} us (the upstream's: {direct['cpu_us']:.0f} us)"
        )
    if "fleetgate" in results and "litellm" in results:
        ratio = results["fleetgate"]["throughput_rps"] / results["litellm"]["throughput_rps"]
        print(f"\nfleetgate / LiteLLM throughput, one worker each: {ratio:.1f}x (target >= 20x)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--limits", action="store_true", help="admit every request against a tier")
    args = parser.parse_args()
    fleetgate = str(VENV_BIN / "fleetgate")
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="fleetgate-bench-") as tmp:
        workdir = Path(tmp)
        try:
            engine_port, gateway_port = free_port(), free_port()
            engine = start(
                [fleetgate, "engine", "--instant", "--port", str(engine_port), "--model", MODEL]
            )
            procs.append(engine)
            config = gateway_config(workdir, engine_port, gateway_port, args.limits)
            gateway = start([fleetgate, "serve", "--config", str(config), "--log-level", "warning"])
            procs.append(gateway)
            tenant = "bench-tier" if args.limits else "bench"
            key = subprocess.run(
                [fleetgate, "keys", "create", "--tenant", tenant, "--config", str(config)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            wait_for_port(engine_port)
            wait_for_port(gateway_port)
            targets = [
                Target("direct", engine_port, "/v1/chat/completions", {}, engine.pid),
                Target(
                    "fleetgate",
                    gateway_port,
                    "/v1/chat/completions",
                    {"authorization": f"Bearer {key}"},
                    gateway.pid,
                ),
            ]
            if not args.no_litellm:
                litellm_port = free_port()
                cfg = workdir / "litellm.yaml"
                cfg.write_text(
                    "model_list:\n"
                    f"  - model_name: {MODEL}\n"
                    "    litellm_params:\n"
                    f"      model: openai/{MODEL}\n"
                    f"      api_base: http://127.0.0.1:{engine_port}/v1\n"
                    "      api_key: none\n"
                )
                master = "sk-fleetgate-bench-" + os.urandom(8).hex()
                lite = start(
                    [
                        str(ensure_litellm()),
                        "--config",
                        str(cfg),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(litellm_port),
                        "--num_workers",
                        "1",
                    ],
                    env={
                        "LITELLM_LOG": "ERROR",
                        "LITELLM_MASTER_KEY": master,
                        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                    },
                )
                procs.append(lite)
                wait_for_port(litellm_port, timeout=300)
                targets.append(
                    Target(
                        "litellm",
                        litellm_port,
                        "/v1/chat/completions",
                        {"authorization": f"Bearer {master}"},
                        lite.pid,
                    )
                )
            for target in targets:
                print(f"measuring {target.name} ...", flush=True)
                results[target.name] = asyncio.run(measure(target, args.seconds, args.rate))
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    report(results, args.rate)


if __name__ == "__main__":
    main()
