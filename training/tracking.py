"""MLflow run tracking: params, Trainer step metrics, the bundle as an MLflow model, a registered version.

Default store: SQLite at var/mlflow.db with artefacts under var/mlruns (works offline; the model
registry needs a database-backed store). `--tracking-uri` points at a server instead. Telemetry is
switched off. The bundle is logged as a pyfunc model (groomguard/serving/mlflow_model.py), so
`mlflow.pyfunc.load_model("models:/groomguard-demo/1")` and `mlflow models serve` score with it;
the registered version carries the bundle's metrics as tags.
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
            self.mlflow.log_metrics(_numbers(metrics), step=step)

    def log_dir(self, path: Path, artifact_path: str) -> None:
        if self.mlflow and path.is_dir():
            self.mlflow.log_artifacts(str(path), artifact_path=artifact_path)

    def log_bundle(self, bundle_dir: Path, model_name: str, metrics: Mapping[str, Any] | None = None) -> str | None:
        """Log the bundle as an MLflow model (pyfunc over the scoring engine, artefact `model`), register
        it as a version of `model_name` tagged with the bundle's metrics; returns the version (or None)."""
        if not self.mlflow:
            return None
        from groomguard.serving.mlflow_model import log_bundle_model

        info = log_bundle_model(bundle_dir, name="model", registered_model_name=model_name)
        version = str(info.registered_model_version)
        client = self.mlflow.MlflowClient()
        if not client.get_registered_model(model_name).description:
            client.update_registered_model(model_name, description=_DESCRIPTION)
        for key, value in _numbers(metrics or {}).items():
            client.set_model_version_tag(model_name, version, key, repr(value))
        return version


_DESCRIPTION = ("groomguard model bundle (bundle.json + ONNX) as a pyfunc: input column `conversation` "
                "(canonical conversation JSON), output risk, level and risk_by_message per conversation")


def _numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def step_metrics_callback(run: Run) -> Any:
    """A transformers `TrainerCallback` that sends every Trainer log (loss, grad_norm, learning_rate,
    eval_loss, eval_roc_auc, ...) to `run` at the global step: the loss curves in the MLflow UI.
    Used instead of `report_to="mlflow"`, which would log ~100 TrainingArguments as run params and
    manage runs itself."""
    from transformers import TrainerCallback

    class StepMetrics(TrainerCallback):  # type: ignore[misc]
        def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None,
                   **kwargs: Any) -> None:
            if logs and state.is_world_process_zero:
                run.log_metrics(logs, step=state.global_step)

    return StepMetrics()


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
