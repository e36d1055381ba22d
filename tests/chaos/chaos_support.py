"""A chaos fleet on loopback: three sites, each one simulated engine in its own process (so it
can be killed with SIGKILL or frozen with SIGSTOP), and a gateway in a server thread; plus a
bounded steady load generator that records what every client saw."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "gateway"))

from gateway_harness import ServerThread

from conftest import free_port, wait_for_port
from fleetgate.api.app import create_app
from fleetgate.gateway.process import Gateway
from fleetgate.settings import settings_from_mapping

MODEL = "claude-sonnet-sim"
SITES = 3


class EngineProcess:
    """`fleetgate engine` in a child process."""

    def __init__(self, port: int, extra: list[str]) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> EngineProcess:
        code = "from fleetgate.cli.main import main; main()"
        args = [sys.executable, "-c", code, "engine", "--port", str(self.port), "--model", MODEL]
        self.proc = subprocess.Popen(
            [*args, *self.extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return self

    def wait_ready(self) -> None:
        wait_for_port(self.port, timeout=30)

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def fault(self, **faults: Any) -> None:
        response = httpx.post(self.url + "/fault", json=faults, timeout=5)
        assert response.status_code == 200, response.text


@dataclass
class ChaosFleet:
    url: str
    key: str
    gateway: Gateway
    engines: list[EngineProcess]


def chaos_mapping(ports: list[int], gateway_port: int, state: Path) -> dict[str, Any]:
    sites = [
        {
            "id": f"site-{i}",
            "provider": f"provider-{i}",
            "owner": f"owner-{i}",
            "location": "test-us",
            "power_mw": 10,
            "pools": [
                {
                    "id": f"pool-{i}",
                    "gpu": "h100-sxm",
                    "gpus": 8,
                    "model": MODEL,
                    "backends": [{"url": f"http://127.0.0.1:{port}", "id": f"engine-{i}"}],
                }
            ],
        }
        for i, port in enumerate(ports)
    ]
    family = {"rpm": 1_000_000, "itpm": 10**9, "otpm": 10**9}
    weights = {"input": 1, "output": 5, "cache_write": 1.25, "cache_read": 0.1}
    return {
        "server": {
            "port": gateway_port,
            "state_path": str(state),
            "first_byte_timeout_s": 1.0,
            "read_timeout_s": 1.0,
            "ping_interval_s": 30,
        },
        "models": [{"id": MODEL, "family": "sonnet"}],
        "sites": sites,
        "tenants": [{"id": "t1", "tier": "big"}],
        "limits": {
            "tiers": {"big": {"families": {"sonnet": family}}},
            "weights": {"sonnet": weights},
        },
        "routing": {
            "probes": {"interval_s": 0.2, "timeout_s": 0.5, "unhealthy_after": 2},
            "breaker": {"consecutive_failures": 3, "open_s": 0.5, "max_open_s": 2.0},
            "retry": {"max_attempts": 3, "backoff_s": 0.01},
        },
    }


@contextmanager
def chaos_fleet(tmp_path: Path, engine_args: list[str] | None = None) -> Iterator[ChaosFleet]:
    """Three engine processes and a gateway; everything stopped afterwards."""
    ports = [free_port() for _ in range(SITES)]
    extra = engine_args or ["--decode-step-ms", "2", "--output-tokens", "12"]
    engines = [EngineProcess(port, extra).start() for port in ports]
    gateway_server: ServerThread | None = None
    try:
        for engine in engines:
            engine.wait_ready()
        gateway_port = free_port()
        settings = settings_from_mapping(chaos_mapping(ports, gateway_port, tmp_path / "s.db"))
        gateway = Gateway.build(settings)
        key = gateway.keys.create("t1")
        gateway_server = ServerThread(create_app(settings, gateway=gateway), gateway_port).start()
        yield ChaosFleet(f"http://127.0.0.1:{gateway_port}", key, gateway, engines)
    finally:
        for engine in engines:
            engine.stop()
        if gateway_server is not None:
            gateway_server.stop()


@dataclass
class Outcome:
    """What one client saw."""

    started_at: float
    request_id: str | None
    status: int | None
    stream: bool
    streamed: bool = False
    """Response headers and body bytes reached the client (a stream had started)."""
    last_event: str | None = None
    site: str | None = None


@dataclass
class Load:
    """Steady closed-loop load from `workers` client threads, bounded in time and count."""

    fleet: ChaosFleet
    workers: int = 4
    stream: bool = False
    max_requests: int = 300
    pause_s: float = 0.03
    """Think time between two requests of one worker (bounds the request rate)."""
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, seconds: float, actions: list[tuple[float, Any]]) -> list[Outcome]:
        """Load for `seconds`; each (at_s, action) runs at its offset from the start."""
        threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.workers)]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for at_s, action in sorted(actions, key=lambda item: item[0]):
            time.sleep(max(start + at_s - time.monotonic(), 0))
            action()
        time.sleep(max(start + seconds - time.monotonic(), 0))
        self._stop.set()
        for thread in threads:
            thread.join(timeout=30)
        return self.outcomes

    def _worker(self) -> None:
        headers = {"x-api-key": self.fleet.key, "anthropic-version": "2023-06-01"}
        body = {
            "model": MODEL,
            "max_tokens": 16,
            "stream": self.stream,
            "messages": [{"role": "user", "content": "chaos"}],
        }
        with httpx.Client(base_url=self.fleet.url, headers=headers, timeout=20) as client:
            while not self._stop.is_set():
                with self._lock:
                    if len(self.outcomes) >= self.max_requests:
                        return
                outcome = one_request(client, body, self.stream)
                with self._lock:
                    self.outcomes.append(outcome)
                self._stop.wait(self.pause_s)


def one_request(client: httpx.Client, body: dict[str, Any], stream: bool) -> Outcome:
    started = time.monotonic()
    with client.stream("POST", "/v1/messages", json=body) as response:
        outcome = Outcome(started, response.headers.get("request-id"), response.status_code, stream)
        outcome.site = response.headers.get("x-fleetgate-site")
        text = ""
        try:
            for piece in response.iter_text():
                outcome.streamed = stream and response.status_code == 200
                text += piece
        except httpx.HTTPError:
            outcome.last_event = "<connection broken>"
            return outcome
    if stream and response.status_code == 200:
        outcome.last_event = last_event_name(text)
    return outcome


def last_event_name(text: str) -> str | None:
    blocks = [block for block in text.strip().split("\n\n") if block.strip()]
    if not blocks:
        return None
    for line in blocks[-1].splitlines():
        if line.startswith("event: "):
            return line[7:]
    data = json.loads(blocks[-1].removeprefix("data: "))
    return str(data.get("type"))
