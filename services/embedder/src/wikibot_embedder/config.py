"""embedder settings: the shared ones plus ``EMBEDDER_*``."""

from __future__ import annotations

import socket

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from wikibot_shared.config import CommonSettings


class EmbedderSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="EMBEDDER_", extra="ignore", populate_by_name=True)

    host: str = "0.0.0.0"  # noqa: S104 - inside its container, on the internal network only
    port: int = 8003
    workers: int = Field(1, ge=1, le=64)
    metrics_port: int = Field(9103, ge=0, le=65535)  # Prometheus, internal network only; 0 = off

    # The index worker (change notices + sweep) runs inside the API process unless turned off.
    worker: bool = True
    consumer_group: str = "embedder"
    consumer_name: str = Field(default_factory=lambda: f"{socket.gethostname()}")
    sweep_seconds: float = Field(60.0, ge=1.0)
    # A crashed replica's unacknowledged notices are claimed by another after this long.
    claim_idle_ms: int = Field(60_000, ge=1000)
    # A wiki is synced at most this often: rapid writes to a page cost one embedding of its latest version.
    sync_interval_s: float = Field(0.75, ge=0.0, le=30.0)

    # Model runtime.
    threads: int = Field(0, ge=0, le=64, description="onnxruntime intra-op threads; 0 = one per core")
    batch_size: int = Field(32, ge=1, le=512)
    max_tokens: int = Field(256, ge=32, le=512, description="the model's token window, [CLS]/[SEP] included")

    # Chunking (tokens of the page text; the section path is added on top, within max_tokens).
    chunk_tokens: int = Field(200, ge=32, le=510)
    chunk_overlap: int = Field(40, ge=0, le=200)
    chunk_min_tokens: int = Field(40, ge=0, le=200)

    # Index writing: one Redis lock per wiki, held while one replica writes that wiki's index.
    lock_ttl_ms: int = Field(30_000, ge=1000)
    checkpoint_chunks: int = Field(512, ge=16, description="publish progress every N new chunks")

    # Readers: hot indexes kept in memory, bounded by count and by vector bytes.
    cache_wikis: int = Field(64, ge=1)
    cache_bytes: int = Field(512 * 1024 * 1024, ge=1024 * 1024)
