"""Every ASGI service's ``main``: validate settings (exit 2 with one line if wrong), set up logging and the
metrics server, then run uvicorn, whose workers each build the service's app.

Workers are fresh interpreters (spawned), so each sets up its own logging before it builds the app: configured
only in the parent, a worker's INFO lines (the per-request access log) were silently dropped. The app is
imported in the worker, not at module level: a spawned worker re-imports this module before it can answer the
supervisor's 5-second health ping, and an app's imports take longer than that on a busy machine. What the
worker builds is passed to it in the environment (uvicorn starts it from an import string).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .config import CommonSettings, settings_or_exit
from .logs import setup_logging
from .metrics import prepare_multiprocess_dir, serve_metrics

_FACTORY = "WIKIBOT_SERVE_APP"  # "package.module:create_app"
_SETTINGS = "WIKIBOT_SERVE_SETTINGS"  # "package.config:Settings"
_SERVICE = "WIKIBOT_SERVE_SERVICE"


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def run(settings_type: type[CommonSettings], *, service: str, app: str) -> None:
    """Run ``app`` (``"package.main:create_app"``, called with the settings) under uvicorn as ``service``."""
    settings = settings_or_exit(settings_type)
    setup_logging(settings.log_format, settings.log_level, service=service)
    prepare_multiprocess_dir()
    serve_metrics(getattr(settings, "metrics_port", 0))  # in the parent: aggregates every worker's samples
    os.environ[_FACTORY] = app
    os.environ[_SETTINGS] = f"{settings_type.__module__}:{settings_type.__qualname__}"
    os.environ[_SERVICE] = service
    import uvicorn

    uvicorn.run(
        f"{__name__}:worker_app",
        factory=True,
        host=getattr(settings, "host", "127.0.0.1"),
        port=getattr(settings, "port"),  # noqa: B009 - every service's settings have one; a clear error if not
        workers=getattr(settings, "workers", 1),
        proxy_headers=False,
        log_config=None,
        access_log=False,  # RequestContext logs one JSON line per request, with its request id
        h11_max_incomplete_event_size=64 * 1024,
    )


def worker_app() -> Any:
    """The app of one uvicorn worker, as ``run`` described it."""
    settings_type = _load(os.environ[_SETTINGS])
    settings = settings_or_exit(settings_type)
    setup_logging(settings.log_format, settings.log_level, service=os.environ[_SERVICE])
    return _load(os.environ[_FACTORY])(settings)
