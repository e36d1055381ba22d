"""Graceful shutdown of a real `fleetgate serve` process: SIGTERM mid-stream stops accepting new
connections, lets the stream finish, settles it (its access-log record is written at
settlement), and exits cleanly."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from chaos_support import MODEL
from gateway_harness import ServerThread

from conftest import free_port, wait_for_port
from fleetgate.engine.app import create_engine_app
from fleetgate.engine.options import EngineOptions
from fleetgate.engine.timers import timer_from_options
from fleetgate.keys.keystore import KeyStore


def fleet_file(tmp_path: Path, engine_port: int, gateway_port: int) -> Path:
    mapping = {
        "server": {"port": gateway_port, "state_path": str(tmp_path / "state.sqlite3")},
        "models": [{"id": MODEL, "family": "sonnet"}],
        "sites": [
            {
                "id": "site-0",
                "provider": "p",
                "owner": "o",
                "location": "test-us",
                "power_mw": 1,
                "pools": [
                    {
                        "id": "pool-0",
                        "gpu": "h100-sxm",
                        "gpus": 8,
                        "model": MODEL,
                        "backends": [{"url": f"http://127.0.0.1:{engine_port}"}],
                    }
                ],
            }
        ],
        "tenants": [{"id": "t1"}],
    }
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return path


def stream_in_thread(url: str, key: str, first_bytes: threading.Event) -> dict[str, Any]:
    result: dict[str, Any] = {}

    def run() -> None:
        body = {
            "model": MODEL,
            "max_tokens": 40,
            "stream": True,
            "messages": [{"role": "user", "content": "a long answer please"}],
        }
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        with httpx.stream(
            "POST", url + "/v1/messages", json=body, headers=headers, timeout=30
        ) as response:
            result["request_id"] = response.headers["request-id"]
            text = ""
            for piece in response.iter_text():
                text += piece
                first_bytes.set()
            result["text"] = text

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    result["thread"] = thread
    return result


def test_sigterm_mid_stream_finishes_and_settles_the_stream(tmp_path: Path) -> None:
    engine_port, gateway_port = free_port(), free_port()
    options = EngineOptions(
        port=engine_port,
        models=(MODEL,),
        output_tokens=40,
        decode_step_ms=50.0,
        prefill_tokens_per_s=1_000_000.0,
    )
    engine = ServerThread(create_engine_app(options, timer_from_options(options)), engine_port)
    engine.start()
    path = fleet_file(tmp_path, engine_port, gateway_port)
    store = KeyStore(str(tmp_path / "state.sqlite3"))
    key = store.create("t1")
    store.close()
    code = "from fleetgate.cli.main import main; main()"
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as log:
        gateway = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "-c", str(path), "--log-level", "info"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(gateway_port, timeout=30)
        first_bytes = threading.Event()
        url = f"http://127.0.0.1:{gateway_port}"
        result = stream_in_thread(url, key, first_bytes)
        assert first_bytes.wait(15), "the stream did not start"
        gateway.send_signal(signal.SIGTERM)
        refused = False
        deadline = time.monotonic() + 5
        while not refused and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", gateway_port), timeout=0.2).close()
                time.sleep(0.05)
            except OSError:
                refused = True
        assert refused, "the gateway kept accepting connections after SIGTERM"
        result["thread"].join(timeout=30)
        # uvicorn re-raises the captured SIGTERM once its graceful shutdown is complete
        assert gateway.wait(timeout=30) in {0, -signal.SIGTERM}
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait(timeout=10)
        engine.stop()
    log_text = log_path.read_text()
    assert "Application shutdown complete" in log_text
    events = [line[7:] for line in result["text"].splitlines() if line.startswith("event: ")]
    assert events[-1] == "message_stop"
    records = [
        json.loads(line[line.index("{") :])
        for line in log_text.splitlines()
        if "fleetgate.access" in line and '"event":"request"' in line
    ]
    mine = [r for r in records if r["request_id"] == result["request_id"]]
    assert len(mine) == 1, "the stream was settled exactly once"
    assert mine[0]["outcome"] == "ok" and mine[0]["output_tokens"] == 40
