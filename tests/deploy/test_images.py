"""What the images are built from: hashed pins only, no resolver at build time, one version, one set of edge
limits. (`make test` also builds every image without Docker's cache; these catch the mistakes statically.)"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import wikibot_shared

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["platform", "mcp", "otterwiki", "embedder"]


def run_steps(dockerfile: Path) -> list[str]:
    """The RUN instructions, continuation lines joined."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    return [line[4:] for line in text.splitlines() if line.startswith("RUN ")]


def test_every_pip_install_is_pinned_hashed_and_resolver_free() -> None:
    steps = [step for step in run_steps(ROOT / "services" / "Dockerfile") if "pip install" in step]
    installs = [part for step in steps for part in re.split(r"&&|;", step) if "pip install" in part]
    assert len(installs) == 3, installs
    for install in installs:
        assert "--no-deps" in install, install
    third_party = [i for i in installs if "-r " in i]
    assert {"/app/requirements.txt", "/app/build-requirements.txt"} == {
        i.split("-r ")[1].split()[0] for i in third_party
    }
    assert all("--require-hashes" in i for i in third_party)
    (own,) = [i for i in installs if "-r " not in i]
    assert "--no-build-isolation" in own
    assert "--no-index" in own
    assert "pip check" in steps[-1]


@pytest.mark.parametrize("svc", SERVICES)
def test_compose_builds_every_service_from_the_one_dockerfile(svc: str) -> None:
    build = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"][svc]["build"]
    assert build["dockerfile"] == "services/Dockerfile"
    assert build["args"]["SERVICE"] == svc
    script = tomllib.loads((ROOT / "services" / svc / "pyproject.toml").read_text())["project"]["scripts"]
    assert f"wikibot-{svc}" in script  # the image's CMD runs wikibot-$SERVICE


@pytest.mark.parametrize(
    "name", [*(f"services/{s}/requirements.txt" for s in SERVICES), "services/build-requirements.txt"]
)
def test_every_exported_pin_is_exact_and_hashed(name: str) -> None:
    text = (ROOT / name).read_text()
    entries = re.split(r"\n(?=[a-z0-9])", text.split("\n", 1)[1].strip(), flags=re.IGNORECASE)
    # entries marked sys_platform == 'never' are the model package's torch stack, which no image installs
    requirements = [e for e in entries if not e.startswith("#") and "sys_platform == 'never'" not in e]
    assert requirements
    for entry in requirements:
        assert re.match(r"^[A-Za-z0-9_.\-\[\],]+==[^ ]+ ", entry.replace("\\\n", "")), entry[:80]
        assert "--hash=sha256:" in entry, entry[:80]


def test_build_backend_pinned_in_every_package_is_the_one_exported() -> None:
    exported = re.search(r"^hatchling==(\S+)", (ROOT / "services/build-requirements.txt").read_text(), re.M)
    assert exported
    for pyproject in [
        ROOT / "shared/pyproject.toml",
        *(ROOT / "services" / s / "pyproject.toml" for s in SERVICES),
    ]:
        data = tomllib.loads(pyproject.read_text())
        assert data["build-system"]["requires"] == [f"hatchling=={exported.group(1)}"], pyproject


def test_one_version_for_every_package() -> None:
    for pyproject in [
        ROOT / "shared/pyproject.toml",
        *(ROOT / "services" / s / "pyproject.toml" for s in SERVICES),
    ]:
        assert tomllib.loads(pyproject.read_text())["project"]["version"] == wikibot_shared.__version__


def test_compose_passes_the_caddyfile_body_limits() -> None:
    caddyfile = (ROOT / "Caddyfile").read_text()
    defaults = dict(re.findall(r"\{\$(EDGE_MAX_[A-Z]+):(\d+)\}", caddyfile))
    assert set(defaults) == {"EDGE_MAX_PLATFORM", "EDGE_MAX_PAGE", "EDGE_MAX_UPLOAD", "EDGE_MAX_PUSH"}
    env = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["caddy"]["environment"]
    for name, value in defaults.items():
        assert env[name] == f"${{{name}:-{value}}}", name


def mirror(apt: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/apt_mirror.py"), str(apt)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_debootstrap_uses_the_mirror_of_a_deb822_source(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\n"
        "# security first, which is not the mirror\n"
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Types: deb deb-src\nURIs: http://mirror.example/debian\n  http://second.example/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main contrib\n"
    )
    result = mirror(tmp_path)
    assert (result.returncode, result.stdout) == (0, "http://mirror.example/debian\n")


def test_a_one_line_source_comes_first(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://proxy.example:3142/debian bookworm main non-free\n"
    )
    (tmp_path / "sources.list.d" / "x.sources").write_text(
        "Types: deb\nURIs: http://later.example/debian\nSuites: bookworm\nComponents: main\n"
    )
    assert mirror(tmp_path).stdout == "http://proxy.example:3142/debian\n"


def test_no_bookworm_main_source_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("deb http://mirror.example/debian trixie main\n")
    result = mirror(tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
