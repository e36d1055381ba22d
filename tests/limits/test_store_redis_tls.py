"""`rediss://`: the Redis store over TLS against a real redis-server with a private certificate,
verified through the URI's `ssl_ca_certs`, and refused when the certificate is not trusted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from limits_redis_servers import redis_server
from redis.asyncio.connection import SSLConnection

from conftest import free_port, self_signed_certificate
from fleetgate.errors import StoreUnavailable
from fleetgate.limits.rules import Costs, Rule
from fleetgate.limits.stores.redis import RedisStore, state_key
from fleetgate.limits.stores.seam import store_from_uri

pytestmark = pytest.mark.redis

NOW = 1_764_590_400.0
RPM = Rule("rpm", "requests", "bucket", "requests", "organization", 3.0, 3.0, rate=3.0 / 60)


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, str]]:
    """A redis-server with a TLS port (clients need no certificate of their own); yields the
    TLS port, the certificate to trust, and the plain URL of the same server."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("redis-tls"))
    tls_port = free_port()
    extra = [
        "--tls-port",
        str(tls_port),
        "--tls-cert-file",
        str(cert),
        "--tls-key-file",
        str(key),
        "--tls-ca-cert-file",
        str(cert),
        "--tls-auth-clients",
        "no",
    ]
    with redis_server(free_port(), *extra) as plain_url:
        yield tls_port, cert, plain_url


def _admit_four(store: RedisStore, key: str) -> list[bool]:
    async def main() -> list[bool]:
        try:
            return [
                (await store.admit(key, (RPM,), Costs(requests=1.0), NOW)).admitted
                for _ in range(4)
            ]
        finally:
            await store.close()

    return asyncio.run(main())


def test_rediss_admits_over_tls_with_the_trusted_certificate(
    tls_redis: tuple[int, Path, str],
) -> None:
    port, cert, plain_url = tls_redis
    store = store_from_uri(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}")
    assert isinstance(store, RedisStore)
    assert store.client.connection_pool.connection_class is SSLConnection
    key = f"org:tls-{uuid.uuid4().hex[:8]}"
    assert _admit_four(store, key) == [True, True, True, False]  # 3 per minute
    plain = redis.Redis.from_url(plain_url)
    try:
        assert plain.exists(state_key(key)) == 1  # the state is in that server
        plain.delete(state_key(key))
    finally:
        plain.close()


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("rediss://127.0.0.1:{port}/0", "certificate verify failed"),  # the system's CAs only
        ("redis://127.0.0.1:{port}/0", None),  # plain text to the TLS port
    ],
    ids=["untrusted-certificate", "plain-client"],
)
def test_a_tls_server_it_cannot_talk_to_is_unavailable_not_a_crash(
    tls_redis: tuple[int, Path, str], uri: str, message: str | None
) -> None:
    store = store_from_uri(uri.format(port=tls_redis[0]))
    assert isinstance(store, RedisStore)
    with pytest.raises(StoreUnavailable, match=message):
        _admit_four(store, f"org:refused-{uuid.uuid4().hex[:8]}")
