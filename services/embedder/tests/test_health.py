import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.support.servers import free_port
from wikibot_embedder.config import EmbedderSettings as Settings
from wikibot_embedder.main import create_app
from wikibot_shared import migrate


def test_liveness_and_readiness(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(data_dir=tmp_path, redis_url=redis_url)
    migrate.run(settings)
    client = TestClient(create_app(settings))
    assert client.get("/healthz").json() == {"service": "embedder", "status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["database"]["status"] == "ok"
    assert ready.headers["x-wikibot-service"] == "embedder"


def test_not_ready_without_redis(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    migrate.run(settings)
    client = TestClient(create_app(settings))
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_bad_settings_exit_2_with_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from wikibot_embedder.serve import main; main()"],
        env={"PATH": "/usr/bin:/bin", "REDIS_URL": "localhost:6379"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr == "configuration error: REDIS_URL: must be redis://HOST:PORT/DB\n"
