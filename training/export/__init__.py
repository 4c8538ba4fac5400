"""Export of a fine-tuned checkpoint to a model bundle: ONNX, parity gates, calibration, variants, model card."""
