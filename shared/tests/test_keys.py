import multiprocessing
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from wikibot_shared.errors import ConfigError
from wikibot_shared.keys import KeyStore


def test_ensure_creates_once_with_private_files(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    assert sorted(store.ensure()) == ["client", "secret", "signing"]
    assert store.ensure() == []
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    for path in (tmp_path / "keys").rglob("*"):
        if path.is_file() and path.name != ".lock":
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert len(store.secret()) == 32
    signing, client = store.current("signing"), store.current("client")
    assert signing.kid != client.kid
    assert signing.kid == signing.key.thumbprint()


def test_jwks_is_public_only(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.ensure()
    (jwk,) = store.jwks()["keys"]
    assert {"kty", "crv", "x", "y", "kid", "alg", "use"} <= set(jwk)
    assert "d" not in jwk
    assert jwk["alg"] == "ES256"


def test_rotation_keeps_old_public_keys_until_retention_ends(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, retain_for=timedelta(days=1))
    store.ensure()
    old = store.current()
    new = store.rotate()
    assert new.kid != old.kid
    assert store.current().kid == new.kid
    assert {k["kid"] for k in store.jwks()["keys"]} == {old.kid, new.kid}
    short = KeyStore(tmp_path, retain_for=timedelta(seconds=-1))
    newest = short.rotate()
    assert [k["kid"] for k in short.jwks()["keys"]] == [newest.kid]
    assert not (tmp_path / "signing" / f"{old.kid}.json").exists()


def test_missing_keys_say_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="wikibot-migrate"):
        KeyStore(tmp_path).current()
    with pytest.raises(ConfigError, match="wikibot-migrate"):
        KeyStore(tmp_path).secret()


def test_corrupt_key_file_is_a_config_error(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.ensure()
    (tmp_path / "signing" / "broken.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"unreadable key file broken\.json"):
        store.current()


def _ensure(directory: str) -> list[str]:
    return KeyStore(Path(directory)).ensure()


def test_concurrent_first_starts_make_one_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_ensure, [str(tmp_path)] * 4)
    assert sum(1 for r in results if "signing" in r) == 1
    assert len(list((tmp_path / "signing").glob("*.json"))) == 1
