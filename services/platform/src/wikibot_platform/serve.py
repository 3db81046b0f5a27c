"""``wikibot-platform``: the shared service entry (``wikibot_shared.serve``) with this service's settings and app."""

from __future__ import annotations

from wikibot_shared import serve

from .config import PlatformSettings


def main() -> None:
    serve.run(PlatformSettings, service="platform", app="wikibot_platform.main:create_app")
