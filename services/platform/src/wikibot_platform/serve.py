"""``wikibot-platform``: validate settings (exit 2 with one line if wrong), then run uvicorn."""

from __future__ import annotations

import uvicorn

from wikibot_shared.config import settings_or_exit
from wikibot_shared.logs import setup_logging

from .config import PlatformSettings


def main() -> None:
    settings = settings_or_exit(PlatformSettings)
    setup_logging(settings.log_format, settings.log_level, service="platform")
    uvicorn.run(
        "wikibot_platform.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=False,
        log_config=None,
        h11_max_incomplete_event_size=64 * 1024,
    )
