"""fp16 vs fp32 parity of a bundle on any ONNX Runtime provider (CPU here; CUDA on a GPU host).

    python benchmarks/triton_fp16_parity.py --bundle models/bundles/demo --providers CUDAExecutionProvider

fp32 always runs on CPU as the reference; the fp16 graph runs on the first provider that the
session actually uses (printed: onnxruntime-gpu silently falls back to CPU when CUDA is missing).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from groomguard.bundle import Bundle
from groomguard.training.export.fp16 import convert_to_fp16, generated_parity_windows, measure_parity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--windows", type=int, default=256)
    parser.add_argument("--providers", nargs="+", default=["CPUExecutionProvider"])
    args = parser.parse_args()

    import onnxruntime as ort

    bundle = Bundle.load(args.bundle)
    w = bundle.windower()
    windows = generated_parity_windows(w.tokenizer.get_vocab_size(), bundle.manifest.max_length, args.windows, 0,
                             tuple(w.prefix), tuple(w.suffix))
    with tempfile.TemporaryDirectory() as tmp:
        fp16 = bundle.model_path("fp16") if "model.fp16.onnx" in bundle.manifest.files else \
            convert_to_fp16(bundle.model_path("fp32"), Path(tmp) / "model.fp16.onnx")
        providers = [*args.providers, "CPUExecutionProvider"]
        used = ort.InferenceSession(str(fp16), providers=providers).get_providers()[0]
        start = time.perf_counter()
        result = measure_parity(bundle.model_path("fp32"), fp16, windows, w.pad_id,
                                bundle.manifest.calibration.temperature, bundle.manifest.onnx.positive_index,
                                providers=tuple(providers))
        took = time.perf_counter() - start
    print(f"fp16 on {used}: max |Δ risk| {result.max_abs_delta_prob:.2e}, max |Δ logit| "
          f"{result.max_abs_delta_logit:.2e} over {result.n_windows} windows (≤{bundle.manifest.max_length} tokens), "
          f"tolerance {result.tolerance:g}: {'OK' if result.ok else 'FAIL'} ({took:.1f}s)")


if __name__ == "__main__":
    main()
