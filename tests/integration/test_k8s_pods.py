"""The small overlay's pods, run in Docker exactly as rendered: images built from this checkout, commands,
settings from the ConfigMap, user/group, read-only root, no capabilities, emptyDirs as tmpfs, the data volume
shared. No cluster runs here, so Docker plays the kubelet: this proves the manifests' assumptions about the
images (a read-only root works, the migrate gate waits for the Job, Caddy routes as uid 1000 on 8080)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.manifests import ROOT, Obj, find_kubectl, generated, one, pod_spec, render
from tests.integration.stack import _tag
from tests.support.servers import free_port

pytestmark = pytest.mark.skipif(
    find_kubectl() is None or shutil.which("docker") is None,
    reason="needs kubectl (scripts/install-kubectl.sh) and Docker",
)

SERVICES = {"platform": 8002, "mcp": 8001, "otterwiki": 8000, "embedder": 8003}


def _docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


class Kubelet:
    """Just enough of one to run a rendered pod's containers on a Docker network."""

    def __init__(self, objs: list[Obj], tag: str, workdir: Path) -> None:
        self.name = f"wbk8s{os.getpid()}{int(time.time()) % 100000}"
        self.objs = objs
        self.tag = tag
        self.workdir = workdir
        self.config = dict(generated(objs, "ConfigMap", "wikibot-config")["data"])
        self.started: list[str] = []

    def image(self, image: str) -> str:
        name = image.split(":")[0]
        return f"{name}:{self.tag}" if name.startswith("wikibot/") else image

    def _env(self, container: Obj) -> list[str]:
        env = {}
        for source in container.get("envFrom", []):
            assert source["configMapRef"]["name"].startswith("wikibot-config-")
            env.update(self.config)
        for entry in container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = entry["value"]
            else:
                env[entry["name"]] = self.config[entry["valueFrom"]["configMapKeyRef"]["key"]]
        return [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]

    def _mounts(self, spec: Obj, container: Obj) -> list[str]:
        volumes = {v["name"]: v for v in spec["volumes"]}
        args = []
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "emptyDir" in volume:
                args += ["--tmpfs", f"{mount['mountPath']}:rw,mode=1777"]
            elif "persistentVolumeClaim" in volume:
                args += [
                    "-v",
                    f"{self.name}-{volume['persistentVolumeClaim']['claimName']}:{mount['mountPath']}",
                ]
            elif "configMap" in volume:
                folder = self.workdir / mount["name"]
                data = generated(self.objs, "ConfigMap", volume["configMap"]["name"].rsplit("-", 1)[0])[
                    "data"
                ]
                for item in volume["configMap"]["items"]:
                    (folder / item["path"]).parent.mkdir(parents=True, exist_ok=True)
                    (folder / item["path"]).write_text(data[item["key"]])
                args += ["-v", f"{folder}:{mount['mountPath']}:ro"]
            else:
                raise AssertionError(f"no emulation for volume {volume}")
        return args

    def run(
        self, obj: Obj, container: Obj, *, detach: bool, alias: str | None = None, publish: str = ""
    ) -> str:
        spec = pod_spec(obj)
        pod, sec = spec["securityContext"], container["securityContext"]
        name = f"{self.name}-{obj['metadata']['name']}-{container['name']}"
        args = [
            "run",
            "--name",
            name,
            "--network",
            self.name,
            "--user",
            f"{pod['runAsUser']}:{pod['runAsGroup']}",
        ]
        args += ["--group-add", str(pod["fsGroup"])]
        if sec["readOnlyRootFilesystem"]:
            args.append("--read-only")
        if sec["capabilities"]["drop"] == ["ALL"]:
            args += ["--cap-drop", "ALL"]
        if sec["allowPrivilegeEscalation"] is False:
            args += ["--security-opt", "no-new-privileges"]
        limits = container["resources"]["limits"]
        args += ["--memory", limits["memory"].replace("Mi", "m").replace("Gi", "g"), "--cpus", "1"]
        if alias:
            args += ["--network-alias", alias]
        if publish:
            args += ["-p", publish]
        args += self._env(container) + self._mounts(spec, container)
        args += ["-d"] if detach else []
        args.append(self.image(container["image"]))
        args += container.get("command", []) + container.get("args", [])
        self.started.append(name)
        _docker(*args, check=False, timeout=300)
        return name

    def exit_code(self, name: str, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = _docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name).stdout.split()
            if state[0] == "exited":
                return int(state[1])
            time.sleep(0.5)
        return None

    def logs(self, name: str) -> str:
        done = _docker("logs", "--tail", "40", name, check=False)
        return done.stdout + done.stderr

    def cleanup(self) -> None:
        for name in self.started:
            _docker("rm", "-f", "-v", name, check=False)
        _docker("network", "rm", self.name, check=False)
        _docker("volume", "rm", f"{self.name}-wikibot-data", check=False)


@pytest.fixture(scope="module")
def kubelet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubelet]:
    tag = os.environ.get("WIKIBOT_TAG", _tag())
    # the images compose builds (one Dockerfile, each service's build arguments in compose.yaml)
    subprocess.run(
        ["docker", "compose", "build", "--quiet", *SERVICES],
        cwd=ROOT,
        env={**os.environ, "WIKIBOT_TAG": tag},
        check=True,
        capture_output=True,
        timeout=1800,
    )
    kubelet = Kubelet(render("overlays/small"), tag, tmp_path_factory.mktemp("pods"))
    _docker("network", "create", kubelet.name)
    _docker("volume", "create", f"{kubelet.name}-wikibot-data")
    try:
        yield kubelet
    finally:
        kubelet.cleanup()


def _ready(kubelet: Kubelet, name: str, port: int, timeout: float = 120) -> None:
    probe = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/readyz', timeout=2)"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _docker("exec", name, "python", "-c", probe, check=False).returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"{name} never became ready:\n{kubelet.logs(name)}")


def test_the_small_overlay_runs_as_rendered(kubelet: Kubelet) -> None:
    objs = kubelet.objs
    redis = pod_spec(one(objs, "Deployment", "redis"))["containers"][0]
    _docker("run", "-d", "--name", f"{kubelet.name}-redis", "--network", kubelet.name, "--network-alias", "redis",
            "redis:7", *redis["args"])  # fmt: skip
    kubelet.started.append(f"{kubelet.name}-redis")

    # The gate holds the platform back until the Job has migrated and made the keys.
    platform = one(objs, "Deployment", "platform")
    gate = kubelet.run(platform, pod_spec(platform)["initContainers"][0], detach=True)
    assert kubelet.exit_code(gate, timeout=5) is None, f"the gate did not wait:\n{kubelet.logs(gate)}"
    job = one(objs, "Job", "migrate")
    migrate = kubelet.run(job, pod_spec(job)["containers"][0], detach=True)
    assert kubelet.exit_code(migrate, timeout=120) == 0, kubelet.logs(migrate)
    assert kubelet.exit_code(gate, timeout=30) == 0, kubelet.logs(gate)
    # Idempotent: an upgrade runs the Job again on the same volume.
    again = kubelet.run(job, pod_spec(job)["containers"][0], detach=True)
    assert kubelet.exit_code(again, timeout=120) == 0, kubelet.logs(again)

    for svc, port in SERVICES.items():
        deployment = one(objs, "Deployment", svc)
        if svc != "platform":
            gate = kubelet.run(deployment, pod_spec(deployment)["initContainers"][0], detach=True)
            assert kubelet.exit_code(gate, timeout=60) == 0, kubelet.logs(gate)
        app = kubelet.run(deployment, pod_spec(deployment)["containers"][0], detach=True, alias=svc)
        _ready(kubelet, app, port)

    caddy = one(objs, "Deployment", "caddy")
    port = free_port()
    edge = kubelet.run(caddy, pod_spec(caddy)["containers"][0], detach=True, publish=f"127.0.0.1:{port}:8080")
    domain = kubelet.config["DOMAIN"]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = http.get("/api/health", headers={"Host": domain})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, kubelet.logs(edge)
                time.sleep(0.5)
        assert health.status_code == 200, health.text
        assert health.headers["x-wikibot-service"] == "platform"
        assert health.json()["embedder"]["status"] == "ok"
        assert health.headers["x-request-id"]
        wiki = {"Host": f"notes.{domain}"}
        assert http.get("/api/v1/health", headers=wiki).headers["x-wikibot-service"] == "mcp"
        assert http.get("/-/health", headers=wiki).headers["x-wikibot-service"] == "otterwiki"
        unknown = http.get("/", headers={"Host": "elsewhere.test"})
        assert unknown.status_code == 404
        assert unknown.json()["error"] == "unknown_host"
