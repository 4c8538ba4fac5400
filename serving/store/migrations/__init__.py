"""Alembic migrations of the store (run programmatically by `groomguard.serving.store.open_store`)."""
