"""Shared fixtures: a throwaway redis-server per test session, free ports, sample settings."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _ephemeral_ports() -> range:
    """The range the kernel takes outgoing connections' local ports from."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


_EPHEMERAL = _ephemeral_ports()
_HIGH_PORT = min(_EPHEMERAL.start, 32768)
_LOW_PORT = 20000 if _HIGH_PORT > 21000 else 1024
_ports = random.Random(os.getpid())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, outside the ephemeral range.

    A port the kernel handed out with bind(0) can be taken as the local port of an outgoing
    connection (to Redis, to an engine) before the server binds it; ports below the ephemeral
    range never are."""
    for _ in range(200):
        port = _ports.randrange(_LOW_PORT, _HIGH_PORT)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) for 127.0.0.1 and localhost, and its key, made
    with the openssl command (a failure in CI when it is missing, else a skip)."""
    if shutil.which("openssl") is None:
        if IN_CI:
            pytest.fail("the openssl command is needed to make a test certificate")
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis URL for tests: our own redis-server when the binary exists, else the machine's.

    In CI a missing Redis is a failure, never a skip.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        url = os.environ.get("FLEETGATE_TEST_REDIS", "redis://127.0.0.1:6379/15")
        if not _redis_answers(url):
            if IN_CI:
                pytest.fail("redis-server is not installed and no Redis answers: run 'make test'")
            pytest.skip("no redis-server binary and no Redis answering")
        yield url
        return
    with run_redis_server(binary, free_port()) as url:
        yield url


@contextmanager
def run_redis_server(binary: str, port: int, *extra: str) -> Iterator[str]:
    """A redis-server on 127.0.0.1:`port` without persistence, in a temporary directory that
    also holds its log, for the duration of the block; yields its URL."""
    workdir = tempfile.mkdtemp(prefix="fleetgate-redis-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", workdir]
    args += ["--logfile", str(Path(workdir) / "redis.log"), *extra]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1)
        return bool(client.ping())
    except redis.RedisError:
        return False
