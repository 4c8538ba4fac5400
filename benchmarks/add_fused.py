"""Give an existing bundle the fused and bf16 variants, recorded speeds (and optionally a rebuilt int8), as a
fresh export would.

For bundles exported before model.fused.onnx existed (`engine.variant: auto` serves fp32 for
them): runs the export's variant step (training/export/variants.py: fuse, parity gate, errors and
windows/s on the parity windows) with the fine-tuned checkpoint as the reference (or, without
`--checkpoint`, the bundle's own fp32 graph: same limit, parity_tolerance), keeps the
bundle's int8 file (measured, not rebuilt) and re-hashes bundle.json. bf16 (OpenVINO on model.onnx)
is measured where this CPU has native bf16 and gated at `--bf16-max-delta-prob`. Parity windows: the export's
rule (`groomguard.training.export.parity.held_out_parity_windows`) over the validation JSONL's windows.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/add_fused.py --bundle models/bundles/demo \
        --checkpoint var/train/demo/best --data data/demo/val.jsonl
    ... --int8 nbits --no-fused   # replace int8 by the MatMulNBits 8-bit variant (gated at 0.02)

Errors are measured on the bundle's calibrated risk (its temperature and bias), as the export does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from groomguard.bundle import MODEL_FILES, Bundle, VariantInfo, write_manifest
from groomguard.jsonl import iter_jsonl
from groomguard.training.export.parity import held_out_parity_windows
from groomguard.training.export.variants import export_variants, logits, measure, served_risk, session
from groomguard.training.train_config import ExportSettings


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="the bundle's checkpoint (PyTorch gate); without it the fp32 graph is the reference")
    ap.add_argument("--data", type=Path, required=True, help="validation JSONL (parity windows)")
    ap.add_argument("--windows", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--int8", choices=["keep", "nbits"], default="keep",
                    help="keep: measure the bundle's int8 file; nbits: rebuild it as export.int8_method nbits")
    ap.add_argument("--int8-max-delta-prob", type=float, default=0.02, help="gate of a rebuilt int8")
    ap.add_argument("--no-fused", action="store_true", help="do not build the fused variant")
    ap.add_argument("--no-bf16", action="store_true", help="do not measure the bf16 (OpenVINO) variant")
    ap.add_argument("--bf16-max-delta-prob", type=float, default=0.02, help="gate of the bf16 variant")
    args = ap.parse_args()
    from transformers import AutoModelForSequenceClassification

    bundle = Bundle.load(args.bundle)
    windower = bundle.windower()
    pool = [w.input_ids for c in iter_jsonl(args.data) for w in windower.prefix_windows(c)]
    probe = held_out_parity_windows(pool, args.windows, 0)
    model = None
    if args.checkpoint:
        model = AutoModelForSequenceClassification.from_pretrained(str(args.checkpoint), attn_implementation="eager")
    cal = bundle.manifest.calibration
    calibration = (cal.temperature, cal.bias)
    rebuild = args.int8 == "nbits"
    settings = ExportSettings(fused=not args.no_fused, int8=rebuild, int8_method="nbits",
                              int8_max_delta_prob=args.int8_max_delta_prob, bf16=not args.no_bf16,
                              bf16_max_delta_prob=args.bf16_max_delta_prob)
    if rebuild:
        (args.bundle / MODEL_FILES["int8"]).unlink(missing_ok=True)
    hybrid = bundle.hybrid()
    variants = export_variants(model, args.bundle, probe, pool, windower.pad_id, settings, args.threads,
                               calibration=calibration, hybrid=hybrid)
    if not rebuild and MODEL_FILES["int8"] in bundle.manifest.files:
        fp32 = args.bundle / MODEL_FILES["fp32"]
        ref = served_risk(logits(session(fp32, args.threads), probe, windower.pad_id), probe, windower.pad_id,
                          calibration, hybrid)
        old = bundle.manifest.variants.get("int8")
        variants["int8"] = VariantInfo(file=MODEL_FILES["int8"], method=old.method if old else None,
                                       **measure(args.bundle / MODEL_FILES["int8"], ref, probe, windower.pad_id,
                                                 args.threads, calibration, hybrid=hybrid))
        print(f"variant int8: max |Δ risk| vs fp32 {variants['int8'].max_abs_delta_prob:.2e}, "
              f"windows/s {variants['int8'].windows_per_s}")
    kept = {k: v for k, v in bundle.manifest.variants.items() if not (rebuild and k == "int8")}
    write_manifest(args.bundle, bundle.manifest.model_copy(update={"variants": {**kept, **variants}}))


if __name__ == "__main__":
    main()
