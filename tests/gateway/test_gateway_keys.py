"""Tenant keys: the key store and the admin API (its own key, never a tenant's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gateway_harness import LiveFleet, live_fleet

from fleetgate.keys.keystore import KeyStore

ADMIN = "admin-key-for-key-tests"


def test_verify_refuses_malformed_and_tampered_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "s.sqlite3")
    key = store.create("t")
    assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.verify("not-a-key") is None
    assert store.verify("") is None
    store.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFleet]:
    mp = pytest.MonkeyPatch()
    mp.setenv("FLEETGATE_ADMIN_KEY", ADMIN)
    try:
        with live_fleet(Path(tmp_path_factory.mktemp("keys"))) as running:
            yield running
    finally:
        mp.undo()


def test_admin_api_manages_keys(fleet: LiveFleet) -> None:
    admin = {"authorization": f"Bearer {ADMIN}"}
    assert httpx.get(fleet.url + "/admin/keys", headers={"x-api-key": fleet.key}).status_code == 401
    created = httpx.post(fleet.url + "/admin/keys", json={"tenant": "t2"}, headers=admin)
    assert created.status_code == 201
    key, key_id = created.json()["key"], created.json()["key_id"]
    ask = {
        "model": "claude-haiku-sim",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
    }
    ok = httpx.post(fleet.url + "/v1/messages", json=ask, headers={"x-api-key": key})
    assert ok.status_code == 200
    listed = httpx.get(fleet.url + "/admin/keys?tenant=t2", headers=admin).json()["data"]
    assert [row["key_id"] for row in listed] == [key_id]
    assert httpx.delete(fleet.url + f"/admin/keys/{key_id}", headers=admin).status_code == 200
    assert httpx.delete(fleet.url + f"/admin/keys/{key_id}", headers=admin).status_code == 404
    bad = httpx.post(fleet.url + "/admin/keys", json={"tenant": "ghost"}, headers=admin)
    assert bad.status_code == 404 and bad.json()["error"]["type"] == "not_found_error"
    malformed = httpx.post(
        fleet.url + "/admin/keys",
        content=b"{",
        headers={**admin, "content-type": "application/json"},
    )
    assert malformed.status_code == 400
