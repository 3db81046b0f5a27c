"""components/caddy-tls: Caddy takes 80/443 itself with on-demand certificates, instead of an Ingress."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.deploy.manifests import (
    KUBERNETES_VERSION,
    Obj,
    needs_kubectl,
    of_kind,
    one,
    pod_spec,
    render_with,
)

pytestmark = needs_kubectl


@pytest.fixture(scope="module", params=["small", "scaled"])
def objs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    return render_with(request.param, "caddy-tls", tmp_path_factory.mktemp("overlay"))


def test_validates_strictly_and_drops_the_ingress(objs: list[Obj]) -> None:
    for obj in objs:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    assert not of_kind(objs, "Ingress")


def test_caddy_listens_where_its_service_and_policy_point(objs: list[Obj]) -> None:
    caddy = one(objs, "Deployment", "caddy")
    assert caddy["spec"]["replicas"] == 1, "on-demand certificates live on one ReadWriteOnce volume"
    assert caddy["spec"]["strategy"] == {"type": "Recreate"}
    (container,) = pod_spec(caddy)["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert len(env) == len(container["env"]), "an env name appears twice"
    assert env["PUBLIC_SCHEME"] == "https"
    assert env["WIKIBOT_TLS"] == "on_demand"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert env["CADDY_GLOBAL_OPTIONS"] == f"http_port {ports['http']}\nhttps_port {ports['https']}"
    service = one(objs, "Service", "caddy")["spec"]
    assert service["type"] == "LoadBalancer"
    assert {(p["port"], p["targetPort"]) for p in service["ports"]} == {(80, "http"), (443, "https")}
    volumes = {v["name"]: v for v in pod_spec(caddy)["volumes"]}
    assert volumes["caddy-data"] == {
        "name": "caddy-data",
        "persistentVolumeClaim": {"claimName": "caddy-data"},
    }
    assert one(objs, "PersistentVolumeClaim", "caddy-data")["spec"]["accessModes"] == ["ReadWriteOnce"]
    policy = one(objs, "NetworkPolicy", "caddy")["spec"]["ingress"][0]
    assert {p["port"] for p in policy["ports"]} == set(ports.values())
