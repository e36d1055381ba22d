"""Tenant API keys: created once, stored only as SHA-256 hashes, checked in constant time.

A key looks like ``fg-<key id>-<secret>``. The key id (12 hex characters) is stored in clear to
find the row; the whole key is stored only as a hash and compared with `hmac.compare_digest`.
The store is a SQLite file (the state store); several gateway processes may share it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from fleetgate.errors import StoreUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id     TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    revoked_at REAL
)
"""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What is known about a key, never the key itself."""

    key_id: str
    tenant: str
    name: str
    created_at: float
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _key_id_of(key: str) -> str | None:
    parts = key.split("-")
    if len(parts) != 3 or parts[0] != "fg" or len(parts[1]) != 12:
        return None
    return parts[1]


class KeyStore:
    """API keys in a SQLite file; safe to share between processes and threads."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._lock = threading.Lock()
        try:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self._path, check_same_thread=False, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open key store {self._path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, tenant: str, name: str = "", *, now: float | None = None) -> str:
        """Make a new key for `tenant`; the key is returned once and never stored."""
        key_id = secrets.token_hex(6)
        key = f"fg-{key_id}-{secrets.token_urlsafe(24).replace('-', 'x')}"
        created = time.time() if now is None else now
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO api_keys (key_id, tenant, key_hash, name, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (key_id, tenant, _hash(key), name, created),
            )
        return key

    def verify(self, key: str) -> str | None:
        """The tenant a key belongs to, or None when it is unknown, malformed or revoked."""
        key_id = _key_id_of(key)
        if key_id is None:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT tenant, key_hash, revoked_at FROM api_keys WHERE key_id = ?", (key_id,)
            ).fetchone()
        if row is None:
            hmac.compare_digest(_hash(key), _hash(key))  # same work whether or not the id exists
            return None
        tenant, key_hash, revoked_at = row
        if not hmac.compare_digest(_hash(key), str(key_hash)) or revoked_at is not None:
            return None
        return str(tenant)

    def list(self, tenant: str | None = None) -> list[KeyRecord]:
        """Every key (optionally of one tenant), newest first."""
        query = "SELECT key_id, tenant, name, created_at, revoked_at FROM api_keys"
        args: tuple[str, ...] = ()
        if tenant is not None:
            query += " WHERE tenant = ?"
            args = (tenant,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at DESC", args).fetchall()
        return [KeyRecord(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def revoke(self, key_id: str, *, now: float | None = None) -> bool:
        """Revoke a key by its id; False when no active key has that id."""
        when = time.time() if now is None else now
        with self._lock, self._db:
            cursor = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (when, key_id),
            )
        return cursor.rowcount > 0
