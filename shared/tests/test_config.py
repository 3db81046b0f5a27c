import subprocess
import sys

import pytest
from pydantic import SecretStr

from wikibot_shared.config import CommonSettings, load_settings, settings_or_exit
from wikibot_shared.errors import ConfigError


class WithSecret(CommonSettings):
    api_secret: SecretStr | None = None
    secret_fields = ("api_secret",)


def test_defaults_are_a_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DOMAIN", "PUBLIC_SCHEME", "PUBLIC_PORT", "WIKIBOT_ENV", "DATABASE_URL", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings(CommonSettings)
    assert s.domain == "localhost"
    assert s.environment == "development"
    assert s.platform_url == "http://localhost:8080"
    assert s.wiki_url("notes") == "http://notes.localhost:8080"
    assert s.mcp_resource("notes") == "http://notes.localhost:8080/mcp"
    assert s.database_url == "sqlite:////data/wikibot.db"


def test_production_urls_have_no_default_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMAIN", "Wiki.Example.ORG.")
    monkeypatch.setenv("PUBLIC_SCHEME", "https")
    monkeypatch.setenv("PUBLIC_PORT", "443")
    s = load_settings(CommonSettings)
    assert s.domain == "wiki.example.org"
    assert s.environment == "production"
    assert s.issuer == "https://wiki.example.org"
    assert s.mcp_resource("team") == "https://team.wiki.example.org/mcp"
    assert s.cookie_secure


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("DOMAIN", "not a host", "DOMAIN"),
        ("PUBLIC_SCHEME", "ftp", "PUBLIC_SCHEME"),
        ("PUBLIC_PORT", "70000", "PUBLIC_PORT"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL"),
    ],
)
def test_bad_setting_names_itself(monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as err:
        load_settings(CommonSettings)
    assert err.value.message.startswith(f"{named}:")
    assert "\n" not in err.value.message


@pytest.mark.parametrize("weak", ["changeme", "secret", "short-but-not-weak"])
def test_weak_secret_refused_outside_development(monkeypatch: pytest.MonkeyPatch, weak: str) -> None:
    monkeypatch.setenv("DOMAIN", "wiki.example.org")
    monkeypatch.setenv("API_SECRET", weak)
    with pytest.raises(ConfigError, match=r"^API_SECRET: refusing a default or short secret"):
        load_settings(WithSecret)


def test_weak_secret_allowed_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMAIN", "localhost")
    monkeypatch.setenv("API_SECRET", "changeme")
    assert load_settings(WithSecret).api_secret is not None


def test_strong_secret_accepted_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMAIN", "wiki.example.org")
    monkeypatch.setenv("API_SECRET", "x" * 40)
    assert load_settings(WithSecret).environment == "production"


def test_settings_or_exit_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOMAIN", "bad_domain!")
    with pytest.raises(SystemExit) as exit_info:
        settings_or_exit(CommonSettings)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("configuration error: DOMAIN:")


def test_migrate_command_refuses_bad_settings() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from wikibot_shared.migrate import main; main()"],
        env={"DOMAIN": "no spaces allowed", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "DOMAIN:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIKIBOT_ENV", "")
    monkeypatch.setenv("DOMAIN", "")
    s = load_settings(CommonSettings)
    assert s.domain == "localhost"
    assert s.environment == "development"
