"""components/keys-secret: the platform's keys from a Secret, laid out where KeyStore reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.manifests import (
    Obj,
    containers,
    needs_kubectl,
    one,
    pod_spec,
    render_with,
    workloads,
)
from wikibot_shared import migrate_gate
from wikibot_shared.keys import KeyStore

pytestmark = needs_kubectl


@pytest.fixture(scope="module", params=["small", "scaled"])
def objs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    return render_with(request.param, "keys-secret", tmp_path_factory.mktemp("overlay"))


def _keys_volume(obj: Obj) -> Obj:
    (volume,) = [v for v in pod_spec(obj)["volumes"] if v["name"] == "keys"]
    return volume


def test_only_the_platform_and_the_job_see_the_secret_read_only(objs: list[Obj]) -> None:
    for obj in workloads(objs):
        name = obj["metadata"]["name"]
        mounts = [m for c in containers(obj) for m in c["volumeMounts"] if m["name"] == "keys"]
        if name in ("platform", "migrate"):
            assert len(mounts) == len(list(containers(obj))), name
            assert all(m == {"name": "keys", "mountPath": "/data/keys", "readOnly": True} for m in mounts)
            assert _keys_volume(obj)["projected"]["defaultMode"] == 0o440
        else:
            assert not mounts, name
            assert "wikibot-keys" not in str(pod_spec(obj)), name


def test_the_job_checks_the_keys_instead_of_creating_them(objs: list[Obj]) -> None:
    job = one(objs, "Job", "migrate")
    (container,) = pod_spec(job)["containers"]
    assert container["command"] == ["wikibot-migrate-db"]
    (gate,) = pod_spec(one(objs, "Deployment", "platform"))["initContainers"]
    assert gate["command"] == ["wikibot-migrate-wait", "--keys"]


def _project(volume: Obj, secret: dict[str, bytes], into: Path) -> None:
    """What the kubelet does with a projected Secret volume (required items fail, optional ones are skipped)."""
    for source in volume["projected"]["sources"]:
        ref = source["secret"]
        assert ref["name"] == "wikibot-keys"
        for item in ref["items"]:
            if item["key"] not in secret:
                assert ref.get("optional") is True, f"pod would not start: {item['key']} is required"
                continue
            target = into / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(secret[item["key"]])


def _secret_from(store_dir: Path) -> dict[str, bytes]:
    """The Secret the docs tell the operator to create from a freshly generated key directory."""
    (signing,) = (store_dir / "signing").glob("*.json")
    (client,) = (store_dir / "client").glob("*.json")
    return {
        "signing.json": signing.read_bytes(),
        "client.json": client.read_bytes(),
        "secret.key": (store_dir / "secret.key").read_bytes(),
    }


def test_the_projection_gives_the_layout_keystore_reads(objs: list[Obj], tmp_path: Path) -> None:
    generated = KeyStore(tmp_path / "generated")
    generated.ensure()
    mounted = tmp_path / "mounted"
    _project(_keys_volume(one(objs, "Deployment", "platform")), _secret_from(tmp_path / "generated"), mounted)
    assert migrate_gate.missing_keys(mounted) == []
    store = KeyStore(mounted)
    assert store.current("signing").kid == generated.current("signing").kid
    assert store.current("client").kid == generated.current("client").kid
    assert store.secret() == generated.secret()


def test_after_a_rotation_the_previous_key_stays_published(objs: list[Obj], tmp_path: Path) -> None:
    generated = KeyStore(tmp_path / "generated")
    generated.ensure()
    old = generated.current("signing")
    secret = _secret_from(tmp_path / "generated")
    new = generated.rotate("signing")
    secret["signing.json"] = (tmp_path / "generated" / "signing" / f"{new.kid}.json").read_bytes()
    secret["signing-previous.json"] = (tmp_path / "generated" / "signing" / f"{old.kid}.json").read_bytes()
    mounted = tmp_path / "mounted"
    _project(_keys_volume(one(objs, "Deployment", "platform")), secret, mounted)
    store = KeyStore(mounted)
    assert store.current("signing").kid == new.kid
    assert {k["kid"] for k in store.jwks("signing")["keys"]} == {new.kid, old.kid}
