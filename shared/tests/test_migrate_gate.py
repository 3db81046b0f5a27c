import base64
import threading
import time
from pathlib import Path

import pytest

from wikibot_shared import migrate, migrate_gate
from wikibot_shared.config import CommonSettings
from wikibot_shared.keys import KeyStore


def _settings(tmp_path: Path, url: str) -> CommonSettings:
    return CommonSettings(data_dir=tmp_path / "data", database_url=url, domain="localhost")


def test_fresh_database_is_not_ready_and_sqlite_file_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "data" / "wikibot.db"
    settings = _settings(tmp_path, f"sqlite:///{db}")
    found = migrate_gate.problems(settings)
    assert len(found) == 1
    assert "no revision" in found[0]
    assert "wikibot-migrate" in found[0]
    assert not db.exists()


def test_ready_at_head_and_not_after_downgrade(tmp_path: Path, database_url: str) -> None:
    settings = _settings(tmp_path, database_url)
    assert migrate_gate.problems(settings)
    migrate.upgrade(database_url)
    current, heads = migrate_gate.revisions(database_url)
    assert current == heads
    assert heads
    assert migrate_gate.problems(settings) == []
    migrate.downgrade(database_url, "base")
    assert "has not finished" in migrate_gate.problems(settings)[0]


def test_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://wikibot:hunter2-secret@127.0.0.1:1/wikibot?connect_timeout=2"
    found = migrate_gate.problems(_settings(tmp_path, url))
    assert len(found) == 1
    assert found[0].startswith("database unreachable: OperationalError")
    assert "hunter2" not in found[0]
    assert "\n" not in found[0]


def test_keys_are_required_only_when_asked(tmp_path: Path, migrated_url: str) -> None:
    settings = _settings(tmp_path, migrated_url)
    assert migrate_gate.problems(settings) == []
    found = migrate_gate.problems(settings, keys=True)
    assert len(found) == 3
    assert any("no signing key" in p for p in found)
    assert any("no client key" in p for p in found)
    assert any("no secret key" in p for p in found)
    KeyStore(settings.keys_dir).ensure()
    assert migrate_gate.problems(settings, keys=True) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [(base64.urlsafe_b64encode(b"short"), "must hold 32 bytes"), (b"%%%not base64%%%", "not base64url")],
)
def test_a_bad_secret_key_is_named(tmp_path: Path, content: bytes, expected: str) -> None:
    store = KeyStore(tmp_path / "keys")
    store.ensure()
    (tmp_path / "keys" / "secret.key").write_bytes(content)
    found = migrate_gate.missing_keys(tmp_path / "keys")
    assert len(found) == 1
    assert expected in found[0]


def test_wait_returns_once_another_process_has_migrated(tmp_path: Path, database_url: str) -> None:
    settings = _settings(tmp_path, database_url)
    result: list[list[str]] = []
    waiter = threading.Thread(
        target=lambda: result.append(migrate_gate.wait(settings, timeout=60, interval=0.05))
    )
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive(), "returned before the database was migrated"
    migrate.upgrade(database_url)
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert result == [[]]


def test_wait_gives_up_with_what_is_missing(tmp_path: Path) -> None:
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'data' / 'wikibot.db'}")
    started = time.monotonic()
    found = migrate_gate.wait(settings, timeout=0.3, interval=0.05)
    assert time.monotonic() - started < 5
    assert found
    assert "has not finished" in found[0]


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{data / 'wikibot.db'}")
    monkeypatch.setenv("DOMAIN", "localhost")
    monkeypatch.setenv("LOG_FORMAT", "text")
    return data


def test_wait_main_exits_1_with_one_line_then_0_after_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _env(monkeypatch, tmp_path)
    with pytest.raises(SystemExit) as exc:
        migrate_gate.wait_main(["--timeout", "0", "--keys"])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("not ready: database at no revision")
    assert "no signing key" in err
    assert len(err.splitlines()) == 1
    migrate.run(CommonSettings(data_dir=data, domain="localhost"))
    migrate_gate.wait_main(["--timeout", "0", "--keys"])


def test_db_main_migrates_but_never_creates_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _env(monkeypatch, tmp_path)
    with pytest.raises(SystemExit) as exc:
        migrate_gate.db_main([])
    assert exc.value.code == 1
    assert "no signing key" in capsys.readouterr().err
    assert not (data / "keys").exists()
    assert (data / "wikis").is_dir()
    assert migrate_gate.problems(CommonSettings(data_dir=data, domain="localhost")) == []


def test_db_main_accepts_keys_it_did_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _env(monkeypatch, tmp_path)
    KeyStore(data / "keys").ensure()
    (data / "keys" / ".lock").unlink()
    before = sorted(p.name for p in (data / "keys").rglob("*"))
    migrate_gate.db_main([])
    assert sorted(p.name for p in (data / "keys").rglob("*")) == before
