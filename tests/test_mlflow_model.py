"""The bundle as an MLflow model: `mlflow.pyfunc.load_model(...).predict(df)` scores like `groomguard score`.

A tiny bundle (risks that differ by window) is logged and registered in a local SQLite MLflow store
under tmp_path, exactly as `groomguard train` does (training/tracking.py), then loaded back through
the model registry and compared with the scoring engine and with the `groomguard score` command;
`mlflow models serve --env-manager local` is started for real and queried over HTTP.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.support.server import free_port
from groomguard.jsonl import iter_jsonl, write_jsonl
from groomguard.schema import Conversation
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.training.tracking import start_run
from groomguard.training.train_config import TrackingSettings
from tests.support.train import make_conversation

MODEL = "groomguard-sharp"
METRICS = {"val_window_roc_auc": 0.8125, "train_steps": 12, "note_not_a_number": "x"}


@pytest.fixture(scope="module")
def logged(sharp_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    settings = TrackingSettings(tracking_uri=uri, artifact_root=root / "mlruns", experiment="gg-test")
    with start_run(settings, "sharp") as run:
        version = run.log_bundle(sharp_bundle_dir, MODEL, METRICS)
    rng = random.Random(5)
    convs = [make_conversation(rng, f"c-{i}", grooming=i % 2 == 0) for i in range(10)]
    convs += list(iter_jsonl(Path(__file__).parent / "fixtures" / "conversations.jsonl"))
    data = root / "convs.jsonl"
    write_jsonl(data, convs)
    return {"uri": uri, "version": version, "run_id": run.run_id, "root": root, "convs": convs, "data": data}


def load(logged: dict[str, Any]) -> Any:
    import mlflow

    mlflow.set_tracking_uri(logged["uri"])
    return mlflow.pyfunc.load_model(f"models:/{MODEL}/{logged['version']}")


def frame(convs: list[Conversation]) -> Any:
    import pandas as pd

    return pd.DataFrame({"conversation": [c.model_dump_json() for c in convs]})


def max_diff(a: list[float], b: list[float]) -> float:
    assert len(a) == len(b)
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("stride", [1, 3])
def test_pyfunc_predict_equals_engine(logged: dict[str, Any], sharp_bundle_dir: Path, stride: int) -> None:
    model = load(logged)
    rows = model.predict(frame(logged["convs"]), params={"stride": stride}).to_dict(orient="records")
    engine = build_engine(str(sharp_bundle_dir), EngineConfig())  # what `groomguard score` builds by default
    expected = engine.score_conversations(logged["convs"], stride=stride)
    assert [r["conversation_id"] for r in rows] == [c.conversation_id for c in logged["convs"]]
    assert max_diff([r["risk"] for r in rows], [s.risk for s in expected]) < 1e-6
    for row, s in zip(rows, expected, strict=True):
        assert max_diff(list(row["risk_by_message"]), s.risk_by_message) < 1e-6
        assert row["level"] == s.level and row["model"] == "sharp@test" and row["variant"] == "fp32"
    risks = [r["risk"] for r in rows]
    assert max(risks) - min(risks) > 0.05  # the comparison is between distinct values, not a constant


def test_pyfunc_predict_equals_score_command(logged: dict[str, Any]) -> None:
    out = logged["root"] / "scores.jsonl"
    from groomguard.cli import main

    try:
        main(["score", "--bundle", str(load_bundle_dir(logged)), "--input", str(logged["data"]), "--output", str(out)])
    except SystemExit as exc:
        assert not exc.code
    cli = [json.loads(line) for line in out.read_text().splitlines()]
    rows = load(logged).predict(frame(logged["convs"])).to_dict(orient="records")
    assert [r["conversation_id"] for r in rows] == [c["conversation_id"] for c in cli]
    assert max_diff([r["risk"] for r in rows], [c["risk"] for c in cli]) < 1e-6
    assert [r["level"] for r in rows] == [c["level"] for c in cli]


def load_bundle_dir(logged: dict[str, Any]) -> Path:
    """The bundle as stored inside the logged model (artefact `bundle`), downloaded from the store."""
    import mlflow

    mlflow.set_tracking_uri(logged["uri"])
    local = mlflow.artifacts.download_artifacts(f"models:/{MODEL}/{logged['version']}",
                                                dst_path=str(logged["root"] / "download"))
    return Path(local) / "artifacts" / "bundle"


def test_registered_version_signature_example_and_tags(logged: dict[str, Any], sharp_bundle_dir: Path) -> None:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=logged["uri"])
    mv = client.get_model_version(MODEL, logged["version"])
    assert mv.run_id == logged["run_id"]
    assert {k: float(v) for k, v in mv.tags.items() if k in METRICS} == {"val_window_roc_auc": 0.8125,
                                                                         "train_steps": 12.0}
    assert "note_not_a_number" not in mv.tags
    meta = load(logged).metadata
    assert meta.signature.inputs.input_names() == ["conversation"]
    assert meta.signature.outputs.input_names() == ["conversation_id", "risk", "level", "risk_by_message", "model",
                                                     "variant"]
    assert meta.signature.params.to_dict()[0]["name"] == "stride"
    example = meta.load_input_example()
    Conversation.model_validate_json(example["conversation"][0])  # a valid canonical conversation
    # The artefact is the bundle itself, byte for byte (verified again by Bundle.load when the model loads).
    stored = load_bundle_dir(logged)
    for f in sharp_bundle_dir.iterdir():
        assert (stored / f.name).read_bytes() == f.read_bytes()


def test_bad_rows_are_refused_without_message_text(logged: dict[str, Any]) -> None:
    import pandas as pd
    from mlflow.exceptions import MlflowException

    model = load(logged)
    secret = "call me at the secret place"
    bad = pd.DataFrame({"conversation": [logged["convs"][0].model_dump_json(),
                                         json.dumps({"conversation_id": "x", "messages": [{"txt": secret}]})]})
    with pytest.raises(MlflowException) as exc:
        model.predict(bad)
    assert "row 1" in str(exc.value) and "messages.0" in str(exc.value) and secret not in str(exc.value)
    with pytest.raises(MlflowException, match="stride"):
        model.predict(frame(logged["convs"][:1]), params={"stride": 0})


def test_mlflow_models_serve_answers(logged: dict[str, Any], sharp_bundle_dir: Path, tmp_path: Path) -> None:
    """`mlflow models serve --env-manager local`: started as users start it, queried over HTTP.

    MLflow runs `uvicorn` from PATH; a shim runs it with this interpreter (the test's environment)."""
    import httpx

    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "uvicorn").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m uvicorn "$@"\n')
    (shim / "uvicorn").chmod(0o755)
    port = free_port()
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "MLFLOW_TRACKING_URI": logged["uri"],
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{MODEL}/{logged['version']}",
           "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    log = tmp_path / "serve.log"  # a file, not a pipe: nobody reads it while the server runs
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
            try:
                if httpx.get(f"{base}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "mlflow models serve did not answer /ping within 60 s"
            time.sleep(0.3)
        convs = logged["convs"][:4]
        body = {"dataframe_split": {"columns": ["conversation"], "data": [[c.model_dump_json()] for c in convs]}}
        res = httpx.post(f"{base}/invocations", json=body, timeout=30)
        assert res.status_code == 200, res.text
        got = res.json()["predictions"]
        expected = build_engine(str(sharp_bundle_dir), EngineConfig()).score_conversations(convs)
        assert [g["conversation_id"] for g in got] == [c.conversation_id for c in convs]
        assert max_diff([g["risk"] for g in got], [s.risk for s in expected]) < 1e-6
        bad = httpx.post(f"{base}/invocations", json={"dataframe_records": [{"conversation": "{}"}]}, timeout=30)
        assert bad.status_code == 400 and "conversation_id" in bad.json()["message"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
