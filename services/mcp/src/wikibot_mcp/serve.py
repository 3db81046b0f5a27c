"""``wikibot-mcp``: the shared service entry (``wikibot_shared.serve``) with this service's settings and app."""

from __future__ import annotations

from wikibot_shared import serve

from .config import McpSettings


def main() -> None:
    serve.run(McpSettings, service="mcp", app="wikibot_mcp.main:create_app")
