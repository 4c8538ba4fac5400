"""Real Triton server (nvidia-pytriton's tritonserver) hosting the generated repository.

One server is shared by the module; the kill/recovery tests start their own. Every server runs
as a subprocess on free ports and is SIGKILLed as a process tree in teardown.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from groomguard.bundle import Bundle, write_manifest
from groomguard.serving.backends.base import BackendUnavailable
from groomguard.serving.engine import ScoringEngine, build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.triton.config import load_triton_config
from groomguard.serving.triton.launch import LocalTriton, local_triton
from groomguard.serving.triton.pbtxt import read_config
from groomguard.serving.triton.repository import export_repository

pytestmark = pytest.mark.triton

# Synthetic conversations (tactics only, nothing explicit), labelled synthetic.
SYNTHETIC = [
    {"conversation_id": "syn-1", "source": "synthetic", "label": 1, "messages": [
        {"author": "adult_x", "text": "you are really talented, how old are you?"},
        {"author": "kid_y", "text": "13"},
        {"author": "adult_x", "text": "dont tell your parents we talk, they wouldnt get it"},
        {"author": "adult_x", "text": "lets move to a private app, i can send you a gift card"}]},
    {"conversation_id": "syn-2", "source": "synthetic", "label": 0, "messages": [
        {"author": "p", "text": "is the homework due friday?"}, {"author": "q", "text": "yes, chapter 4"},
        {"author": "p", "text": "thanks, see you in class"}]},
]


@pytest.fixture(scope="module")
def spread_bundle(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny bundle with a rescaled, re-centred classifier so risks spread over (0, 1).

    Random-weight BERT features barely vary between inputs; without this every risk is ~0.5 and
    a 1e-5 parity check would prove little.
    """
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    out = tmp_path_factory.mktemp("spread") / "tiny"
    shutil.copytree(tiny_bundle_dir, out)
    model = onnx.load(str(out / "model.onnx"))
    inits = {i.name: i for i in model.graph.initializer}
    weight = next(n for n in inits if n.endswith("classifier.weight"))
    bias = next(n for n in inits if n.endswith("classifier.bias"))
    inits[weight].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(inits[weight]) * 10000.0, weight))
    windows = _windows(tiny_bundle_dir, 64)
    from groomguard.windowing import pad_batch

    batch = pad_batch(windows, 0)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask})[0]
    b = numpy_helper.to_array(inits[bias]).copy()
    b[1] -= float(np.median(logits[:, 1] - logits[:, 0]))  # centre the positive-class margin at 0
    inits[bias].CopyFrom(numpy_helper.from_array(b, bias))
    onnx.save(model, str(out / "model.onnx"))
    write_manifest(out, Bundle.load(out, verify=False).manifest)
    return out


@pytest.fixture(scope="module")
def repo(spread_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository exactly as `groomguard triton export` writes it for a GPU host (defaults)."""
    path = tmp_path_factory.mktemp("triton") / "repo"
    export_repository(Bundle.load(spread_bundle), path, load_triton_config().export)
    return path


@pytest.fixture(scope="module")
def server(repo: Path) -> Iterator[LocalTriton]:
    with local_triton(repo, "tiny", repo.parent / "server.log") as srv:
        yield srv


def _engine(bundle: Path, server: LocalTriton | None, protocol: str = "grpc", **triton: object) -> ScoringEngine:
    cfg: dict[str, object] = {"providers": ["CPUExecutionProvider"], "intra_op_threads": 1}
    if server is not None:
        url = server.grpc_url if protocol == "grpc" else server.http_url
        cfg |= {"backend": "triton", "triton": {"url": url, "protocol": protocol, "health_cache_s": 0, **triton}}
    return build_engine(str(bundle), EngineConfig.model_validate(cfg))


def _windows(bundle: Path, n: int = 300) -> list[list[int]]:
    from groomguard.training.export.fp16 import generated_parity_windows

    w = Bundle.load(bundle).windower()
    return generated_parity_windows(w.tokenizer.get_vocab_size(), 64, n, seed=5, prefix=tuple(w.prefix),
                                    suffix=tuple(w.suffix))


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_served_model_config_matches_generated_config(server: LocalTriton, repo: Path, protocol: str) -> None:
    from google.protobuf import json_format
    from tritonclient.grpc import model_config_pb2

    generated = read_config(repo / "tiny" / "config.pbtxt")
    if protocol == "grpc":
        import tritonclient.grpc as grpcclient

        raw = grpcclient.InferenceServerClient(server.grpc_url).get_model_config("tiny", as_json=True)["config"]
    else:
        import tritonclient.http as httpclient

        raw = httpclient.InferenceServerClient(server.http_url).get_model_config("tiny")
    served = json_format.ParseDict(raw, model_config_pb2.ModelConfig(), ignore_unknown_fields=True)
    assert served.name == generated.name == "tiny"
    assert served.max_batch_size == generated.max_batch_size
    for field in ("input", "output"):
        got = [(t.name, t.data_type, list(t.dims)) for t in getattr(served, field)]
        assert got == [(t.name, t.data_type, list(t.dims)) for t in getattr(generated, field)]
    assert served.dynamic_batching.preferred_batch_size == generated.dynamic_batching.preferred_batch_size
    assert (served.dynamic_batching.max_queue_delay_microseconds
            == generated.dynamic_batching.max_queue_delay_microseconds)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_scores_equal_embedded_onnxruntime(server: LocalTriton, spread_bundle: Path, protocol: str) -> None:
    windows = _windows(spread_bundle)
    local, remote = _engine(spread_bundle, None), _engine(spread_bundle, server, protocol)
    try:
        assert remote.health()["ok"], remote.health()
        expected, got = local.score_windows(windows), remote.score_windows(windows)
    finally:
        local.close()
        remote.close()
    assert np.ptp(expected) > 0.3, "risks barely vary: parity would be vacuous"
    assert np.max(np.abs(expected - got)) < 1e-5


def test_concurrent_http_and_grpc_requests(server: LocalTriton, spread_bundle: Path) -> None:
    """Worker threads share the gRPC channel / get their own HTTP connection; results stay exact."""
    windows = _windows(spread_bundle, 96)
    local = _engine(spread_bundle, None)
    expected = local.score_windows(windows)
    local.close()
    for protocol in ("grpc", "http"):
        engine = _engine(spread_bundle, server, protocol)
        chunks = [windows[i : i + 8] for i in range(0, len(windows), 8)]
        with ThreadPoolExecutor(4) as pool:
            got = np.concatenate(list(pool.map(engine.infer_batch, chunks)))
        engine.close()
        assert np.max(np.abs(got - expected)) < 1e-5, protocol


def test_score_cli_matches_default_backend(server: LocalTriton, spread_bundle: Path, tmp_path: Path) -> None:
    from groomguard.cli import main

    src = tmp_path / "synthetic.jsonl"
    src.write_text("".join(json.dumps(c) + "\n" for c in SYNTHETIC))
    outputs = {}
    for tag, extra in [("default", []), ("grpc", ["--triton-url", server.grpc_url]),
                       ("http", ["--backend", "triton", "--triton-url", server.http_url, "--triton-protocol", "http"])]:
        out = tmp_path / f"{tag}.jsonl"
        with pytest.raises(SystemExit) as exc:
            main(["score", "--bundle", str(spread_bundle), "-i", str(src), "-o", str(out), *extra])
        assert exc.value.code == 0
        outputs[tag] = [json.loads(line) for line in out.read_text().splitlines()]
    for tag in ("grpc", "http"):
        for a, b in zip(outputs["default"], outputs[tag], strict=True):
            assert a["level"] == b["level"]
            assert np.max(np.abs(np.subtract(a["risk_by_message"], b["risk_by_message"]))) < 1e-5


def _fallbacks() -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("groomguard_backend_fallbacks_total") or 0.0


def test_kill_unavailable_fallback_and_recovery(server: LocalTriton, spread_bundle: Path, tmp_path: Path) -> None:
    """SIGKILL the server: fast BackendUnavailable / 503 problem+json (or counted fallback); restart: recovery.

    Uses the module's server and restarts it on the same ports, so it leaves the server as it found it.
    """
    from benchmarks.support.server import auth, make_config, make_keys, running_app

    windows = _windows(spread_bundle, 16)
    local = _engine(spread_bundle, None)
    expected = local.score_windows(windows)
    local.close()
    strict = _engine(spread_bundle, server, "grpc", retries=2, backoff_s=0.02, timeout_s=2)
    lenient = _engine(spread_bundle, server, "http", fallback_to_onnxruntime=True, retries=1, timeout_s=2)
    cfg = make_config(tmp_path / "gg.db", "engine.backend=triton", f"engine.triton.url={server.http_url}",
                      "engine.triton.protocol=http", "engine.triton.health_cache_s=0", "engine.triton.retries=1")
    keys = make_keys(cfg)
    body = {"conversations": [SYNTHETIC[0]]}
    with running_app(cfg, spread_bundle) as client:
        try:
            assert strict.health()["ok"] and lenient.health()["ok"]
            assert "ready" in str(strict.health()["detail"])
            ready = client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["backend"] == "triton", ready.text
            ok = client.post("/v1/score", json=body, headers=auth(keys["score"]))
            assert ok.status_code == 200, ok.text

            segments = server.shared_memory()
            assert segments, "PyTriton always maps its shared-memory blocks"
            server.kill()
            assert not [seg for seg in segments if seg.exists()], "killed server leaked /dev/shm segments"
            h = strict.health()
            assert not h["ok"] and "tiny" in str(h["detail"])
            started = time.monotonic()
            with pytest.raises(BackendUnavailable, match="triton at"):
                strict.score_windows(windows)
            assert time.monotonic() - started < 5, "retries must be bounded"
            assert client.get("/readyz").status_code == 503
            down = client.post("/v1/score", json=body, headers=auth(keys["score"]))
            assert down.status_code == 503
            assert down.headers["content-type"].startswith("application/problem+json")
            assert down.json()["status"] == 503

            before = _fallbacks()
            assert np.max(np.abs(lenient.score_windows(windows) - expected)) < 1e-5
            assert _fallbacks() - before >= 1
            h = lenient.health()
            assert h["ok"] and "falling back" in str(h["detail"])
            assert "groomguard_backend_fallbacks_total" in client.get("/metrics").text
        finally:
            server.start()
        assert np.max(np.abs(strict.score_windows(windows) - expected)) < 1e-5
        assert strict.health()["ok"]
        before = _fallbacks()
        lenient.score_windows(windows)
        assert _fallbacks() == before, "no fallback once Triton is back"
        assert client.get("/readyz").status_code == 200
        again = client.post("/v1/score", json=body, headers=auth(keys["score"]))
        assert again.status_code == 200
        assert again.json()["results"][0]["risk"] == pytest.approx(ok.json()["results"][0]["risk"], abs=1e-5)
    strict.close()
    lenient.close()


@pytest.fixture(scope="module")
def int8_bundle(spread_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spread bundle with a dynamic-int8 variant whose budget check passed (recorded, as export does)."""
    from groomguard.bundle import BudgetCheck, VariantInfo
    from groomguard.training.export.quantise import quantise_int8

    out = tmp_path_factory.mktemp("int8") / "tiny"
    shutil.copytree(spread_bundle, out)
    quantise_int8(out / "model.onnx", out / "model.int8.onnx", [], True)
    speeds = {"1": 10.0, "32": 10.0}
    passed = BudgetCheck(passed=True)
    m = Bundle.load(out, verify=False).manifest
    write_manifest(out, m.model_copy(update={"variants": {
        "fp32": VariantInfo(file="model.onnx", max_abs_delta_prob=0.0, windows_per_s=speeds, budget_check=passed),
        "int8": VariantInfo(file="model.int8.onnx", max_abs_delta_prob=0.01, windows_per_s={"1": 30.0, "32": 30.0},
                            budget_check=passed)}}))
    return out


def test_triton_and_the_embedded_engine_serving_one_variant_agree(int8_bundle: Path, tmp_path: Path) -> None:
    """One answer per bundle: `triton export --variant auto` on a CPU instance picks the variant the engine's
    auto serves (int8 here), the gateway names it, and Triton's risks equal the embedded engine's."""
    from groomguard.cli import main

    repo = tmp_path / "repo"
    with pytest.raises(SystemExit) as done:
        main(["triton", "export", "--bundle", str(int8_bundle), "-o", str(repo), "--instance-kind", "cpu"])
    assert done.value.code in (0, None)
    assert json.loads((repo / "tiny" / "triton_export.json").read_text())["variant"] == "int8"
    assert read_config(repo / "tiny" / "config.pbtxt").parameters["groomguard_variant"].string_value == "int8"
    assert (repo / "tiny" / "1" / "model.onnx").read_bytes() == (int8_bundle / "model.int8.onnx").read_bytes()
    embedded = build_engine(str(int8_bundle), EngineConfig(providers=["CPUExecutionProvider"], intra_op_threads=1))
    assert embedded.variant == "int8"  # engine.variant auto -> the same variant
    windows = _windows(int8_bundle, 64)
    with local_triton(repo, "tiny", tmp_path / "server.log") as srv:
        gateway = _engine(int8_bundle, srv, variant="int8")
        try:
            assert gateway.variant == "int8" and gateway.health()["variant"] == "int8"
            np.testing.assert_allclose(gateway.score_windows(windows), embedded.score_windows(windows), atol=1e-5)
            fp32 = build_engine(str(int8_bundle), EngineConfig(providers=["CPUExecutionProvider"], variant="fp32"))
            # ...and the check is sharp: fp32 answers differ from int8's by more than the tolerance
            assert np.max(np.abs(fp32.score_windows(windows) - embedded.score_windows(windows))) > 1e-5
            fp32.close()
        finally:
            gateway.close()
            embedded.close()
