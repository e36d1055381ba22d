"""Durable gateway state: tenant API keys (hashed) in a small SQLite file."""
