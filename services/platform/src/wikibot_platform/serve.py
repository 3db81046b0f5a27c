"""``wikibot-platform``: validate settings (exit 2 with one line if wrong), then run uvicorn."""

from __future__ import annotations

import uvicorn

from wikibot_shared.config import settings_or_exit
from wikibot_shared.logs import setup_logging
from wikibot_shared.metrics import prepare_multiprocess_dir, serve_metrics

from .config import PlatformSettings


def main() -> None:
    settings = settings_or_exit(PlatformSettings)
    setup_logging(settings.log_format, settings.log_level, service="platform")
    prepare_multiprocess_dir()
    serve_metrics(settings.metrics_port)  # in the parent: aggregates every worker's samples
    uvicorn.run(
        "wikibot_platform.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=False,
        log_config=None,
        access_log=False,  # RequestContext logs one JSON line per request, with its request id
        h11_max_incomplete_event_size=64 * 1024,
    )
