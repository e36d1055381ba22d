"""Throwaway redis-server processes for the Redis store tests (plain and one-node cluster).

In CI a missing redis-server binary is a failure, never a skip.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from conftest import IN_CI, free_port, run_redis_server


def redis_binary() -> str:
    """The redis-server binary, or skip (fail in CI) when it is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        if IN_CI:
            pytest.fail("redis-server is not installed: run 'make test'")
        pytest.skip("no redis-server binary")
    return binary


def redis_server(port: int, *extra: str) -> AbstractContextManager[str]:
    """A redis-server on 127.0.0.1:`port` for the duration of the block; yields its URL."""
    return run_redis_server(redis_binary(), port, *extra)


@contextmanager
def one_node_cluster(port: int) -> Iterator[str]:
    """A Redis Cluster of one node owning every slot; yields its ``redis+cluster://`` URI."""
    bus = free_port()  # the default bus port (port + 10000) may be taken or above 65535
    with redis_server(port, "--cluster-enabled", "yes", "--cluster-port", str(bus)) as url:
        import redis

        client = redis.Redis.from_url(url)
        try:
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            deadline = time.monotonic() + 15.0
            while b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                if time.monotonic() > deadline:
                    raise TimeoutError("the one-node cluster did not come up")
                time.sleep(0.05)
        finally:
            client.close()
        yield f"redis+cluster://127.0.0.1:{port}"
