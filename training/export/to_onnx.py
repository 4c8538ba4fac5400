"""Export a sequence classifier to ONNX with the bundle's tensor names.

Uses the legacy TorchScript exporter (`dynamo=False`) with `dynamic_axes`: under torch >= 2.9 the
dynamo exporter is the default and ignores `dynamic_axes` (ENVIRONMENT.md). Models must be loaded
with eager attention so ONNX Runtime can fuse attention.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from groomguard.bundle import OnnxSignature


class _LogitsOnly(torch.nn.Module):
    """Wrap a HF model so the graph has exactly (input_ids, attention_mask) -> logits."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def export_onnx(model: Any, path: Path, signature: OnnxSignature = OnnxSignature(), seq_len: int = 16) -> Path:
    """Write `model` to `path` as fp32 ONNX with dynamic batch and sequence axes."""
    model = model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = torch.ones((2, seq_len), dtype=torch.long)
    mask = torch.ones((2, seq_len), dtype=torch.long)
    mask[1, seq_len // 2 :] = 0  # trace with real padding so no "mask is all ones" shortcut is frozen in
    in_ids, in_mask = signature.inputs
    with torch.no_grad(), warnings.catch_warnings():
        # transformers' masking_utils emits a TracerWarning: a Python bool (is the 2-D mask shorter
        # than the key length? never, without a KV cache) is frozen at trace time. It does not change
        # results; training/export/pipeline.py's parity gate proves that on mixed-length padded batches.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*aten::index operator of advanced indexing.*")
        torch.onnx.export(
            _LogitsOnly(model),
            (ids, mask),
            str(path),
            input_names=[in_ids, in_mask],
            output_names=[signature.output],
            dynamic_axes={in_ids: {0: "batch", 1: "sequence"}, in_mask: {0: "batch", 1: "sequence"},
                          signature.output: {0: "batch"}},
            opset_version=signature.opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return path
