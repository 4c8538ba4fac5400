"""fp16 ONNX variant for GPU serving, parity-checked against fp32 on CPU.

Conversion keeps the graph's I/O types (`keep_io_types=True`): inputs stay int64 token ids and
the output stays fp32 logits, so clients, Triton's config and the engine need no change. Parity
is the max |Δ risk| (calibrated probability) between the fp16 and fp32 graphs on varied windows
(lengths 2..max_length, random vocabulary ids, right padding), run on ONNX Runtime's CPU provider;
the default tolerance is `FP16_TOLERANCE` (configs/triton.yaml `export.fp16.tolerance`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from groomguard.batching import run_batches
from groomguard.bundle import MODEL_FILES, Bundle, VariantInfo, write_manifest
from groomguard.errors import BundleError
from groomguard.lexical import Hybrid
from groomguard.scores import risk_from_logits
from groomguard.serving.backends.onnxruntime import open_session
from groomguard.windowing import Batch

FP16_TOLERANCE = 0.01  # max |Δ risk| accepted; fp16 has ~3 significant digits


@dataclass(frozen=True)
class ParityResult:
    max_abs_delta_prob: float
    max_abs_delta_logit: float
    n_windows: int
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_delta_prob <= self.tolerance


def convert_to_fp16(src: Path, dst: Path) -> Path:
    """Write an fp16 copy of `src` at `dst`; I/O types are kept (int64 in, fp32 out)."""
    import onnx
    from onnxconverter_common import float16

    model = onnx.load(str(src))
    with warnings.catch_warnings():  # "float32 number ... truncated": expected clamping of tiny/huge constants
        warnings.simplefilter("ignore", UserWarning)
        fp16 = float16.convert_float_to_float16(model, keep_io_types=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(fp16, str(dst))
    return dst


def generated_parity_windows(vocab_size: int, max_length: int, n: int, seed: int = 0,
                   prefix: tuple[int, ...] = (), suffix: tuple[int, ...] = ()) -> list[list[int]]:
    """Deterministic varied windows: every length from 2 to max_length is represented."""
    rng = np.random.default_rng(seed)
    low = min(1000, vocab_size - 1)  # skip the special/unused block at the start of WordPiece vocabs
    lengths = np.linspace(2, max_length, num=n).astype(int)
    rng.shuffle(lengths)
    windows = []
    for length in lengths:
        body = max(0, int(length) - len(prefix) - len(suffix))
        windows.append([*prefix, *rng.integers(low, vocab_size, size=body).tolist(), *suffix])
    return windows


def measure_parity(fp32_path: Path, fp16_path: Path, windows: list[list[int]], pad_id: int,
                   temperature: float = 1.0, positive_index: int = 1, tolerance: float = FP16_TOLERANCE,
                   batch_size: int = 16, progress: Callable[[int], None] | None = None,
                   providers: tuple[str, ...] = ("CPUExecutionProvider",), bias: float = 0.0,
                   hybrid: Hybrid | None = None) -> ParityResult:
    """Run both graphs over `windows` (batched, right-padded) and compare risks.

    fp32 is always the CPU reference; `providers` runs the fp16 graph (CUDA on a GPU host).
    """
    sessions = [open_session(fp32_path), open_session(fp16_path, providers)]
    names = [i.name for i in sessions[0].get_inputs()]

    def both(batch: Batch) -> np.ndarray:
        feeds = dict(zip(names, (batch.input_ids, batch.attention_mask), strict=True))
        return np.concatenate([np.asarray(s.run(None, feeds)[0], dtype=np.float32) for s in sessions], axis=1)

    logits = run_batches(windows, pad_id, batch_size, both, progress=progress)
    ref, half = logits[:, :2].astype(np.float32), logits[:, 2:].astype(np.float32)
    d_logit = float(np.max(np.abs(ref - half))) if len(windows) else 0.0
    if hybrid is not None:  # compare the risk serving returns: the lexical head combined (groomguard/lexical.py)
        ref, half = (hybrid.logits_for(x, windows, pad_id) for x in (ref, half))
    risks = [risk_from_logits(x, temperature, positive_index, bias) for x in (ref, half)]
    d_prob = float(np.max(np.abs(risks[0] - risks[1]))) if len(windows) else 0.0
    return ParityResult(d_prob, d_logit, len(windows), tolerance)


def bundle_parity(bundle: Bundle, candidate: Path, name: str, n_windows: int = 256, seed: int = 0,
                  tolerance: float = FP16_TOLERANCE, progress: Callable[[int], None] | None = None) -> ParityResult:
    """`candidate` (a graph made from the bundle's fp32 model) against that model on the CPU, on generated
    windows of every length, with the bundle's calibration; over `tolerance` the file is deleted and a
    BundleError names the variant (`name`): an unchecked half-precision graph is never left behind."""
    windower = bundle.windower()
    windows = generated_parity_windows(windower.tokenizer.get_vocab_size(), bundle.manifest.max_length, n_windows, seed,
                             tuple(windower.prefix), tuple(windower.suffix))
    result = measure_parity(bundle.model_path("fp32"), candidate, windows, windower.pad_id,
                            bundle.manifest.calibration.temperature, bundle.manifest.onnx.positive_index, tolerance,
                            progress=progress, bias=bundle.manifest.calibration.bias, hybrid=bundle.hybrid())
    if not result.ok:
        candidate.unlink(missing_ok=True)
        raise BundleError(
            f"{name} variant fails parity: max |Δ risk| {result.max_abs_delta_prob:.3g} > tolerance {tolerance:g} "
            f"over {result.n_windows} windows; serve fp32 instead"
        )
    return result


def fp16_with_parity(bundle: Bundle, dst: Path, n_windows: int = 256, seed: int = 0,
                     tolerance: float = FP16_TOLERANCE, progress: Callable[[int], None] | None = None) -> ParityResult:
    """Convert the bundle's fp32 model to `dst` and parity-check it; raise if over tolerance."""
    convert_to_fp16(bundle.model_path("fp32"), dst)
    return bundle_parity(bundle, dst, "fp16", n_windows, seed, tolerance, progress)


def add_fp16_variant(bundle_dir: Path, n_windows: int = 256, seed: int = 0,
                     tolerance: float = FP16_TOLERANCE) -> ParityResult:
    """Add model.fp16.onnx to a bundle, record parity in bundle.json `variants['fp16']`, re-hash."""
    bundle = Bundle.load(bundle_dir)
    result = fp16_with_parity(bundle, bundle_dir / MODEL_FILES["fp16"], n_windows, seed, tolerance)
    record_variant(bundle, "fp16", VariantInfo(file=MODEL_FILES["fp16"], max_abs_delta_prob=result.max_abs_delta_prob))
    return result


def record_variant(bundle: Bundle, name: str, info: VariantInfo) -> None:
    """A variant added to an existing bundle (its file already written and gated): bundle.json lists it
    and every file is re-hashed."""
    write_manifest(bundle.path, bundle.manifest.model_copy(
        update={"variants": {**bundle.manifest.variants, name: info}}))
