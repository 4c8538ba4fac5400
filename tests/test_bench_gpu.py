"""`python -m benchmarks.gpu` (prepare here, run on a GPU machine, render back here) checked on the CPU.

A GPU is rarely lent, so the script that measures one must be known to work before the lease: the
same code runs here with `--providers CPUExecutionProvider --quick`. Not a timed test: it checks the
rows, the parity figures and the rendered section, never the speeds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks.support.tiny_bundle import build_tiny_bundle, tiny_bert

S128 = "S=128"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from benchmarks.gpu import main

    root = tmp_path_factory.mktemp("gpu")
    bundle, checkpoint = root / "bundle", root / "ckpt"
    build_tiny_bundle(bundle, model=tiny_bert(seed=3, init_range=0.3))  # risks that vary; fp16 error ~0.003
    tiny_bert().config.save_pretrained(checkpoint)
    assert main(["prepare", "--bundle", str(bundle), "--data", str(root / "absent.jsonl"), "--checkpoint",
                 str(checkpoint), "--out", str(root / "in"), "-n", "48"]) == 0
    return root / "in"


def test_prepare_writes_both_gpu_variants_and_the_cpu_reference(prepared: Path) -> None:
    from groomguard.bundle import Bundle

    assert sorted(p.name for p in (prepared / "bundle").iterdir()) == [
        "bundle.json", "model.fp16.onnx", "model.fused-fp16.onnx", "tokenizer.json"]
    doc = json.loads((prepared / "windows.json").read_text())
    assert doc["variants"] == ["fp16", "fused-fp16"] and doc["prepare_notes"] == {}
    assert len(doc["windows"]) == len(doc["cpu_fp32_risk"]["windows"]) == 48
    assert len(doc["parity"]) == len(doc["cpu_fp32_risk"]["parity"]) == 256
    assert all(0.0 <= r <= 1.0 for r in doc["cpu_fp32_risk"]["windows"])
    assert doc["conversations"] and all(c["messages"] for c in doc["conversations"])
    fused = Bundle.load(prepared / "bundle", verify=False).manifest.variants["fused-fp16"]
    assert fused.max_abs_delta_prob is not None and 0 < fused.max_abs_delta_prob <= 0.01  # the CPU gate ran


def test_run_on_cpu_measures_every_cell_and_parity_then_renders(prepared: Path, tmp_path: Path) -> None:
    from benchmarks.gpu import main

    out = tmp_path / "gpu.json"
    assert main(["run", "--input", str(prepared), "--out", str(out), "--quick", "--parts", "engine,iobinding,naive",
                 "--providers", "CPUExecutionProvider"]) == 0
    r = json.loads(out.read_text())
    cells = {(row["path"], row["model"], row["batch"], row["input"]) for row in r["rows"]}
    for model in ("model.fp16.onnx", "model.fused-fp16.onnx"):
        for path in ("engine CPU", "engine CPU, I/O binding"):  # I/O binding off and on, same cells
            for batch in (1, 32):
                for s in ("windows", "S=64", S128, "S=256"):
                    assert (path, model, batch, s) in cells
        assert ("engine CPU, 2 streams", model, 32, S128) in cells
        variant = model.removeprefix("model.").removesuffix(".onnx")
        assert (f"{variant} session, inputs on the cpu (I/O binding)", model, 32, S128) in cells
        # each variant through the engine vs the fp32 engine's risks computed at prepare: within the fp16 gate
        p = r["parity"][variant]
        assert 0.0 < p["max_abs_delta_risk_parity"] <= 0.01 and p["within_tolerance"] and p["n_parity"] == 32
    assert ("naive transformers pipeline (random weights)", "torch float32", 32, "windows") in cells
    assert all(row["windows_per_s"] > 0 for row in r["rows"])
    assert r["providers_not_measured"] == {} and r["auto_variant"] == {"CPUExecutionProvider": "fp32"}
    assert set(r["best_engine_s128_by_model"]) == {"model.fp16.onnx", "model.fused-fp16.onnx"}
    assert r["best_engine_s128"] > 0 and r["target_s128"] == 70_000
    doc = tmp_path / "performance.md"
    doc.write_text("# Perf\n\n<!-- gpu27:start -->\nold\n<!-- gpu27:end -->\n\n"
                   "<!-- gpu:start -->\nkept\n<!-- gpu:end -->\n")
    assert main(["render", str(out), "--doc", str(doc), "--marker", "gpu27"]) == 0
    text = doc.read_text()
    assert "old" not in text and "kept" in text
    assert "| engine CPU, I/O binding | model.fused-fp16.onnx | 32 | S=128 |" in text
    assert "fused-fp16 on CPUExecutionProvider vs fp32 on CPU" in text and "the 70,000 target" in text


@pytest.mark.triton
def test_run_on_cpu_measures_triton_and_the_gateway_beside_the_engine(prepared: Path, tmp_path: Path) -> None:
    """The PyTriton server with the engine's backend as its callable, over gRPC and HTTP at batch 1 and
    under concurrency, against the embedded engine in the same run, and the gateway in front of it."""
    from benchmarks.gpu import main

    out = tmp_path / "gpu.json"
    copy = tmp_path / "in"
    shutil.copytree(prepared, copy)
    doc = json.loads((copy / "windows.json").read_text())
    doc["variants"] = ["fused-fp16"]  # one variant keeps the check short
    (copy / "windows.json").write_text(json.dumps(doc))
    assert main(["run", "--input", str(copy), "--out", str(out), "--quick", "--parts", "triton,gateway",
                 "--providers", "CPUExecutionProvider"]) == 0
    r = json.loads(out.read_text())
    assert r["providers_not_measured"] == {}, r["providers_not_measured"]
    cells = {(row["path"], row["batch"]) for row in r["rows"] if row["model"] == "model.fused-fp16.onnx"}
    for batch, clients in ((1, 1), (1, 4), (32, 2)):
        assert (f"engine CPU beside Triton, {clients} in flight", batch) in cells
        for protocol in ("grpc", "http"):
            assert (f"triton {protocol} (PyTriton, CPU), {clients} in flight", batch) in cells
    assert ("gateway (serve --backend triton, gRPC), 2 clients", 32) in cells
    assert all(row["windows_per_s"] > 0 and not row.get("errors") for row in r["rows"])
    t = r["triton"]["fused-fp16"]
    assert t["server_provider"] == "CPUExecutionProvider" and t["max_batch_size"] == 64 and "gateway" not in t
    assert set(t["share_of_engine"]) == {f"{p} batch {b} x{c}" for p in ("grpc", "http")
                                         for b, c in ((1, 1), (1, 4), (32, 2))}
    assert r["triton_share_of_engine"]["model.fused-fp16.onnx"] > 0


def test_run_refuses_a_model_that_does_not_match_bundle_json(prepared: Path, tmp_path: Path) -> None:
    from benchmarks.gpu import main

    copy = tmp_path / "in"
    shutil.copytree(prepared, copy)
    with open(copy / "bundle" / "model.fused-fp16.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(SystemExit, match="sha256"):
        main(["run", "--input", str(copy), "--out", str(tmp_path / "x.json"), "--quick",
              "--providers", "CPUExecutionProvider", "--parts", "engine"])
