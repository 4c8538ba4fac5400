"""A checkpoint carries the text normalisation it was trained with, and export / --resume use it.

Before: the HF checkpoint recorded no normalisation version and export stamped the library's current
constant (v2) on whatever it exported, so a model trained on v1 windows was relabelled v2 and served
with the wrong normalisation. What each test catches: export stamping the constant again (the bundle
would say v2), export guessing for a checkpoint with no record (it must refuse, naming the flag), and
a config that contradicts the record being used silently.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from groomguard.bundle import Bundle
from tests.support.train import make_splits, overrides, run_cli

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "train-test.yaml"
FAST = ["training.max_steps=2", "training.eval_steps=2", "windows.max_length=32", "export.int8=false",
        "export.fused=false", "export.bf16=false", "evaluation.enabled=false"]


def cli(command: str, paths: dict[str, Path], root: Path, *sets: str, extra: tuple[str, ...] = ()) -> int:
    args = [command, "--config", str(CONFIG), *extra]
    for s in [*overrides(paths, root / "bundle", root / "work"), *FAST, *sets]:
        args += ["--set", s]
    return run_cli(args)


@pytest.fixture(scope="module")
def v1_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], Path]:
    root = tmp_path_factory.mktemp("v1")
    paths = make_splits(root / "data", n_train=12, n_eval=6)
    assert cli("train", paths, root, "windows.normalisation_version=1", extra=("--no-tracking",)) == 0
    return paths, root


def test_training_records_and_bundles_the_version_it_used(v1_run: tuple[dict[str, Path], Path]) -> None:
    _, root = v1_run
    best = root / "work" / "tiny-test" / "best"
    assert json.loads((best / "groomguard.json").read_text())["normalisation"]["version"] == 1
    assert json.loads((root / "work" / "tiny-test" / "trainer" / "groomguard.json").read_text())[
        "normalisation"]["version"] == 1
    assert Bundle.load(root / "bundle").manifest.normalisation.version == 1


def test_export_takes_the_version_from_the_checkpoint(v1_run: tuple[dict[str, Path], Path], tmp_path: Path) -> None:
    paths, root = v1_run
    out = tmp_path / "re-exported"
    # no normalisation in the config: the default is v2, the checkpoint says v1, v1 it is
    assert cli("export", paths, root, extra=("--checkpoint", str(root / "work" / "tiny-test" / "best"),
                                             "-o", str(out))) == 0
    manifest = Bundle.load(out).manifest
    assert manifest.normalisation.version == 1
    assert manifest.thresholds == Bundle.load(root / "bundle").manifest.thresholds  # same windows, same choice


def test_export_refuses_a_contradicting_config(v1_run: tuple[dict[str, Path], Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    paths, root = v1_run
    code = cli("export", paths, root, "windows.normalisation_version=2",
               extra=("--checkpoint", str(root / "work" / "tiny-test" / "best"), "-o", str(tmp_path / "x")))
    err = capsys.readouterr().err.strip()
    assert code == 2 and "trained with normalisation v1" in err and "v2" in err, err
    assert not (tmp_path / "x").exists()


def test_an_unrecorded_checkpoint_needs_the_version_given(v1_run: tuple[dict[str, Path], Path], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    paths, root = v1_run
    old = tmp_path / "old-checkpoint"
    shutil.copytree(root / "work" / "tiny-test" / "best", old)
    (old / "groomguard.json").unlink()  # what checkpoints from before this record look like
    args = ("--checkpoint", str(old), "-o", str(tmp_path / "b"))
    assert cli("export", paths, root, extra=args) == 2
    err = capsys.readouterr().err.strip()
    assert "records no text normalisation version" in err and "--set windows.normalisation_version" in err
    assert cli("export", paths, root, "windows.normalisation_version=1", extra=args) == 0
    assert Bundle.load(tmp_path / "b").manifest.normalisation.version == 1
