"""Alembic migrations of the store (run programmatically by `serving.store.open_store`)."""
