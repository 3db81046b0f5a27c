from wikibot_shared.db import make_engine
from wikibot_shared.health import readiness
from wikibot_shared.queue import redis_client


def test_readiness_reports_each_dependency(migrated_url: str, redis_url: str) -> None:
    engine = make_engine(migrated_url)
    ok, checks = readiness(engine, redis_client(redis_url))
    assert ok
    assert checks["database"]["status"] == "ok"
    assert checks["redis"]["status"] == "ok"
    ok, checks = readiness(engine, redis_client("redis://127.0.0.1:1/0"))
    assert not ok
    assert checks["redis"]["status"] == "error"
    assert "ConnectionError" in checks["redis"]["error"]
    engine.dispose()
