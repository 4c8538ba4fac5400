"""HTTP API of the scoring service (FastAPI). Entry point: serving.api.app.create_app."""
