"""The embedder's own Prometheus series: backlog, freshness per wiki, embedding throughput."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

QUEUE_PENDING = Gauge(
    "wikibot_embedder_queue_pending",
    "Change notices delivered to this group but not yet acknowledged",
    multiprocess_mode="livemax",
)
STREAM_LENGTH = Gauge(
    "wikibot_embedder_stream_length", "Entries in the change-notice stream", multiprocess_mode="livemax"
)
INDEX_LAG = Gauge(
    "wikibot_embedder_index_lag_seconds",
    "Age of the newest commit not yet in a wiki's index (0 when the index is at HEAD)",
    ["wiki"],
    multiprocess_mode="livemax",
)
CHUNKS_EMBEDDED = Counter("wikibot_embedder_chunks_embedded_total", "Chunks embedded")
EMBED_SECONDS = Counter("wikibot_embedder_embed_seconds_total", "Seconds spent computing embeddings")
SYNCS = Counter("wikibot_embedder_syncs_total", "Index syncs by outcome", ["outcome"])
