"""Serve an ASGI app for real (uvicorn, optionally TLS) on a free 127.0.0.1 port, in a thread of the test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.support.servers import free_port
from tests.support.tls import ServerCert


@contextmanager
def serve(app: Any, *, cert: ServerCert | None = None, port: int | None = None) -> Iterator[int]:
    port = port or free_port()
    tls: dict[str, Any] = {}
    if cert is not None:
        tls = {"ssl_certfile": str(cert.certfile), "ssl_keyfile": str(cert.keyfile)}
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", log_config=None, lifespan="off", **tls
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
