"""ONNX Runtime's transformer optimizer on an exported BERT graph (the `fused` and `fused-fp16` variants).

`fuse` runs `onnxruntime.transformers.optimizer.optimize_model(model_type="bert", opt_level=1)`: ORT's
*basic* graph optimisations (constant folding, redundant-node elimination; no execution-provider-specific
rewrites, so the file runs on any provider) and then the optimizer's Python fusions (EmbedLayerNormalization,
Attention or MultiHeadAttention, BiasGelu, SkipLayerNormalization). `use_gpu` stays False on purpose: in
ONNX Runtime's optimizer it only selects the execution provider of that ORT pre-pass (and with no CUDA
provider installed it skips the pass altogether); the attention fusions are the same Python code either
way (onnxruntime/transformers/optimizer.py, onnx_model_bert.py). Levels above 1 would bake
provider-specific kernels into the file, which is why the optimizer's own docs recommend 1.

`fp16=True` then converts the fused graph with the optimizer's `convert_float_to_float16(keep_io_types=True)`,
which types the com.microsoft contrib ops through symbolic shape inference (onnxconverter-common's
converter, used for the plain fp16 variant, cannot see through them): int64 token ids in, fp32 logits out.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Literal

AttentionOp = Literal["Attention", "MultiHeadAttention"]


def fuse(src: Path, dst: Path, num_heads: int = 0, hidden_size: int = 0, *, attention: AttentionOp = "Attention",
         fp16: bool = False) -> dict[str, int]:
    """Write the transformer-optimised graph of `src` to `dst`; returns the fused-op counts.

    `num_heads`/`hidden_size` 0 = read from the graph (`attention_shape`). `attention`: fuse each layer's
    self-attention into one `Attention` op (packed QKV weights, one MatMul) or a `MultiHeadAttention` op
    (separate Q/K/V MatMuls). Raises ValueError when no attention fused (not a BERT-like graph): such a
    copy would not be worth shipping.
    """
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    if not (num_heads and hidden_size):
        num_heads, hidden_size = attention_shape(src)
    options = FusionOptions("bert")
    options.use_multi_head_attention = attention == "MultiHeadAttention"

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the optimizer logs every fusion pass at INFO on the root logger
    try:
        opt = optimize_model(str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                             optimization_options=options, opt_level=1, use_gpu=False)
        stats = {k: int(v) for k, v in opt.get_fused_operator_statistics().items() if v}
        if not stats.get(attention):
            raise ValueError(f"{src.name}: the transformer optimizer fused no {attention} ({stats})")
        if fp16:
            with warnings.catch_warnings():  # "float32 number ... truncated": expected clamping of tiny constants
                warnings.simplefilter("ignore", UserWarning)
                opt.convert_float_to_float16(keep_io_types=True)
        opt.save_model_to_file(str(dst))
    finally:
        root.setLevel(level)
    return stats


def attention_shape(path: Path) -> tuple[int, int]:
    """(num_heads, hidden_size) of a BERT-like graph exported by training/export/to_onnx.py.

    The optimizer cannot detect them here (the exporter reshapes to [batch, seq, -1, head_dim]):
    hidden_size is the first attention query projection's width and head_dim follows from the
    attention score scale 1/sqrt(head_dim).
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consts = {o: numpy_helper.to_array(n.attribute[0].t) for n in graph.node if n.op_type == "Constant"
              for o in n.output if n.attribute and n.attribute[0].type == onnx.AttributeProto.TENSOR}
    hidden = next((weights[i].shape[1] for n in graph.node if n.op_type == "MatMul" and "query" in n.name
                   for i in n.input if i in weights and weights[i].ndim == 2), 0)
    scale = next((float(c) for n in graph.node if n.op_type in ("Mul", "Div") and "attention/self" in n.name
                  for i in n.input for c in [consts.get(i, weights.get(i))] if c is not None and c.size == 1), 0.0)
    if not hidden or not scale:
        raise ValueError(f"{path.name}: cannot find the attention shape (not a BERT-like graph)")
    head_dim = round(1.0 / scale**2) if scale < 1.0 else round(scale**2)  # Mul by 1/sqrt(d) or Div by sqrt(d)
    if head_dim < 1 or hidden % head_dim:
        raise ValueError(f"{path.name}: attention scale {scale:g} does not divide hidden size {hidden}")
    return hidden // head_dim, int(hidden)
