"""`fleetgate keys create|list|revoke` against a key store named by the fleet file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from fleetgate.cli.main import build_app
from fleetgate.keys.keystore import KeyStore


def test_keys_cli_create_list_revoke(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    state = tmp_path / "state.sqlite3"
    fleet.write_text(f"server: {{state_path: {state}}}\ntenants: [{{id: acme}}]\n")
    runner = CliRunner()
    app = build_app()
    created = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--config", str(fleet)])
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    assert key.startswith("fg-")
    store = KeyStore(state)
    assert store.verify(key) == "acme"
    rows = sqlite3.connect(state).execute("SELECT * FROM api_keys").fetchall()
    assert key not in repr(rows), "keys are stored only as hashes"
    listed = runner.invoke(app, ["keys", "list", "--config", str(fleet)])
    key_id = key.split("-")[1]
    assert key_id in listed.output and "active" in listed.output
    revoked = runner.invoke(app, ["keys", "revoke", key_id, "--config", str(fleet)])
    assert revoked.exit_code == 0
    assert store.verify(key) is None
    unknown = runner.invoke(app, ["keys", "create", "--tenant", "nobody", "--config", str(fleet)])
    assert unknown.exit_code != 0
    store.close()
