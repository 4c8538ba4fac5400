"""Triton model repository export: config.pbtxt vs Triton's schema and the golden file; fp16 variant."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from groomguard.bundle import Bundle
from groomguard.errors import BundleError
from groomguard.serving.triton.config import ExportConfig, load_triton_config
from groomguard.serving.triton.pbtxt import TritonConfigError, check_against_signature, parse_config, read_config
from groomguard.serving.triton.repository import export_repository
from groomguard.serving.triton.signature import read_signature

GOLDEN = Path(__file__).parent / "golden" / "triton_tiny_config.pbtxt"


@pytest.fixture(scope="module")
def bundle(tiny_bundle_dir: Path) -> Bundle:
    return Bundle.load(tiny_bundle_dir)


def test_export_matches_golden_and_parses_with_triton_schema(bundle: Bundle, tmp_path: Path) -> None:
    out = export_repository(bundle, tmp_path / "repo", load_triton_config().export)
    text = out.config_path.read_text()
    if os.environ.get("GROOMGUARD_UPDATE_GOLDEN"):
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail("GROOMGUARD_UPDATE_GOLDEN is refused under CI: golden files are reviewed, never rewritten")
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "config.pbtxt changed; review and regenerate with GROOMGUARD_UPDATE_GOLDEN=1"

    cfg = read_config(out.config_path)
    from tritonclient.grpc import model_config_pb2 as pb

    assert cfg.name == "tiny" and cfg.backend == "onnxruntime" and cfg.max_batch_size == 32
    assert [(t.name, pb.DataType.Name(t.data_type), list(t.dims)) for t in cfg.input] == [
        ("input_ids", "TYPE_INT64", [-1]), ("attention_mask", "TYPE_INT64", [-1])]
    assert [(t.name, pb.DataType.Name(t.data_type), list(t.dims)) for t in cfg.output] == [("logits", "TYPE_FP32", [2])]
    # the variant served (auto: the tiny bundle has only fp32) and its bundle, published to clients
    assert cfg.parameters["groomguard_variant"].string_value == "fp32"
    assert cfg.parameters["groomguard_model"].string_value == "tiny@test"
    assert json.loads((out.model_dir / "triton_export.json").read_text())["variant"] == "fp32"
    assert list(cfg.dynamic_batching.preferred_batch_size) == [8, 16, 32]
    assert cfg.dynamic_batching.max_queue_delay_microseconds == 2000
    assert [(g.kind, g.count) for g in cfg.instance_group] == [(pb.ModelInstanceGroup.KIND_GPU, 1)]
    (trt,) = cfg.optimization.execution_accelerators.gpu_execution_accelerator
    assert trt.name == "tensorrt" and trt.parameters["precision_mode"] == "FP16"
    assert trt.parameters["trt_profile_max_shapes"] == "input_ids:32x64,attention_mask:32x64"
    (warm,) = cfg.model_warmup
    assert warm.inputs["input_ids"].zero_data and list(warm.inputs["input_ids"].dims) == [64]

    # The served file is the bundle's fp32 model; bundle.json + tokenizer travel alongside.
    assert out.model_path.read_bytes() == bundle.model_path("fp32").read_bytes()
    assert json.loads((out.model_dir / "bundle.json").read_text())["name"] == "tiny"
    assert (out.model_dir / "tokenizer.json").is_file()
    assert not [p for p in out.model_dir.parent.iterdir() if p.name.startswith(".")], "staging dir left behind"


def test_cpu_instances_and_tensorrt_switch(bundle: Bundle, tmp_path: Path) -> None:
    cfg = ExportConfig.model_validate({"instance_group": {"kind": "KIND_CPU", "count": 2}, "max_batch_size": 8,
                                       "dynamic_batching": {"preferred_batch_size": [4, 8, 16]}})
    parsed = read_config(export_repository(bundle, tmp_path, cfg, name="cpu-model").config_path)
    assert parsed.name == "cpu-model" and parsed.instance_group[0].count == 2
    assert not parsed.HasField("optimization"), "TensorRT is GPU-only; CPU instances get no accelerator block"
    assert list(parsed.dynamic_batching.preferred_batch_size) == [4, 8], "sizes above max_batch_size are dropped"

    no_trt = ExportConfig.model_validate({"tensorrt": {"enabled": False}, "warmup": {"enabled": False}})
    parsed = read_config(export_repository(bundle, tmp_path, no_trt).config_path)
    assert not parsed.HasField("optimization") and not parsed.model_warmup


def test_signature_comes_from_the_onnx_file(bundle: Bundle, tmp_path: Path) -> None:
    import onnx

    model = onnx.load(str(bundle.model_path("fp32")))
    model.graph.output[0].name = "scores"  # a graph whose names differ from bundle.json
    for node in model.graph.node:
        node.output[:] = ["scores" if o == "logits" else o for o in node.output]
    renamed = tmp_path / "renamed.onnx"
    onnx.save(model, str(renamed))
    assert [t.name for t in read_signature(renamed).outputs] == ["scores"]
    with pytest.raises(BundleError, match=r"differ from bundle\.json"):
        export_repository(bundle, tmp_path / "repo", ExportConfig(), model_file=renamed)


def test_schema_rejects_bad_configs(bundle: Bundle) -> None:
    with pytest.raises(TritonConfigError, match=r"model_config\.proto"):
        parse_config('name: "x"\nmax_batch_size: 4\ndynamic_batching { preferred_batch: 3 }\n')
    with pytest.raises(TritonConfigError, match=r"model_config\.proto"):
        parse_config('name: "x"\ninput [ { name: "a" data_type: TYPE_INT65 dims: [ -1 ] } ]\n')
    sig = read_signature(bundle.model_path("fp32"))
    wrong_dtype = GOLDEN.read_text().replace("TYPE_FP32", "TYPE_FP16", 1)
    with pytest.raises(TritonConfigError, match="do not match the ONNX model"):
        check_against_signature(parse_config(wrong_dtype), sig, "golden")


def test_fp16_variant_keeps_io_types_and_matches_fp32(bundle: Bundle, tmp_path: Path) -> None:
    import onnx

    from groomguard.training.export.fp16 import FP16_TOLERANCE, add_fp16_variant, fp16_with_parity

    result = fp16_with_parity(bundle, tmp_path / "m16.onnx", n_windows=128)
    assert result.ok and result.max_abs_delta_prob < FP16_TOLERANCE and result.n_windows == 128
    sig = read_signature(tmp_path / "m16.onnx")
    assert [t.data_type for t in sig.inputs] == ["TYPE_INT64", "TYPE_INT64"]
    assert [t.data_type for t in sig.outputs] == ["TYPE_FP32"]
    inits = onnx.load(str(tmp_path / "m16.onnx")).graph.initializer
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in inits), "weights were not converted"

    # Adding it to a bundle records parity and re-hashes: the bundle still verifies.
    copy = tmp_path / "bundle"
    shutil.copytree(bundle.path, copy)
    added = add_fp16_variant(copy, n_windows=64)
    reloaded = Bundle.load(copy)
    assert reloaded.manifest.variants["fp16"].max_abs_delta_prob == pytest.approx(added.max_abs_delta_prob)
    assert reloaded.model_path("fp16").is_file()


def test_fp16_parity_failure_is_refused(bundle: Bundle, tmp_path: Path) -> None:
    from groomguard.training.export.fp16 import fp16_with_parity

    with pytest.raises(BundleError, match="fails parity"):
        fp16_with_parity(bundle, tmp_path / "m16.onnx", n_windows=32, tolerance=1e-12)
    assert not (tmp_path / "m16.onnx").exists()


def test_cli_export_fp16_and_errors(tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from groomguard.cli import main

    repo = tmp_path / "repo"
    with pytest.raises(SystemExit) as exc:
        main(["triton", "export", "--bundle", str(tiny_bundle_dir), "-o", str(repo), "--variant", "fp16",
              "--instance-kind", "cpu", "--set", "export.fp16.parity_windows=32"])
    assert exc.value.code == 0
    record = json.loads((repo / "tiny" / "triton_export.json").read_text())
    assert record["variant"] == "fp16" and record["fp16_max_abs_delta_prob"] < record["fp16_tolerance"]
    assert "fp16 parity: max |Δ risk|" in capsys.readouterr().out
    assert read_signature(repo / "tiny" / "1" / "model.onnx").outputs[0].data_type == "TYPE_FP32"

    with pytest.raises(SystemExit) as exc:
        main(["triton", "export", "--bundle", str(tmp_path / "missing"), "-o", str(repo)])
    assert exc.value.code == 2
    assert "not a model bundle" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["triton", "serve", "-i", str(repo), "--model", "nope"])
    assert exc.value.code == 2 and "no config.pbtxt" in capsys.readouterr().err


def test_parity_windows_are_varied() -> None:
    from groomguard.training.export.fp16 import generated_parity_windows

    wins = generated_parity_windows(30522, 64, 100, seed=1, prefix=(101,), suffix=(102,))
    lengths = {len(w) for w in wins}
    assert min(lengths) == 2 and max(lengths) == 64 and len(lengths) > 30
    assert all(w[0] == 101 and w[-1] == 102 for w in wins)
    assert len({tuple(w) for w in wins}) >= 95  # only the length-2 windows ([CLS][SEP]) repeat
    assert np.all([1000 <= t < 30522 for w in wins for t in w[1:-1]])


@pytest.mark.triton
def test_bundled_tritonserver_parses_generated_config(bundle: Bundle, tmp_path: Path) -> None:
    """The real tritonserver (2.51, from the pytriton wheel) reads the generated config.pbtxt.

    The wheel ships only the python backend, so loading stops at the backend lookup, *after*
    Triton's own text-proto parse; a config it cannot parse fails earlier with a different error.
    """
    import subprocess

    import pytriton

    from groomguard.serving.triton.launch import free_ports
    from groomguard.serving.triton.server import libdir_env

    root = Path(pytriton.__file__).parent / "tritonserver"
    assert sorted(p.name for p in (root / "backends").iterdir()) == ["python"], "an onnxruntime backend appeared"

    def load(repo: Path) -> str:
        http, grpc, metrics = free_ports(3)
        args = [str(root / "bin" / "tritonserver"), f"--model-repository={repo}",
                f"--backend-directory={root / 'backends'}", "--model-control-mode=explicit", "--load-model=tiny",
                "--exit-on-error=true", "--allow-metrics=false",
                f"--http-port={http}", f"--grpc-port={grpc}", f"--metrics-port={metrics}"]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, env=libdir_env(), check=False)
        assert proc.returncode != 0
        return proc.stdout + proc.stderr

    good = export_repository(bundle, tmp_path / "good", load_triton_config().export)
    out = load(tmp_path / "good")
    assert "unable to find backend library for backend 'onnxruntime'" in out
    assert "failed to read text proto" not in out

    bad = tmp_path / "bad"
    shutil.copytree(good.model_dir.parent, bad)
    text = (bad / "tiny" / "config.pbtxt").read_text().replace("max_batch_size: 32", "max_batch_size: 32\nbogus: 1")
    (bad / "tiny" / "config.pbtxt").write_text(text)
    out = load(bad)
    assert "failed to read text proto" in out and "unable to find backend library" not in out
