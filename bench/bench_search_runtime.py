"""Embedding runtimes side by side on the same texts: ours (onnxruntime, fp32 graph built from the packaged
safetensors) and the reference (sentence-transformers on torch, CPU), run alternately so machine load hits
both alike. The reference runs in its own venv (services/embedder/scripts/reference-venv.sh); without it, only
ours is measured. Prints chunks/s, single-query latency, load time and agreement (mean/min cosine).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from bench_search_corpus import build_corpus  # noqa: E402

from wikibot_embedder.chunking import chunk_page  # noqa: E402
from wikibot_embedder.encoder import Encoder, TokenCounter  # noqa: E402

TEXTS = int(os.environ.get("BENCH_RUNTIME_TEXTS", "96"))
ROUNDS = 3
QUERIES = ["how do I parse command line flags", "rotate log files at midnight", "zip a folder"] * 10
REFERENCE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wikibot/reference-venv/bin/python"
)

_REFERENCE_WORKER = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np, torch
from sentence_transformers import SentenceTransformer
torch.set_num_threads(int(sys.argv[4]))
model = SentenceTransformer(sys.argv[1], device="cpu")
load = time.perf_counter() - t0
texts = json.load(open(sys.argv[2]))
queries = json.loads(sys.argv[5])
model.encode(texts[:4])
rates, vectors = [], None
for _ in range(int(sys.argv[6])):
    t = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    rates.append(len(texts) / (time.perf_counter() - t))
lat = []
for q in queries:
    t = time.perf_counter(); model.encode([q]); lat.append(time.perf_counter() - t)
np.save(sys.argv[3], vectors)
print(json.dumps({"load": load, "rates": rates, "query_ms": 1000 * sorted(lat)[len(lat) // 2]}))
"""


def texts_240() -> list[str]:
    """Chunks of real pages (the benchmark corpus), the longest first: near the 256-token window."""
    counter = TokenCounter()
    chunks = []
    for path, text in sorted(build_corpus().items()):
        chunks += [c.embed_text for c in chunk_page(path, text, counter).chunks]
    sizes = counter.count_tokens(chunks)
    ordered = [c for _, c in sorted(zip(sizes, chunks, strict=True), key=lambda x: -x[0])]
    return ordered[:TEXTS]


def main() -> None:
    texts = texts_240()
    t0 = time.perf_counter()
    ours = Encoder()
    load = time.perf_counter() - t0
    tokens = ours.count_tokens(texts)
    print(
        f"{len(texts)} chunks, {statistics.mean(tokens):.0f} tokens avg (max {max(tokens)}), {os.cpu_count()} cpus"
    )
    have_reference = REFERENCE.exists()
    ref_rates: list[float] = []
    our_rates: list[float] = []
    ref_info: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts))
        out = Path(tmp) / "reference.npy"
        for _ in range(ROUNDS):
            t = time.perf_counter()
            vectors = ours.encode(texts)
            our_rates.append(len(texts) / (time.perf_counter() - t))
            if have_reference:
                proc = subprocess.run(
                    [str(REFERENCE), "-c", _REFERENCE_WORKER, str(ours.directory), str(texts_file), str(out),
                     str(os.cpu_count() or 1), json.dumps(QUERIES[:9]), "1"],
                    capture_output=True, text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                )  # fmt: skip
                ref_info = json.loads(proc.stdout.strip().splitlines()[-1])
                ref_rates += ref_info["rates"]
        latencies = []
        for q in QUERIES:
            t = time.perf_counter()
            ours.encode([q])
            latencies.append(time.perf_counter() - t)
        print(f"{'runtime':<44} {'chunks/s':>9} {'query p50':>10} {'load':>7} {'mean cos':>9} {'min cos':>8}")
        if have_reference:
            reference = np.load(out)
            cos = (vectors * reference).sum(axis=1)
            print(
                f"{'sentence-transformers, torch fp32 (reference)':<44} {statistics.median(ref_rates):9.1f} "
                f"{ref_info['query_ms']:8.1f}ms {ref_info['load']:6.1f}s {1:9.4f} {1:8.4f}"
            )
        print(
            f"{'onnxruntime fp32, graph from safetensors':<44} {statistics.median(our_rates):9.1f} "
            f"{statistics.median(latencies) * 1000:8.1f}ms {load:6.1f}s "
            + (f"{cos.mean():9.4f} {cos.min():8.4f}" if have_reference else "      n/a (no reference venv)")
        )


if __name__ == "__main__":
    main()
