"""`python -m benchmarks.gpu` (prepare here, run on a GPU machine, render back here) checked on the CPU.

A GPU is rarely lent, so the script that measures one must be known to work before the lease: the
same code runs here with `--providers CPUExecutionProvider --quick`. Not a timed test: it checks the
rows, the parity figure and the rendered section, never the speeds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks.support.tiny_bundle import tiny_bert


@pytest.fixture(scope="module")
def prepared(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from benchmarks.gpu import main

    root = tmp_path_factory.mktemp("gpu")
    bundle, checkpoint = root / "bundle", root / "ckpt"
    shutil.copytree(tiny_bundle_dir, bundle)
    tiny_bert().config.save_pretrained(checkpoint)
    assert main(["prepare", "--bundle", str(bundle), "--data", str(root / "absent.jsonl"), "--checkpoint",
                 str(checkpoint), "--out", str(root / "in"), "-n", "48"]) == 0
    return root / "in"


def test_prepare_writes_the_fp16_subset_and_cpu_reference(prepared: Path) -> None:
    assert sorted(p.name for p in (prepared / "bundle").iterdir()) == ["bundle.json", "model.fp16.onnx",
                                                                     "tokenizer.json"]
    doc = json.loads((prepared / "windows.json").read_text())
    assert len(doc["windows"]) == len(doc["cpu_fp32_risk"]["windows"]) == 48
    assert len(doc["parity"]) == len(doc["cpu_fp32_risk"]["parity"]) == 256
    assert all(0.0 <= r <= 1.0 for r in doc["cpu_fp32_risk"]["windows"])


def test_run_on_cpu_measures_every_cell_and_parity_then_renders(prepared: Path, tmp_path: Path) -> None:
    from benchmarks.gpu import main

    out = tmp_path / "gpu.json"
    assert main(["run", "--input", str(prepared), "--out", str(out), "--quick",
                 "--providers", "CPUExecutionProvider"]) == 0
    r = json.loads(out.read_text())
    cells = {(row["path"], row["batch"], row["input"]) for row in r["rows"]}
    for batch in (1, 32):
        for s in ("windows", "S=64", "S=128", "S=256"):
            assert ("engine CPU", batch, s) in cells
    assert ("naive transformers pipeline (random weights)", 32, "windows") in cells
    assert all(row["windows_per_s"] > 0 for row in r["rows"])
    # fp16 through the engine vs the fp32 engine's risks computed at prepare: within the export's fp16 tolerance
    assert 0.0 <= r["parity"]["max_abs_delta_risk_parity"] <= 0.01
    assert r["parity"]["n_parity"] == 32 and r["best_engine_s128"] > 0
    doc = tmp_path / "performance.md"
    doc.write_text("# Perf\n\n<!-- gpu:start -->\nold\n<!-- gpu:end -->\n\n"
                   "<!-- bench:start -->\nkept\n<!-- bench:end -->\n")
    assert main(["render", str(out), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert "old" not in text and "kept" in text and "| engine CPU | model.fp16.onnx | 32 | S=128 |" in text


def test_run_refuses_a_model_that_does_not_match_bundle_json(prepared: Path, tmp_path: Path) -> None:
    from benchmarks.gpu import main

    copy = tmp_path / "in"
    shutil.copytree(prepared, copy)
    with open(copy / "bundle" / "model.fp16.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(SystemExit, match="sha256"):
        main(["run", "--input", str(copy), "--out", str(tmp_path / "x.json"), "--quick",
              "--providers", "CPUExecutionProvider", "--parts", "engine"])
