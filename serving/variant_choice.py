"""`engine.variant: auto`: the fastest variant within tolerance, for the provider actually in use.

On CPU the choice is made from what the export measured and recorded in bundle.json
(`variants.<name>.max_abs_delta_prob` against fp32 and `windows_per_s` at batch 1 and 32):
candidates are the variants whose error is <= `engine.auto_max_delta_prob` (default 0.02, issue 12's
tolerance; set 1e-4, the export's parity limit, to serve only variants with fp32's answers); the winner is
the one with the highest *worse* of its batch-1 and batch-32 speeds (streaming appends run at
batch 1, bulk scoring at 32; a variant must not be a regression at either). fp32 wins ties and is
the answer whenever fp32 itself has no recorded speed (a bundle exported before speeds were
recorded: nothing to compare). On a GPU provider the recorded CPU speeds say nothing, so auto
picks the first of GPU_VARIANTS (fused-fp16, then fp16) that the bundle has and whose budget check
passed, else fp32: fused attention is the reason fused-fp16 exists (issue 27); its GPU speed is
`python -m benchmarks.gpu`'s to show, not the export's.
`bf16` (OpenVINO, model.onnx at bf16 precision) is a candidate only where this CPU computes bf16
natively (`native_bf16`): the speed the export recorded on an AMX machine says nothing elsewhere.
Whatever the speed, a variant other than fp32 is a candidate only when its **budget check** passed:
the bundle's thresholds applied to that variant's own risks on the validation conversations kept the
alert budgets and the recall (training/export/variant_budget.py). The thresholds were chosen on fp32; this is
what makes them hold on the variant actually served.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from groomguard.bundle import MODEL_FILES, BundleManifest, Variant, VariantInfo

CPU = "CPUExecutionProvider"
CPU_VARIANTS: tuple[Variant, ...] = ("fp32", "fused", "int8", "bf16")  # fp16 is slower than fp32 on CPU
GPU_VARIANTS: tuple[Variant, ...] = ("fused-fp16", "fp16")  # auto's order of preference on a GPU provider


def _speed(variants: Mapping[str, VariantInfo], name: str) -> float | None:
    info = variants.get(name)
    if info is None or not info.windows_per_s:
        return None
    return min(info.windows_per_s.values())


def budget_passed(info: VariantInfo | None) -> bool:
    return info is not None and info.budget_check is not None and info.budget_check.passed


def ranked_cpu_variants(variants: Mapping[str, VariantInfo], files: Collection[str] | None, max_delta_prob: float,
                        native_bf16: bool, require_budget: bool = True) -> list[Variant]:
    """CPU variants other than fp32 that beat fp32's speed, fastest first: within `max_delta_prob` of
    fp32, their file present (`files` None: not checked), bf16 only on native-bf16 CPUs, and (when
    `require_budget`) with a passed budget check. The export checks budgets in this order."""
    fp32_speed = _speed(variants, "fp32")
    if fp32_speed is None:
        return []
    ranked: list[tuple[float, Variant]] = []
    for name in CPU_VARIANTS[1:]:
        info = variants.get(name)
        speed = _speed(variants, name)
        if (info is None or speed is None or (files is not None and MODEL_FILES[name] not in files)
                or (name == "bf16" and not native_bf16)
                or info.max_abs_delta_prob is None or info.max_abs_delta_prob > max_delta_prob
                or (require_budget and not budget_passed(info)) or speed <= fp32_speed):
            continue
        ranked.append((speed, name))
    return [name for _, name in sorted(ranked, key=lambda x: -x[0])]


def choose_variant(manifest: BundleManifest, provider: str, max_delta_prob: float,
                   native_bf16: bool = False) -> Variant:
    """The variant `auto` resolves to for `provider` (see the module docstring for the rule)."""
    if provider != CPU:
        return next((v for v in GPU_VARIANTS if MODEL_FILES[v] in manifest.files
                     and budget_passed(manifest.variants.get(v))), "fp32")
    ranked = ranked_cpu_variants(manifest.variants, manifest.files, max_delta_prob, native_bf16)
    return ranked[0] if ranked else "fp32"


def choose_triton_variant(manifest: BundleManifest, gpu: bool) -> Variant:
    """`groomguard triton export --variant auto`: the engine's rule for the instance kind, restricted to
    graphs Triton's onnxruntime backend runs (never bf16, which is OpenVINO; never unchecked variants) and
    to plain ONNX graphs (contrib-op graphs, `fused` and `fused-fp16`, are served by Triton only when
    named: its TensorRT accelerator does not take com.microsoft ops, unverified on a GPU)."""
    if gpu:
        plain = manifest.model_copy(update={"files": {k: v for k, v in manifest.files.items()
                                                      if k != MODEL_FILES["fused-fp16"]}})
        return choose_variant(plain, "CUDAExecutionProvider", float("inf"))
    ranked = [v for v in ranked_cpu_variants(manifest.variants, manifest.files, float("inf"), False) if v != "fused"]
    return ranked[0] if ranked else "fp32"


def first_provider(wanted: list[str], available: list[str]) -> str:
    """The provider an ONNX Runtime session asking for `wanted` will try first on this machine."""
    return next((p for p in wanted if p in available), CPU)
