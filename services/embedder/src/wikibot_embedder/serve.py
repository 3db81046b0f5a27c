"""``wikibot-embedder``: the shared service entry (``wikibot_shared.serve``) with this service's settings and app."""

from __future__ import annotations

from wikibot_shared import serve

from .config import EmbedderSettings


def main() -> None:
    serve.run(EmbedderSettings, service="embedder", app="wikibot_embedder.main:create_app")
