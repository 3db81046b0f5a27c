import subprocess
import sys
from pathlib import Path

from werkzeug.test import Client

from tests.support.servers import free_port
from wikibot_otterwiki.config import OtterwikiSettings
from wikibot_otterwiki.main import create_app
from wikibot_shared import migrate


def _client(tmp_path: Path, redis_url: str) -> Client:
    settings = OtterwikiSettings(data_dir=tmp_path, redis_url=redis_url)
    migrate.run(settings)
    return Client(create_app(settings))


def test_health_routes(tmp_path: Path, redis_url: str) -> None:
    client = _client(tmp_path, redis_url)
    live = client.get("/healthz")
    assert live.status_code == 200
    assert live.json == {"service": "otterwiki", "status": "ok"}
    for path in ("/readyz", "/-/health"):
        ready = client.get(path, headers={"Host": "notes.localhost:8080"})
        assert ready.status_code == 200
        assert ready.json["service"] == "otterwiki"
        assert ready.headers["X-Wikibot-Service"] == "otterwiki"


def test_not_ready_without_redis(tmp_path: Path) -> None:
    assert _client(tmp_path, f"redis://127.0.0.1:{free_port()}/0").get("/readyz").status_code == 503


def test_edge_errors_are_json(tmp_path: Path, redis_url: str) -> None:
    client = _client(tmp_path, redis_url)
    bad_host = client.get("/", headers={"Host": "evil.example.org"})
    assert bad_host.status_code == 400
    assert bad_host.json["error"] == "invalid_host"
    unknown = client.get("/", headers={"Host": "nosuchwiki.localhost:8080"})
    assert unknown.status_code == 404
    big = client.get("/", headers={"Host": "notes.localhost", "X-Big": "x" * 20000})
    assert big.status_code == 431
    assert big.json["error"] == "headers_too_large"


def test_bad_settings_exit_2_with_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from wikibot_otterwiki.serve import main; main()"],
        env={"PATH": "/usr/bin:/bin", "OTTERWIKI_WORKERS": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("configuration error: OTTERWIKI_WORKERS:")
    assert proc.stderr.count("\n") == 1


def test_route_labels_are_bounded() -> None:
    from wikibot_otterwiki.edge import route_label

    assert route_label("/Some Secret Page") == "/{page}"
    assert route_label("/Team/Plan/edit") == "/{page}/edit"
    assert route_label("/-/search") == "/-/*"
    assert route_label("/static/css/x.css") == "/static/*"
    assert route_label("/healthz") == "/healthz"
