from pathlib import Path

import pytest

from wikibot_platform.config import PlatformSettings
from wikibot_shared.config import load_settings
from wikibot_shared.errors import ConfigError


def test_defaults_are_the_production_policy() -> None:
    settings = PlatformSettings(domain="wiki.example.org", public_scheme="https")
    policy = settings.outbound_policy()
    assert not policy.is_widened
    assert settings.plc_url == "https://plc.directory"
    assert settings.handle_resolution == "dns-https"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PLATFORM_OUTBOUND_ALLOW_HTTP": "true"}, "PLATFORM_OUTBOUND_ALLOW_HTTP: widens outbound fetches"),
        ({"PLATFORM_OUTBOUND_ALLOW_NETWORKS": "127.0.0.1"}, "PLATFORM_OUTBOUND_ALLOW_NETWORKS: widens"),
        ({"PLATFORM_OUTBOUND_HOSTS": "pds.test=127.0.0.1"}, "PLATFORM_OUTBOUND_HOSTS: widens"),
    ],
)
def test_production_refuses_test_widenings(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    monkeypatch.setenv("DOMAIN", "wiki.example.org")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        load_settings(PlatformSettings)


def test_development_accepts_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_OUTBOUND_ALLOW_HTTP", "true")
    monkeypatch.setenv("PLATFORM_OUTBOUND_ALLOW_NETWORKS", "127.0.0.1/32, ::1")
    monkeypatch.setenv("PLATFORM_OUTBOUND_HOSTS", "PDS.test=127.0.0.1, plc.test=::1")
    settings = load_settings(PlatformSettings)
    policy = settings.outbound_policy()
    assert policy.allow_http
    assert [str(n) for n in policy.allow_networks] == ["127.0.0.1/32", "::1/128"]
    assert dict(policy.hosts) == {"pds.test": "127.0.0.1", "plc.test": "::1"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PLATFORM_OUTBOUND_HOSTS": "no-equals-sign"}, "expected name=address"),
        ({"PLATFORM_OUTBOUND_HOSTS": "pds.test=not-an-ip"}, "PLATFORM_OUTBOUND_HOSTS"),
        ({"PLATFORM_OUTBOUND_ALLOW_NETWORKS": "10.0.0.0/33"}, "PLATFORM_OUTBOUND_ALLOW_NETWORKS"),
        ({"PLATFORM_HANDLE_RESOLUTION": "xrpc"}, "PLATFORM_HANDLE_RESOLVER_URL: required"),
        ({"PLATFORM_HANDLE_RESOLUTION": "carrier-pigeon"}, "PLATFORM_HANDLE_RESOLUTION"),
        ({"PLATFORM_OUTBOUND_CA_BUNDLE": "/nonexistent/ca.pem"}, "PLATFORM_OUTBOUND_CA_BUNDLE: no file"),
    ],
)
def test_bad_sign_in_settings_say_what_to_fix(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        load_settings(PlatformSettings)


def test_ca_bundle_is_passed_on(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert PlatformSettings(outbound_ca_bundle=bundle).outbound_policy().ca_bundle == bundle
