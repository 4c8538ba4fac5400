"""`groomguard train --resume` continues from the last Trainer checkpoint instead of starting again.

A tiny BERT is trained 6 steps (checkpoints at 3 and 6), then resumed with the step budget raised
to 9. Expectations are computed here, not read from the Trainer: the learning rate of a linear
schedule with warmup (fraction 0.06 -> ceil(0.06 * N) warmup steps) for N = 6 before the resume and
N = 9 after it, and Adam's per-parameter step counter. A restart from scratch would log the 9-step
schedule from step 1; a restart from the weights alone would leave Adam's counter at 3.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from groomguard.bundle import Bundle
from tests.support.train import make_splits, overrides, run_cli

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "train-test.yaml"
LR, WARMUP = 0.001, 0.06  # configs/train-test.yaml learning_rate; warmup_ratio default (set explicitly below)


def train(paths: dict[str, Path], root: Path, max_steps: int, *extra: str) -> int:
    sets = [*overrides(paths, root / "bundle", root / "work"), f"training.max_steps={max_steps}",
            "training.eval_steps=3", "training.early_stopping_patience=10", f"training.warmup_ratio={WARMUP}",
            "windows.max_length=32", "windows.train_per_conversation=2", "training.epochs=20",
            "export.int8=false", "export.fused=false", "evaluation.enabled=false"]
    args = ["train", "--config", str(CONFIG), "--no-tracking", *extra]
    for s in sets:
        args += ["--set", s]
    return run_cli(args)


def expected_lr(k: int, total: int) -> float:
    """Linear schedule after `k` scheduler steps: warmup from 0 over w = ceil(WARMUP * total) steps,
    then linear decay reaching 0 at `total`: LR * k / w for k < w, else LR * (total - k) / (total - w)."""
    warm = math.ceil(WARMUP * total)
    if k < warm:
        return LR * k / warm
    return LR * max(0.0, (total - k) / max(1, total - warm))


def schedule_matches(lrs: dict[int, float], offset: int) -> bool:
    """The rate logged at step s is the schedule after s - offset scheduler steps: transformers 5 (and
    late 4.x) log the rate the update used (offset 1), 4.47 the rate after the update (offset 0).
    Steps up to the checkpoint follow the first run's 6-step budget, later ones the resumed 9-step one."""
    expected = {s: expected_lr(s - offset, 6 if s <= 6 else 9) for s in lrs}
    return all(lrs[s] == pytest.approx(expected[s], abs=1e-12) for s in lrs)


def adam_steps(checkpoint: Path) -> set[int]:
    import torch

    state = torch.load(checkpoint / "optimizer.pt", map_location="cpu", weights_only=True)["state"]
    return {int(s["step"]) for s in state.values()}


def test_resume_continues_step_count_schedule_and_optimizer(tmp_path: Path) -> None:
    paths = make_splits(tmp_path / "data")
    trainer_dir = tmp_path / "work" / "tiny-test" / "trainer"
    assert train(paths, tmp_path, 6) == 0
    assert adam_steps(trainer_dir / "checkpoint-6") == {6}
    first = json.loads((trainer_dir / "checkpoint-6" / "trainer_state.json").read_text())["log_history"]

    assert train(paths, tmp_path, 9, "--resume") == 0
    state = json.loads((trainer_dir / "checkpoint-9" / "trainer_state.json").read_text())
    assert state["global_step"] == 9
    assert adam_steps(trainer_dir / "checkpoint-9") == {9}  # restarting the optimizer would give 3

    lrs = {e["step"]: e["learning_rate"] for e in state["log_history"] if "learning_rate" in e}
    assert sorted(lrs) == [3, 6, 9]  # logged every eval_steps = 3 (logging_steps = min(eval_steps, 25))
    assert schedule_matches(lrs, 1) or schedule_matches(lrs, 0), lrs
    # A fresh 9-step run would have logged the 9-step schedule at steps 3 and 6 (under either convention):
    assert all(expected_lr(s - o, 6) != pytest.approx(expected_lr(s - o, 9)) for s in (3, 6) for o in (0, 1))
    losses = [e["loss"] for e in state["log_history"] if "loss" in e and e["step"] <= 6]
    assert losses == [e["loss"] for e in first if "loss" in e]  # earlier steps kept, not re-run

    # HF convention: the checkpoint names its classes, index 1 = grooming = the bundle's positive index.
    config = json.loads((tmp_path / "work" / "tiny-test" / "best" / "config.json").read_text())
    assert config["id2label"] == {"0": "benign", "1": "grooming"}
    assert config["label2id"] == {"benign": 0, "grooming": 1}
    assert Bundle.load(tmp_path / "bundle").manifest.onnx.positive_index == config["label2id"]["grooming"]


def test_resume_without_checkpoint_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_splits(tmp_path / "data", n_train=8, n_eval=4)
    assert train(paths, tmp_path, 3, "--resume") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resume" in err[0] and "no Trainer checkpoint" in err[0]
