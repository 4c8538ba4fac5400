"""`engine.variant: auto`: the fastest variant within tolerance, for the provider actually in use.

On CPU the choice is made from what the export measured and recorded in bundle.json
(`variants.<name>.max_abs_delta_prob` against fp32 and `windows_per_s` at batch 1 and 32):
candidates are the variants whose error is <= `engine.auto_max_delta_prob` (default 0.02, issue 12's
tolerance; set 1e-4, the export's parity limit, to serve only variants with fp32's answers); the winner is
the one with the highest *worse* of its batch-1 and batch-32 speeds (streaming appends run at
batch 1, bulk scoring at 32; a variant must not be a regression at either). fp32 wins ties and is
the answer whenever fp32 itself has no recorded speed (a bundle exported before speeds were
recorded: nothing to compare). On a GPU provider the recorded CPU speeds say nothing, so auto
picks fp16 when the bundle has it (it is only written when it passes its parity check), else fp32.
`bf16` (OpenVINO, model.onnx at bf16 precision) is a candidate only where this CPU computes bf16
natively (`native_bf16`): the speed the export recorded on an AMX machine says nothing elsewhere.
"""

from __future__ import annotations

from groomguard.bundle import MODEL_FILES, BundleManifest, Variant

CPU = "CPUExecutionProvider"
CPU_VARIANTS: tuple[Variant, ...] = ("fp32", "fused", "int8", "bf16")  # fp16 is slower than fp32 on CPU


def _speed(manifest: BundleManifest, name: str) -> float | None:
    info = manifest.variants.get(name)
    if info is None or not info.windows_per_s:
        return None
    return min(info.windows_per_s.values())


def choose_variant(manifest: BundleManifest, provider: str, max_delta_prob: float,
                   native_bf16: bool = False) -> Variant:
    """The variant `auto` resolves to for `provider` (see the module docstring for the rule)."""
    if provider != CPU:
        return "fp16" if "fp16" in manifest.variants and MODEL_FILES["fp16"] in manifest.files else "fp32"
    best: Variant = "fp32"
    best_speed = _speed(manifest, "fp32")
    if best_speed is None:
        return best
    for name in CPU_VARIANTS[1:]:
        if name == "bf16" and not native_bf16:
            continue
        info = manifest.variants.get(name)
        speed = _speed(manifest, name)
        if (info is None or speed is None or MODEL_FILES[name] not in manifest.files
                or info.max_abs_delta_prob is None or info.max_abs_delta_prob > max_delta_prob):
            continue
        if speed > best_speed:
            best, best_speed = name, speed
    return best


def first_provider(wanted: list[str], available: list[str]) -> str:
    """The provider an ONNX Runtime session asking for `wanted` will try first on this machine."""
    return next((p for p in wanted if p in available), CPU)
