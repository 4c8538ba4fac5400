"""Durable state of the scoring service: conversations, review cases, audit log and API keys.

`open_store(StoreConfig())` connects to SQLite (WAL, default `var/groomguard.db`) or PostgreSQL,
runs the Alembic migrations to head and returns a `Store`.
"""

from groomguard.serving.store.config import AccountsConfig, RetentionConfig, StateConfig, StoreConfig
from groomguard.serving.store.db import Store, StoreError, StoreFull, is_disk_full, migrate, open_store

__all__ = ["AccountsConfig", "RetentionConfig", "StateConfig", "Store", "StoreConfig", "StoreError", "StoreFull",
           "is_disk_full", "migrate", "open_store"]
