"""Our onnxruntime encoder against the reference: sentence-transformers on torch, same weights, same texts.

The reference lives in its own virtualenv (torch must never enter the workspace or an image):
``services/embedder/scripts/reference-venv.sh`` creates it and prints its interpreter; this test finds it at
``$WIKIBOT_REFERENCE_PYTHON`` or the script's default place, and skips, saying how to install it, when absent.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from wikibot_embedder.encoder import Encoder

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reference-venv.sh"
DEFAULT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wikibot/reference-venv/bin/python"
MIN_MEAN_COSINE = 0.99

_REFERENCE = """
import json, sys
import numpy as np
from sentence_transformers import SentenceTransformer
model_dir, texts_file, out_file = sys.argv[1:4]
model = SentenceTransformer(model_dir, device="cpu")
assert model.max_seq_length == 256, model.max_seq_length
texts = json.load(open(texts_file))
np.save(out_file, model.encode(texts, batch_size=16, normalize_embeddings=True))
"""


def reference_python() -> Path:
    configured = os.environ.get("WIKIBOT_REFERENCE_PYTHON")
    python = Path(configured) if configured else DEFAULT
    how = f"install it with {SCRIPT.relative_to(SCRIPT.parents[3])} (or set WIKIBOT_REFERENCE_PYTHON)"
    if not python.exists():
        pytest.fail(f"the sentence-transformers/torch reference is not installed at {python}: {how}")
    probe = subprocess.run(
        [str(python), "-c", "import sentence_transformers, torch"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.fail(f"{python} cannot import sentence_transformers and torch: {how}")
    return python


def sample_texts() -> list[str]:
    """Real prose of every length: stdlib docstrings (long ones past 128 and past 256 tokens), and queries."""
    import argparse
    import asyncio
    import collections
    import json as json_module
    import logging
    import pathlib
    import sqlite3
    import subprocess as subprocess_module
    import zipfile

    texts: list[str] = []
    for module in (
        argparse,
        asyncio,
        collections,
        json_module,
        logging,
        pathlib,
        sqlite3,
        subprocess_module,
        zipfile,
    ):
        for _name, member in sorted(inspect.getmembers(module), key=lambda m: m[0]):
            doc = inspect.getdoc(member)
            if doc and len(doc) > 80 and doc not in texts:
                texts.append(doc)
            if len(texts) % 12 == 11:
                break
    words = " ".join(texts).split()
    texts += [" ".join(words[i : i + 150]) for i in range(0, 1500, 150)]  # ~200-token passages
    texts += [" ".join(words[i : i + 400]) for i in range(0, 1600, 400)]  # truncated at the 256-token window
    texts += [
        "how do I parse command line flags",
        "zip a folder",
        "log to a file with rotation",
        "é ü ß 日本語",
    ]
    return texts


def test_onnx_encoder_agrees_with_sentence_transformers(encoder: Encoder) -> None:
    python = reference_python()
    texts = sample_texts()
    lengths = encoder.count_tokens(texts)
    assert sum(n > 128 for n in lengths) >= 10  # the 256 window is exercised, not just the shipped 128
    assert sum(n > 254 for n in lengths) >= 3  # and truncation
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts))
        out = Path(tmp) / "reference.npy"
        proc = subprocess.run(
            [str(python), "-c", _REFERENCE, str(encoder.directory), str(texts_file), str(out)],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
            timeout=900,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        reference = np.load(out)
    ours = encoder.encode(texts)
    cosine = (ours * reference).sum(axis=1)
    assert float(cosine.mean()) >= MIN_MEAN_COSINE, f"mean cosine {cosine.mean():.5f}"
    assert float(cosine.min()) >= 0.98, f"worst text cosine {cosine.min():.5f}"
    # Same neighbours: each text's nearest other text is the same under both models.
    ours_nn = np.argsort(-(ours @ ours.T) + np.eye(len(texts)) * 10, axis=1)[:, 0]
    ref_nn = np.argsort(-(reference @ reference.T) + np.eye(len(texts)) * 10, axis=1)[:, 0]
    assert float((ours_nn == ref_nn).mean()) >= 0.95
