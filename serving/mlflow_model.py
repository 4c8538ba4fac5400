"""The bundle as an MLflow model: a `pyfunc` wrapping the scoring engine.

`mlflow.pyfunc.load_model(uri).predict(df)` and `mlflow models serve` score exactly as
`groomguard score` does: same engine, same windows, same calibration, same levels.

Input: a DataFrame with one column, `conversation`, each cell one canonical conversation as JSON
(one line of a canonical JSONL file). Output: one row per conversation with the fields of
`groomguard score` (conversation_id, risk, level, risk_by_message, model). Parameter `stride`
(default 1) scores after every Nth message. The bundle directory is the model's only artefact and
is verified (sha256) when the model loads. Needs mlflow and pandas (the `train` extra), never torch.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc.model import PythonModel
from mlflow.types.schema import Array, ColSpec, DataType, ParamSchema, ParamSpec, Schema
from pydantic import ValidationError

from groomguard.schema import Conversation
from groomguard.serving.engine import ConversationScore

INPUT_COLUMN = "conversation"
OUTPUT_COLUMNS = tuple(f.name for f in fields(ConversationScore))  # the columns `groomguard score` writes

SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec(DataType.string, INPUT_COLUMN)]),
    outputs=Schema([
        ColSpec(DataType.string, "conversation_id"),
        ColSpec(DataType.double, "risk"),
        ColSpec(DataType.string, "level"),
        ColSpec(Array(DataType.double), "risk_by_message"),
        ColSpec(DataType.string, "model"),
        ColSpec(DataType.string, "variant"),
    ]),
    params=ParamSchema([ParamSpec("stride", DataType.long, 1)]),
)

# Harmless two-person example (the input example stored with the model and shown by MLflow).
EXAMPLE = Conversation.model_validate({
    "conversation_id": "example-1",
    "messages": [
        {"author": "a", "text": "did you finish the maths homework?"},
        {"author": "b", "text": "almost, question 4 is hard"},
        {"author": "a", "text": "same, let's ask the teacher tomorrow"},
    ],
})


def input_frame(conversations: list[Conversation]) -> pd.DataFrame:
    """The model's input for some conversations: `pandas.DataFrame({"conversation": [json, ...]})`."""
    return pd.DataFrame({INPUT_COLUMN: [c.model_dump_json(exclude_none=True) for c in conversations]})


def _bad_input(msg: str) -> MlflowException:
    return MlflowException(msg, error_code=INVALID_PARAMETER_VALUE)  # HTTP 400 in the scoring server


def parse_conversations(frame: pd.DataFrame) -> list[Conversation]:
    """Rows -> validated conversations; errors name the row and field, never message text."""
    if not isinstance(frame, pd.DataFrame) or INPUT_COLUMN not in frame.columns:
        raise _bad_input(f"input needs a column {INPUT_COLUMN!r} holding canonical conversation JSON")
    out = []
    for i, cell in enumerate(frame[INPUT_COLUMN].tolist()):
        try:
            out.append(Conversation.model_validate_json(cell) if isinstance(cell, (str, bytes))
                       else Conversation.model_validate(cell))
        except ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            loc = ".".join(str(p) for p in first["loc"]) or "conversation"
            raise _bad_input(f"row {i}: {loc}: {first['msg']}") from None
    return out


class GroomguardModel(PythonModel):  # type: ignore[misc]
    """pyfunc flavour of a bundle: artefact `bundle`, model_config `engine` (EngineConfig fields)."""

    def load_context(self, context: Any) -> None:
        from groomguard.serving.engine import build_engine
        from groomguard.serving.engine_config import EngineConfig

        engine_settings = (context.model_config or {}).get("engine", {})
        self.engine = build_engine(context.artifacts["bundle"], EngineConfig(**engine_settings))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        stride = int((params or {}).get("stride", 1))
        if stride < 1:
            raise _bad_input("stride must be >= 1")
        scores = self.engine.score_conversations(parse_conversations(model_input), stride=stride)
        return pd.DataFrame([s.record() for s in scores], columns=list(OUTPUT_COLUMNS))


_MODEL_CODE = """import mlflow.models

from groomguard.serving.mlflow_model import GroomguardModel

mlflow.models.set_model(GroomguardModel())
"""


def log_bundle_model(bundle_dir: Path, name: str = "model", registered_model_name: str | None = None,
                     engine: dict[str, Any] | None = None) -> ModelInfo:
    """Log `bundle_dir` as a pyfunc model into the active run (and register it when a name is given)."""
    from groomguard.bundle import Bundle

    manifest = Bundle.load(bundle_dir).manifest  # refuse an unverifiable bundle before uploading it
    with tempfile.TemporaryDirectory() as tmp:
        # "Models from code": the model is this module's class, imported at load time (no pickle).
        code = Path(tmp) / "groomguard_model.py"
        code.write_text(_MODEL_CODE, encoding="utf-8")
        staged = Path(tmp) / "bundle"  # MLflow stores an artefact under its directory name: artifacts/bundle/
        shutil.copytree(bundle_dir, staged)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(code),
            artifacts={"bundle": str(staged)},
            model_config={"engine": engine or {}},
            signature=SIGNATURE,
            input_example=input_frame([EXAMPLE]),
            registered_model_name=registered_model_name,
            pip_requirements=_requirements(),
            metadata={"groomguard_model": manifest.model_ref, "bundle_format_version": manifest.format_version},
        )


def _requirements() -> list[str]:
    """What the serving environment needs: groomguard (base install) plus mlflow and pandas."""
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for dist in ("groomguard", "mlflow", "pandas"):
        try:
            reqs.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            reqs.append(dist)
    return reqs
