"""The ONNX parity gate: passes for a faithful graph over mixed-length padded batches and fails
loudly for a broken one; MiniLM weight verification refuses unknown weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from groomguard.errors import ConfigError
from groomguard.serving.backends.onnxruntime import open_session
from groomguard.training.base_model import verify_minilm
from groomguard.training.export.parity import ExportError, check_parity, held_out_parity_windows, ort_logits
from groomguard.training.export.to_onnx import export_onnx


def sharp_tiny_bert() -> object:
    """Random tiny BERT with a scaled-up head so its probabilities actually depend on the input
    (at init they sit within ~1e-3 of 0.5, which would hide a broken graph below the tolerance)."""
    import torch

    from benchmarks.support.tiny_bundle import tiny_bert

    model = tiny_bert(seed=3)
    with torch.no_grad():
        model.classifier.weight.mul_(300.0)
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, list[list[int]]]:
    model = sharp_tiny_bert()
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "model.onnx")
    rng = np.random.default_rng(0)
    # [CLS] ... [SEP] windows of very different lengths (3..60 tokens)
    windows = [[101, *rng.integers(1000, 29000, size=n - 2).tolist(), 102] for n in rng.integers(3, 61, size=40)]
    return model, path, windows


def test_parity_windows_span_lengths_and_mix_them() -> None:
    windows = [[1] * n for n in range(5, 105)]
    picked = held_out_parity_windows(windows, 10, seed=0)
    lengths = [len(w) for w in picked]
    assert min(lengths) == 5 and max(lengths) == 104 and len(set(lengths)) == 10
    assert lengths != sorted(lengths)  # shuffled so padded batches mix short and long windows


def test_parity_holds_for_mixed_length_padded_batches(exported: tuple[object, Path, list[list[int]]]) -> None:
    model, path, windows = exported
    delta = check_parity(model, path, windows, pad_id=0, tolerance=1e-4, batch_size=8)
    assert delta < 1e-4
    # and padding really is in play: batched-with-padding equals one-by-one in ONNX Runtime too
    sess = open_session(path)
    batched = ort_logits(sess, windows, 0, batch_size=16, sort=False)
    single = np.concatenate([ort_logits(sess, [w], 0) for w in windows])
    assert np.max(np.abs(batched - single)) < 1e-4


def test_parity_catches_a_perturbed_model(exported: tuple[object, Path, list[list[int]]]) -> None:
    import torch

    model, path, windows = exported
    other = sharp_tiny_bert()
    with torch.no_grad():
        other.classifier.bias[1] += 0.05  # a small change: the graph no longer matches the model
    with pytest.raises(ExportError, match="parity check failed"):
        check_parity(other, path, windows, pad_id=0, tolerance=1e-4)
    check_parity(model, path, windows, pad_id=0, tolerance=1e-4)  # the original still passes


def test_parity_catches_a_graph_that_ignores_the_mask(tmp_path: Path,
                                                      exported: tuple[object, Path, list[list[int]]]) -> None:
    """A graph exported without attention masking gives padding-dependent results: caught."""
    import torch

    model, _, windows = exported

    class NoMask(torch.nn.Module):
        def __init__(self, inner: object) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> object:
            return self.inner(input_ids=input_ids, attention_mask=torch.ones_like(attention_mask))

    broken = export_onnx(NoMask(sharp_tiny_bert()), tmp_path / "nomask.onnx")
    with pytest.raises(ExportError, match="Δ probability"):
        check_parity(model, broken, windows, pad_id=0, tolerance=1e-4)


def test_minilm_weights_verified(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the published weights")
    with pytest.raises(ConfigError, match="sha256"):
        verify_minilm(tmp_path)
    from groomguard.training.base_model import minilm_dir

    verify_minilm(minilm_dir())  # the bundled package passes
