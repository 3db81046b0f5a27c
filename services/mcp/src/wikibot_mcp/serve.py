"""``wikibot-mcp``: validate settings (exit 2 with one line if wrong), then run uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING

import uvicorn

from wikibot_shared.config import settings_or_exit
from wikibot_shared.logs import setup_logging
from wikibot_shared.metrics import prepare_multiprocess_dir, serve_metrics

from .config import McpSettings

if TYPE_CHECKING:
    from fastapi import FastAPI


def worker_app() -> FastAPI:
    """The app of one uvicorn worker. Workers are fresh interpreters (spawned), so each sets up its own logging:
    configured only in the parent, a worker's INFO lines (the per-request access log) were silently dropped.

    The app is imported here, not at module level: a spawned worker re-imports this module before it can answer
    the supervisor's 5-second health ping, and the app's imports take longer than that on a busy machine."""
    from .main import create_app

    settings = settings_or_exit(McpSettings)
    setup_logging(settings.log_format, settings.log_level, service="mcp")
    return create_app(settings)


def main() -> None:
    settings = settings_or_exit(McpSettings)
    setup_logging(settings.log_format, settings.log_level, service="mcp")
    prepare_multiprocess_dir()
    serve_metrics(settings.metrics_port)  # in the parent: aggregates every worker's samples
    uvicorn.run(
        "wikibot_mcp.serve:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=False,
        log_config=None,
        access_log=False,  # RequestContext logs one JSON line per request, with its request id
        h11_max_incomplete_event_size=64 * 1024,
    )
