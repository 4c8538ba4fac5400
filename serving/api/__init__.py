"""HTTP API of the scoring service (FastAPI). Entry point: groomguard.serving.api.app.create_app."""
