"""Data-parallel training: `torchrun --nproc_per_node 2 -m groomguard train` on CPU (gloo).

Two real processes train the tiny BERT together; rank 0 alone exports, evaluates and tracks. The
checks: the Trainer really ran distributed (2 processes, each seeing half the batches), and the
bundle, the evaluation and the MLflow run exist once and load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from groomguard.bundle import Bundle
from groomguard.jsonl import iter_jsonl
from tests.support.train import make_splits, tracked_run_overrides

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "train-test.yaml"


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("ddp")
    paths = make_splits(root / "data")
    out, work = root / "bundle", root / "work"
    sets = tracked_run_overrides(paths, root)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "groomguard", "train", "--config", str(CONFIG)]
    for s in sets:
        cmd += ["--set", s]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false", "MLFLOW_ENABLE_TELEMETRY": "false"}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=root)
    assert res.returncode == 0, res.stderr[-4000:]
    return {"res": res, "root": root, "out": out, "work": work, **paths}


def test_trainer_ran_data_parallel(ddp_run: dict[str, object]) -> None:
    bundle = Bundle.load(ddp_run["out"])  # type: ignore[arg-type]
    assert bundle.manifest.metrics["train_processes"] == 2
    assert bundle.manifest.metrics["train_steps"] == 12
    # 272 training windows, 8 per process per step: 17 steps per epoch with 2 processes (34 with one).
    state = json.loads((ddp_run["work"] / "tiny-test" / "trainer" / "checkpoint-12" / "trainer_state.json")  # type: ignore[operator]
                       .read_text())
    assert state["epoch"] == pytest.approx(12 / 17, abs=1e-3)


def test_rank0_alone_exports_evaluates_and_tracks(ddp_run: dict[str, object]) -> None:
    import mlflow

    out = ddp_run["res"].stdout  # type: ignore[attr-defined]
    assert out.count("bundle -> ") == 1
    assert out.count("test split ROC-AUC") == 1
    assert out.count("MLflow: run") == 1
    assert out.count("train: 40 conversations") == 1  # the data summary is printed by rank 0 only
    report = ddp_run["work"] / "reports" / "tiny-test"  # type: ignore[operator]
    assert (report / "metrics.json").is_file()
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{ddp_run['root']}/mlflow.db")
    exp = client.get_experiment_by_name("groomguard-tests")
    assert exp is not None and len(client.search_runs([exp.experiment_id])) == 1
    assert len(client.search_model_versions("name='groomguard-tiny-test'")) == 1


def test_bundle_loads_and_scores(ddp_run: dict[str, object]) -> None:
    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig

    engine = build_engine(str(ddp_run["out"]), EngineConfig(variant="fp32"))
    convs = list(iter_jsonl(ddp_run["test"]))  # type: ignore[arg-type]
    scores = engine.score_conversations(convs)
    assert [s.conversation_id for s in scores] == [c.conversation_id for c in convs]
    assert all(0.0 <= r <= 1.0 for s in scores for r in s.risk_by_message)
    assert len({round(s.risk, 6) for s in scores}) > 1
