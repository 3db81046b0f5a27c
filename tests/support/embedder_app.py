"""The real embedder for other services' tests: its internal API under uvicorn and its index worker (change
notices from Redis), both in threads of the test, with the real model, over the caller's data volume and
database — what mcp's search asks of it, answered as in production."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.asgi import serve
from wikibot_embedder.config import EmbedderSettings
from wikibot_embedder.main import create_app
from wikibot_embedder.worker import Worker


@contextmanager
def embedder_server(
    data_dir: Path, redis_url: str, database_url: str, *, port: int | None = None, worker: bool = True
) -> Iterator[str]:
    """The embedder's base URL; with ``worker``, notices on the stream are indexed as they come (a consumer
    group of its own, so other tests' notices are not taken from anyone)."""
    settings = EmbedderSettings(
        data_dir=data_dir,
        redis_url=redis_url,
        database_url=database_url,
        worker=False,  # started below, beside the app (the app's lifespan is not run)
        sweep_seconds=3600,
    )
    app = create_app(settings)
    stop = threading.Event()
    thread = None
    if worker:
        runner = Worker(
            app.state.indexer,
            app.state.redis,
            group=f"tests-{uuid.uuid4().hex[:8]}",
            consumer="tests",
            sweep_seconds=3600,
        )
        thread = threading.Thread(target=runner.run, args=(stop,), name="index-worker", daemon=True)
        thread.start()
        if not runner.ready.wait(20):
            raise RuntimeError("the index worker did not start")
    try:
        with serve(app, port=port) as bound:
            yield f"http://127.0.0.1:{bound}"
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=30)
        app.state.engine.dispose()
        app.state.redis.close()
