"""Triton Inference Server integration: model repository generation and a CPU-hosted server.

`repository` writes `models/triton/<name>/config.pbtxt` + `<version>/model.onnx` from a bundle;
`pbtxt` renders and validates the config against Triton's own `model_config.proto`; `server`
hosts a generated repository on a CPU machine through PyTriton (real tritonserver, ONNX Runtime
inside the bound function) so the gateway's Triton client is exercised for real.
"""
