"""The embedder's own errors (they become responses in ``wikibot_shared.asgi.install_error_handlers``)."""

from __future__ import annotations

from wikibot_shared.errors import WikibotError


class EmbedderError(WikibotError):
    """Root of the embedder's own errors."""
