"""`groomguard data synth` / `groomguard data audit` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groomguard.cli import main
from groomguard.jsonl import iter_jsonl


def run_cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def test_synth_writes_the_requested_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "synth.jsonl"
    assert run_cli(["data", "synth", "--n-conversations", "30", "--seed", "4", "-o", str(out)]) == 0
    convs = list(iter_jsonl(out))
    assert len(convs) == 30 and all(c.source == "synthetic" for c in convs)
    assert "wrote 30 synthetic conversations" in capsys.readouterr().out


BAD_ARGS = [["--n-conversations", "0"], ["--set", "generator.french_rate=7"]]


@pytest.mark.parametrize("args", BAD_ARGS)
def test_synth_rejects_bad_input_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               args: list[str]) -> None:
    assert run_cli(["data", "synth", "-o", str(tmp_path / "x.jsonl"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_audit_reports_every_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus, report = tmp_path / "s.jsonl", tmp_path / "audit.json"
    assert run_cli(["data", "synth", "-n", "300", "--seed", "2", "-o", str(corpus)]) == 0
    code = run_cli(["data", "audit", "-i", str(corpus), "-o", str(report),
                    "--set", "audit.train_conversations=300", "--set", "audit.test_conversations=120",
                    "--set", "audit.cv_folds=3"])
    assert code == 0
    out = capsys.readouterr().out
    for heading in ("Shallow-feature ROC-AUC", "Distinct word n-gram", "Most frequent message lines",
                    "Template-disjoint", "run with --finetune"):
        assert heading in out
    data = json.loads(report.read_text())
    assert data["n_conversations"] == 300
    assert 0.0 <= data["shallow_auc"]["logistic_regression"] <= 1.0
    assert 0.5 < data["template_disjoint"]["tfidf_lr_auc"] <= 1.0  # tactics are learnable across halves
    assert data["max_line_share"] == data["top_lines"][0]["share"]


def test_audit_rejects_unlabelled_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "u.jsonl"
    f.write_text('{"conversation_id": "c1", "messages": [{"author": "a", "text": "hi"}]}\n')
    assert run_cli(["data", "audit", "-i", str(f)]) == 2
    assert "both classes" in capsys.readouterr().err


@pytest.mark.slow
def test_audit_finetune_hook_trains_and_scores_through_the_serving_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--finetune end to end with the tiny recipe: half-A training -> bundle -> engine on half B."""
    corpus, report = tmp_path / "s.jsonl", tmp_path / "audit.json"
    assert run_cli(["data", "synth", "-n", "200", "--seed", "2", "-o", str(corpus)]) == 0
    code = run_cli(["data", "audit", "-i", str(corpus), "--finetune", "-o", str(report),
                    "--set", "audit.finetune_config=configs/train-test.yaml",
                    "--set", "audit.train_conversations=200", "--set", "audit.test_conversations=80",
                    "--set", "audit.cv_folds=3", "--set", f"audit.workdir={tmp_path / 'audit'}"])
    assert code == 0
    td = json.loads(report.read_text())["template_disjoint"]
    assert 0.0 <= td["finetuned_auc"] <= 1.0
    assert Path(td["bundle_dir"], "bundle.json").is_file()
    assert Path(td["bundle_dir"]).is_relative_to(tmp_path)
