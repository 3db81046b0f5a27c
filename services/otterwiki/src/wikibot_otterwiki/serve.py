"""``wikibot-otterwiki``: validate settings (exit 2 with one line if wrong), then run Gunicorn.

Sync workers: Otterwiki keeps per-wiki state in module globals, so one request per process at a time.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from wikibot_shared.config import settings_or_exit
from wikibot_shared.logs import setup_logging
from wikibot_shared.metrics import prepare_multiprocess_dir, serve_metrics, worker_exited

from .config import OtterwikiSettings


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from .main import create_app

        return create_app()


def main() -> None:
    settings = settings_or_exit(OtterwikiSettings)
    setup_logging(settings.log_format, settings.log_level, service="otterwiki")
    prepare_multiprocess_dir()
    serve_metrics(settings.metrics_port)  # in the master: aggregates every worker's samples
    _Gunicorn(
        {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.workers,
            "worker_class": "sync",
            "timeout": 60,
            "limit_request_field_size": 65536,
            "limit_request_line": 8190,
            "accesslog": None,  # the edge logs one JSON line per request, with its request id
            "child_exit": lambda _server, worker: worker_exited(worker.pid),
        }
    ).run()
