"""Optional MLflow logging of an evaluation: flattened metrics plus the report files as artefacts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

_BAD = re.compile(r"[^A-Za-z0-9_\-. /]")


def flatten_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """`eval.<model>.<key>` for every numeric headline, operating point, author and latency figure."""
    out: dict[str, float] = {}

    def walk(prefix: str, node: Any) -> Iterator[tuple[str, float]]:
        if isinstance(node, bool) or node is None:
            return
        if isinstance(node, (int, float)):
            yield prefix, float(node)
        elif isinstance(node, Mapping):
            for k, v in node.items():
                yield from walk(f"{prefix}.{_BAD.sub('_', str(k))}", v)

    for name, block in metrics.get("models", {}).items():
        if not isinstance(block, Mapping) or "headline" not in block:
            continue
        for section in ("headline", "thresholds", "author_level"):
            out.update(walk(f"eval.{name}.{section}", block.get(section, {})))
        for op, early in block.get("early_detection", {}).items():
            for key in ("f_latency", "speed"):
                out[f"eval.{name}.early_detection.{_BAD.sub('_', op)}.{key}"] = float(early[key])
        out[f"eval.{name}.calibration.ece"] = float(block["calibration"]["ece"])
    return out


def log_to_mlflow(metrics: Mapping[str, Any], files: list[Path], run: bool | str, tracking_uri: str | None,
                  experiment: str) -> str:
    """Log into `run` (a run id), the active run (True), or a new run. Returns the run id."""
    import mlflow

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    active = mlflow.active_run()
    if isinstance(run, str):
        ctx = mlflow.start_run(run_id=run, nested=active is not None and active.info.run_id != run)
    elif active is not None:
        ctx = None
    else:
        mlflow.set_experiment(experiment)
        ctx = mlflow.start_run(run_name=f"evaluate-{metrics['meta']['model']}")
    try:
        run_obj = mlflow.active_run()
        assert run_obj is not None
        mlflow.log_metrics(flatten_metrics(metrics))
        for f in files:
            mlflow.log_artifact(str(f), artifact_path="evaluation")
        return str(run_obj.info.run_id)
    finally:
        if ctx is not None:
            mlflow.end_run()
