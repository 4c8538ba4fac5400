"""MLflow run tracking: params, metrics, the bundle as an artefact, and a registered model version.

Default store: SQLite at var/mlflow.db with artefacts under var/mlruns (works offline; the model
registry needs a database-backed store). `--tracking-uri` points at a server instead. Telemetry is
switched off. The bundle is registered with `create_model_version(source=<artefact uri>)` rather
than `mlflow.register_model("runs:/...")`, which in MLflow 3 only resolves *logged models*.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from groomguard.training.train_config import TrackingSettings


def _disable_network_extras() -> None:
    os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


class Run:
    """A thin handle over one MLflow run; every method is a no-op when tracking is disabled."""

    def __init__(self, mlflow: Any = None, run_id: str | None = None) -> None:
        self.mlflow = mlflow
        self.run_id = run_id

    @property
    def active(self) -> bool:
        return self.mlflow is not None

    def log_params(self, params: Mapping[str, Any]) -> None:
        if self.mlflow:
            flat = {k: str(v)[:500] for k, v in _flatten(params).items()}
            self.mlflow.log_params(flat)

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        if self.mlflow:
            nums = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            self.mlflow.log_metrics(nums, step=step)

    def log_dir(self, path: Path, artifact_path: str) -> None:
        if self.mlflow and path.is_dir():
            self.mlflow.log_artifacts(str(path), artifact_path=artifact_path)

    def log_bundle(self, bundle_dir: Path, model_name: str) -> str | None:
        """Log the bundle directory and register it; returns the model version (or None)."""
        if not self.mlflow:
            return None
        self.mlflow.log_artifacts(str(bundle_dir), artifact_path="bundle")
        client = self.mlflow.MlflowClient()
        try:
            client.get_registered_model(model_name)
        except self.mlflow.exceptions.MlflowException:
            client.create_registered_model(model_name, description="groomguard model bundle (bundle.json + ONNX)")
        mv = client.create_model_version(model_name, source=self.mlflow.get_artifact_uri("bundle"), run_id=self.run_id)
        return str(mv.version)


@contextmanager
def start_run(settings: TrackingSettings, run_name: str, tracking_uri: str | None = None) -> Iterator[Run]:
    """Open an MLflow run (or a no-op Run when disabled)."""
    if not settings.enabled:
        yield Run()
        return
    _disable_network_extras()
    import logging

    import mlflow

    uri = tracking_uri or settings.tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(settings.experiment)
    if exp is not None:
        exp_id = exp.experiment_id
    elif uri.startswith(("sqlite:", "file:")) or "://" not in uri:
        root = settings.artifact_root.resolve()
        root.mkdir(parents=True, exist_ok=True)
        exp_id = client.create_experiment(settings.experiment, artifact_location=root.as_uri())
    else:
        exp_id = client.create_experiment(settings.experiment)  # the server decides where artefacts go
    with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
        yield Run(mlflow, run.info.run_id)
