"""Training: data loaders, synthetic corpus, fine-tuning, ONNX export + quantisation, MLflow."""
